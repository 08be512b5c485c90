/**
 * The World of one regional stack in the drill: the same ports the Lambdas get, wired to the local
 * global cluster, real PgBouncer targets, in-memory traffic weights and an in-process run registry.
 */
import { buildTopology } from '../core/topology.ts';
import { decide, type Decision } from '../core/decision.ts';
import { describeError, StaleChangeError } from '../core/errors.ts';
import { toFailoverError } from '../adapters/aws-errors.ts';
import { AWS_DEAD_REGION_CALL_MS } from '../adapters/aws-client-pool.ts';
import { readMembersBounded } from '../workflow/member-reads.ts';
import type { MemberEndpoints, MemberEndpointsResult } from '../adapters/rds.ts';
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
 * every call fails as the SDK does when the endpoint does not answer: only after `deadRegionCallMs`, as
 * UpstreamTimeoutError (see `deadRegionCall`).
 */
export class LocalTrafficWeights implements TrafficAdapter {
  readonly kind: TrafficKind;
  readonly weights: Record<string, number>;
  readonly history: Array<{ at: number; change: TrafficChange }> = [];
  readonly #isDown: (region: string) => boolean;
  readonly #deadRegionCallMs: number;

  constructor(initial: Record<string, number>, options: { kind?: TrafficKind; isDown?: (region: string) => boolean; deadRegionCallMs?: number } = {}) {
    this.weights = { ...initial };
    this.kind = options.kind ?? TrafficKind.Route53;
    this.#isDown = options.isDown ?? (() => false);
    this.#deadRegionCallMs = options.deadRegionCallMs ?? AWS_DEAD_REGION_CALL_MS;
  }

  get controlPlaneRegion(): string {
    return TRAFFIC_CONTROL_PLANE_REGION[this.kind];
  }

  async #reachable(operation: string): Promise<void> {
    const region = this.controlPlaneRegion;
    if (!this.#isDown(region)) return;
    await deadRegionCall(`${this.kind} ${operation} (${region})`, this.#deadRegionCallMs);
  }

  async observe(): Promise<TrafficTargetState[]> {
    await this.#reachable('read weights');
    return Object.entries(this.weights).map(([region, weight]) => ({ kind: this.kind, region, resource: `local-${this.kind}/${region}`, weight }));
  }

  async apply(changes: readonly TrafficChange[]): Promise<{ decision: Decision; durationMs: number }> {
    await this.#reachable('change weights');
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
  /** How long a call to a dead region's API takes to fail; default: what the AWS SDK takes (AWS_DEAD_REGION_CALL_MS). */
  readonly deadRegionCallMs?: number;
}

/**
 * A call to a region whose endpoints do not answer, as the AWS SDK sees it: no refusal, every attempt waits
 * out its connect timeout, then the SDK throws TimeoutError (-> UpstreamTimeoutError, transient). Never resolves.
 */
export async function deadRegionCall(what: string, afterMs: number = AWS_DEAD_REGION_CALL_MS): Promise<never> {
  await new Promise((resolve) => setTimeout(resolve, afterMs));
  const cause = Object.assign(new Error(`Socket timed out without establishing a connection (the region is down; gave up after ${afterMs} ms)`), { name: 'TimeoutError' });
  throw toFailoverError(cause, what);
}

export function createLocalWorld(options: LocalWorldOptions): World {
  const { config, region, cluster } = options;
  const deadRegionCallMs = options.deadRegionCallMs ?? AWS_DEAD_REGION_CALL_MS;
  // DescribeDBClusters in one member's region: a dead region's member answers only with the SDK's timeout.
  const describeMember = async (arn: string): Promise<MemberEndpoints> => {
    const memberRegion = cluster.member(arn).region;
    if (cluster.isDown(memberRegion)) return deadRegionCall(`rds:DescribeDBClusters ${arn} in ${memberRegion}`, deadRegionCallMs);
    return cluster.memberEndpoints()[arn]!;
  };
  const read = async (arns: readonly string[]): Promise<MemberEndpointsResult> => {
    const settled = await Promise.allSettled(arns.map(describeMember));
    const endpoints: Record<string, MemberEndpoints> = {};
    const unreachable: MemberEndpointsResult['unreachable'] = [];
    settled.forEach((outcome, index) => {
      const arn = arns[index]!;
      if (outcome.status === 'fulfilled') endpoints[arn] = outcome.value;
      else unreachable.push({ dbClusterArn: arn, region: cluster.member(arn).region, reason: describeError(outcome.reason) });
    });
    return { endpoints, unreachable };
  };
  return {
    region,
    config,
    // The same bounds as the Lambdas' ObserveTopology (lib/workflow/member-reads.ts), with no memory of silent
    // regions: each step of a run is a fresh Lambda container in the worst case.
    observeTopology: async (observe = {}) => {
      const global = cluster.describe();
      const members = (global.GlobalClusterMembers ?? []).filter((member) => member.DBClusterArn).map((member) => ({ arn: member.DBClusterArn!, isWriter: member.IsWriter === true }));
      const { endpoints, unreachable } = await readMembersBounded({ region, members, read, silentRegions: new Set(observe.silentRegions) });
      return buildTopology(global, endpoints, new Date().toISOString(), undefined, unreachable);
    },
    verifyWriter: (writer) => cluster.verifyWriter(writer.dbClusterArn),
    poolerTargets: () => options.poolers,
    trafficAdapters: () => (Array.isArray(options.traffic) ? options.traffic : [options.traffic]),
    emitMetrics: async (metrics) => void options.metrics.push(...metrics),
    notify: async () => decide('notify', 'skipped', 'the drill has no notification target'),
    now: () => Date.now(),
    switchover: {
      readRpoLag: async (target) => ({ available: true, lagMs: await cluster.replicationLagMs(target.dbClusterArn) }),
      probeRegion: async (probed) => {
        if (!cluster.isDown(probed)) return { reachable: true, reason: `${probed} is a local server` };
        const failed = await deadRegionCall(`rds:DescribeGlobalClusters in ${probed}`, deadRegionCallMs).catch((error: unknown) => error as Error);
        return { reachable: false, reason: `the RDS API in ${probed} did not answer: ${failed.name}: ${failed.message}` };
      },
      startSwitch: async (request) => cluster.startMove(request.target.dbClusterArn, request.mode),
    },
    runs: options.runs,
    ...(options.peers ? { peers: options.peers } : {}),
  };
}
