import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { AwsClients } from '../../lib/adapters/aws-clients.ts';
import { publishSummary, snsSubject, summaryMessage } from '../../lib/adapters/notify.ts';
import { InvalidInputError } from '../../lib/core/errors.ts';
import { regionsOf, sdkError } from './aws-fixtures.ts';

const sns = mockClient(SNSClient);
const TOPIC = 'arn:aws:sns:us-east-2:123456789012:aurora-failover';

beforeEach(() => sns.reset());

describe('publishSummary', () => {
  it('publishes the summary JSON to the topic\'s region with a short subject', async () => {
    // Prepare
    sns.on(PublishCommand).resolves({ MessageId: '94c6f1d2-7e0a-5b8e-9f2c-0e6f1c2d3a4b' });
    const summary = { globalClusterId: 'app-global', writerRegion: 'us-west-2', decisions: [{ step: 'plan', decision: 'proceed', reason: '2 changes' }] };

    // Act
    const decision = await publishSummary(new AwsClients(), 'us-west-2', TOPIC, { subject: 'Reconcile app-global: writer us-west-2, 2 changes', summary });

    // Assess
    expect(sns).toHaveReceivedCommandExactlyOnceWith(PublishCommand, {
      TopicArn: TOPIC,
      Subject: 'Reconcile app-global: writer us-west-2, 2 changes',
      Message: JSON.stringify(summary, null, 2),
      MessageAttributes: { Region: { DataType: 'String', StringValue: 'us-west-2' } },
    });
    expect(await regionsOf(sns.calls())).toEqual(['us-east-2']);
    expect(decision).toEqual({ step: 'notify', decision: 'published', reason: `summary published to ${TOPIC} (message 94c6f1d2-7e0a-5b8e-9f2c-0e6f1c2d3a4b)` });
  });

  it('a failed publish is a decision with the reason, never a thrown error', async () => {
    sns.on(PublishCommand).rejects(sdkError('AuthorizationErrorException', { status: 403, message: 'not authorized to perform SNS:Publish' }));

    const decision = await publishSummary(new AwsClients(), 'us-east-2', TOPIC, { subject: 'x', summary: {} });

    expect(decision.decision).toBe('not-published');
    expect(decision.reason).toContain('AuthorizationErrorException');
  });

  it('a topic whose KMS key the role may not use: a not-published decision naming the KMS error', async () => {
    // SNS API reference: Publish to a topic with SSE answers KMSAccessDeniedException when the caller lacks kms:GenerateDataKey.
    sns.on(PublishCommand).rejects(sdkError('KMSAccessDeniedException', { status: 400, message: 'The ciphertext references a key that either does not exist or you do not have access to' }));

    const decision = await publishSummary(new AwsClients(), 'us-east-2', TOPIC, { subject: 'x', summary: {} });

    expect(decision.decision).toBe('not-published');
    expect(decision.reason).toContain('KMSAccessDeniedException');
  });

  it('refuses a topic ARN that is not one', async () => {
    await expect(publishSummary(new AwsClients(), 'us-east-2', 'arn:aws:sqs:us-east-2:123456789012:q', { subject: 'x', summary: {} })).rejects.toThrow(InvalidInputError);
    expect(sns.calls()).toHaveLength(0);
  });
});

describe('snsSubject', () => {
  it('keeps a subject within 100 printable ASCII characters on one line', () => {
    const subject = snsSubject(`Switchover app-global\nto us-west-2 — ${'x'.repeat(200)}`);

    expect(subject.length).toBe(100);
    expect(subject).toMatch(/^Switchover app-global to us-west-2 \? x+\.\.\.$/);
    expect(snsSubject('   ')).toBe('Aurora global failover run summary');
  });
});

describe('summaryMessage', () => {
  it('redacts secret-looking fields wherever they are', () => {
    const message = summaryMessage({ target: 'use2-pgbouncer', password: 'hunter2', nested: [{ connectionString: 'postgres://u:p@h/db', authToken: 'k8s-aws-v1.abc' }], passed: 3 });

    expect(message).not.toContain('hunter2');
    expect(message).not.toContain('postgres://');
    expect(message).not.toContain('k8s-aws-v1');
    expect(JSON.parse(message)).toEqual({ target: 'use2-pgbouncer', password: '[redacted]', nested: [{ connectionString: '[redacted]', authToken: '[redacted]' }], passed: 3 });
  });

  it('cuts a summary that would not fit SNS down to a marked excerpt', () => {
    const message = summaryMessage({ decisions: Array.from({ length: 5_000 }, (_, index) => ({ step: `pooler:${index}`, reason: 'r'.repeat(60) })) });

    const parsed = JSON.parse(message) as { truncated: boolean; reason: string };
    expect(parsed.truncated).toBe(true);
    expect(parsed.reason).toMatch(/^summary is \d+ bytes/);
    expect(Buffer.byteLength(message)).toBeLessThan(256 * 1024);
  });
});
