/**
 * statemachines/reconcile.asl.json executed for real (aws-local-stepfunctions) with the real step
 * handlers; AWS stubbed at the SDK. Scenarios from the issue: success, wait for a stable writer, one of
 * three targets failing, a second run changing nothing, dry run, failure path, retries, run lock.
 */
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChangeResourceRecordSetsCommand, GetChangeCommand } from '@aws-sdk/client-route-53';
import { UpdateEndpointGroupCommand } from '@aws-sdk/client-global-accelerator';
import { DescribeGlobalClustersCommand } from '@aws-sdk/client-rds';
import { TargetFailedError } from '../../lib/core/errors.ts';
import { GLOBAL_CLUSTER_ID, harnessConfig, RECONCILE_ARN, USE2_ARN, USW2_ARN, WorkflowHarness } from '../support/workflow-harness.ts';
import { parseConfig } from '../../lib/core/config.ts';
import { sdkError } from '../adapters/aws-fixtures.ts';
import type { RunSummary as Summary } from '../../lib/workflow/reconcile.ts';

const NEW_WRITER_HOST = 'app-usw2.cluster-abc123xyz.us-west-2.rds.amazonaws.com';
const LOCAL_READER_HOST = 'app-use2.cluster-ro-abc123xyz.us-east-2.rds.amazonaws.com';
const eventInput = { trigger: 'event', globalClusterId: GLOBAL_CLUSTER_ID, event: { id: 'e-1', eventId: 'RDS-EVENT-0185', time: new Date().toISOString() } };

describe('reconcile state machine', () => {
  let harness: WorkflowHarness;
  beforeEach(() => {
    harness = new WorkflowHarness();
    harness.cluster.writerArn = USW2_ARN; // the writer moved to us-west-2; us-east-2's poolers still point at use2
  });
  afterEach(() => harness.restore());

  it('after a switchover, repoints every target to the new writer, keeps reads local and shifts traffic', async () => {
    // Act
    const result = await harness.run('reconcile', eventInput);

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    const summary = result.output as Summary;
    expect(summary.outcome).toBe('converged');
    expect(summary.writerRegion).toBe('us-west-2');
    expect(summary.targets.map((target) => target.outcome)).toEqual(['changed', 'changed', 'changed']);
    for (const pooler of harness.poolers) {
      expect(pooler.aliases.appdb).toEqual({ host: NEW_WRITER_HOST, port: 5432 });
      expect(pooler.aliases.appdb_ro).toEqual({ host: LOCAL_READER_HOST, port: 5432 });
      expect(pooler.ini).toContain("password='s3cret pa''ss'"); // untouched bytes
    }
    expect(harness.weights).toEqual({ 'us-east-2': 50, 'us-west-2': 100 });
    expect(Object.values(harness.dials).sort()).toEqual([100, 50].sort());
    expect(harness.route53).toHaveReceivedCommandTimes(ChangeResourceRecordSetsCommand, 1);
    expect(harness.route53).toHaveReceivedCommand(GetChangeCommand);
    expect(summary.decisions).toContainEqual(expect.objectContaining({ step: 'report', decision: 'converged' }));
    expect(harness.metrics.map((metric) => metric.name)).toEqual(expect.arrayContaining(['WriterVerificationTime', 'TargetRepointTime', 'TrafficShiftTime', 'EndToEndTime']));
    expect(harness.metrics.find((metric) => metric.name === 'DriftRepaired')).toBeUndefined(); // started by an event
    expect(result.path).toEqual(expect.arrayContaining(['AcquireRunLock', 'ObserveTopology', 'VerifyWriter', 'Plan', 'ApplyPoolers', 'ShiftTraffic', 'Report', 'Done']));
  });

  it('waits while the global cluster is still switching over, then proceeds', async () => {
    // Prepare: two observations mid-switchover, then settled
    const switching = { Status: 'switching-over', FromDbClusterArn: USE2_ARN, ToDbClusterArn: USW2_ARN, IsDataLossAllowed: false };
    harness.cluster.script.push({ writerArn: USE2_ARN, status: 'switching-over', failoverState: switching }, { writerArn: USW2_ARN, status: 'switching-over', failoverState: switching });

    // Act
    const result = await harness.run('reconcile', eventInput);

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(result.path.filter((state) => state === 'WaitForStableTopology')).toHaveLength(2);
    expect((result.output as Summary).outcome).toBe('converged');
  });

  it('fails with a clear reason when the writer never settles within the bound', async () => {
    // Prepare: still switching, and the run started long ago
    harness.cluster.failoverState = { Status: 'switching-over', FromDbClusterArn: USE2_ARN, ToDbClusterArn: USW2_ARN };
    harness.cluster.status = 'switching-over';
    const world = harness.world;
    Object.assign(harness, { world: { ...world, now: () => Date.now() + 901_000 } });

    // Act
    const result = await harness.run('reconcile', eventInput);

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('TopologyUnstableError');
    expect(result.cause).toMatch(/still not stable after \d+ s \(limit 900 s\)/);
    expect(harness.poolers.every((pooler) => pooler.calls.includes('resume'))).toBe(true); // failure path resumed
  });

  it('when one of three targets fails, the other two converge and the failure is named and counted', async () => {
    // Prepare
    harness.poolers[1]!.failWith = new TargetFailedError('pgb-b: pod pgbouncer-1 did not switch and could not be restarted');

    // Act
    const result = await harness.run('reconcile', eventInput);

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('TargetFailedError');
    expect(result.cause).toContain('pgb-b');
    expect(harness.poolers[0]!.aliases.appdb?.host).toBe(NEW_WRITER_HOST);
    expect(harness.poolers[2]!.aliases.appdb?.host).toBe(NEW_WRITER_HOST);
    expect(harness.poolers[1]!.aliases.appdb?.host).not.toBe(NEW_WRITER_HOST);
    expect(harness.metrics).toContainEqual({ name: 'TargetsFailed', value: 1, dimensions: { Target: 'pgb-b' } });
    expect(result.path).toContain('ShiftTraffic'); // traffic still follows the writer
  });

  it('a target that needs an operator is counted (PoolerNeedsOperator) and failed by name; the others converge', async () => {
    // Prepare
    harness.poolers[1]!.needsOperator = 'pod pgb-b-0-r, freshly started from configmap pgbouncer/pgbouncer-config, routes appdb -> old:5432';

    // Act
    const result = await harness.run('reconcile', eventInput);

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('TargetFailedError');
    expect(result.cause).toMatch(/target\(s\) failed to converge: pgb-b\b/);
    expect(harness.metrics).toContainEqual({ name: 'PoolerNeedsOperator', value: 1, dimensions: { Target: 'pgb-b' } });
    expect(harness.metrics).toContainEqual({ name: 'TargetsFailed', value: 1, dimensions: { Target: 'pgb-b' } });
    expect(harness.metrics.filter((metric) => metric.name === 'PoolerNeedsOperator')).toHaveLength(1);
    expect(harness.poolers[0]!.aliases.appdb?.host).toBe(NEW_WRITER_HOST);
  });

  it('a second (scheduled) run finds everything in sync and changes nothing; it only re-checks the live targets\' pods', async () => {
    // Prepare
    await harness.run('reconcile', eventInput);
    harness.ga.resetHistory();
    harness.route53.resetHistory();
    const versions = harness.poolers.map((pooler) => pooler.version);
    for (const pooler of harness.poolers) pooler.calls.length = 0;

    // Act
    const result = await harness.run('reconcile', { trigger: 'schedule', globalClusterId: GLOBAL_CLUSTER_ID });

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    const summary = result.output as Summary;
    expect(summary.outcome).toBe('in-sync');
    expect(summary.changesApplied).toBe(0);
    expect(harness.poolers.map((pooler) => pooler.version)).toEqual(versions);
    expect(summary.decisions.filter((decision) => decision.decision === 'verify-pods').map((decision) => decision.step)).toEqual(['pooler:pgb-a', 'pooler:pgb-b', 'pooler:pgb-c']);
    expect(harness.poolers.map((pooler) => pooler.calls)).toEqual(harness.poolers.map(() => ['observe', 'apply']));
    expect(harness.ga).not.toHaveReceivedCommand(UpdateEndpointGroupCommand);
    expect(harness.route53).not.toHaveReceivedCommand(ChangeResourceRecordSetsCommand);
    expect(harness.metrics).toContainEqual({ name: 'DriftRepaired', value: 0, dimensions: { Trigger: 'schedule' } });
    // The in-sync scheduled run's cost (docs/workflow.md): 13 transitions plus the Map and one per live target.
    expect(result.transitions).toBe(18);
  });

  it('an event-started or manual run that finds everything in sync still checks the live targets\' pods (stragglers)', async () => {
    // Prepare
    await harness.run('reconcile', eventInput);
    for (const pooler of harness.poolers) pooler.calls.length = 0;

    // Act
    const byEvent = await harness.run('reconcile', { ...eventInput, event: { ...eventInput.event, id: 'e-2' } });
    const eventCalls = harness.poolers.map((pooler) => [...pooler.calls]);
    for (const pooler of harness.poolers) pooler.calls.length = 0;
    const manual = await harness.run('reconcile', { trigger: 'manual', globalClusterId: GLOBAL_CLUSTER_ID });

    // Assess
    for (const result of [byEvent, manual]) {
      const summary = result.output as Summary;
      expect(summary.outcome).toBe('in-sync');
      expect(summary.changesApplied).toBe(0);
      expect(summary.decisions.filter((decision) => decision.decision === 'verify-pods').map((decision) => decision.step)).toEqual(['pooler:pgb-a', 'pooler:pgb-b', 'pooler:pgb-c']);
      expect(result.path).toContain('ApplyPoolers');
      // 15 + k transitions for k live targets, as a scheduled in-sync run.
      expect(result.transitions).toBe(18);
    }
    expect(eventCalls).toEqual(harness.poolers.map(() => ['observe', 'apply']));
    expect(harness.poolers.map((pooler) => pooler.calls)).toEqual(harness.poolers.map(() => ['observe', 'apply']));
  });

  it('a dry run reports the plan and changes nothing', async () => {
    // Act
    const result = await harness.run('reconcile', { ...eventInput, trigger: 'manual', dryRun: true });

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    const summary = result.output as Summary & { targets: Array<{ changes: Array<{ alias: string; to: { host: string } }> }> };
    expect(summary.outcome).toBe('planned');
    expect(summary.changesApplied).toBe(0);
    expect(summary.targets[0]!.changes).toContainEqual(expect.objectContaining({ alias: 'appdb', to: { host: NEW_WRITER_HOST, port: 5432 } }));
    expect(harness.poolers.every((pooler) => pooler.version === 1 && !pooler.calls.includes('apply'))).toBe(true);
    expect(harness.ga).not.toHaveReceivedCommand(UpdateEndpointGroupCommand);
    expect(harness.route53).not.toHaveReceivedCommand(ChangeResourceRecordSetsCommand);
  });

  it('retries a throttled DescribeGlobalClusters, then succeeds', async () => {
    // Prepare: the SDK's own retry absorbs one throttle (maxAttempts 2), so throttle twice to reach the state machine's Retry
    const throttled = sdkError('ThrottlingException', { status: 400, retryable: { throttling: true } });
    harness.rds.on(DescribeGlobalClustersCommand).rejectsOnce(throttled).rejectsOnce(throttled).callsFake(() => ({
      GlobalClusters: [{ GlobalClusterIdentifier: GLOBAL_CLUSTER_ID, Status: 'available', GlobalClusterMembers: [
        { DBClusterArn: USW2_ARN, IsWriter: true, Readers: [USE2_ARN] },
        { DBClusterArn: USE2_ARN, IsWriter: false, Readers: [], SynchronizationStatus: 'connected' },
      ] }],
    }));

    // Act
    const result = await harness.run('reconcile', eventInput);

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(harness.rds.commandCalls(DescribeGlobalClustersCommand).length).toBeGreaterThanOrEqual(3);
    expect(harness.poolers.every((pooler) => pooler.aliases.appdb?.host === NEW_WRITER_HOST)).toBe(true);
  });

  it('a fatal error resumes every pooler, reports and fails with the error named', async () => {
    // Prepare
    harness.rds.on(DescribeGlobalClustersCommand).rejects(sdkError('AccessDeniedException', { status: 403, message: 'not authorized to perform rds:DescribeGlobalClusters' }));

    // Act
    const result = await harness.run('reconcile', eventInput);

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('UpstreamError');
    expect(result.cause).toContain('rds:DescribeGlobalClusters');
    expect(harness.poolers.every((pooler) => pooler.calls.includes('resume'))).toBe(true);
    expect(harness.metrics).toContainEqual({ name: 'RunsFailed', value: 1, dimensions: { Trigger: 'event' } });
    expect(result.path.slice(-3)).toEqual(['ResumePoolers', 'ReportFailure', 'RunFailed']);
  });

  it('rejects an input for another global cluster with a clear error and changes nothing', async () => {
    // Act
    const result = await harness.run('reconcile', { trigger: 'event', globalClusterId: 'someone-elses-cluster' });

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('InvalidInputError');
    expect(result.cause).toContain('someone-elses-cluster');
    expect(harness.poolers.every((pooler) => pooler.version === 1)).toBe(true);
  });

  it('waits for an older running execution (the run lock), then proceeds once it has ended', async () => {
    // Prepare: an older reconcile is RUNNING for the first two lock checks
    const older = { executionArn: `${RECONCILE_ARN.replace(':stateMachine:', ':execution:')}:older`, stateMachineArn: RECONCILE_ARN, name: 'older', status: 'RUNNING' as const, startDate: new Date(Date.now() - 60_000) };
    harness.running.push(older);
    let checks = 0;
    const world = harness.world;
    Object.assign(harness, {
      world: {
        ...world,
        runs: {
          listRunning: async () => {
            checks += 1;
            if (checks > 2) harness.running.length = 0;
            return world.runs.listRunning();
          },
          switchoverStateMachineArn: world.runs.switchoverStateMachineArn,
        },
      },
    });

    // Act
    const result = await harness.run('reconcile', eventInput);

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(result.path.filter((state) => state === 'WaitForRunLock')).toHaveLength(2);
  });

  it('a scheduled run leaves the work to a running reconcile and succeeds without changes', async () => {
    // Prepare
    harness.running.push({ executionArn: `${RECONCILE_ARN.replace(':stateMachine:', ':execution:')}:older`, stateMachineArn: RECONCILE_ARN, name: 'older', status: 'RUNNING', startDate: new Date(Date.now() - 60_000) });

    // Act
    const result = await harness.run('reconcile', { trigger: 'schedule', globalClusterId: GLOBAL_CLUSTER_ID });

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({ outcome: 'left-to-other-run' });
    expect(harness.poolers.every((pooler) => pooler.calls.length === 0)).toBe(true);
  });

  it('a traffic policy that would drain every region is refused: poolers still converge, weights untouched', async () => {
    // Prepare: weights that put every region at 0
    harness.restore();
    harness = new WorkflowHarness(parseConfig({ ...harnessConfig(), traffic: { policy: 'follow-writer', weights: { writer: 0, others: 0 } } }));
    harness.cluster.writerArn = USW2_ARN;

    // Act
    const result = await harness.run('reconcile', eventInput);

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    const summary = result.output as Summary;
    expect(summary.outcome).toBe('converged');
    expect(summary.decisions).toContainEqual(expect.objectContaining({ step: 'shift-traffic', decision: 'refuse' }));
    expect(harness.weights).toEqual({ 'us-east-2': 100, 'us-west-2': 50 });
    expect(harness.ga).not.toHaveReceivedCommand(UpdateEndpointGroupCommand);
    expect(harness.poolers.every((pooler) => pooler.aliases.appdb?.host === NEW_WRITER_HOST)).toBe(true);
  });
});
