/**
 * A dead region costs what it costs in AWS (reviewer finding on issue 9): in the drill a call to a dead
 * region's API fails only after the SDK would give up (connect timeout x attempts), as UpstreamTimeoutError;
 * in AWS, ObserveTopology does not wait fully on a remote writer's member that does not answer (bounded,
 * recorded unanswered), and the failover preflight reads the old primary's region, traffic, RPO lag, poolers
 * and peers while the topology is still being read.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { DescribeDBClustersCommand, DescribeGlobalClustersCommand, RDSClient } from '@aws-sdk/client-rds';
import type { Topology } from '../../lib/core/types.ts';
import { AwsClients } from '../../lib/adapters/aws-clients.ts';
import { AWS_DEAD_REGION_CALL_MS, DEFAULT_AWS_CLIENT_OPTIONS } from '../../lib/adapters/aws-client-pool.ts';
import { DRILL_GLOBAL_CLUSTER_ID } from '../../lib/drill/drill-config.ts';
import { createAwsWorld } from '../../lib/workflow/aws-world.ts';
import { allAwsParts } from '../../lib/workflow/aws-parts/all.ts';
import { preflightStep } from '../../lib/workflow/switchover.ts';
import { describeDbClustersResponse, describeGlobalClustersResponse, exampleConfig, USE2_ARN, USW2_ARN } from '../adapters/aws-fixtures.ts';
import { twoRegionStage } from '../support/two-region-stage.ts';

const WRITER = 'us-west-2';
const REPLICA = 'us-east-1';

function stage(deadRegionCallMs?: number) {
  return twoRegionStage({ writer: WRITER, replica: REPLICA, ...(deadRegionCallMs === undefined ? {} : { deadRegionCallMs }) });
}

/** Whether `promise` has settled once pending timers up to `ms` have run (fake timers). */
async function settledWithin<T>(promise: Promise<T>, ms: number): Promise<boolean> {
  let settled = false;
  promise.then(() => (settled = true), () => (settled = true));
  await vi.advanceTimersByTimeAsync(ms);
  return settled;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('the drill: a dead region answers as late as the SDK gives up', () => {
  it('derives the default from the AWS client pool: connect timeout x attempts', () => {
    expect(AWS_DEAD_REGION_CALL_MS).toBe(DEFAULT_AWS_CLIENT_OPTIONS.connectionTimeoutMs * DEFAULT_AWS_CLIENT_OPTIONS.maxAttempts);
  });

  it('a dead control plane fails only after the SDK would give up, with UpstreamTimeoutError', async () => {
    vi.useFakeTimers();
    const { cluster, traffic } = stage();
    cluster.regionDown(WRITER);

    const read = traffic[0]!.observe();
    read.catch(() => undefined);

    expect(await settledWithin(read, AWS_DEAD_REGION_CALL_MS - 1)).toBe(false);
    expect(await settledWithin(read, 1)).toBe(true);
    await expect(read).rejects.toMatchObject({ name: 'UpstreamTimeoutError', message: expect.stringContaining('TimeoutError') });
  });

  it('the probe of a dead region and the read of its member wait as long (configurable), then report them unreachable', async () => {
    vi.useFakeTimers();
    const { cluster, world } = stage(2_000);
    cluster.regionDown(WRITER);

    const probe = world.switchover.probeRegion(WRITER);
    expect(await settledWithin(probe, 1_999)).toBe(false);
    expect(await settledWithin(probe, 1)).toBe(true);
    expect(await probe).toMatchObject({ reachable: false, reason: expect.stringContaining('UpstreamTimeoutError') });

    const topology = world.observeTopology();
    expect(await settledWithin(topology, 2_000)).toBe(true);
    expect((await topology).members.find((member) => member.region === WRITER)).toMatchObject({ isWriter: true, unanswered: expect.any(String) });
  });
});

/** The AWS World of us-east-2's stack; the writer is app-usw2, whose region is dead: its DescribeDBClusters never ends within the test. */
const mockRds = () => mockClient(RDSClient);

function awsWorldWithDeadWriterRegion(rds: ReturnType<typeof mockRds>) {
  rds.on(DescribeGlobalClustersCommand).resolves(describeGlobalClustersResponse({ writerArn: USW2_ARN }));
  rds.on(DescribeDBClustersCommand, { DBClusterIdentifier: USE2_ARN }).resolves(describeDbClustersResponse(USE2_ARN));
  rds.on(DescribeDBClustersCommand, { DBClusterIdentifier: USW2_ARN }).callsFake(() => new Promise(() => undefined));
  return createAwsWorld({ config: exampleConfig(), region: 'us-east-2', clients: new AwsClients(), parts: allAwsParts, telemetry: undefined, stateMachineArns: [] });
}

describe('AWS: ObserveTopology does not wait fully on a remote writer whose region does not answer', () => {
  it('bounds the dead writer member, records it unanswered, and keeps this region\'s member', async () => {
    vi.useFakeTimers();
    const rds = mockRds();
    try {
      const world = awsWorldWithDeadWriterRegion(rds);

      const observed = world.observeTopology();
      const settled = await settledWithin(observed, DEFAULT_AWS_CLIENT_OPTIONS.connectionTimeoutMs);

      expect(settled).toBe(true);
      const topology: Topology = await observed;
      expect(topology.members.find((member) => member.dbClusterArn === USW2_ARN)).toMatchObject({ isWriter: true, unanswered: expect.stringContaining('did not answer') });
      expect(topology.members.find((member) => member.dbClusterArn === USW2_ARN)).not.toHaveProperty('writerEndpoint');
      expect(topology.members.find((member) => member.dbClusterArn === USE2_ARN)).toHaveProperty('writerEndpoint');

      // The next poll in the same container (CheckSwitch) does not wait on the silent region again.
      const next = world.observeTopology();
      expect(await settledWithin(next, 0)).toBe(true);
      expect((await next).members.find((member) => member.dbClusterArn === USW2_ARN)).toMatchObject({ isWriter: true, unanswered: expect.stringContaining('not waited for') });

      // Once the region answers again, its member is read again.
      rds.on(DescribeDBClustersCommand, { DBClusterIdentifier: USW2_ARN }).resolves(describeDbClustersResponse(USW2_ARN));
      await settledWithin(world.observeTopology(), 0);
      const back = world.observeTopology();
      expect(await settledWithin(back, DEFAULT_AWS_CLIENT_OPTIONS.connectionTimeoutMs)).toBe(true);
      expect((await back).members.find((member) => member.dbClusterArn === USW2_ARN)).toHaveProperty('writerEndpoint');
    } finally {
      rds.restore();
    }
  });
});

describe('AWS: ObserveTopology told which regions are silent (Preflight, from the early probe)', () => {
  it('does not wait for their members, records them unanswered, and still reads them', async () => {
    vi.useFakeTimers();
    const rds = mockRds();
    try {
      const world = awsWorldWithDeadWriterRegion(rds);

      const observed = world.observeTopology({ silentRegions: ['us-west-2'] });

      expect(await settledWithin(observed, 0)).toBe(true);
      expect((await observed).members.find((member) => member.dbClusterArn === USW2_ARN)).toMatchObject({ isWriter: true, unanswered: expect.stringContaining('not waited for') });
      expect(rds.commandCalls(DescribeDBClustersCommand).map((call) => call.args[0].input.DBClusterIdentifier)).toContain(USW2_ARN);
    } finally {
      rds.restore();
    }
  });
});

describe('preflight: reads that do not depend on the topology run while it is read', () => {
  it('probes the old primary region and reads traffic, RPO lag and peers before the topology has answered', async () => {
    const { cluster, world } = stage();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const started: string[] = [];
    const gated = {
      ...world,
      observeTopology: async () => {
        await gate;
        return world.observeTopology();
      },
      trafficAdapters: () => world.trafficAdapters().map((adapter) => ({ ...adapter, kind: adapter.kind, observe: () => (started.push(`traffic:${adapter.kind}`), adapter.observe()), apply: adapter.apply.bind(adapter) })),
      switchover: {
        ...world.switchover,
        probeRegion: (region: string) => (started.push(`probe:${region}`), world.switchover.probeRegion(region)),
        readRpoLag: (target: Parameters<typeof world.switchover.readRpoLag>[0]) => (started.push('rpo-lag'), world.switchover.readRpoLag(target)),
      },
    };
    cluster.replicationLagMs = async () => 0;

    const result = preflightStep(gated, { input: { globalClusterId: DRILL_GLOBAL_CLUSTER_ID, targetRegion: REPLICA, mode: 'failover', acceptDataLoss: true, maxRpoLagMs: 5_000 } });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const beforeTopology = [...started];
    release();
    const preflight = await result;

    expect(beforeTopology).toEqual(expect.arrayContaining([`probe:${WRITER}`, 'rpo-lag', 'traffic:global-accelerator', 'traffic:route53']));
    expect(preflight.verdict).toBe('proceed');
    expect(preflight.checks).toContainEqual(expect.objectContaining({ step: 'preflight:rpo-lag', decision: 'pass', reason: 'RPO lag 0 ms is within maxRpoLagMs 5000 ms' }));
  });
});
