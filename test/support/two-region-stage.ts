/**
 * Two local regions without servers (endpoints only): the drill's global cluster stand-in with the writer in
 * `writer` and its replica in `replica`, traffic stores for Global Accelerator and Route 53 (each failing while
 * the region serving its control plane is down), and the replica region's local World (drain-unhealthy, no
 * poolers). For unit tests of what a dead region costs and decides.
 */
import type { Endpoint } from '../../lib/core/endpoint.ts';
import { TrafficKind } from '../../lib/core/types.ts';
import { drillClusterArn, drillConfig, DRILL_GLOBAL_CLUSTER_ID } from '../../lib/drill/drill-config.ts';
import { LocalAuroraGlobalCluster } from '../../lib/drill/local-aurora.ts';
import { createLocalWorld, LocalRunRegistry, LocalTrafficWeights } from '../../lib/drill/local-world.ts';
import type { LocalEnvironment } from '../../lib/local/environment.ts';
import type { LocalPostgres } from '../../lib/local/postgres.ts';

type ClusterOptions = ConstructorParameters<typeof LocalAuroraGlobalCluster>[0];

export interface TwoRegionStageOptions<C extends LocalAuroraGlobalCluster> {
  readonly writer: string;
  readonly replica: string;
  /** How long a dead region's calls take to fail; default the SDK's (AWS_DEAD_REGION_CALL_MS). */
  readonly deadRegionCallMs?: number;
  /** A subclass of the stand-in (e.g. one whose lag the test sets). */
  readonly createCluster?: (options: ClusterOptions) => C;
}

export function twoRegionStage<C extends LocalAuroraGlobalCluster = LocalAuroraGlobalCluster>(options: TwoRegionStageOptions<C>) {
  const { writer, replica } = options;
  const server = (port: number) => ({ endpoint: { host: '127.0.0.1', port } satisfies Endpoint }) as unknown as LocalPostgres;
  const clusterOptions: ClusterOptions = {
    env: {} as LocalEnvironment,
    globalClusterId: DRILL_GLOBAL_CLUSTER_ID,
    members: [
      { region: writer, dbClusterArn: drillClusterArn(writer), server: server(15432) },
      { region: replica, dbClusterArn: drillClusterArn(replica), server: server(15433) },
    ],
    writerRegion: writer,
    buses: {},
    delivery: { mode: 'none', delayMs: 0, duplicate: false },
  };
  const cluster = (options.createCluster ?? ((init) => new LocalAuroraGlobalCluster(init) as C))(clusterOptions);
  const isDown = (region: string) => cluster.isDown(region);
  const timing = options.deadRegionCallMs === undefined ? {} : { deadRegionCallMs: options.deadRegionCallMs };
  const traffic = [TrafficKind.GlobalAccelerator, TrafficKind.Route53].map((kind) => new LocalTrafficWeights({ [writer]: 100, [replica]: 50 }, { kind, isDown, ...timing }));
  const world = createLocalWorld({
    config: drillConfig(undefined, { regions: [writer, replica], trafficPolicy: 'drain-unhealthy' }),
    region: replica,
    cluster,
    poolers: [],
    traffic,
    runs: new LocalRunRegistry(),
    metrics: [],
    ...timing,
  });
  return { cluster, world, traffic };
}
