/**
 * statemachines/switchover.asl.json executed for real with the real handlers; AWS stubbed at the SDK,
 * calls asserted to go to the right region's client. The nested reconcile run executes
 * statemachines/reconcile.asl.json the same way.
 */
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FailoverGlobalClusterCommand, SwitchoverGlobalClusterCommand } from '@aws-sdk/client-rds';
import { GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { GLOBAL_CLUSTER_ID, SWITCHOVER_ARN, USE2_ARN, USW2_ARN, WorkflowHarness, type ParsedSwitchoverSummary as Summary } from '../support/workflow-harness.ts';
import { regionsOf } from '../adapters/aws-fixtures.ts';
import type { LocalExecutionResult } from '../../lib/workflow/local-execution.ts';
import { createStepHandler, silentLogger } from '../../lib/workflow/step-handler.ts';
import { workflowFunctions } from '../../lib/workflow/workflow-tasks.ts';

const NEW_WRITER_HOST = 'app-usw2.cluster-abc123xyz.us-west-2.rds.amazonaws.com';

describe('switchover state machine', () => {
  let harness: WorkflowHarness;
  let nestedRuns: LocalExecutionResult[];

  beforeEach(() => {
    harness = new WorkflowHarness();
    nestedRuns = [];
  });
  afterEach(() => harness.restore());

  /** RunReconcile (startExecution.sync:2) runs the reconcile definition locally and answers like Step Functions. */
  const runSwitchover = (input: Record<string, unknown>) =>
    harness.run('switchover', input, {
      RunReconcile: async (task) => {
        const { Input } = task as { Input: unknown };
        const nested = await harness.run('reconcile', Input);
        nestedRuns.push(nested);
        if (nested.status !== 'SUCCEEDED') throw Object.assign(new Error(nested.cause ?? 'reconcile failed'), { name: nested.error ?? 'States.TaskFailed' });
        return { Status: 'SUCCEEDED', Output: nested.output };
      },
    });

  const noWriteCalls = () => {
    expect(harness.rds).not.toHaveReceivedCommand(SwitchoverGlobalClusterCommand);
    expect(harness.rds).not.toHaveReceivedCommand(FailoverGlobalClusterCommand);
  };

  it('planned switchover: pauses, switches in the primary region, reconciles, resumes', async () => {
    // Act
    const result = await runSwitchover({ globalClusterId: GLOBAL_CLUSTER_ID, targetRegion: 'us-west-2', mode: 'switchover' });

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    const summary = result.output as Summary;
    expect(summary).toMatchObject({ outcome: 'switched', from: 'us-east-2', to: 'us-west-2', reconcile: { outcome: 'converged' } });
    expect(harness.rds).toHaveReceivedCommandWith(SwitchoverGlobalClusterCommand, { GlobalClusterIdentifier: GLOBAL_CLUSTER_ID, TargetDbClusterIdentifier: USW2_ARN });
    expect(await regionsOf(harness.rds.commandCalls(SwitchoverGlobalClusterCommand))).toEqual(['us-east-2']);
    for (const pooler of harness.poolers) {
      expect(pooler.calls.filter((call) => call === 'pause' || call === 'apply' || call === 'resume')).toEqual(['pause', 'apply', 'resume']);
      expect(pooler.paused).toBe(false);
      expect(pooler.aliases.appdb?.host).toBe(NEW_WRITER_HOST);
    }
    expect(nestedRuns).toHaveLength(1);
    expect(result.path).toEqual(expect.arrayContaining(['Preflight', 'PausePoolers', 'ExecuteSwitch', 'CheckSwitch', 'RunReconcile', 'ResumePoolers', 'Done']));
    expect(summary.decisions.filter((decision) => decision.step.startsWith('preflight:')).every((decision) => decision.decision === 'pass')).toBe(true);
  });

  it('failover mode: FailoverGlobalCluster with AllowDataLoss, called in the target region', async () => {
    // Act
    const result = await runSwitchover({ globalClusterId: GLOBAL_CLUSTER_ID, targetDbClusterArn: USW2_ARN, mode: 'failover', acceptDataLoss: true, maxRpoLagMs: 1000 });

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(harness.rds).toHaveReceivedCommandWith(FailoverGlobalClusterCommand, { TargetDbClusterIdentifier: USW2_ARN, AllowDataLoss: true });
    expect(await regionsOf(harness.rds.commandCalls(FailoverGlobalClusterCommand))).toEqual(['us-west-2']);
    expect(await regionsOf(harness.cloudwatch.commandCalls(GetMetricDataCommand))).toEqual(['us-west-2']);
    expect((result.output as Summary).decisions).toContainEqual(expect.objectContaining({ step: 'preflight:rpo-lag', decision: 'pass', reason: 'RPO lag 20 ms is within maxRpoLagMs 1000 ms' }));
  });

  it('target already the writer: succeeds with nothing to do and changes nothing', async () => {
    // Act
    const result = await runSwitchover({ globalClusterId: GLOBAL_CLUSTER_ID, targetRegion: 'us-east-2' });

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({ outcome: 'nothing-to-do' });
    expect((result.output as Summary).decisions).toContainEqual(expect.objectContaining({ decision: 'nothing-to-do', reason: 'us-east-2 is already the writer: nothing to do' }));
    noWriteCalls();
    expect(harness.poolers.every((pooler) => !pooler.calls.includes('pause'))).toBe(true);
  });

  it('dry run: runs the preflight, reports, changes nothing', async () => {
    // Act
    const result = await runSwitchover({ globalClusterId: GLOBAL_CLUSTER_ID, targetRegion: 'us-west-2', dryRun: true });

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({ outcome: 'dry-run', from: 'us-east-2', to: 'us-west-2' });
    noWriteCalls();
    expect(harness.poolers.every((pooler) => pooler.calls.every((call) => call === 'observe'))).toBe(true);
  });

  describe('preflight refusals: no RDS write call and a clear reason', () => {
    it.each([
      {
        scenario: 'target member not connected',
        prepare: (h: WorkflowHarness) => void (h.cluster.syncStatus[USW2_ARN] = 'pending-resync'),
        input: { targetRegion: 'us-west-2' },
        cause: 'us-west-2 member is pending-resync, not connected',
      },
      {
        scenario: 'RPO lag too high',
        prepare: (h: WorkflowHarness) => void (h.rpoLagMs = 4200),
        input: { targetRegion: 'us-west-2', mode: 'failover', acceptDataLoss: true, maxRpoLagMs: 1000 },
        cause: 'RPO lag 4200 ms exceeds maxRpoLagMs 1000 ms',
      },
      {
        scenario: 'failover without acceptDataLoss',
        prepare: () => undefined,
        input: { targetRegion: 'us-west-2', mode: 'failover' },
        cause: 'acceptDataLoss',
      },
    ])('$scenario', async ({ prepare, input, cause }) => {
      // Prepare
      prepare(harness);

      // Act
      const result = await runSwitchover({ globalClusterId: GLOBAL_CLUSTER_ID, ...input });

      // Assess
      expect(result.status).toBe('FAILED');
      expect(result.error).toBe('PreflightRefusedError');
      expect(result.cause).toContain(cause);
      noWriteCalls();
      expect(harness.poolers.every((pooler) => !pooler.calls.includes('pause'))).toBe(true);
    });

    it('unknown region: InvalidInputError naming it and listing the configured members', async () => {
      // Act
      const result = await runSwitchover({ globalClusterId: GLOBAL_CLUSTER_ID, targetRegion: 'eu-west-9' });

      // Assess
      expect(result.status).toBe('FAILED');
      expect(result.error).toBe('InvalidInputError');
      expect(result.cause).toContain('targetRegion "eu-west-9" is not a configured member of app-global');
      expect(result.cause).toContain('us-west-2');
      noWriteCalls();
    });
  });

  it('a switchover that RDS cancels: pools resumed, execution failed with the reason', async () => {
    // Prepare: RDS accepts, then gives up; the writer stays in us-east-2 and time passes
    harness.cluster.onSwitch = () => {
      harness.clockOffsetMs += 120_000;
    };

    // Act
    const result = await runSwitchover({ globalClusterId: GLOBAL_CLUSTER_ID, targetRegion: 'us-west-2' });

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('SwitchoverFailedError');
    expect(result.cause).toContain('cancelled or failed');
    expect(harness.poolers.every((pooler) => pooler.calls.includes('pause') && !pooler.paused)).toBe(true);
    expect(result.path.slice(-5)).toEqual(['ResumePoolersAfterFailure', 'PeersPrepared', 'ReleasePeers', 'ReportFailure', 'SwitchoverFailed']);
  });

  it('a switchover that never finishes: pools resumed, execution failed after the bound', async () => {
    // Prepare: RDS keeps switching over, and the clock passes switchover.timeoutSeconds
    harness.cluster.onSwitch = () => {
      harness.cluster.failoverState = { Status: 'switching-over', FromDbClusterArn: USE2_ARN, ToDbClusterArn: USW2_ARN };
      harness.cluster.status = 'switching-over';
      harness.clockOffsetMs += 1801_000;
    };

    // Act
    const result = await runSwitchover({ globalClusterId: GLOBAL_CLUSTER_ID, targetRegion: 'us-west-2' });

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('SwitchoverTimeoutError');
    expect(result.cause).toContain('did not finish within 1800 s');
    expect(harness.poolers.every((pooler) => !pooler.paused)).toBe(true);
  });

  it('the pause budget runs out while RDS is still switching: pools resumed early, switch still completes', async () => {
    // Prepare: first check sees the switch in progress past the budget, the next sees it done
    let checks = 0;
    harness.cluster.onSwitch = (target) => {
      harness.cluster.failoverState = { Status: 'switching-over', FromDbClusterArn: USE2_ARN, ToDbClusterArn: target };
      harness.clockOffsetMs += 61_000;
    };
    const world = harness.world;
    Object.assign(harness, {
      world: {
        ...world,
        observeTopology: async () => {
          if (harness.cluster.failoverState && ++checks > 1) {
            harness.cluster.failoverState = undefined;
            harness.cluster.writerArn = USW2_ARN;
          }
          return world.observeTopology();
        },
      },
    });

    // Act
    const result = await runSwitchover({ globalClusterId: GLOBAL_CLUSTER_ID, targetRegion: 'us-west-2' });

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(result.path).toContain('ResumePoolersEarly');
    expect(harness.poolers[0]!.calls.filter((call) => call === 'pause' || call === 'resume')).toEqual(['pause', 'resume', 'resume']);
  });

  it('two runs started together: one switches, the other waits for it and then finds nothing to do', async () => {
    // Prepare
    harness.trackRunning = true;

    // Act
    const [first, second] = await Promise.all([
      runSwitchover({ globalClusterId: GLOBAL_CLUSTER_ID, targetRegion: 'us-west-2' }),
      runSwitchover({ globalClusterId: GLOBAL_CLUSTER_ID, targetRegion: 'us-west-2' }),
    ]);

    // Assess
    expect([first.status, second.status]).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect(harness.rds).toHaveReceivedCommandTimes(SwitchoverGlobalClusterCommand, 1);
    const outcomes = [first, second].map((run) => (run.output as Summary).outcome).sort();
    expect(outcomes).toEqual(['nothing-to-do', 'switched']);
    const waited = [first, second].find((run) => (run.output as Summary).outcome === 'nothing-to-do')!;
    expect(waited.path).toContain('WaitForRunLock');
  });

  it('a stale lock from a crashed run is taken over after its lease', async () => {
    // Prepare: a switchover RUNNING for 3 hours (lease 7500 s)
    harness.running.push({
      executionArn: `${SWITCHOVER_ARN.replace(':stateMachine:', ':execution:')}:crashed`,
      stateMachineArn: SWITCHOVER_ARN,
      name: 'crashed',
      status: 'RUNNING',
      startDate: new Date(Date.now() - 3 * 3600_000),
    });

    // Act
    const result = await runSwitchover({ globalClusterId: GLOBAL_CLUSTER_ID, targetRegion: 'us-west-2', dryRun: true });

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(result.path).not.toContain('WaitForRunLock');
    expect(result.output).toMatchObject({ outcome: 'dry-run' });
  });

  it('a switchover stopped from the console after the pause: the status-change event resumes the pools', async () => {
    // Prepare: the pools were paused, then the execution was stopped (no Catch runs)
    await Promise.all(harness.poolers.map((pooler) => pooler.pauseWrites()));
    const resume = createStepHandler('resume-poolers', workflowFunctions['resume-poolers'], async () => harness.world, silentLogger);
    const statusChange = {
      version: '0',
      id: '315c1398-40ff-a850-213b-158f73e60175',
      'detail-type': 'Step Functions Execution Status Change',
      source: 'aws.states',
      account: '123456789012',
      time: new Date().toISOString(),
      region: 'us-east-2',
      resources: [`${SWITCHOVER_ARN.replace(':stateMachine:', ':execution:')}:stopped`],
      detail: { executionArn: `${SWITCHOVER_ARN.replace(':stateMachine:', ':execution:')}:stopped`, stateMachineArn: SWITCHOVER_ARN, name: 'stopped', status: 'ABORTED' },
    };

    // Act
    const output = (await resume(statusChange as never)) as { decisions: Array<{ decision: string }> };

    // Assess
    expect(output.decisions.map((decision) => decision.decision)).toEqual(['resumed', 'resumed', 'resumed']);
    expect(harness.poolers.every((pooler) => !pooler.paused)).toBe(true);
  });
});
