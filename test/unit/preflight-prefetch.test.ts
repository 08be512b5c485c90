/**
 * Preflight's early reads (lib/core/preflight-prefetch.ts): taken while the switchover waits for concurrent
 * runs to appear, used by Preflight only when fresh and well-formed. With a dead old primary region, the
 * reads that wait for it (its RDS probe, the traffic control plane it hosts, its member in the topology) are
 * not waited for again after the lock. Fake timers: what is checked is which calls wait, not how fast.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PREFETCH_BUDGET_MS, PREFETCH_MAX_AGE_MS, silentRegionsOf, usablePrefetch, type PreflightPrefetch } from '../../lib/core/preflight-prefetch.ts';
import { AWS_DEAD_REGION_CALL_MS } from '../../lib/adapters/aws-client-pool.ts';
import { DRILL_GLOBAL_CLUSTER_ID } from '../../lib/drill/drill-config.ts';
import { prefetchStep, preflightStep } from '../../lib/workflow/switchover.ts';
import { LOCK_POLL_SECONDS } from '../../lib/workflow/run-lock-step.ts';
import { readFileSync } from 'node:fs';
import type { PeerProbe } from '../../lib/core/peers.ts';
import { twoRegionStage } from '../support/two-region-stage.ts';
import type { World } from '../../lib/workflow/world.ts';

const WRITER = 'us-west-2';
const TARGET = 'us-east-1';
const NOW = Date.parse('2026-11-30T12:00:00.000Z');
const failover = { globalClusterId: DRILL_GLOBAL_CLUSTER_ID, targetRegion: TARGET, mode: 'failover', acceptDataLoss: true, maxRpoLagMs: 5_000 };

afterEach(() => {
  vi.useRealTimers();
});

interface AslWithSettle {
  States: { SettleWhilePrefetching: { Branches: Array<{ States: Record<string, { Type: string; Seconds?: number; TimeoutSeconds?: number }> }> } };
}

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

  it('names the regions that did not answer, and only those, never the target\'s', () => {
    const prefetch = prefetchAt(NOW, {
      regionProbes: [
        { region: WRITER, reachable: false, reason: 'timeout' },
        { region: 'eu-west-1', reachable: true, reason: 'answered' },
        { region: TARGET, reachable: false, reason: 'timeout' },
      ],
    });

    expect(silentRegionsOf(prefetch, TARGET)).toEqual([WRITER]);
    expect(silentRegionsOf(undefined, TARGET)).toEqual([]);
  });

  it('refuses a payload that names a region twice or a time that is not ISO 8601', () => {
    const twice = prefetchAt(NOW, { regionProbes: [{ region: WRITER, reachable: true, reason: 'a' }, { region: WRITER, reachable: false, reason: 'b' }] });

    expect(usablePrefetch(twice, NOW).decision).toMatchObject({ decision: 'ignored', reason: expect.stringContaining('names a region twice') });
    expect(usablePrefetch({ ...prefetchAt(NOW), startedAt: 'Mon, 30 Nov 2026 12:00:00 GMT' }, NOW).decision.decision).toBe('ignored');
  });

  it('is too old for a run that waited once for another run\'s lock, and fresh enough for one that did not', () => {
    // The state machine: the early reads run beside LetConcurrentRunsAppear; WaitForRunLock waits LOCK_POLL_SECONDS.
    const definition = JSON.parse(readFileSync(new URL('../../statemachines/switchover.asl.json', import.meta.url), 'utf8')) as AslWithSettle;
    const branches = definition.States.SettleWhilePrefetching.Branches;
    const settleMs = branches.flatMap((branch) => Object.values(branch.States)).find((state) => state.Type === 'Wait')!.Seconds! * 1000;
    const prefetchTimeoutMs = branches.flatMap((branch) => Object.values(branch.States)).find((state) => state.Type === 'Task')!.TimeoutSeconds! * 1000;

    // Assess: after the Parallel (at most the prefetch's budget, its TimeoutSeconds in the worst case) a Preflight
    // without a lock wait is inside the limit; one that waited once is past it.
    expect(PREFETCH_BUDGET_MS).toBeLessThan(prefetchTimeoutMs);
    expect(Math.max(settleMs, PREFETCH_BUDGET_MS)).toBeLessThan(PREFETCH_MAX_AGE_MS);
    expect(settleMs + LOCK_POLL_SECONDS * 1000).toBeGreaterThan(PREFETCH_MAX_AGE_MS);
  });
});

/** Two local regions; the writer's (which also hosts Global Accelerator's API) is down. */
function deadWriterRegion() {
  const { cluster, world: base } = twoRegionStage({ writer: WRITER, replica: TARGET });
  cluster.replicationLagMs = async () => 0;
  cluster.regionDown(WRITER);
  const calls: string[] = [];
  let clockOffsetMs = 0;
  // The peer stack in the writer's region: answers a probe after `peer.answerMs` unless its region is down.
  const peer = { answerMs: 100 };
  const world: World = {
    ...base,
    now: () => Date.now() + clockOffsetMs,
    trafficAdapters: () => base.trafficAdapters().map((adapter) => ({ kind: adapter.kind, observe: () => (calls.push(`traffic:${adapter.kind}`), adapter.observe()), apply: adapter.apply.bind(adapter) })),
    switchover: { ...base.switchover, probeRegion: (region: string) => (calls.push(`probe:${region}`), base.switchover.probeRegion(region)) },
    peers: {
      probe: async (region: string): Promise<PeerProbe> => {
        calls.push(`peer:${region}`);
        if (cluster.isDown(region)) return new Promise((resolve) => setTimeout(() => resolve({ region, reachable: false, reason: 'Invoke timed out' }), AWS_DEAD_REGION_CALL_MS));
        return new Promise((resolve) => setTimeout(() => resolve({ region, reachable: true, reason: 'answered' }), peer.answerMs));
      },
      prepare: async () => { throw new Error('not in this test'); },
      release: async () => { throw new Error('not in this test'); },
    },
  };
  return { world, calls, cluster, peer, advanceClock: (ms: number) => (clockOffsetMs += ms) };
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
    expect(calls.sort()).toEqual([`peer:${WRITER}`, `probe:${WRITER}`, 'traffic:global-accelerator', 'traffic:route53']);
    expect(prefetch?.regionProbes).toEqual([{ region: WRITER, reachable: false, reason: expect.stringContaining('did not answer') }]);
    expect(prefetch?.peers).toEqual([{ region: WRITER, reachable: false, reason: 'Invoke timed out' }]);
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

  it('Preflight with fresh early reads and a readable lag waits for nothing in the dead region, and proceeds', async () => {
    vi.useFakeTimers();
    const { world, calls } = deadWriterRegion();
    const prefetch = await within(prefetchStep(world, { input: failover }), AWS_DEAD_REGION_CALL_MS);
    calls.length = 0;

    // Act: no timer needs to run for Preflight to finish (every read of the dead region waits on a timer).
    const preflight = await within(preflightStep(world, { input: { ...failover, acceptUnreachablePeers: true }, prefetch }), 0);

    // Assess: the early "no answer"s are asked again, but nothing waits for them (the lag decides the RPO guard).
    expect(preflight?.verdict).toBe('proceed');
    expect(calls.sort()).toEqual([`peer:${WRITER}`, `probe:${WRITER}`]);
    expect(preflight?.checks[0]).toMatchObject({ step: 'prefetch', decision: 'used' });
    expect(preflight?.checks).toContainEqual(expect.objectContaining({ step: 'preflight:rpo-lag', decision: 'pass', reason: 'RPO lag 0 ms is within maxRpoLagMs 5000 ms (the old primary region is unreachable: ' + `the RDS API in ${WRITER} did not answer: UpstreamTimeoutError: rds:DescribeGlobalClusters in ${WRITER} failed: TimeoutError: Socket timed out without establishing a connection (the region is down; gave up after ${AWS_DEAD_REGION_CALL_MS} ms) (read early), and no answer yet when asked again (the verdict does not depend on it); the lag was read in the target's region)` }));
    expect(preflight?.peers).toEqual([{ region: WRITER, reachable: false, reason: "Invoke timed out (read early), and no answer yet when asked again (its region's RDS API did not answer either)" }]);
  });

  it('an unknown lag: Preflight asks the old primary again and proceeds only when the SDK gives up on it again', async () => {
    vi.useFakeTimers();
    const { world } = deadWriterRegion();
    const prefetch = await within(prefetchStep(world, { input: failover }), AWS_DEAD_REGION_CALL_MS);
    const unknownLag: World = { ...world, switchover: { ...world.switchover, readRpoLag: async () => ({ available: false, reason: 'no datapoint' }) } };

    const preflight = preflightStep(unknownLag, { input: { ...failover, acceptUnreachablePeers: true }, prefetch });

    expect(await within(preflight, AWS_DEAD_REGION_CALL_MS - 1)).toBeUndefined();
    const result = await within(preflight, 1);
    expect(result?.verdict).toBe('proceed');
    const rpo = result?.checks.find((check) => check.step === 'preflight:rpo-lag');
    expect(rpo).toMatchObject({ decision: 'pass', reason: expect.stringContaining(`the RDS API in ${WRITER} did not answer`) });
    expect(rpo?.reason).not.toContain('read early');
  });

  it('the old primary region is back since the early probe and no lag can be read: refused, as a fresh probe would', async () => {
    vi.useFakeTimers();
    const { world, cluster } = deadWriterRegion();
    const prefetch = await within(prefetchStep(world, { input: failover }), AWS_DEAD_REGION_CALL_MS);
    cluster.regionUp(WRITER);
    const unknownLag: World = { ...world, switchover: { ...world.switchover, readRpoLag: async () => ({ available: false, reason: 'no datapoint' }) } };

    const result = await within(preflightStep(unknownLag, { input: failover, prefetch }), 1_000);

    expect(result?.checks[0]).toMatchObject({ step: 'prefetch', decision: 'used' });
    expect(result?.verdict).toBe('refuse');
    expect(result?.reason).toContain('while the old primary region is reachable');
  });

  it('a peer whose early probe failed while its region answered is asked again and waited for, however slowly it answers', async () => {
    vi.useFakeTimers();
    const { world, cluster, peer } = deadWriterRegion();
    cluster.regionUp(WRITER);
    const early = prefetchAt(Date.now(), { regionProbes: [{ region: WRITER, reachable: true, reason: 'answered' }], peers: [{ region: WRITER, reachable: false, reason: 'Lambda.TooManyRequestsException' }] });
    peer.answerMs = 9_000; // a cold peer reading its pooler targets

    const preflight = preflightStep(world, { input: { ...failover, acceptUnreachablePeers: true }, prefetch: early });

    expect(await within(preflight, 8_999)).toBeUndefined();
    expect((await within(preflight, 1))?.peers).toEqual([{ region: WRITER, reachable: true, reason: 'answered' }]);
  });

  it('Preflight without early reads, or with stale ones, reads (and waits for) the dead region itself', async () => {
    vi.useFakeTimers();
    const { world, calls, advanceClock } = deadWriterRegion();
    const prefetch = await within(prefetchStep(world, { input: failover }), AWS_DEAD_REGION_CALL_MS);
    advanceClock(PREFETCH_MAX_AGE_MS);
    calls.length = 0;

    const stale = preflightStep(world, { input: { ...failover, acceptUnreachablePeers: true }, prefetch });
    const none = preflightStep(world, { input: { ...failover, acceptUnreachablePeers: true } });

    expect(await within(stale, AWS_DEAD_REGION_CALL_MS - 1)).toBeUndefined();
    expect(await within(none, 0)).toBeUndefined();
    const [staleResult, noneResult] = [await within(stale, 1), await within(none, 0)];
    expect(staleResult?.checks[0]).toMatchObject({ step: 'prefetch', decision: 'stale' });
    expect(noneResult?.checks[0]).toMatchObject({ step: 'prefetch', decision: 'none' });
    expect(calls.filter((call) => call === `probe:${WRITER}`)).toHaveLength(2);
  });
});
