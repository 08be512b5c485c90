/**
 * Preflight's early reads (lib/core/preflight-prefetch.ts): taken while the switchover waits for concurrent
 * runs to appear, used by Preflight only when fresh and well-formed. With a dead old primary region, the
 * reads that wait for it (its RDS probe, the traffic control plane it hosts, its member in the topology) are
 * not waited for again after the lock. Fake timers: what is checked is which calls wait, not how fast.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Endpoint } from '../../lib/core/endpoint.ts';
import { TrafficKind } from '../../lib/core/types.ts';
import { PREFETCH_BUDGET_MS, PREFETCH_MAX_AGE_MS, silentRegionsOf, usablePrefetch, type PreflightPrefetch } from '../../lib/core/preflight-prefetch.ts';
import { AWS_DEAD_REGION_CALL_MS } from '../../lib/adapters/aws-client-pool.ts';
import { drillClusterArn, drillConfig, DRILL_GLOBAL_CLUSTER_ID } from '../../lib/drill/drill-config.ts';
import { LocalAuroraGlobalCluster } from '../../lib/drill/local-aurora.ts';
import { createLocalWorld, LocalRunRegistry, LocalTrafficWeights } from '../../lib/drill/local-world.ts';
import type { LocalEnvironment } from '../../lib/local/environment.ts';
import type { LocalPostgres } from '../../lib/local/postgres.ts';
import { prefetchStep, preflightStep } from '../../lib/workflow/switchover.ts';
import type { World } from '../../lib/workflow/world.ts';

const WRITER = 'us-west-2';
const TARGET = 'us-east-1';
const NOW = Date.parse('2026-11-30T12:00:00.000Z');
const failover = { globalClusterId: DRILL_GLOBAL_CLUSTER_ID, targetRegion: TARGET, mode: 'failover', acceptDataLoss: true, maxRpoLagMs: 5_000 };

afterEach(() => {
  vi.useRealTimers();
});

function prefetchAt(startedAt: number, extra: Partial<PreflightPrefetch> = {}): PreflightPrefetch {
  return {
    startedAt: new Date(startedAt).toISOString(),
    regionProbes: [{ region: WRITER, reachable: false, reason: `the RDS API in ${WRITER} did not answer: UpstreamTimeoutError` }],
    decision: { step: 'prefetch', decision: 'read', reason: 'every early read answered' },
    ...extra,
  };
}

describe('usablePrefetch', () => {
  it('uses fresh, well-formed early reads and says what it used', () => {
    const use = usablePrefetch(prefetchAt(NOW - 6_000), NOW);

    expect(use.prefetch?.regionProbes).toHaveLength(1);
    expect(use.decision).toMatchObject({ step: 'prefetch', decision: 'used', reason: expect.stringContaining(`RDS probes of ${WRITER} (no answer)`) });
    expect(use.decision.reason).toContain('6 s ago');
  });

  it.each([
    ['absent', undefined, 'none'],
    ['skipped by the state machine', { skipped: 'States.Timeout' }, 'skipped'],
    ['malformed', { startedAt: 'yesterday', regionProbes: 'all fine' }, 'ignored'],
    ['with an unknown key', { ...prefetchAt(NOW), injected: true }, 'ignored'],
    ['a traffic reading that carries a failure', prefetchAt(NOW, { traffic: { read: true, states: [], degraded: [], failed: [{ kind: 'route53', reason: 'AccessDenied' } as never], decisions: [] } }), 'ignored'],
    ['older than the limit', prefetchAt(NOW - PREFETCH_MAX_AGE_MS - 1), 'stale'],
    ['from the future', prefetchAt(NOW + 10_000), 'stale'],
  ])('does not use early reads that are %s', (_label, raw, decision) => {
    const use = usablePrefetch(raw, NOW);

    expect(use.prefetch).toBeUndefined();
    expect(use.decision).toMatchObject({ step: 'prefetch', decision, reason: expect.stringContaining('every read is taken now') });
  });

  it('names the regions that did not answer, and only those', () => {
    const prefetch = prefetchAt(NOW, { regionProbes: [{ region: WRITER, reachable: false, reason: 'timeout' }, { region: 'eu-west-1', reachable: true, reason: 'answered' }] });

    expect(silentRegionsOf(prefetch)).toEqual([WRITER]);
    expect(silentRegionsOf(undefined)).toEqual([]);
  });
});

/** Two local regions; the writer's (which also hosts Global Accelerator's API) is down. */
function deadWriterRegion() {
  const server = (port: number) => ({ endpoint: { host: '127.0.0.1', port } satisfies Endpoint }) as unknown as LocalPostgres;
  const cluster = new LocalAuroraGlobalCluster({
    env: {} as LocalEnvironment,
    globalClusterId: DRILL_GLOBAL_CLUSTER_ID,
    members: [
      { region: WRITER, dbClusterArn: drillClusterArn(WRITER), server: server(15432) },
      { region: TARGET, dbClusterArn: drillClusterArn(TARGET), server: server(15433) },
    ],
    writerRegion: WRITER,
    buses: {},
    delivery: { mode: 'none', delayMs: 0, duplicate: false },
  });
  cluster.replicationLagMs = async () => 0;
  const isDown = (region: string) => cluster.isDown(region);
  const traffic = [TrafficKind.GlobalAccelerator, TrafficKind.Route53].map((kind) => new LocalTrafficWeights({ [WRITER]: 100, [TARGET]: 50 }, { kind, isDown }));
  const base = createLocalWorld({
    config: drillConfig(undefined, { regions: [WRITER, TARGET], trafficPolicy: 'drain-unhealthy' }),
    region: TARGET,
    cluster,
    poolers: [],
    traffic,
    runs: new LocalRunRegistry(),
    metrics: [],
  });
  cluster.regionDown(WRITER);
  const calls: string[] = [];
  let clockOffsetMs = 0;
  const world: World = {
    ...base,
    now: () => Date.now() + clockOffsetMs,
    trafficAdapters: () => base.trafficAdapters().map((adapter) => ({ kind: adapter.kind, observe: () => (calls.push(`traffic:${adapter.kind}`), adapter.observe()), apply: adapter.apply.bind(adapter) })),
    switchover: { ...base.switchover, probeRegion: (region: string) => (calls.push(`probe:${region}`), base.switchover.probeRegion(region)) },
  };
  return { world, calls, advanceClock: (ms: number) => (clockOffsetMs += ms) };
}

/** Resolves once pending timers up to `ms` have run (fake timers); undefined when `promise` has not settled by then. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let value: T | undefined;
  promise.then((settled) => (value = settled), () => undefined);
  await vi.advanceTimersByTimeAsync(ms);
  return value;
}

describe('a failover from a dead old primary region', () => {
  it('takes the slow reads early, within the prefetch budget', async () => {
    vi.useFakeTimers();
    const { world, calls } = deadWriterRegion();

    const prefetch = await within(prefetchStep(world, { input: failover }), AWS_DEAD_REGION_CALL_MS);

    expect(PREFETCH_BUDGET_MS).toBeGreaterThan(AWS_DEAD_REGION_CALL_MS);
    expect(calls.sort()).toEqual([`probe:${WRITER}`, 'traffic:global-accelerator', 'traffic:route53']);
    expect(prefetch?.regionProbes).toEqual([{ region: WRITER, reachable: false, reason: expect.stringContaining('did not answer') }]);
    expect(prefetch?.traffic?.degraded).toEqual([{ kind: 'global-accelerator', reason: expect.stringContaining('UpstreamTimeoutError') }]);
    expect(prefetch?.decision).toMatchObject({ step: 'prefetch', decision: 'read', reason: 'every early read answered' });
  });

  it('leaves out what has not answered within the budget, for Preflight to read', async () => {
    vi.useFakeTimers();
    const { world } = deadWriterRegion();
    const stuck: World = { ...world, switchover: { ...world.switchover, probeRegion: () => new Promise(() => undefined) } };

    const prefetch = await within(prefetchStep(stuck, { input: failover }), PREFETCH_BUDGET_MS);

    expect(prefetch?.regionProbes).toEqual([]);
    expect(prefetch?.decision.reason).toContain(`left to Preflight (not answered in ${PREFETCH_BUDGET_MS / 1000} s, or failed): the RDS probe of ${WRITER}`);
  });

  it('refuses invalid input like Preflight does (the state machine then skips the early reads)', async () => {
    const { world, calls } = deadWriterRegion();

    await expect(prefetchStep(world, { input: { ...failover, targetRegion: 'mars-1' } })).rejects.toMatchObject({ name: 'InvalidInputError', message: expect.stringContaining('mars-1') });
    expect(calls).toEqual([]);
  });

  it('Preflight with fresh early reads waits for nothing in the dead region and proceeds', async () => {
    vi.useFakeTimers();
    const { world, calls } = deadWriterRegion();
    const prefetch = await within(prefetchStep(world, { input: failover }), AWS_DEAD_REGION_CALL_MS);
    calls.length = 0;

    // Act: no timer needs to run for Preflight to finish (the dead region's reads all wait on timers).
    const preflight = await within(preflightStep(world, { input: failover, prefetch }), 0);

    // Assess
    expect(preflight?.verdict).toBe('proceed');
    expect(calls).toEqual([]);
    expect(preflight?.checks[0]).toMatchObject({ step: 'prefetch', decision: 'used' });
    expect(preflight?.checks).toContainEqual(expect.objectContaining({ step: 'preflight:rpo-lag', decision: 'pass' }));
  });

  it('Preflight without early reads, or with stale ones, reads (and waits for) the dead region itself', async () => {
    vi.useFakeTimers();
    const { world, calls, advanceClock } = deadWriterRegion();
    const prefetch = await within(prefetchStep(world, { input: failover }), AWS_DEAD_REGION_CALL_MS);
    advanceClock(PREFETCH_MAX_AGE_MS);
    calls.length = 0;

    const stale = preflightStep(world, { input: failover, prefetch });
    const none = preflightStep(world, { input: failover });

    expect(await within(stale, AWS_DEAD_REGION_CALL_MS - 1)).toBeUndefined();
    expect(await within(none, 0)).toBeUndefined();
    const [staleResult, noneResult] = [await within(stale, 1), await within(none, 0)];
    expect(staleResult?.checks[0]).toMatchObject({ step: 'prefetch', decision: 'stale' });
    expect(noneResult?.checks[0]).toMatchObject({ step: 'prefetch', decision: 'none' });
    expect(calls.filter((call) => call === `probe:${WRITER}`)).toHaveLength(2);
  });
});
