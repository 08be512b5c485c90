/**
 * The World of one regional stack in the drill: the same ports the Lambdas get, wired to the local
 * global cluster, real PgBouncer targets, in-memory traffic weights and an in-process run registry.
 */
import { buildTopology } from '../core/topology.ts';
import { decide, type Decision } from '../core/decision.ts';
import { StaleChangeError } from '../core/errors.ts';
import { toFailoverError } from '../adapters/aws-errors.ts';
import type { Config } from '../core/config.ts';
import type { MetricDatum } from '../core/metrics.ts';
import type { RunningExecution } from '../core/run-lock.ts';
import { TrafficKind, type PoolerTargetAdapter, type TrafficAdapter, type TrafficChange, type TrafficTargetState } from '../core/types.ts';
import type { PeerPorts, World } from '../workflow/world.ts';
import type { LocalAuroraGlobalCluster } from './local-aurora.ts';

/** Where each traffic system's control plane is served from (the only region its API answers in). */
export const TRAFFIC_CONTROL_PLANE_REGION: Readonly<Record<TrafficKind, string>> = {
  [TrafficKind.GlobalAccelerator]: 'us-west-2',
  [TrafficKind.Route53]: 'us-east-1',
};

/**
 * Traffic weights per region, in memory: compare-and-set like the real adapters. Its control plane lives in
 * one region (Global Accelerator: us-west-2, Route 53: us-east-1); while `isDown` says that region is down,
 * every call fails as the SDK does when the endpoint does not answer (ECONNREFUSED -> ServiceUnavailableError).
 */
export class LocalTrafficWeights implements TrafficAdapter {
  readonly kind: TrafficKind;
  readonly weights: Record<string, number>;
  readonly history: Array<{ at: number; change: TrafficChange }> = [];
  readonly #isDown: (region: string) => boolean;

  constructor(initial: Record<string, number>, options: { kind?: TrafficKind; isDown?: (region: string) => boolean } = {}) {
    this.weights = { ...initial };
    this.kind = options.kind ?? TrafficKind.Route53;
    this.#isDown = options.isDown ?? (() => false);
  }

  get controlPlaneRegion(): string {
    return TRAFFIC_CONTROL_PLANE_REGION[this.kind];
  }

  #reachable(operation: string): void {
    const region = this.controlPlaneRegion;
    if (!this.#isDown(region)) return;
    const cause = Object.assign(new Error(`connect ECONNREFUSED: ${this.kind} API endpoint in ${region} does not answer`), { code: 'ECONNREFUSED', name: 'Error' });
    throw toFailoverError(cause, `${this.kind} ${operation} (${region})`);
  }

  async observe(): Promise<TrafficTargetState[]> {
    this.#reachable('read weights');
    return Object.entries(this.weights).map(([region, weight]) => ({ kind: this.kind, region, resource: `local-${this.kind}/${region}`, weight }));
  }

  async apply(changes: readonly TrafficChange[]): Promise<{ decision: Decision; durationMs: number }> {
    this.#reachable('change weights');
    for (const change of changes) {
      const current = this.weights[change.region];
      if (current !== change.from && current !== change.to) throw new StaleChangeError(`local weight of ${change.region} is ${current}, expected ${change.from}`);
    }
    for (const change of changes) {
      this.weights[change.region] = change.to;
      this.history.push({ at: Date.now(), change });
    }
    return { decision: decide(`traffic:local-${this.kind}`, 'applied', changes.map((change) => `${change.region} ${change.from} -> ${change.to}`).join(', ')), durationMs: 0 };
  }
}

/** RUNNING executions of one regional stack's state machines (what ListExecutions answers in AWS). */
export class LocalRunRegistry {
  readonly #running = new Map<string, RunningExecution>();
  readonly switchoverStateMachineArn: string | undefined;

  constructor(switchoverStateMachineArn?: string) {
    this.switchoverStateMachineArn = switchoverStateMachineArn;
  }

  add(execution: RunningExecution): void {
    this.#running.set(execution.executionArn, execution);
  }

  remove(executionArn: string): void {
    this.#running.delete(executionArn);
  }

  async listRunning(): Promise<RunningExecution[]> {
    return [...this.#running.values()];
  }
}

export interface LocalWorldOptions {
  readonly config: Config;
  readonly region: string;
  readonly cluster: LocalAuroraGlobalCluster;
  readonly poolers: readonly PoolerTargetAdapter[];
  readonly traffic: LocalTrafficWeights | readonly LocalTrafficWeights[];
  readonly runs: LocalRunRegistry;
  readonly metrics: MetricDatum[];
  /** The other regions' local stacks, reached through their prepare-for-switch handler. */
  readonly peers?: PeerPorts;
}

export function createLocalWorld(options: LocalWorldOptions): World {
  const { config, region, cluster } = options;
  return {
    region,
    config,
    // DescribeDBClusters is called in each member's region: a dead region's member does not answer.
    observeTopology: async () =>
      buildTopology(
        cluster.describe(),
        Object.fromEntries(Object.entries(cluster.memberEndpoints()).filter(([arn]) => !cluster.isDown(cluster.member(arn).region))),
        new Date().toISOString(),
        undefined,
        cluster.members.filter((member) => cluster.isDown(member.region)).map((member) => ({ dbClusterArn: member.dbClusterArn, reason: `DescribeDBClusters in ${member.region}: connect ECONNREFUSED (the region is down)` })),
      ),
    verifyWriter: (writer) => cluster.verifyWriter(writer.dbClusterArn),
    poolerTargets: () => options.poolers,
    trafficAdapters: () => (Array.isArray(options.traffic) ? options.traffic : [options.traffic]),
    emitMetrics: async (metrics) => void options.metrics.push(...metrics),
    notify: async () => decide('notify', 'skipped', 'the drill has no notification target'),
    now: () => Date.now(),
    switchover: {
      readRpoLag: async (target) => ({ available: true, lagMs: await cluster.replicationLagMs(target.dbClusterArn) }),
      probeRegion: async (probed) =>
        cluster.isDown(probed) ? { reachable: false, reason: `RDS in ${probed}: connect ECONNREFUSED (the region is down)` } : { reachable: true, reason: `${probed} is a local server` },
      startSwitch: async (request) => cluster.startMove(request.target.dbClusterArn, request.mode),
    },
    runs: options.runs,
    ...(options.peers ? { peers: options.peers } : {}),
  };
}
