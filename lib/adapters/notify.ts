import { PublishCommand } from '@aws-sdk/client-sns';
import { decide, type Decision } from '../core/decision.ts';
import { describeError, InvalidInputError } from '../core/errors.ts';
import type { AwsClientPool as AwsClients } from './aws-client-pool.ts';
import { toFailoverError } from './aws-errors.ts';

const SNS_TOPIC_ARN = /^arn:aws[a-z-]*:sns:([a-z]{2}(?:-gov)?-[a-z]+-\d):\d{12}:[A-Za-z0-9_-]{1,256}$/;
const MAX_SUBJECT = 100;
// SNS accepts 256 KiB; stay well below it so message attributes and encoding never push it over.
const MAX_MESSAGE_BYTES = 200 * 1024;
// Summaries carry no secrets by construction (plain data); this is the second line of defence.
const SECRET_KEY = /password|passwd|secret|token|credential|connection.?string|^ini$|^auth/i;
const DEFAULT_SUBJECT = 'Aurora global failover run summary';

export interface RunSummary {
  readonly subject: string;
  readonly summary: unknown;
}

/**
 * Publishes a run's summary to SNS. The call goes to the topic's own region (from its ARN); `region`
 * is the reporting stack's region, sent as the `Region` message attribute. The subject is made SNS-safe
 * (printable ASCII, one line, at most 100 characters); the body is the summary as JSON with any
 * secret-looking field redacted. A failed publish is returned as a decision, not thrown: a notification
 * must never fail a run that did its work.
 */
export async function publishSummary(clients: AwsClients, region: string, topicArn: string, notification: RunSummary): Promise<Decision> {
  const topicRegion = SNS_TOPIC_ARN.exec(topicArn)?.[1];
  if (!topicRegion) throw new InvalidInputError(`notifications.snsTopicArn is not an SNS topic ARN: ${JSON.stringify(topicArn).slice(0, 120)}`);
  const subject = snsSubject(notification.subject);
  try {
    const response = await clients.sns(topicRegion).send(
      new PublishCommand({
        TopicArn: topicArn,
        Subject: subject,
        Message: summaryMessage(notification.summary),
        MessageAttributes: { Region: { DataType: 'String', StringValue: region } },
      }),
    );
    return decide('notify', 'published', `summary published to ${topicArn} (message ${response.MessageId ?? 'unknown'})`);
  } catch (error) {
    return decide('notify', 'not-published', `could not publish to ${topicArn}: ${describeError(toFailoverError(error, `sns:Publish in ${topicRegion}`))}`);
  }
}

/** Printable ASCII on one line, at most 100 characters (SNS rejects anything else). */
export function snsSubject(subject: string): string {
  const oneLine = subject
    .replace(/[\r\n\t]+/g, ' ')
    .replace(/[^\x20-\x7E]/g, '?')
    .replace(/\s+/g, ' ')
    .trim();
  const text = oneLine || DEFAULT_SUBJECT;
  return text.length > MAX_SUBJECT ? `${text.slice(0, MAX_SUBJECT - 3)}...` : text;
}

/** The summary as JSON with secret-looking fields redacted, cut down when it would not fit SNS. */
export function summaryMessage(summary: unknown): string {
  const json = JSON.stringify(summary, (key, value: unknown) => (key && SECRET_KEY.test(key) ? '[redacted]' : value), 2) ?? 'null';
  if (Buffer.byteLength(json, 'utf8') <= MAX_MESSAGE_BYTES) return json;
  const excerpt = json.slice(0, MAX_MESSAGE_BYTES / 4);
  return JSON.stringify({ truncated: true, reason: `summary is ${Buffer.byteLength(json, 'utf8')} bytes; see the execution output for the whole of it`, excerpt });
}
