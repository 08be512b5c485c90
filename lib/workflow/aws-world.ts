/**
 * The World of a Lambda: this stack's config (bundled at package time, lib/adapters/deployed-config.ts),
 * its region (AWS_REGION), and the AWS parts its function was packaged with (lib/workflow/aws-parts/):
 * one EKS pooler target per configured target of this region, traffic adapters, RDS, SNS, Step Functions,
 * CloudWatch. Built once per container. A method whose part is missing throws InvalidConfigError.
 */
import { AwsClientPool } from '../adapters/aws-client-pool.ts';
import { loadDeployedConfig } from '../adapters/deployed-config.ts';
import { emitMetrics, type Telemetry } from '../adapters/telemetry.ts';
import { toFailoverError } from '../adapters/aws-errors.ts';
import { buildTopology, endpointPinsFromConfig } from '../core/topology.ts';
import { regionConfig, type Config, type PoolerTargetConfig } from '../core/config.ts';
import { decide } from '../core/decision.ts';
import { describeError, InvalidConfigError, isUnreachable } from '../core/errors.ts';
import type { PoolerPlan, PoolerTargetAdapter, Topology, TopologyMember, TrafficAdapter } from '../core/types.ts';
import { readMembersBounded } from './member-reads.ts';
import { clientClassesOf, type AwsPartName, type AwsParts } from './aws-parts/types.ts';
import type { ObserveTopologyOptions, PeerPorts, World, WriterCheck } from './world.ts';

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
  /** This stack's switchover state machine ARN (one of `stateMachineArns`), to check a nested reconcile's parent. */
  readonly switchoverStateMachineArn?: string;
  readonly now?: () => number;
  /** The peer stacks (docs/coordination.md); absent in functions that never call them. */
  readonly peers?: PeerPorts;
}

/** The Lambda's World, from the bundled config, the environment the stack sets and the function's parts. */
export async function awsWorld(parts: AwsParts, telemetry?: Telemetry): Promise<World> {
  const region = process.env.AWS_REGION;
  if (!region) throw new InvalidConfigError('AWS_REGION is not set');
  const stateMachineArns = [process.env.RECONCILE_STATE_MACHINE_ARN, process.env.SWITCHOVER_STATE_MACHINE_ARN].filter((arn): arn is string => Boolean(arn));
  const config = loadDeployedConfig();
  const switchoverStateMachineArn = process.env.SWITCHOVER_STATE_MACHINE_ARN || undefined;
  const peers = peersFromEnv(parts, config.globalClusterId);
  return createAwsWorld({
    config,
    region,
    clients: new AwsClientPool(clientClassesOf(parts)),
    parts,
    telemetry,
    stateMachineArns,
    ...(switchoverStateMachineArn ? { switchoverStateMachineArn } : {}),
    ...(peers ? { peers } : {}),
  });
}

/**
 * The peer stacks, for the functions that call them: serverless.yml sets PEER_FUNCTION_NAME (the same name
 * in every region) on exactly those, and their handlers bundle the peers part. The variable without the
 * part is a wiring mistake: fail, never skip the peers silently (a switchover would not pause them).
 */
function peersFromEnv(parts: AwsParts, globalClusterId: string): PeerPorts | undefined {
  const functionName = process.env.PEER_FUNCTION_NAME;
  if (!functionName) return undefined;
  return partOf(parts, 'peers').createPeers({ functionName, globalClusterId });
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

  // Regions that did not answer this container's last member read: not waited for again (CheckSwitch polls).
  const silentRegions = new Set<string>();
  const observeTopology = async (options: ObserveTopologyOptions = {}): Promise<Topology> => {
    for (const silent of options.silentRegions ?? []) silentRegions.add(silent);
    const globalCluster = await rds().describeGlobalCluster(clients, region, config.globalClusterId);
    const members = (globalCluster.GlobalClusterMembers ?? []).filter((member) => member.DBClusterArn).map((member) => ({ arn: member.DBClusterArn!, isWriter: member.IsWriter === true }));
    // This region's member is awaited; a remote writer's and other members are bounded (lib/workflow/member-reads.ts):
    // a dead region costs a bounded wait, its member is recorded unanswered, and the topology's tolerance decides.
    const { endpoints, unreachable } = await readMembersBounded({ region, members, read: (arns) => rds().describeMemberEndpoints(clients, arns), silentRegions });
    return buildTopology(globalCluster, endpoints, new Date(now()).toISOString(), endpointPinsFromConfig(config), unreachable);
  };

  return {
    region,
    config,
    observeTopology,
    verifyWriter: async (writer: TopologyMember): Promise<WriterCheck> => {
      // Independent reads in the writer's own region: the global cluster read there must name it the writer
      // (a secondary cluster reports `available` too, so the status alone confirms nothing), and its own
      // cluster must be available. A read that fails is a "not verified", never a pass.
      const [members, globalView] = await Promise.all([
        rds().describeMemberEndpoints(clients, [writer.dbClusterArn]),
        rds()
          .describeGlobalCluster(clients, writer.region, config.globalClusterId)
          .then((cluster) => ({ cluster }), (error: unknown) => ({ error })),
      ]);
      if ('error' in globalView) return { ok: false, reason: `DescribeGlobalClusters in ${writer.region} failed: ${describeError(globalView.error)}` };
      const named = globalView.cluster.GlobalClusterMembers?.find((member) => member.DBClusterArn === writer.dbClusterArn);
      if (named?.IsWriter !== true) return { ok: false, reason: `DescribeGlobalClusters in ${writer.region} does not name it the writer` };
      const status = members.endpoints[writer.dbClusterArn]?.status;
      if (members.unreachable.length > 0) return { ok: false, reason: members.unreachable.map((member) => member.reason).join('; ') };
      if (status !== 'available') return { ok: false, reason: `its cluster status is ${status ?? 'unknown'}, not available` };
      return { ok: true, reason: `DescribeGlobalClusters in ${writer.region} names it the writer and DescribeDBClusters there reports the cluster available` };
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
          // Only "no answer" (network, timeout, 5xx) is an outage. Throttling is rethrown (Preflight's Retry
          // handles it) and so is a refusal (access denied, unknown cluster): neither proves the region is down.
          const named = toFailoverError(error, `rds:DescribeGlobalClusters ${config.globalClusterId} in ${probed}`);
          if (!isUnreachable(named)) throw named;
          return { reachable: false, reason: `the RDS API in ${probed} did not answer: ${describeError(named)}` };
        }
      },
      startSwitch: async (request) =>
        request.mode === 'switchover'
          ? rds().switchoverGlobalCluster(clients, { globalClusterId: request.globalClusterId, targetDbClusterArn: request.target.dbClusterArn, callRegion: request.currentWriterRegion })
          : rds().failoverGlobalCluster(clients, { globalClusterId: request.globalClusterId, targetDbClusterArn: request.target.dbClusterArn, callRegion: request.target.region }),
    },
    runs: { listRunning: async () => partOf(parts, 'sfn').listRunningExecutions(clients, region, options.stateMachineArns), switchoverStateMachineArn: options.switchoverStateMachineArn },
    ...(options.peers ? { peers: options.peers } : {}),
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
      // Connecting (DescribeCluster + token) may fail with a raw SDK or network error: name it, so a transient one is retried.
      const adapter = this.#connect(this.#config, this.region).catch((error: unknown) => {
        throw toFailoverError(error, `connect to pooler target ${this.target} (EKS cluster ${this.#config.eksCluster} in ${this.region})`);
      });
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
