/**
 * Intake of RDS global-failover events: every sample in events/rds is started, recorded, ignored or
 * rejected; the reconcile workflow is started with a deterministic name, and a duplicate delivery
 * starts nothing new.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { Context } from 'aws-lambda';
import { createOnRdsEventHandler } from '../../functions/on-rds-event.ts';
import { loadConfigFile } from '../../lib/adapters/config-file.ts';
import { createExecutionStarter } from '../../lib/adapters/sfn.ts';
import { createTelemetry } from '../../lib/adapters/telemetry.ts';
import type { Config } from '../../lib/core/config.ts';
import { RdsEventId } from '../../lib/core/constants.ts';
import { ThrottledError } from '../../lib/core/errors.ts';
import { MetricName, METRICS_NAMESPACE } from '../../lib/core/metrics.ts';
import { executionNameForEvent, IntakeOutcome } from '../../lib/core/rds-event.ts';

const EVENTS_DIR = join(import.meta.dirname, '../../events/rds');
const STATE_MACHINE_ARN = 'arn:aws:states:us-east-2:123456789012:stateMachine:aurora-global-failover-ci-reconcile';
const USE2 = 'arn:aws:rds:us-east-2:123456789012:cluster:app-use2';
const USW2 = 'arn:aws:rds:us-west-2:123456789012:cluster:app-usw2';

interface Expectation {
  readonly outcome: IntakeOutcome;
  /** The metric the event must produce. */
  readonly metric: MetricName;
  /** For started events: the member ARN the workflow input names. */
  readonly sourceArn?: string;
}

const EXPECTED: Readonly<Record<string, Expectation>> = {
  '0181-switchover-started.json': { outcome: IntakeOutcome.Recorded, metric: MetricName.FailoverProgressEvents },
  '0182-old-primary-shut-down.json': { outcome: IntakeOutcome.Recorded, metric: MetricName.FailoverProgressEvents },
  '0183-waiting-for-sync.json': { outcome: IntakeOutcome.Recorded, metric: MetricName.FailoverProgressEvents },
  '0184-new-primary-promoted.json': { outcome: IntakeOutcome.Recorded, metric: MetricName.FailoverProgressEvents },
  '0185-switchover-finished.json': { outcome: IntakeOutcome.Started, metric: MetricName.FailoversDetected, sourceArn: USE2 },
  // No SourceArn, `rds:`-prefixed SourceIdentifier: the ARN is rebuilt from the envelope's region and account.
  '0185-switchover-finished-identifier-only.json': { outcome: IntakeOutcome.Started, metric: MetricName.FailoversDetected, sourceArn: USW2 },
  '0186-switchover-cancelled.json': { outcome: IntakeOutcome.Recorded, metric: MetricName.FailoverProgressEvents },
  '0187-switchover-failed.json': { outcome: IntakeOutcome.Recorded, metric: MetricName.FailoverProgressEvents },
  '0238-failover-completed.json': { outcome: IntakeOutcome.Started, metric: MetricName.FailoversDetected, sourceArn: USW2 },
  '0239-failover-failed.json': { outcome: IntakeOutcome.Recorded, metric: MetricName.FailoverProgressEvents },
  '0397-global-writer-endpoint-updated.json': { outcome: IntakeOutcome.Recorded, metric: MetricName.FailoverProgressEvents },
  'other-global-cluster-0185.json': { outcome: IntakeOutcome.Ignored, metric: MetricName.IgnoredEvents },
  'malformed-bad-event-id.json': { outcome: IntakeOutcome.Rejected, metric: MetricName.MalformedEvents },
  'malformed-bad-time.json': { outcome: IntakeOutcome.Rejected, metric: MetricName.MalformedEvents },
  'malformed-missing-detail.json': { outcome: IntakeOutcome.Rejected, metric: MetricName.MalformedEvents },
  'malformed-no-source-cluster.json': { outcome: IntakeOutcome.Rejected, metric: MetricName.MalformedEvents },
  'malformed-wrong-detail-type.json': { outcome: IntakeOutcome.Rejected, metric: MetricName.MalformedEvents },
};

interface SampleEvent {
  readonly id: string;
  readonly time: string;
  readonly detail: { readonly EventID: string };
}

function readSample(file: string): SampleEvent {
  return JSON.parse(readFileSync(join(EVENTS_DIR, file), 'utf8')) as SampleEvent;
}

function lambdaContext(): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'aurora-global-failover-ci-onRdsEvent',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-2:123456789012:function:aurora-global-failover-ci-onRdsEvent',
    memoryLimitInMB: '256',
    awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
    logGroupName: '/aws/lambda/aurora-global-failover-ci-onRdsEvent',
    logStreamName: '2025/03/04/[$LATEST]abcdef',
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** Every JSON line the handler wrote to stdout/stderr (Powertools log lines and EMF documents). */
function captureOutput(): { readonly lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const capture = (chunk: string | Uint8Array): boolean => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  };
  vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  return {
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((line) => line.trim().startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

interface EmfDocument {
  readonly _aws: { readonly CloudWatchMetrics: { readonly Namespace: string; readonly Metrics: { readonly Name: string }[] }[] };
  readonly [key: string]: unknown;
}

function emfMetrics(lines: Record<string, unknown>[]): EmfDocument[] {
  return lines.filter((line) => '_aws' in line) as unknown as EmfDocument[];
}

function metricNames(lines: Record<string, unknown>[]): string[] {
  return emfMetrics(lines).flatMap((doc) => doc._aws.CloudWatchMetrics.flatMap((directive) => directive.Metrics.map((metric) => metric.Name)));
}

describe('on-rds-event intake', () => {
  const sfnMock = mockClient(SFNClient);
  let config: Config;

  beforeAll(async () => {
    config = await loadConfigFile(join(import.meta.dirname, '../../config/example.yml'));
  });

  beforeEach(() => {
    sfnMock.reset();
    sfnMock.on(StartExecutionCommand).callsFake((input: { name: string }) => ({
      executionArn: `${STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:${input.name}`,
      startDate: new Date('2025-03-04T10:01:13Z'),
    }));
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  function handlerUnderTest() {
    return createOnRdsEventHandler({
      config,
      stateMachineArn: STATE_MACHINE_ARN,
      startExecution: createExecutionStarter(new SFNClient({ region: 'us-east-2' })),
      telemetry: createTelemetry(),
    });
  }

  it('has an expectation for every sample event, and a sample for every global-failover event id', () => {
    // Prepare
    const files = readdirSync(EVENTS_DIR).filter((file) => file.endsWith('.json')).sort();
    const sampledIds = new Set(files.filter((file) => !file.startsWith('malformed')).map((file) => readSample(file).detail.EventID));

    // Assess
    expect(files).toEqual(Object.keys(EXPECTED).sort());
    for (const eventId of Object.values(RdsEventId)) expect(sampledIds, eventId).toContain(eventId);
  });

  describe.each(Object.entries(EXPECTED))('%s', (file, expected) => {
    it(`is ${expected.outcome} and emits ${expected.metric}`, async () => {
      // Prepare
      const event = readSample(file);
      const output = captureOutput();

      // Act
      const result = await handlerUnderTest()(event, lambdaContext());

      // Assess
      expect(result.decision).toBe(expected.outcome);
      expect(result.step).toBe('on-rds-event');
      expect(result.reason.length).toBeGreaterThan(10);
      expect(metricNames(output.lines())).toContain(expected.metric);
      if (expected.outcome !== IntakeOutcome.Started) {
        expect(sfnMock).not.toHaveReceivedCommand(StartExecutionCommand);
        expect(result.executionName).toBeUndefined();
        return;
      }
      const name = executionNameForEvent('app-global', event.detail.EventID, event.id);
      expect(result.executionName).toBe(name);
      expect(sfnMock).toHaveReceivedCommandExactlyOnceWith(StartExecutionCommand, { stateMachineArn: STATE_MACHINE_ARN, name });
      const sentInput = JSON.parse(sfnMock.commandCalls(StartExecutionCommand)[0]?.args[0].input.input ?? 'null') as unknown;
      expect(sentInput).toEqual({
        trigger: 'event',
        globalClusterId: 'app-global',
        event: { id: event.id, eventId: event.detail.EventID, time: event.time, sourceArn: expected.sourceArn },
      });
      expect(metricNames(output.lines())).toContain(MetricName.ReconcileStarted);
    });
  });

  it('starts nothing new when the same event is delivered twice (ExecutionAlreadyExists is success)', async () => {
    // Prepare
    const event = readSample('0238-failover-completed.json');
    sfnMock
      .on(StartExecutionCommand)
      .resolvesOnce({ executionArn: `${STATE_MACHINE_ARN}:first`, startDate: new Date() })
      .rejectsOnce(new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: { httpStatusCode: 400 } }));
    const output = captureOutput();
    const handler = handlerUnderTest();

    // Act
    const first = await handler(event, lambdaContext());
    const second = await handler(structuredClone(event), lambdaContext());

    // Assess
    expect(first.decision).toBe(IntakeOutcome.Started);
    expect(second.decision).toBe(IntakeOutcome.Started);
    expect(second.executionName).toBe(first.executionName);
    expect(second.reason).toMatch(/already exists, nothing new started/);
    expect(sfnMock).toHaveReceivedCommandTimes(StartExecutionCommand, 2);
    const names = sfnMock.commandCalls(StartExecutionCommand).map((call) => call.args[0].input.name);
    expect(new Set(names).size).toBe(1);
    expect(metricNames(output.lines()).filter((name) => name === MetricName.ReconcileStarted)).toHaveLength(1);
  });

  it('gives different events of the same kind different execution names', () => {
    // Prepare
    const finished = readSample('0185-switchover-finished.json');
    const alsoFinished = readSample('0185-switchover-finished-identifier-only.json');

    // Act
    const a = executionNameForEvent('app-global', finished.detail.EventID, finished.id);
    const b = executionNameForEvent('app-global', alsoFinished.detail.EventID, alsoFinished.id);

    // Assess
    expect(a).not.toBe(b);
    // Pinned: a changed derivation would let a redelivery during a deploy start a second run.
    expect(a).toBe('evt-app-global-0185-1978987f4338a02c');
  });

  it('keeps execution names within 80 characters of [A-Za-z0-9-_] for the longest cluster id', () => {
    // Prepare
    const longestClusterId = `a${'b'.repeat(62)}`;

    // Act
    const name = executionNameForEvent(longestClusterId, RdsEventId.FailoverCompleted, '8c1f0c6e-4f1b-4a3e-9d1e-0123456789ab');

    // Assess
    expect(name.length).toBeLessThanOrEqual(80);
    expect(name).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(name).toMatch(/-0238-[0-9a-f]{16}$/);
  });

  it('logs a malformed event as one structured warning with the correlation id, and does not throw', async () => {
    // Prepare
    const event = readSample('malformed-bad-event-id.json');
    const output = captureOutput();

    // Act
    const result = await handlerUnderTest()(event, lambdaContext());

    // Assess
    expect(result.decision).toBe(IntakeOutcome.Rejected);
    const warnings = output.lines().filter((line) => line.level === 'WARN');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      correlation_id: event.id,
      function_request_id: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
      problems: ['detail.EventID: must look like RDS-EVENT-0185'],
    });
    expect(String(warnings[0]?.message)).toMatch(/not a valid RDS DB Cluster Event/);
    const [malformed] = emfMetrics(output.lines()).filter((doc) => MetricName.MalformedEvents in doc);
    expect(malformed?._aws.CloudWatchMetrics[0]?.Namespace).toBe(METRICS_NAMESPACE);
    expect(malformed?.GlobalClusterId).toBe('app-global');
  });

  it('tags a progress metric with its EventId', async () => {
    // Prepare
    const output = captureOutput();

    // Act
    await handlerUnderTest()(readSample('0187-switchover-failed.json'), lambdaContext());

    // Assess
    const [progress] = emfMetrics(output.lines()).filter((doc) => MetricName.FailoverProgressEvents in doc);
    expect(progress).toMatchObject({ EventId: 'RDS-EVENT-0187', GlobalClusterId: 'app-global', FailoverProgressEvents: 1 });
  });

  it('rejects with a transient error when Step Functions throttles, so Lambda retries the event', async () => {
    // Prepare
    sfnMock.on(StartExecutionCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    captureOutput();

    // Act
    const attempt = handlerUnderTest()(readSample('0185-switchover-finished.json'), lambdaContext());

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(ThrottledError);
  });
});
