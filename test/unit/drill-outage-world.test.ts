/**
 * The drill's stand-ins for a dead region (scenario region-outage), with the real preflight step: the
 * failover's data-loss guard reads the replica's real lag (in the surviving region) and refuses above
 * maxRpoLagMs, whether or not the old writer's region answers; once that region is down its RDS member does
 * not answer and the probe says unreachable (only a lag that cannot be read is then accepted), and the
 * traffic control plane served from it fails with a transient error that the preflight only notes.
 */
import { describe, expect, it } from 'vitest';
import { DRILL_GLOBAL_CLUSTER_ID } from '../../lib/drill/drill-config.ts';
import { LocalAuroraGlobalCluster } from '../../lib/drill/local-aurora.ts';
import { preflightStep } from '../../lib/workflow/switchover.ts';
import { twoRegionStage } from '../support/two-region-stage.ts';

const WRITER = 'us-west-2';
const REPLICA = 'us-east-1';
const DEAD_REGION_CALL_MS = 20;

/** The local global cluster with the replica's lag set by the test instead of read from a server. */
class LaggingCluster extends LocalAuroraGlobalCluster {
  /** undefined: the lag cannot be read. */
  lagMs: number | undefined = 0;
  override async replicationLagMs(): Promise<number> {
    if (this.lagMs === undefined) throw new Error('could not read the replica lag');
    return this.lagMs;
  }
}

function stage() {
  // A dead region's calls fail as the SDK's do, only sooner here (the full wait is tested in dead-region-timing.test.ts).
  return twoRegionStage({ writer: WRITER, replica: REPLICA, deadRegionCallMs: DEAD_REGION_CALL_MS, createCluster: (options) => new LaggingCluster(options) });
}

const failover = { globalClusterId: DRILL_GLOBAL_CLUSTER_ID, targetRegion: REPLICA, mode: 'failover', acceptDataLoss: true, maxRpoLagMs: 5_000 };

describe('drill region-outage: the failover preflight against the local stand-ins', () => {
  it('refuses a failover whose replica lags more than maxRpoLagMs while the old writer region answers', async () => {
    // Prepare
    const { cluster, world } = stage();
    cluster.lagMs = 8_000;

    // Act
    const result = await preflightStep(world, { input: failover });

    // Assess
    expect(result.verdict).toBe('refuse');
    expect(result.reason).toBe('RPO lag 8000 ms exceeds maxRpoLagMs 5000 ms');
    expect(result.checks).toContainEqual(expect.objectContaining({ step: 'preflight:rpo-lag', decision: 'refuse' }));
  });

  it('passes the same lag within maxRpoLagMs', async () => {
    const { cluster, world } = stage();
    cluster.lagMs = 4_000;

    const result = await preflightStep(world, { input: failover });

    expect(result.checks).toContainEqual(expect.objectContaining({ step: 'preflight:rpo-lag', decision: 'pass', reason: 'RPO lag 4000 ms is within maxRpoLagMs 5000 ms' }));
  });

  it('once the writer region is down: the lag read in the surviving region is still enforced', async () => {
    // Prepare
    const { cluster, world } = stage();
    cluster.lagMs = 8_000;
    cluster.regionDown(WRITER);

    // Act
    const result = await preflightStep(world, { input: failover });

    // Assess
    expect(result.verdict).toBe('refuse');
    expect(result.reason).toMatch(/^RPO lag 8000 ms exceeds maxRpoLagMs 5000 ms \(the old primary region is unreachable: the RDS API in us-west-2 did not answer: UpstreamTimeoutError/);
  });

  it('once the writer region is down: its member does not answer, a lag within the limit passes, and the dead control plane is only noted', async () => {
    // Prepare
    const { cluster, world } = stage();
    cluster.lagMs = 0;
    cluster.regionDown(WRITER);

    // Act
    const topology = await world.observeTopology();
    const result = await preflightStep(world, { input: failover });

    // Assess
    expect(topology.members.find((member) => member.region === WRITER)).toMatchObject({ unanswered: expect.stringContaining('UpstreamTimeoutError') });
    expect(topology.members.find((member) => member.region === WRITER)).not.toHaveProperty('writerEndpoint');
    expect(result.verdict).toBe('proceed');
    expect(result.checks).toContainEqual(expect.objectContaining({ step: 'preflight:rpo-lag', decision: 'pass', reason: expect.stringMatching(/^RPO lag 0 ms is within maxRpoLagMs 5000 ms \(the old primary region is unreachable/) }));
    expect(JSON.stringify(result.checks)).toContain('could not read global-accelerator weights: UpstreamTimeoutError');
  });

  it('once the writer region is down and the lag cannot be read: the failover proceeds as accepted, and says so', async () => {
    const { cluster, world } = stage();
    cluster.lagMs = undefined;
    cluster.regionDown(WRITER);

    const result = await preflightStep(world, { input: failover });

    expect(result.verdict).toBe('proceed');
    expect(result.checks).toContainEqual(expect.objectContaining({ step: 'preflight:rpo-lag', decision: 'pass', reason: expect.stringContaining('and the old primary region is unreachable') }));
  });

  it('a traffic control plane fails with a transient error only while the region serving it is down', async () => {
    const { cluster, traffic } = stage();
    const [ga, route53] = traffic;

    cluster.regionDown(WRITER);
    await expect(ga!.observe()).rejects.toMatchObject({ name: 'UpstreamTimeoutError' });
    await expect(route53!.observe()).resolves.toHaveLength(2);

    cluster.regionUp(WRITER);
    await expect(ga!.observe()).resolves.toHaveLength(2);
  });
});
