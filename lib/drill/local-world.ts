/**
 * The World of one regional stack in the drill: the same ports the Lambdas get, wired to the local
 * global cluster, real PgBouncer targets, in-memory traffic weights and an in-process run registry.
 */
import { buildTopology } from '../core/topology.ts';
import { decide, type Decision } from '../core/decision.ts';
import { StaleChangeError } from '../core/errors.ts';
import type { Config } from '../core/config.ts';
import type { MetricDatum } from '../core/metrics.ts';
import type { RunningExecution } from '../core/run-lock.ts';
import { TrafficKind, type PoolerTargetAdapter, type TrafficAdapter, type TrafficChange, type TrafficTargetState } from '../core/types.ts';
import type { PeerPorts, World } from '../workflow/world.ts';
import type { LocalAuroraGlobalCluster } from './local-aurora.ts';

/** Traffic weights per region, in memory: compare-and-set like the real adapters. */
export class LocalTrafficWeights implements TrafficAdapter {
  readonly kind = TrafficKind.Route53;
  readonly weights: Record<string, number>;
  readonly history: Array<{ at: number; change: TrafficChange }> = [];

  constructor(initial: Record<string, number>) {
    this.weights = { ...initial };
  }

  async observe(): Promise<TrafficTargetState[]> {
    return Object.entries(this.weights).map(([region, weight]) => ({ kind: this.kind, region, resource: `local-weights/${region}`, weight }));
  }

  async apply(changes: readonly TrafficChange[]): Promise<{ decision: Decision; durationMs: number }> {
    for (const change of changes) {
      const current = this.weights[change.region];
      if (current !== change.from && current !== change.to) throw new StaleChangeError(`local weight of ${change.region} is ${current}, expected ${change.from}`);
    }
    for (const change of changes) {
      this.weights[change.region] = change.to;
      this.history.push({ at: Date.now(), change });
    }
    return { decision: decide('traffic:local', 'applied', changes.map((change) => `${change.region} ${change.from} -> ${change.to}`).join(', ')), durationMs: 0 };
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
  readonly traffic: LocalTrafficWeights;
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
    observeTopology: async () => buildTopology(cluster.describe(), cluster.memberEndpoints(), new Date().toISOString()),
    verifyWriter: (writer) => cluster.verifyWriter(writer.dbClusterArn),
    poolerTargets: () => options.poolers,
    trafficAdapters: () => [options.traffic],
    emitMetrics: async (metrics) => void options.metrics.push(...metrics),
    notify: async () => decide('notify', 'skipped', 'the drill has no notification target'),
    now: () => Date.now(),
    switchover: {
      readRpoLag: async (target) => ({ available: true, lagMs: await cluster.replicationLagMs(target.dbClusterArn) }),
      probeRegion: async (probed) => ({ reachable: true, reason: `${probed} is a local server` }),
      startSwitch: async (request) => cluster.startMove(request.target.dbClusterArn, request.mode),
    },
    runs: options.runs,
    ...(options.peers ? { peers: options.peers } : {}),
  };
}
