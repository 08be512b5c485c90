/**
 * Issue 9: a failover that works without the dead region or its control planes. The real state machine
 * definitions run locally (aws-local-stepfunctions) with the real step handlers; AWS is stubbed at the SDK.
 */
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, describe, expect, it } from 'vitest';
import { UpdateEndpointGroupCommand } from '@aws-sdk/client-global-accelerator';
import { ChangeResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { DescribeDBClustersCommand, DescribeGlobalClustersCommand, FailoverGlobalClusterCommand, InvalidGlobalClusterStateFault } from '@aws-sdk/client-rds';
import { parseConfig } from '../../lib/core/config.ts';
import { ServiceUnavailableError, TargetFailedError } from '../../lib/core/errors.ts';
import type { LocalExecutionResult } from '../../lib/workflow/local-execution.ts';
import { GLOBAL_CLUSTER_ID, harnessConfig, USE2_ARN, USW2_ARN, WorkflowHarness, type ParsedSwitchoverSummary as SwitchoverSummary } from '../support/workflow-harness.ts';
import { describeDbClustersResponse, regionOfClient, regionsOf, sdkError } from '../adapters/aws-fixtures.ts';
import { DescribeEndpointGroupCommand } from '@aws-sdk/client-global-accelerator';
import type { Decision } from '../../lib/core/decision.ts';
import type { RunSummary as Summary } from '../../lib/workflow/reconcile.ts';



const USE2_WRITER_HOST = 'app-use2.cluster-abc123xyz.us-east-2.rds.amazonaws.com';

/** Runs the switchover definition; RunReconcile (startExecution.sync:2) runs the reconcile definition the same way. */
function runSwitchover(harness: WorkflowHarness, input: Record<string, unknown>): Promise<LocalExecutionResult> {
  return harness.run('switchover', input, {
    RunReconcile: async (task) => {
      const nested = await harness.run('reconcile', (task as { Input: unknown }).Input);
      if (nested.status !== 'SUCCEEDED') throw Object.assign(new Error(nested.cause ?? 'reconcile failed'), { name: nested.error ?? 'States.TaskFailed' });
      return { Status: 'SUCCEEDED', Output: nested.output };
    },
  });
}

const scheduled = { trigger: 'schedule', globalClusterId: GLOBAL_CLUSTER_ID };

/** drain-unhealthy, writer in us-east-2, and one event run so every target already routes to it. */
async function convergedOnUse2(): Promise<WorkflowHarness> {
  const harness = new WorkflowHarness(parseConfig({ ...harnessConfig(), traffic: { policy: 'drain-unhealthy', weights: { writer: 100, others: 50 } } }));
  harness.cluster.writerArn = USE2_ARN;
  const first = await harness.run('reconcile', { trigger: 'event', globalClusterId: GLOBAL_CLUSTER_ID });
  expect(first.status).toBe('SUCCEEDED');
  harness.ga.resetHistory();
  harness.route53.resetHistory();
  return harness;
}

describe('drain-unhealthy takes health from the database and from targets that definitively failed', () => {
  let harness: WorkflowHarness;
  afterEach(() => harness.restore());

  it('a failed read-only pod check (verify-pods) on a scheduled run never drains the writer region', async () => {
    // Prepare: us-east-2 is the writer and its targets are in sync; one pod check of pgb-a answers 503
    harness = await convergedOnUse2();
    harness.poolers[0]!.failWith = new TargetFailedError('pgb-a: pod(s) neither switched nor restarted: pgbouncer-0 (could not read SHOW DATABASES: exec answered 503)');

    // Act
    const result = await harness.run('reconcile', scheduled);

    // Assess: the failure is reported, the weights and dials of the writer region are untouched
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('TargetFailedError');
    expect(harness.weights).toEqual({ 'us-east-2': 100, 'us-west-2': 50 });
    expect(Object.values(harness.dials)).toEqual([100, 50]);
    expect(harness.ga).not.toHaveReceivedCommand(UpdateEndpointGroupCommand);
    expect(harness.route53).not.toHaveReceivedCommand(ChangeResourceRecordSetsCommand);
  });

  it('a transient error in a pooler step is retried by the state machine, then the target converges', async () => {
    // Prepare: the writer is in us-east-2, pgb-b answers 503 once
    harness = await convergedOnUse2();
    let failures = 1;
    const pooler = harness.poolers[1]!;
    const apply = pooler.apply.bind(pooler);
    pooler.apply = async (plan) => {
      if (failures-- > 0) throw new ServiceUnavailableError('GET pods in pgbouncer: 503 Service Unavailable');
      return apply(plan);
    };

    // Act
    const result = await harness.run('reconcile', scheduled);

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect((result.output as Summary).targetsFailed).toEqual([]);
    expect(failures).toBe(-1); // failed once, applied on the state machine's retry
    expect(result.path.filter((state) => state === 'TargetFailed')).toEqual([]);
    expect(harness.weights).toEqual({ 'us-east-2': 100, 'us-west-2': 50 });
  });
});

describe('a region dies: failover from the surviving stack without the dead region or its control planes', () => {
  let harness: WorkflowHarness;
  afterEach(() => harness.restore());

  it('writer region us-west-2 (and with it the GA API) and us-east-1 (Route 53) are down: failover succeeds, poolers converge, traffic is not moved and the summary says why', async () => {
    // Prepare: us-west-2 holds the writer and dies; after FailoverGlobalCluster the global cluster does not
    // report available (its old primary cannot answer), and there is no FailoverState any more
    harness = new WorkflowHarness();
    harness.cluster.writerArn = USW2_ARN;
    harness.deadRegions.add('us-west-2').add('us-east-1');
    harness.cluster.onSwitch = (targetArn) => {
      harness.cluster.writerArn = targetArn;
      harness.cluster.status = 'failing-over';
    };

    // Act: the operator starts the failover from the surviving region's stack (us-east-2)
    const result = await runSwitchover(harness, { globalClusterId: GLOBAL_CLUSTER_ID, targetRegion: 'us-east-2', mode: 'failover', acceptDataLoss: true, maxRpoLagMs: 1000 });

    // Assess: the run succeeded, FailoverGlobalCluster was called once in the surviving region
    expect(result.status).toBe('SUCCEEDED');
    const summary = result.output as SwitchoverSummary;
    expect(summary).toMatchObject({ outcome: 'switched', from: 'us-west-2', to: 'us-east-2', reconcile: { outcome: 'converged' } });
    expect(await regionsOf(harness.rds.commandCalls(FailoverGlobalClusterCommand))).toEqual(['us-east-2']);
    // preflight: the unreachable old primary region and traffic systems are decisions, not refusals
    // the lag is read in the surviving region (20 ms), so the data-loss guard holds even with the old region down
    expect(summary.decisions).toContainEqual(expect.objectContaining({ step: 'preflight:rpo-lag', decision: 'pass', reason: expect.stringMatching(/^RPO lag 20 ms is within maxRpoLagMs 1000 ms \(the old primary region is unreachable: .*ETIMEDOUT/) }));
    expect(summary.decisions).toContainEqual(expect.objectContaining({ step: 'preflight:traffic-plan', decision: 'pass', reason: expect.stringMatching(/not read: could not read global-accelerator weights: .*ETIMEDOUT.*could not read route53 weights/) }));
    // the wait for the switch is bounded by a decision: the dead member explains the status
    expect(summary.decisions).toContainEqual(expect.objectContaining({ step: 'switchover:wait', decision: 'proceed-tolerated', reason: expect.stringMatching(/is failing-over, not available because app-usw2 in us-west-2 did not answer/) }));
    // every pooler writes to the new writer
    for (const pooler of harness.poolers) expect(pooler.aliases.appdb).toEqual({ host: USE2_WRITER_HOST, port: 5432 });
    expect(harness.poolers.every((pooler) => !pooler.paused)).toBe(true);
    // traffic: nothing moved, and the report (and its notification) says so and why
    const reconcile = summary.reconcile!;
    expect(reconcile.decisions).toContainEqual(expect.objectContaining({ step: 'observe-topology', decision: 'proceed-tolerated' }));
    // the write path does not wait on a traffic control plane: Plan leaves traffic to ShiftTraffic
    expect(reconcile.decisions).toContainEqual(expect.objectContaining({ step: 'traffic', decision: 'after-poolers' }));
    expect(reconcile.traffic.changes).toEqual([]);
    expect(reconcile.traffic.note).toMatch(/^traffic was not moved on global-accelerator and route53: could not read global-accelerator weights: .*ETIMEDOUT/);
    expect(reconcile.decisions).toContainEqual(expect.objectContaining({ step: 'shift-traffic', decision: 'degraded' }));
    expect(harness.metrics).toContainEqual({ name: 'TrafficDegraded', value: 2 });
    expect(harness.ga).not.toHaveReceivedCommand(UpdateEndpointGroupCommand);
    expect(harness.route53).not.toHaveReceivedCommand(ChangeResourceRecordSetsCommand);
  });

  it('only the GA API is down: Route 53 weights follow the writer, GA dials stay, the run succeeds', async () => {
    // Prepare: writer now in us-east-2, weights still favour us-west-2, us-west-2 (the GA API) is down
    harness = new WorkflowHarness();
    harness.cluster.writerArn = USE2_ARN;
    Object.assign(harness.weights, { 'us-east-2': 50, 'us-west-2': 100 });
    harness.deadRegions.add('us-west-2');
    const dials = { ...harness.dials };
    const notifications: Array<{ subject: string; summary: unknown }> = [];
    Object.assign(harness, { world: { ...harness.world, notify: async (notification: { subject: string; summary: unknown }) => (notifications.push(notification), { step: 'notify', decision: 'published', reason: 'captured' }) } });

    // Act
    const result = await harness.run('reconcile', { trigger: 'event', globalClusterId: GLOBAL_CLUSTER_ID, event: { id: 'e-9', eventId: 'RDS-EVENT-0238', time: new Date().toISOString() } });

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    const summary = result.output as Summary;
    expect(summary.outcome).toBe('converged');
    expect(harness.weights).toEqual({ 'us-east-2': 100, 'us-west-2': 50 });
    expect(harness.dials).toEqual(dials);
    expect(summary.traffic.changes.map((change) => `${change.kind} ${change.region} ${change.from}->${change.to}`).sort()).toEqual(['route53 us-east-2 50->100', 'route53 us-west-2 100->50']);
    expect(summary.traffic.note).toMatch(/^traffic was not moved on global-accelerator: /);
    expect(summary.decisions).toContainEqual(expect.objectContaining({ step: 'shift-traffic', decision: 'partly-applied' }));
    expect(harness.metrics).toContainEqual({ name: 'TrafficDegraded', value: 1 });
    expect(notifications).toHaveLength(1); // the SNS summary carries the note
    expect((notifications[0]!.summary as Summary).traffic.note).toMatch(/^traffic was not moved on global-accelerator: .*see docs\/outage\.md$/);
  });

  it('traffic policy none reads no traffic system at all, in preflight and in ShiftTraffic', async () => {
    // Prepare
    harness = new WorkflowHarness(parseConfig({ ...harnessConfig(), traffic: { policy: 'none' } }));

    // Act: a planned switchover (preflight + nested reconcile with ShiftTraffic)
    const result = await runSwitchover(harness, { globalClusterId: GLOBAL_CLUSTER_ID, targetRegion: 'us-west-2', mode: 'switchover' });

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(harness.ga.calls()).toHaveLength(0);
    expect(harness.route53.calls()).toHaveLength(0);
    const summary = result.output as SwitchoverSummary;
    expect(summary.decisions).toContainEqual(expect.objectContaining({ step: 'preflight:traffic-plan', decision: 'pass', reason: expect.stringContaining('traffic policy is none') }));
    expect(harness.metrics.find((metric) => metric.name === 'TrafficDegraded')).toBeUndefined();
  });

  it('ExecuteSwitch repeated after a lost response: the state fault with FailoverState already aiming at the target counts as started', async () => {
    // Prepare: the first FailoverGlobalCluster is accepted but its answer is lost (500); the retry meets the state fault
    harness = new WorkflowHarness();
    const failing = { Status: 'failing-over', FromDbClusterArn: USE2_ARN, ToDbClusterArn: USW2_ARN, IsDataLossAllowed: true };
    let calls = 0;
    harness.rds.on(FailoverGlobalClusterCommand).callsFake(async () => {
      calls += 1;
      if (calls === 1) {
        Object.assign(harness.cluster, { status: 'failing-over', failoverState: failing });
        throw sdkError('InternalFailure', { status: 500 });
      }
      // The describe right after the fault still sees the failover running; later ones see it finished.
      harness.cluster.script.push({ writerArn: USE2_ARN, status: 'failing-over', failoverState: failing });
      Object.assign(harness.cluster, { writerArn: USW2_ARN, status: 'available', failoverState: undefined });
      throw new InvalidGlobalClusterStateFault({ message: 'Global cluster app-global is failing over', $metadata: { httpStatusCode: 400 } });
    });

    // Act
    const result = await runSwitchover(harness, { globalClusterId: GLOBAL_CLUSTER_ID, targetRegion: 'us-west-2', mode: 'failover', acceptDataLoss: true });

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(calls).toBe(2);
    const summary = result.output as SwitchoverSummary;
    expect(summary.decisions).toContainEqual(expect.objectContaining({ step: 'failover', decision: 'started', reason: expect.stringMatching(/InvalidGlobalClusterStateFault, and FailoverState \(failing-over\) already moves app-global to .*app-usw2; counted as started/) }));
    expect(summary.reconcile?.outcome).toBe('converged');
  });
});

describe('stability when the global cluster does not report available', () => {
  let harness: WorkflowHarness;
  afterEach(() => harness.restore());

  it('with a single settled writer and every member answering, waits the grace period, then proceeds with a decision', async () => {
    // Prepare: writer us-west-2, status `modifying` for good; every observation is 70 s later than the last
    harness = new WorkflowHarness();
    harness.cluster.writerArn = USW2_ARN;
    harness.cluster.status = 'modifying';
    const world = harness.world;
    Object.assign(harness, {
      world: {
        ...world,
        observeTopology: async () => {
          harness.clockOffsetMs += 70_000;
          return world.observeTopology();
        },
      },
    });

    // Act
    const result = await harness.run('reconcile', { trigger: 'event', globalClusterId: GLOBAL_CLUSTER_ID });

    // Assess: one wait (70 s < 120 s grace), then proceed-tolerated (140 s); poolers converge
    expect(result.status).toBe('SUCCEEDED');
    expect(result.path.filter((state) => state === 'WaitForStableTopology')).toHaveLength(1);
    const summary = result.output as Summary;
    expect(summary.decisions).toContainEqual(
      expect.objectContaining({ step: 'observe-topology', decision: 'proceed-tolerated', reason: expect.stringMatching(/is modifying, not available after 1[34]\d s \(grace 120 s\) while app-usw2 in us-west-2 is the only writer/) }),
    );
    expect(harness.poolers.every((pooler) => pooler.aliases.appdb?.host === 'app-usw2.cluster-abc123xyz.us-west-2.rds.amazonaws.com')).toBe(true);
  });

  it('never tolerates a writer its own region does not confirm: the dead old writer is waited for, bounded, then the run fails', async () => {
    // Prepare: the writer is still the dead us-west-2 member (no failover was made); the run started long ago
    harness = new WorkflowHarness();
    harness.cluster.writerArn = USW2_ARN;
    harness.cluster.status = 'modifying';
    harness.deadRegions.add('us-west-2');
    harness.clockOffsetMs = 901_000;

    // Act
    const result = await harness.run('reconcile', { trigger: 'event', globalClusterId: GLOBAL_CLUSTER_ID });

    // Assess: no member to route to in us-west-2 has an endpoint (DescribeDBClusters there fails): unstable, bounded
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('TopologyUnstableError');
    expect(result.cause).toMatch(/app-usw2 in us-west-2 has no writer endpoint.*limit 900 s/);
    expect(harness.poolers.every((pooler) => pooler.calls.every((call) => call !== 'apply'))).toBe(true);
  });
});

describe('observing the topology while a region hangs', () => {
  let harness: WorkflowHarness;
  afterEach(() => harness.restore());

  it('does not wait for a member of another region that never answers: it is marked unanswered after a short grace', async () => {
    // Prepare: writer us-east-2 (this stack's region); DescribeDBClusters in us-west-2 never returns
    harness = new WorkflowHarness();
    harness.rds.on(DescribeDBClustersCommand).callsFake(async (input: { DBClusterIdentifier?: string }, getClient: () => unknown) => {
      if ((await regionOfClient(getClient)) === 'us-west-2') return new Promise(() => {});
      return describeDbClustersResponse(input.DBClusterIdentifier!);
    });

    // Act
    const topology = await harness.world.observeTopology();

    // Assess
    const west = topology.members.find((member) => member.region === 'us-west-2')!;
    expect(west.unanswered).toBe('DescribeDBClusters in us-west-2 did not answer within 1000 ms of this region\'s member');
    expect(west.readerEndpoint).toBeUndefined();
    expect(topology.members.find((member) => member.region === 'us-east-2')).toMatchObject({ isWriter: true, writerEndpoint: { host: USE2_WRITER_HOST, port: 5432 } });
  });
});

describe('the failover data-loss guard (maxRpoLagMs) and the probe of the old primary region', () => {
  let harness: WorkflowHarness;
  afterEach(() => harness.restore());

  const failover = { globalClusterId: GLOBAL_CLUSTER_ID, targetRegion: 'us-east-2', mode: 'failover', acceptDataLoss: true, maxRpoLagMs: 1000 };

  /** us-west-2 holds the writer; the failover goes to us-east-2 (this stack's region). */
  function writerInUsw2(): WorkflowHarness {
    const created = new WorkflowHarness();
    created.cluster.writerArn = USW2_ARN;
    return created;
  }

  it('the old primary region is down but the lag read in the target\'s region is above maxRpoLagMs: refused, nothing is called', async () => {
    // Prepare
    harness = writerInUsw2();
    harness.deadRegions.add('us-west-2');
    harness.rpoLagMs = 4200;

    // Act
    const result = await runSwitchover(harness, failover);

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('PreflightRefusedError');
    expect(result.cause).toContain('RPO lag 4200 ms exceeds maxRpoLagMs 1000 ms');
    expect(harness.rds).not.toHaveReceivedCommand(FailoverGlobalClusterCommand);
  });

  it('the old primary region is down and no lag can be read: the outage path proceeds, and says why', async () => {
    // Prepare
    harness = writerInUsw2();
    harness.deadRegions.add('us-west-2');
    harness.rpoLagMs = undefined;

    // Act
    const result = await runSwitchover(harness, failover);

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect((result.output as SwitchoverSummary).decisions).toContainEqual(
      expect.objectContaining({ step: 'preflight:rpo-lag', decision: 'pass', reason: expect.stringMatching(/AuroraGlobalDBRPOLag is unavailable .* and the old primary region is unreachable \(.*ServiceUnavailableError.*ETIMEDOUT/) }),
    );
    // The dead region was probed during LetConcurrentRunsAppear and, with no lag to bound the loss, asked again
    // by Preflight (an early "no answer" is never trusted alone: the region may be back); here the second
    // answer (a refused connection, at once) came in time and is the one in the reason.
    const decisions = (result.output as SwitchoverSummary).decisions;
    expect(decisions).toContainEqual(expect.objectContaining({ step: 'prefetch', decision: 'used', reason: expect.stringContaining('RDS probes of us-west-2 (no answer)') }));
    expect(decisions.find((decision) => decision.step === 'preflight:rpo-lag')?.reason).not.toContain('read early');
    expect((await regionsOf(harness.rds.commandCalls(DescribeGlobalClustersCommand))).filter((region) => region === 'us-west-2')).toHaveLength(2);
  });

  it('a throttled probe is not an outage: Preflight is retried, the region answers, and an unknown lag is refused', async () => {
    // Prepare: us-west-2 is up; its first DescribeGlobalClusters is throttled; no lag datapoint
    harness = writerInUsw2();
    harness.rpoLagMs = undefined;
    // Throttled twice: the early probe (PrefetchPreflight leaves it out) and Preflight's own first probe.
    const throttled = () => sdkError('ThrottlingException', { status: 400, message: 'Rate exceeded' });
    harness.globalClusterFaults['us-west-2'] = [throttled(), throttled()];

    // Act
    const result = await runSwitchover(harness, failover);

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('PreflightRefusedError');
    expect(result.cause).toContain('AuroraGlobalDBRPOLag is unavailable');
    expect(result.cause).toContain('while the old primary region is reachable');
    // the probe was asked three times in us-west-2: early (throttled), by Preflight (throttled), by Preflight's retry
    expect((await regionsOf(harness.rds.commandCalls(DescribeGlobalClustersCommand))).filter((region) => region === 'us-west-2')).toHaveLength(3);
    expect(harness.globalClusterFaults['us-west-2']).toEqual([]);
    expect(harness.rds).not.toHaveReceivedCommand(FailoverGlobalClusterCommand);
  });

  it('a probe refused for a reason retrying will not fix (access denied) fails the run instead of counting as an outage', async () => {
    // Prepare
    harness = writerInUsw2();
    harness.rpoLagMs = undefined;
    // Refused every time (the early probe leaves a refusal out; Preflight's own probe must fail the run).
    const denied = () => sdkError('AccessDenied', { status: 403, message: 'not authorized to perform rds:DescribeGlobalClusters' });
    harness.globalClusterFaults['us-west-2'] = [denied(), denied()];

    // Act
    const result = await runSwitchover(harness, failover);

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('UpstreamError');
    expect(result.cause).toContain('AccessDenied');
    expect(harness.rds).not.toHaveReceivedCommand(FailoverGlobalClusterCommand);
  });

  it('a 503 from the old primary region\'s RDS API counts as unreachable', async () => {
    // Prepare: every DescribeGlobalClusters in us-west-2 answers 503 (more than the Preflight retries)
    harness = writerInUsw2();
    harness.rpoLagMs = undefined;
    harness.globalClusterFaults['us-west-2'] = Array.from({ length: 10 }, () => sdkError('ServiceUnavailable', { status: 503 }));

    // Act
    const result = await runSwitchover(harness, failover);

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect((result.output as SwitchoverSummary).decisions).toContainEqual(expect.objectContaining({ step: 'preflight:rpo-lag', decision: 'pass', reason: expect.stringContaining('the old primary region is unreachable (the RDS API in us-west-2 did not answer: ServiceUnavailableError') }));
  });
});

describe('ShiftTraffic degrades only a traffic control plane that does not answer', () => {
  let harness: WorkflowHarness;
  afterEach(() => harness.restore());

  it('Global Accelerator refuses the read (access denied): Route 53 still follows the writer, then the run fails with UpstreamError', async () => {
    // Prepare: writer in us-east-2, Route 53 weights still favour us-west-2, GA denies DescribeEndpointGroup
    harness = new WorkflowHarness();
    harness.cluster.writerArn = USE2_ARN;
    Object.assign(harness.weights, { 'us-east-2': 50, 'us-west-2': 100 });
    harness.ga.on(DescribeEndpointGroupCommand).rejects(sdkError('AccessDeniedException', { status: 403, message: 'not authorized to perform globalaccelerator:DescribeEndpointGroup' }));

    // Act
    const result = await harness.run('reconcile', { trigger: 'event', globalClusterId: GLOBAL_CLUSTER_ID });

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('UpstreamError');
    expect(result.cause).toContain('AccessDeniedException');
    expect(harness.weights).toEqual({ 'us-east-2': 100, 'us-west-2': 50 });
    expect(harness.ga).not.toHaveReceivedCommand(UpdateEndpointGroupCommand);
  });
});
