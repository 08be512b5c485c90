/**
 * The pure decisions behind issue 9 (a region dies): tolerating a global cluster kept from `available` by a
 * member that cannot answer, which failed pooler targets count against a region's health, and how traffic
 * systems are read and applied independently.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../lib/core/config.ts';
import { decide } from '../../lib/core/decision.ts';
import { InvalidConfigError, ServiceUnavailableError, StaleChangeError, ThrottledError, UpstreamError, UpstreamTimeoutError } from '../../lib/core/errors.ts';
import { assessStability, tolerateUnavailable, withTolerance } from '../../lib/core/topology.ts';
import { definitivelyFailedTargets, planTraffic, regionHealth } from '../../lib/core/traffic-policy.ts';
import type { Topology, TrafficAdapter, TrafficChange, TrafficTargetState } from '../../lib/core/types.ts';
import { applyTraffic, readTraffic, trafficNote } from '../../lib/workflow/traffic-read.ts';
import { shiftTrafficStep } from '../../lib/workflow/reconcile.ts';
import type { World } from '../../lib/workflow/world.ts';

const USE2 = 'arn:aws:rds:us-east-2:123456789012:cluster:app-use2';
const USW2 = 'arn:aws:rds:us-west-2:123456789012:cluster:app-usw2';
const endpoint = (host: string) => ({ host, port: 5432 });

/** After an unplanned failover to us-east-2 while us-west-2 (the old writer) is down. */
function afterOutage(overrides: Partial<Topology> = {}): Topology {
  return {
    globalClusterId: 'app-global',
    status: 'failing-over',
    members: [
      { dbClusterArn: USE2, region: 'us-east-2', isWriter: true, writerEndpoint: endpoint('app-use2.cluster-x.us-east-2.rds.amazonaws.com'), readerEndpoint: endpoint('app-use2.cluster-ro-x.us-east-2.rds.amazonaws.com') },
      { dbClusterArn: USW2, region: 'us-west-2', isWriter: false, synchronizationStatus: 'pending-resync', unanswered: 'ServiceUnavailableError: connect ETIMEDOUT' },
    ],
    observedAt: '2026-11-30T12:00:00.000Z',
    ...overrides,
  };
}

function config(policy: 'none' | 'follow-writer' | 'drain-unhealthy' = 'drain-unhealthy') {
  const target = (name: string) => ({
    name,
    eksCluster: 'app',
    namespace: 'pgbouncer',
    configMap: `${name}-config`,
    workload: { kind: 'Deployment', name },
    podSelector: `app=${name}`,
    aliases: { write: 'appdb', read: 'appdb_ro' },
  });
  return parseConfig({
    globalClusterId: 'app-global',
    regions: {
      'us-east-2': { dbClusterArn: USE2, poolers: [target('pgb-use2')] },
      'us-west-2': { dbClusterArn: USW2, poolers: [target('pgb-usw2')] },
    },
    traffic: { policy, weights: { writer: 100, others: 50 } },
  });
}

describe('tolerateUnavailable', () => {
  it('tolerates at once when a non-writer member did not answer: that explains the status', () => {
    // Act
    const verdict = tolerateUnavailable(afterOutage(), { elapsedSeconds: 0, graceSeconds: 120 });

    // Assess
    expect(verdict).toEqual({
      tolerate: true,
      applies: true,
      reason: 'global cluster app-global is failing-over, not available because app-usw2 in us-west-2 did not answer (ServiceUnavailableError: connect ETIMEDOUT); app-use2 in us-east-2 is the only writer',
    });
    const accepted = withTolerance(afterOutage(), verdict);
    expect(assessStability(afterOutage()).stable).toBe(false);
    expect(assessStability(accepted)).toMatchObject({ stable: true, writer: { region: 'us-east-2' } });
    expect(assessStability(accepted).reason).toContain('global cluster failing-over, tolerated: ');
  });

  it('waits out the grace period when every member answers, then tolerates', () => {
    const answering = afterOutage({ members: afterOutage().members.map(({ unanswered: _, ...member }) => member) });

    expect(tolerateUnavailable(answering, { elapsedSeconds: 119, graceSeconds: 120 })).toMatchObject({ tolerate: false, waitingForGrace: true, reason: expect.stringContaining('waiting up to 120 s for available') });
    expect(tolerateUnavailable(answering, { elapsedSeconds: 120, graceSeconds: 120 })).toMatchObject({ tolerate: true, reason: expect.stringContaining('after 120 s (grace 120 s)') });
  });

  it('never tolerates while a switchover or failover is in progress, nor without a single writer with an endpoint', () => {
    const running = afterOutage({ failoverState: { status: 'failing-over', fromDbClusterArn: USW2, toDbClusterArn: USE2, isDataLossAllowed: true } });
    const noWriter = afterOutage({ members: afterOutage().members.map((member) => ({ ...member, isWriter: false })) });
    const twoWriters = afterOutage({ members: afterOutage().members.map((member) => ({ ...member, isWriter: true, writerEndpoint: endpoint('w.example.com') })) });

    expect(tolerateUnavailable(running, { elapsedSeconds: 9999, graceSeconds: 0 })).toMatchObject({ tolerate: false, applies: false });
    expect(tolerateUnavailable(noWriter, { elapsedSeconds: 9999, graceSeconds: 0 })).toMatchObject({ tolerate: false, reason: 'not tolerated: no member of global cluster app-global is the writer' });
    expect(tolerateUnavailable(twoWriters, { elapsedSeconds: 9999, graceSeconds: 0 })).toMatchObject({ tolerate: false, reason: expect.stringContaining('2 members claim to be the writer') });
  });

  it('a tolerance is for the status it was decided on only', () => {
    const accepted = withTolerance(afterOutage(), tolerateUnavailable(afterOutage(), { elapsedSeconds: 0, graceSeconds: 120 }));

    expect(assessStability({ ...accepted, status: 'modifying' })).toMatchObject({ stable: false, reason: 'global cluster app-global is modifying, not available' });
  });
});

describe('definitivelyFailedTargets (drain-unhealthy health)', () => {
  it('counts targets that failed while changing something, never a failed read-only pod check', () => {
    // Act
    const failures = definitivelyFailedTargets([
      { target: 'pgb-use2', readOnly: true, failed: true, error: 'ServiceUnavailableError' },
      { target: 'pgb-usw2', readOnly: false, failed: true, error: 'TargetFailedError' },
      { target: 'pgb-ok', readOnly: false, failed: false },
    ]);

    // Assess
    expect(failures.targets).toEqual(['pgb-usw2']);
    expect(failures.unchecked).toEqual(['pgb-use2']);
    expect(failures.decisions).toEqual([
      decide(
        'traffic',
        'health-ignores',
        "pgb-use2 failed only a read-only pod check (ServiceUnavailableError); its ConfigMap already routes to the writer, so its region's health is not changed either way: its weights stay as they are this run",
      ),
    ]);
  });

  it('the writer region keeps its weight when only its read-only check failed', () => {
    const topology = afterOutage({ status: 'available' });
    const states: TrafficTargetState[] = [
      { kind: 'route53', region: 'us-east-2', resource: 'Z/app/A/us-east-2', weight: 100 },
      { kind: 'route53', region: 'us-west-2', resource: 'Z/app/A/us-west-2', weight: 50 },
    ];
    const { targets } = definitivelyFailedTargets([{ target: 'pgb-use2', readOnly: true, failed: true }]);

    const plan = planTraffic(topology, config(), states, regionHealth(topology, config(), targets));

    // us-west-2 is drained for its pending-resync member; us-east-2 (the writer) keeps 100
    expect(plan.changes).toEqual([{ kind: 'route53', region: 'us-west-2', resource: 'Z/app/A/us-west-2', from: 50, to: 0 }]);
  });
});

class FakeTraffic implements TrafficAdapter {
  readonly applied: TrafficChange[][] = [];
  observed = 0;
  readonly kind: 'global-accelerator' | 'route53';
  readonly #failure: Error | undefined;
  readonly #applyFailure: Error | undefined;
  constructor(kind: 'global-accelerator' | 'route53', failure?: Error, applyFailure?: Error) {
    this.kind = kind;
    this.#failure = failure;
    this.#applyFailure = applyFailure;
  }
  async observe(): Promise<TrafficTargetState[]> {
    this.observed += 1;
    if (this.#failure) throw this.#failure;
    return [{ kind: this.kind, region: 'us-east-2', resource: `${this.kind}/use2`, weight: 50 }];
  }
  async apply(changes: readonly TrafficChange[]) {
    if (this.#applyFailure) throw this.#applyFailure;
    this.applied.push([...changes]);
    return { decision: decide(`traffic:${this.kind}`, 'applied', `${changes.length} change(s)`), durationMs: 1 };
  }
}

describe('readTraffic and applyTraffic', () => {
  it('policy none reads nothing', async () => {
    const ga = new FakeTraffic('global-accelerator');

    const reading = await readTraffic({ config: config('none'), trafficAdapters: () => [ga] });

    expect(reading).toMatchObject({ read: false, states: [], degraded: [], decisions: [{ step: 'traffic', decision: 'not-read' }] });
    expect(ga.observed).toBe(0);
  });

  it('reads each system on its own: one that does not answer is degraded, the other still read', async () => {
    const ga = new FakeTraffic('global-accelerator', new ServiceUnavailableError('globalaccelerator:DescribeEndpointGroup in us-west-2 failed: connect ETIMEDOUT'));
    const route53 = new FakeTraffic('route53');

    const reading = await readTraffic({ config: config('follow-writer'), trafficAdapters: () => [ga, route53] });

    expect(reading.states.map((state) => state.kind)).toEqual(['route53']);
    expect(reading.degraded).toEqual([{ kind: 'global-accelerator', reason: expect.stringMatching(/^could not read global-accelerator weights: ServiceUnavailableError: .*ETIMEDOUT/) }]);
    expect(reading.decisions).toEqual([expect.objectContaining({ step: 'traffic', decision: 'degraded' })]);
  });

  it('names Route 53 records without a health check: their region has no data-plane failover', async () => {
    const unchecked: TrafficAdapter = {
      kind: 'route53',
      observe: async () => [
        { kind: 'route53', region: 'us-east-2', resource: 'Z/app/A/us-east-2', weight: 100 },
        { kind: 'route53', region: 'us-west-2', resource: 'Z/app/A/us-west-2', weight: 50, withoutHealthCheck: true },
      ],
      apply: async () => ({ decision: decide('traffic:route53', 'applied', 'unused'), durationMs: 0 }),
    };

    const reading = await readTraffic({ config: config('follow-writer'), trafficAdapters: () => [unchecked] });

    expect(reading.degraded).toEqual([]);
    expect(reading.decisions).toEqual([
      decide(
        'traffic',
        'no-data-plane-failover',
        'route53 record(s) Z/app/A/us-west-2 (us-west-2) have no health check (HealthCheckId or alias EvaluateTargetHealth): if that region dies, DNS keeps answering it and only the Route 53 control plane (us-east-1) could change it; see docs/outage.md',
      ),
    ]);
  });

  it('applies each system on its own: a transient failure degrades it, a fatal one is thrown after the others applied', async () => {
    const changes: TrafficChange[] = [
      { kind: 'global-accelerator', region: 'us-east-2', resource: 'ga/use2', from: 50, to: 100 },
      { kind: 'route53', region: 'us-east-2', resource: 'r53/use2', from: 50, to: 100 },
    ];
    const route53 = new FakeTraffic('route53');
    const transient = await applyTraffic([new FakeTraffic('global-accelerator', undefined, new UpstreamTimeoutError('UpdateEndpointGroup timed out')), route53], changes);
    expect(transient.applied).toEqual([changes[1]]);
    expect(transient.degraded).toEqual([{ kind: 'global-accelerator', reason: 'could not change global-accelerator weights: UpstreamTimeoutError: UpdateEndpointGroup timed out' }]);

    const other = new FakeTraffic('route53');
    await expect(applyTraffic([new FakeTraffic('global-accelerator', undefined, new StaleChangeError('dial moved')), other], changes)).rejects.toThrow(StaleChangeError);
    expect(other.applied).toEqual([[changes[1]]]);
  });

  it.each([
    { name: 'throttling', error: new ThrottledError('globalaccelerator:DescribeEndpointGroup in us-west-2 failed: ThrottlingException') },
    { name: 'access denied', error: new UpstreamError('globalaccelerator:DescribeEndpointGroup in us-west-2 failed: AccessDeniedException') },
    { name: 'a bad config', error: new InvalidConfigError('traffic.globalAccelerator: no endpoint group for us-east-2') },
  ])('a control plane that answers with $name is not degraded: it is a failed read, the other system is still read', async ({ error }) => {
    // Prepare
    const ga = new FakeTraffic('global-accelerator', error);
    const route53 = new FakeTraffic('route53');

    // Act
    const reading = await readTraffic({ config: config('follow-writer'), trafficAdapters: () => [ga, route53] });

    // Assess
    expect(reading.degraded).toEqual([]);
    expect(reading.failed).toEqual([{ kind: 'global-accelerator', reason: `could not read global-accelerator weights: ${error.name}: ${error.message}`, error }]);
    expect(reading.states.map((state) => state.kind)).toEqual(['route53']);
    expect(reading.decisions).toEqual([expect.objectContaining({ step: 'traffic', decision: 'read-failed' })]);
  });

  it('applyTraffic degrades only a system that does not answer; throttling is thrown after the others applied', async () => {
    const changes: TrafficChange[] = [
      { kind: 'global-accelerator', region: 'us-east-2', resource: 'ga/use2', from: 50, to: 100 },
      { kind: 'route53', region: 'us-east-2', resource: 'r53/use2', from: 50, to: 100 },
    ];
    const route53 = new FakeTraffic('route53');

    await expect(applyTraffic([new FakeTraffic('global-accelerator', undefined, new ThrottledError('UpdateEndpointGroup: Rate exceeded')), route53], changes)).rejects.toThrow(ThrottledError);
    expect(route53.applied).toEqual([[changes[1]]]);
  });

  it('ShiftTraffic moves the systems it could read, then rethrows a throttled read so the state machine retries', async () => {
    // Prepare: follow-writer, writer us-east-2; both systems have us-east-2 at 50; GA throttles its read
    const ga = new FakeTraffic('global-accelerator', new ThrottledError('globalaccelerator:DescribeEndpointGroup in us-west-2 failed: ThrottlingException'));
    const route53 = new FakeTraffic('route53');
    const metrics: unknown[] = [];
    const world = { config: config('follow-writer'), trafficAdapters: () => [ga, route53], now: () => Date.now(), emitMetrics: async (datums: unknown[]) => void metrics.push(...datums) } as unknown as World;

    // Act
    const attempt = shiftTrafficStep(world, { topology: afterOutage({ status: 'available' }), poolerResults: [] });

    // Assess
    await expect(attempt).rejects.toThrow(ThrottledError);
    expect(route53.applied).toEqual([[{ kind: 'route53', region: 'us-east-2', resource: 'route53/use2', from: 50, to: 100 }]]);
    expect(ga.applied).toEqual([]);
  });

  it('the note names every system not moved and points to the data-plane runbook', () => {
    expect(trafficNote([])).toBeUndefined();
    expect(trafficNote([{ kind: 'route53', reason: 'could not read route53 weights: x' }])).toBe(
      'traffic was not moved on route53: could not read route53 weights: x. Users leave a dead region through the data-plane failover (health-checked DNS records), see docs/outage.md',
    );
  });
});
