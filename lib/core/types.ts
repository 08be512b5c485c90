/**
 * The shapes that flow between observe -> plan -> apply -> verify. Plain data only: these cross
 * Step Functions state boundaries, so they never hold a pooler config's text (it may hold passwords).
 */
import type { Endpoint } from './endpoint.ts';
import type { Decision } from './decision.ts';
import type { AliasRole, ReloadStrategy } from './constants.ts';

export interface TopologyMember {
  readonly dbClusterArn: string;
  readonly region: string;
  readonly isWriter: boolean;
  /** `connected` | `pending-resync` | undefined (absent on some members, e.g. the writer). */
  readonly synchronizationStatus?: string;
  /** The member cluster's own writer endpoint (cluster endpoint) and reader endpoint. */
  readonly writerEndpoint?: Endpoint;
  readonly readerEndpoint?: Endpoint;
  /** Set when the member's own region did not answer DescribeDBClusters (e.g. the region is down): why. */
  readonly unanswered?: string;
}

export interface FailoverStateInfo {
  readonly status: string;
  readonly fromDbClusterArn?: string;
  readonly toDbClusterArn?: string;
  readonly isDataLossAllowed?: boolean;
}

export interface Topology {
  readonly globalClusterId: string;
  /** The global cluster's Status, e.g. `available`, `failing-over`, `switching-over`. */
  readonly status: string;
  readonly failoverState?: FailoverStateInfo;
  /** The Aurora global writer endpoint's DNS name, when the API reports one. */
  readonly globalWriterEndpoint?: string;
  readonly members: readonly TopologyMember[];
  /** ISO timestamp of the observation. */
  readonly observedAt: string;
  /**
   * Set by the bounded stability decision (tolerateUnavailable) when the global cluster's `status` is not
   * `available` but the writer is settled: assessStability then accepts exactly this status.
   */
  readonly tolerated?: { readonly status: string; readonly reason: string };
}

export interface StabilityVerdict {
  readonly stable: boolean;
  readonly reason: string;
  /** The single writer member when stable. */
  readonly writer?: TopologyMember;
}

/** What a pooler target currently routes its managed aliases to (read from its pgbouncer.ini). */
export interface PoolerTargetState {
  readonly target: string;
  readonly region: string;
  readonly reloadStrategy: ReloadStrategy;
  /** alias -> endpoint; null when the alias is missing from `[databases]`. */
  readonly aliases: Readonly<Record<string, Endpoint | null>>;
  /** Kubernetes resourceVersion (or a content hash locally) the observation was made at. */
  readonly version: string;
}

export interface PoolerChange {
  readonly alias: string;
  readonly role: AliasRole;
  /** The value this change expects to replace; null when the alias is missing. */
  readonly from: Endpoint | null;
  readonly to: Endpoint;
}

export interface PoolerPlan {
  readonly target: string;
  readonly region: string;
  readonly reloadStrategy: ReloadStrategy;
  readonly changes: readonly PoolerChange[];
  readonly decision: Decision;
}

export const TrafficKind = { GlobalAccelerator: 'global-accelerator', Route53: 'route53' } as const;
export type TrafficKind = (typeof TrafficKind)[keyof typeof TrafficKind];

/** One region's traffic knob as observed: a GA endpoint group's dial, or a Route 53 record's weight. */
export interface TrafficTargetState {
  readonly kind: TrafficKind;
  readonly region: string;
  /** Endpoint group ARN, or `hostedZoneId/recordName/recordType/setIdentifier`. */
  readonly resource: string;
  /** GA traffic dial percent (0..100) or Route 53 weight (0..255). */
  readonly weight: number;
  /**
   * Route 53 only: true when the record has neither a HealthCheckId nor an alias target with
   * EvaluateTargetHealth, so nothing in the data plane stops answering it when its region dies.
   */
  readonly withoutHealthCheck?: true;
}

export interface TrafficChange {
  readonly kind: TrafficKind;
  readonly region: string;
  readonly resource: string;
  readonly from: number;
  readonly to: number;
}

export interface TrafficPlan {
  readonly changes: readonly TrafficChange[];
  readonly decision: Decision;
  /** drain-unhealthy only: one `keep` decision per (kind, region) whose current weight was kept instead of the policy's. */
  readonly kept?: readonly Decision[];
}

export interface Plan {
  readonly globalClusterId: string;
  readonly writerRegion: string;
  readonly writerDbClusterArn: string;
  readonly poolers: readonly PoolerPlan[];
  readonly traffic: TrafficPlan;
  readonly decisions: readonly Decision[];
}

/** Per-region health the drain-unhealthy policy uses. */
export interface RegionHealth {
  readonly region: string;
  readonly healthy: boolean;
  readonly reason: string;
  /**
   * What drain-unhealthy may do to this region's weights, when a stack's own region is given (regionHealth's
   * `scope`). Absent: set them either way. `keep`: its health is unknown this run (only a read-only pod
   * check of its own target failed): its current weights stay. `lower-only`: another region, judged by its DB
   * member alone: lowered (drained, or the writer moved away), never raised; its own stack raises it.
   */
  readonly weights?: 'keep' | 'lower-only';
}

/** How one pod of a pooler target ended up after an apply. */
export interface PodOutcome {
  readonly pod: string;
  /** `skipped`: Running but not Ready (no Service traffic) and not yet right; never evicted, the next run checks it. */
  readonly outcome: 'switched' | 'restarted' | 'failed' | 'unchanged' | 'skipped';
  readonly reason: string;
}

export interface PoolerApplyResult {
  readonly target: string;
  readonly region: string;
  readonly changed: boolean;
  readonly decision: Decision;
  readonly durationMs: number;
  readonly pods: readonly PodOutcome[];
}

/**
 * One PgBouncer deployment (EKS) or process (local drill). Implementations must be compare-and-set:
 * `apply` re-reads the config and refuses with StaleChangeError when a change's `from` is neither the
 * current value nor already its `to` (someone else changed it), and is a no-op when already converged.
 */
export interface PoolerTargetAdapter {
  readonly target: string;
  readonly region: string;
  observe(): Promise<PoolerTargetState>;
  apply(plan: PoolerPlan): Promise<PoolerApplyResult>;
  /** PAUSE the write alias on every pod (transaction pool mode only; otherwise a no-op with a reason). */
  pauseWrites(): Promise<Decision>;
  /** RESUME the write alias on every pod; safe to call when nothing is paused. */
  resumeWrites(): Promise<Decision>;
}

/** Global Accelerator endpoint groups or Route 53 weighted records for every configured region. */
export interface TrafficAdapter {
  readonly kind: TrafficKind;
  observe(): Promise<TrafficTargetState[]>;
  /** Compare-and-set per change; Route 53 waits (bounded) for INSYNC. */
  apply(changes: readonly TrafficChange[]): Promise<{ readonly decision: Decision; readonly durationMs: number }>;
}
