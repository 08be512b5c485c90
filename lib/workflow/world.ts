/**
 * The ports a workflow step needs. Built from AWS in a Lambda (lib/workflow/aws-world.ts) and from local
 * processes in the drill; the steps themselves never know which.
 */
import type { Config } from '../core/config.ts';
import type { Decision } from '../core/decision.ts';
import type { MetricDatum } from '../core/metrics.ts';
import type { PoolerTargetAdapter, Topology, TopologyMember, TrafficAdapter } from '../core/types.ts';
import type { RpoLagReading } from '../core/preflight.ts';
import type { SwitchoverTarget } from '../core/switchover-input.ts';
import type { RunningExecution } from '../core/run-lock.ts';
import type { PeerProbe, PrepareRequest } from '../core/peers.ts';

export interface ObserveTopologyOptions {
  readonly silentRegions?: readonly string[];
}

export interface WriterCheck {
  readonly ok: boolean;
  readonly reason: string;
}

export interface RunSummaryNotification {
  readonly subject: string;
  readonly summary: unknown;
}

export interface SwitchRequest {
  readonly mode: 'switchover' | 'failover';
  readonly globalClusterId: string;
  readonly target: SwitchoverTarget;
  /** The current writer's region (SwitchoverGlobalCluster is called there). */
  readonly currentWriterRegion: string;
}

/** What a manual switchover or failover needs beyond reconcile. */
export interface SwitchoverPorts {
  /** AuroraGlobalDBRPOLag of the target (a secondary), read in its own region. */
  readRpoLag(target: SwitchoverTarget): Promise<RpoLagReading>;
  /**
   * Whether a region's RDS API answers at all (the old primary's, before a failover). Unreachable only for
   * a network error, timeout or 5xx; throttling and refusals (access denied, ...) are thrown, not reported.
   */
  probeRegion(region: string): Promise<{ readonly reachable: boolean; readonly reason: string }>;
  /** Asks RDS to move the writer; returns once the request is accepted. */
  startSwitch(request: SwitchRequest): Promise<Decision>;
}

/** What a peer stack answered to a prepare request. */
export interface PrepareResult {
  readonly region: string;
  /** The follow run's (deterministic) execution name in the peer region. */
  readonly followExecutionName: string;
  /** False when an earlier call (a retry, a duplicate) had already started it. */
  readonly started: boolean;
  readonly decisions: readonly Decision[];
}

/**
 * The other regions' stacks of this service (docs/coordination.md). In AWS: a synchronous cross-region
 * Invoke of the peer's `prepare-for-switch` function; in the drill: the peer's local stack through the same
 * handler code. A stack never touches a peer's PgBouncers itself.
 */
export interface PeerPorts {
  /** Whether the peer stack answers and can read its own pooler targets. Never throws. */
  probe(region: string): Promise<PeerProbe>;
  /** Asks the peer stack to pause its write aliases and start its follow run. Idempotent per request. */
  prepare(region: string, request: PrepareRequest): Promise<PrepareResult>;
  /** The asking switchover failed: the peer resumes now unless the writer is moving or moved. Idempotent. */
  release(region: string, request: PrepareRequest): Promise<ReleaseResult>;
}

/** What a peer stack answered to a release. */
export interface ReleaseResult {
  readonly region: string;
  readonly resumed: boolean;
  readonly decisions: readonly Decision[];
}

export interface RunRegistry {
  /** Every RUNNING execution of this stack's reconcile and switchover state machines (maybe the caller's own). */
  listRunning(): Promise<RunningExecution[]>;
  /**
   * This stack's switchover state machine ARN: a reconcile input's `switchoverExecutionArn` must name a
   * RUNNING execution of it. Undefined when unknown, and then every such input is refused.
   */
  readonly switchoverStateMachineArn: string | undefined;
}

export interface World {
  /** The region this stack (or drill process) acts for. */
  readonly region: string;
  readonly config: Config;
  /**
   * The global cluster and its members' endpoints, each member read in its own region under the bounds of
   * lib/workflow/member-reads.ts. `silentRegions`: regions known not to answer right now (an early probe),
   * whose members are not waited for.
   */
  observeTopology(options?: ObserveTopologyOptions): Promise<Topology>;
  /** Asks the writer itself (its cluster status / pg_is_in_recovery) that it really takes writes. */
  verifyWriter(writer: TopologyMember): Promise<WriterCheck>;
  /** This region's pooler targets. */
  poolerTargets(): readonly PoolerTargetAdapter[];
  trafficAdapters(): readonly TrafficAdapter[];
  emitMetrics(metrics: readonly MetricDatum[]): Promise<void>;
  /** Publishes a run summary where a notification target is configured; a decision says what happened. */
  notify(notification: RunSummaryNotification): Promise<Decision>;
  /** Milliseconds since the epoch; injectable for tests. */
  now(): number;
  readonly switchover: SwitchoverPorts;
  readonly runs: RunRegistry;
  /** Absent where a stack has no way to reach its peers (unit tests, the plan CLI): coordination is skipped, with a decision saying so. */
  readonly peers?: PeerPorts;
}
