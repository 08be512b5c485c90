/**
 * Both state machines executed for real (aws-local-stepfunctions) with the real step handlers: a malformed
 * execution input fails first, at AcquireRunLock, with InvalidInputError reported through the failure path
 * (metric + notification) and nothing resumed; a reconcile may name only a RUNNING execution of this
 * stack's own switchover state machine as its parent; a run waiting for the lock gives up with a decision
 * before the state machine's own TimeoutSeconds.
 */
import 'aws-sdk-client-mock-vitest/extend';
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { parseConfig } from '../../lib/core/config.ts';
import { LOCK_GIVE_UP_MARGIN_SECONDS } from '../../lib/core/run-lock.ts';
import { GLOBAL_CLUSTER_ID, harnessConfig, RECONCILE_ARN, SWITCHOVER_ARN, WorkflowHarness } from '../support/workflow-harness.ts';

const TOPIC = 'arn:aws:sns:us-east-2:123456789012:aurora-failover';
const executionOf = (stateMachineArn: string, name: string) => `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
const timeoutOf = (file: string) => (JSON.parse(readFileSync(new URL(`../../statemachines/${file}.asl.json`, import.meta.url), 'utf8')) as { TimeoutSeconds: number }).TimeoutSeconds;

describe('malformed input and the run lock, state machines executed for real', () => {
  let harness: WorkflowHarness;
  const sns = mockClient(SNSClient);

  beforeEach(() => {
    sns.reset();
    sns.on(PublishCommand).resolves({ MessageId: 'b7a1c2d3-0000-4000-8000-000000000001' });
    harness = new WorkflowHarness(parseConfig({ ...harnessConfig(), notifications: { snsTopicArn: TOPIC } }));
  });
  afterEach(() => {
    harness.restore();
    sns.restore();
  });

  const malformed: Array<[string, unknown]> = [
    ['{}', {}],
    ['null', null],
    ['[]', []],
    ['a string', 'switch now'],
    ['a wrong field type', { trigger: 'event', globalClusterId: 42 }],
  ];

  for (const file of ['reconcile', 'switchover'] as const) {
    for (const [label, input] of malformed) {
      it(`${file}: input ${label} fails first with InvalidInputError, reported (metric + notification), nothing resumed`, async () => {
        // Act
        const result = await harness.run(file, input);

        // Assess
        expect(result.status).toBe('FAILED');
        expect(result.error).toBe('InvalidInputError');
        expect(result.cause).toMatch(/input is invalid/);
        // A reconcile checks whether it is a follow run (whose prepare paused this region) before reporting: these are not.
        const beforeReport = file === 'reconcile' ? ['FailedBeforeLock', 'FollowFailedBeforeLock'] : ['FailedBeforeLock'];
        // The switchover's early reads fail on the same input and are skipped (PrefetchSkipped); the Parallel's
        // two branches run side by side, so their states are entered in either order.
        const opening = file === 'reconcile' ? ['SettleUnlessNested', 'LetConcurrentRunsAppear'] : ['SettleWhilePrefetching', 'LetConcurrentRunsAppear', 'PrefetchPreflight', 'PrefetchSkipped'];
        expect(result.path.slice(0, opening.length).sort()).toEqual([...opening].sort());
        expect(result.path.slice(opening.length)).toEqual(['AcquireRunLock', ...beforeReport, 'ReportFailure', file === 'reconcile' ? 'RunFailed' : 'SwitchoverFailed']);
        expect(harness.metrics).toContainEqual(expect.objectContaining({ name: 'RunsFailed', value: 1 }));
        expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);
        expect(sns.commandCalls(PublishCommand)[0]!.args[0].input.Message).toContain('InvalidInputError');
        expect(harness.poolers.every((pooler) => pooler.calls.length === 0)).toBe(true);
      });
    }
  }

  it('a malformed trigger never becomes a metric dimension value', async () => {
    const result = await harness.run('reconcile', { trigger: { evil: 'x'.repeat(300) }, globalClusterId: GLOBAL_CLUSTER_ID });

    expect(result.error).toBe('InvalidInputError');
    expect(harness.metrics).toContainEqual({ name: 'RunsFailed', value: 1, dimensions: { Trigger: 'manual' } });
  });

  describe('switchoverExecutionArn (a nested reconcile ranks with its parent)', () => {
    it('naming an execution of another state machine is refused, even when it is RUNNING', async () => {
      // Prepare: an older reconcile holds the lock; the input claims it as its "parent" to jump the queue
      const holder = executionOf(RECONCILE_ARN, 'older');
      harness.running.push({ executionArn: holder, stateMachineArn: RECONCILE_ARN, name: 'older', status: 'RUNNING', startDate: new Date(Date.now() - 60_000) });

      // Act
      const result = await harness.run('reconcile', { trigger: 'manual', globalClusterId: GLOBAL_CLUSTER_ID, switchoverExecutionArn: holder });

      // Assess
      expect(result.status).toBe('FAILED');
      expect(result.error).toBe('InvalidInputError');
      expect(result.cause).toContain(`it is not an execution of this stack's switchover state machine ${SWITCHOVER_ARN}`);
      expect(result.path).not.toContain('ObserveTopology');
      expect(harness.poolers.every((pooler) => pooler.calls.length === 0)).toBe(true);
    });

    it('naming a switchover of another account or stack is refused', async () => {
      const foreign = 'arn:aws:states:us-east-2:999999999999:execution:aurora-global-failover-ci-switchover:x';

      const result = await harness.run('reconcile', { trigger: 'manual', globalClusterId: GLOBAL_CLUSTER_ID, switchoverExecutionArn: foreign });

      expect(result.error).toBe('InvalidInputError');
      expect(result.cause).toContain('is not an execution of this stack');
    });

    it('naming a switchover execution that is not RUNNING is refused', async () => {
      const ended = executionOf(SWITCHOVER_ARN, 'ended-yesterday');

      const result = await harness.run('reconcile', { trigger: 'manual', globalClusterId: GLOBAL_CLUSTER_ID, switchoverExecutionArn: ended });

      expect(result.status).toBe('FAILED');
      expect(result.error).toBe('InvalidInputError');
      expect(result.cause).toContain(`it is not a RUNNING execution of ${SWITCHOVER_ARN}`);
      expect(harness.poolers.every((pooler) => pooler.calls.length === 0)).toBe(true);
    });

    it('a RUNNING switchover of this stack is accepted: its child proceeds past an older run', async () => {
      // Prepare: the parent switchover started first, a reconcile started after it, then the child
      const parent = executionOf(SWITCHOVER_ARN, 'manual-1');
      harness.running.push(
        { executionArn: parent, stateMachineArn: SWITCHOVER_ARN, name: 'manual-1', status: 'RUNNING', startDate: new Date(Date.now() - 120_000) },
        { executionArn: executionOf(RECONCILE_ARN, 'event-1'), stateMachineArn: RECONCILE_ARN, name: 'event-1', status: 'RUNNING', startDate: new Date(Date.now() - 60_000) },
      );

      // Act
      const result = await harness.run('reconcile', { trigger: 'manual', globalClusterId: GLOBAL_CLUSTER_ID, switchoverExecutionArn: parent, AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: parent });

      // Assess
      expect(result.status).toBe('SUCCEEDED');
      expect(result.path).not.toContain('WaitForRunLock');
      // The parent already waited for ListExecutions to settle: the child goes straight to the lock.
      expect(result.path.slice(0, 2)).toEqual(['SettleUnlessNested', 'AcquireRunLock']);
    });

    it('every other run waits for ListExecutions to settle before the lock', async () => {
      // Act
      const result = await harness.run('reconcile', { trigger: 'event', globalClusterId: GLOBAL_CLUSTER_ID });

      // Assess
      expect(result.path.slice(0, 3)).toEqual(['SettleUnlessNested', 'LetConcurrentRunsAppear', 'AcquireRunLock']);
    });
  });

  for (const file of ['reconcile', 'switchover'] as const) {
    it(`${file}: a run waiting for the lock gives up with a decision before the state machine's own timeout`, async () => {
      // Prepare: an older run (within its lease) holds the lock for good; our run started TimeoutSeconds - margin + 1 s ago
      harness.running.push({ executionArn: executionOf(RECONCILE_ARN, 'holder'), stateMachineArn: RECONCILE_ARN, name: 'holder', status: 'RUNNING', startDate: new Date(Date.now() - 60_000) });
      harness.clockOffsetMs = (timeoutOf(file) - LOCK_GIVE_UP_MARGIN_SECONDS + 1) * 1000;
      // Guard against looping forever on the code this test was written against.
      const world = harness.world;
      let checks = 0;
      Object.assign(harness, {
        world: {
          ...world,
          runs: {
            listRunning: async () => {
              checks += 1;
              if (checks > 5) throw new Error('still waiting after 5 lock checks');
              return world.runs.listRunning();
            },
            switchoverStateMachineArn: world.runs.switchoverStateMachineArn,
          },
        },
      });
      const input = file === 'reconcile' ? { trigger: 'event', globalClusterId: GLOBAL_CLUSTER_ID } : { globalClusterId: GLOBAL_CLUSTER_ID, targetRegion: 'us-west-2' };

      // Act
      const result = await harness.run(file, input);

      // Assess
      expect(result.status).toBe('FAILED');
      expect(result.error).toBe('RunLockTimeoutError');
      expect(result.cause).toMatch(new RegExp(`holds the run lock; this (event|manual) run waits for it to end; gave up after waiting \\d+ s \\(before the state machine's ${timeoutOf(file)} s timeout\\)`));
      expect(result.path.at(-1)).toBe('RunLockRefused');
      expect(harness.poolers.every((pooler) => pooler.calls.length === 0)).toBe(true); // the holder's pools are left alone
    });
  }

  for (const file of ['reconcile', 'switchover'] as const) {
    it(`${file}: AcquireRunLock is told the state machine's own TimeoutSeconds`, () => {
      const definition = JSON.parse(readFileSync(new URL(`../../statemachines/${file}.asl.json`, import.meta.url), 'utf8')) as {
        TimeoutSeconds: number;
        States: { AcquireRunLock: { Parameters: Record<string, unknown> } };
      };

      expect(definition.States.AcquireRunLock.Parameters.stateMachineTimeoutSeconds).toBe(definition.TimeoutSeconds);
    });
  }
});
