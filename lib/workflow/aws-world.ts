/**
 * The World of a Lambda: this stack's config (bundled at package time, lib/adapters/deployed-config.ts),
 * its region (AWS_REGION), and the AWS parts its function was packaged with (lib/workflow/aws-parts/):
 * one EKS pooler target per configured target of this region, traffic adapters, RDS, SNS, Step Functions,
 * CloudWatch. Built once per container. A method whose part is missing throws InvalidConfigError.
 */
import { AwsClientPool } from '../adapters/aws-client-pool.ts';
import { loadDeployedConfig } from '../adapters/deployed-config.ts';
import { emitMetrics, type Telemetry } from '../adapters/telemetry.ts';
import { buildTopology, endpointPinsFromConfig } from '../core/topology.ts';
import { regionConfig, type Config, type PoolerTargetConfig } from '../core/config.ts';
import { decide } from '../core/decision.ts';
import { describeError, InvalidConfigError } from '../core/errors.ts';
import type { PoolerPlan, PoolerTargetAdapter, Topology, TopologyMember, TrafficAdapter } from '../core/types.ts';
import { clientClassesOf, type AwsPartName, type AwsParts } from './aws-parts/types.ts';
import type { World, WriterCheck } from './world.ts';

export interface AwsWorldOptions {
  readonly config: Config;
  readonly region: string;
  readonly clients: AwsClientPool;
  /** The adapters this World may use; a method whose part is missing throws InvalidConfigError. */
  readonly parts: AwsParts;
  readonly telemetry: Pick<Telemetry, 'metrics'> | undefined;
  /** Builds the adapter of one pooler target; defaults to the EKS part's. */
  readonly connectPooler?: (target: PoolerTargetConfig, region: string) => Promise<PoolerTargetAdapter>;
  /** ARNs of this stack's state machines, for the run lock. */
  readonly stateMachineArns: readonly string[];
  readonly now?: () => number;
}

/** The Lambda's World, from the bundled config, the environment the stack sets and the function's parts. */
export async function awsWorld(parts: AwsParts, telemetry?: Telemetry): Promise<World> {
  const region = process.env.AWS_REGION;
  if (!region) throw new InvalidConfigError('AWS_REGION is not set');
  const stateMachineArns = [process.env.RECONCILE_STATE_MACHINE_ARN, process.env.SWITCHOVER_STATE_MACHINE_ARN].filter((arn): arn is string => Boolean(arn));
  return createAwsWorld({ config: loadDeployedConfig(), region, clients: new AwsClientPool(clientClassesOf(parts)), parts, telemetry, stateMachineArns });
}

/** The part, or a fatal error naming it: the function was packaged without an adapter its step calls. */
function partOf<K extends AwsPartName>(parts: AwsParts, name: K): NonNullable<AwsParts[K]> {
  const part = parts[name];
  if (!part) throw new InvalidConfigError(`this function was packaged without the ${name} part (lib/workflow/aws-parts/${name}.ts), which its step needs`);
  return part;
}

export function createAwsWorld(options: AwsWorldOptions): World {
  const { config, region, clients, parts } = options;
  regionConfig(config, region); // fails early, naming the region, when this stack's region is not configured
  const now = options.now ?? Date.now;
  const connect = options.connectPooler ?? ((target: PoolerTargetConfig, targetRegion: string) => partOf(parts, 'eks').connectPooler(clients, target, targetRegion));
  const poolers = (config.regions[region]?.poolers ?? []).map((target) => new ReconnectingPoolerTarget(target, region, connect, now));
  let traffic: TrafficAdapter[] | undefined;
  const rds = () => partOf(parts, 'rds');

  const observeTopology = async (): Promise<Topology> => {
    const globalCluster = await rds().describeGlobalCluster(clients, region, config.globalClusterId);
    const memberArns = (globalCluster.GlobalClusterMembers ?? []).flatMap((member) => (member.DBClusterArn ? [member.DBClusterArn] : []));
    const { endpoints } = await rds().describeMemberEndpoints(clients, memberArns);
    return buildTopology(globalCluster, endpoints, new Date(now()).toISOString(), endpointPinsFromConfig(config));
  };

  return {
    region,
    config,
    observeTopology,
    verifyWriter: async (writer: TopologyMember): Promise<WriterCheck> => {
      // A second, independent read of the writer's own cluster, in its own region.
      const { endpoints, unreachable } = await rds().describeMemberEndpoints(clients, [writer.dbClusterArn]);
      const status = endpoints[writer.dbClusterArn]?.status;
      if (unreachable.length > 0) return { ok: false, reason: unreachable.map((member) => member.reason).join('; ') };
      if (status !== 'available') return { ok: false, reason: `its cluster status is ${status ?? 'unknown'}, not available` };
      return { ok: true, reason: `DescribeDBClusters in ${writer.region} reports the cluster available` };
    },
    poolerTargets: () => {
      if (!options.connectPooler) partOf(parts, 'eks');
      return poolers;
    },
    trafficAdapters: () => (traffic ??= partOf(parts, 'traffic').trafficAdapters(clients, config, { now })),
    emitMetrics: async (metrics) => {
      if (options.telemetry) emitMetrics(options.telemetry as Telemetry, metrics);
    },
    notify: async (notification) => {
      const topicArn = config.notifications?.snsTopicArn;
      if (!topicArn) return decide('notify', 'skipped', 'no notifications.snsTopicArn configured');
      return partOf(parts, 'sns').publishSummary(clients, region, topicArn, notification);
    },
    now,
    switchover: {
      readRpoLag: async (target) => partOf(parts, 'cloudwatch').readRpoLagMs(clients, target.region, target.dbClusterArn, now()),
      probeRegion: async (probed) => {
        try {
          await rds().describeGlobalCluster(clients, probed, config.globalClusterId);
          return { reachable: true, reason: `the RDS API in ${probed} answered` };
        } catch (error) {
          return { reachable: false, reason: `the RDS API in ${probed} did not answer: ${describeError(error)}` };
        }
      },
      startSwitch: async (request) =>
        request.mode === 'switchover'
          ? rds().switchoverGlobalCluster(clients, { globalClusterId: request.globalClusterId, targetDbClusterArn: request.target.dbClusterArn, callRegion: request.currentWriterRegion })
          : rds().failoverGlobalCluster(clients, { globalClusterId: request.globalClusterId, targetDbClusterArn: request.target.dbClusterArn, callRegion: request.target.region }),
    },
    runs: { listRunning: async () => partOf(parts, 'sfn').listRunningExecutions(clients, region, options.stateMachineArns) },
  };
}

type ConnectPooler = (target: PoolerTargetConfig, region: string) => Promise<PoolerTargetAdapter>;

/** EKS tokens are short-lived: reconnect (DescribeCluster + new token) when the connection is older than this. */
const POOLER_CONNECTION_TTL_MS = 5 * 60_000;

/** A pooler target that connects on first use and again when its EKS token may have expired. */
class ReconnectingPoolerTarget implements PoolerTargetAdapter {
  readonly target: string;
  readonly region: string;
  readonly #config: PoolerTargetConfig;
  readonly #connect: ConnectPooler;
  readonly #now: () => number;
  #connection: { adapter: Promise<PoolerTargetAdapter>; at: number } | undefined;

  constructor(config: PoolerTargetConfig, region: string, connect: ConnectPooler, now: () => number) {
    this.target = config.name;
    this.region = region;
    this.#config = config;
    this.#connect = connect;
    this.#now = now;
  }

  #adapter(): Promise<PoolerTargetAdapter> {
    if (!this.#connection || this.#now() - this.#connection.at > POOLER_CONNECTION_TTL_MS) {
      const adapter = this.#connect(this.#config, this.region);
      adapter.catch(() => (this.#connection = undefined));
      this.#connection = { adapter, at: this.#now() };
    }
    return this.#connection.adapter;
  }

  async observe() {
    return (await this.#adapter()).observe();
  }
  async apply(plan: PoolerPlan) {
    return (await this.#adapter()).apply(plan);
  }
  async pauseWrites() {
    return (await this.#adapter()).pauseWrites();
  }
  async resumeWrites() {
    return (await this.#adapter()).resumeWrites();
  }
}
