/**
 * What a local failover drill measured: the shape of `--json`, the input of every report renderer and,
 * wrapped in `BenchResults`, of the benchmark. Plain data, no behaviour. Times are milliseconds; phase and
 * series times are milliseconds since the drill started.
 */

export const DrillScenarios = ['switchover', 'failover', 'switchover-failback', 'region-outage'] as const;
export type DrillScenario = (typeof DrillScenarios)[number];

export const DrillStrategies = ['live', 'reload', 'restart'] as const;
export type DrillStrategy = (typeof DrillStrategies)[number];

export const DrillPoolModes = ['transaction', 'session'] as const;
export type DrillPoolMode = (typeof DrillPoolModes)[number];

/** Which regions' event buses receive the RDS global-failover events (lib/drill/local-aurora.ts). */
export const DrillEventDeliveries = ['all', 'old-writer', 'new-writer', 'none'] as const;
export type DrillEventDelivery = (typeof DrillEventDeliveries)[number];

export interface DrillResults {
  scenario: DrillScenario;
  /** Absent in results written before the drill modelled per-region delivery (then: every region got every event). */
  eventDelivery?: DrillEventDelivery;
  /** Every Lambda invocation started this much late (`--lambda-latency-ms`); absent: 0. */
  lambdaLatencyMs?: number;
  strategy: DrillStrategy;
  poolMode: DrillPoolMode;
  /** ISO 8601. */
  startedAt: string;
  durationMs: number;
  clientsPerRegion: number;
  switches: DrillSwitch[];
  /** In the order they happened. */
  phases: DrillPhase[];
  /** Per region, per bucket: commits and errors, for the chart. */
  series: DrillSeries[];
  /** The whole drill, per region. */
  totals: Record<string, RegionResult>;
  /** e.g. 'no lost acknowledged commits'. */
  invariants: DrillInvariant[];
  /** Promotion -> every PgBouncer serves the new writer: the drill's own overhead (max over switches). */
  overheadMs?: number;
  /** Scenario region-outage: the writer region that died, and when (ms since the drill started). */
  outage?: DrillOutage;
}

/** What died in scenario region-outage, and how it came back. Times are ms since the drill started. */
export interface DrillOutage {
  region: string;
  atMs: number;
  /** Traffic control planes served from the dead region (global-accelerator: us-west-2, route53: us-east-1). */
  controlPlanesDown: string[];
  /** The operator started the failover from the surviving region's stack. */
  operatorStartMs: number;
  /** The region (its APIs, EKS and the old writer's hosts) came back. */
  returnedAtMs?: number;
  /** The old writer streams from the new one (pg_rewind or a fresh base backup). */
  rejoinedAtMs?: number;
  /** The returning region's own scheduled reconcile repointed its PgBouncer. */
  repointedAtMs?: number;
  /** Its clients were let back in: when the region returned (as in-region pods reconnect at once), before its repoint. */
  clientsBackAtMs?: number;
  /** What the returning region's PgBouncer routed writes to when its clients came back (region name or host:port). */
  writeRoutedToOnReturn?: string;
  /** Writes the dead region's clients had in flight when it died (they fail with it). */
  failedInDeadRegion: number;
  /** What the returning region's clients' writes did between their return and the failback. */
  returningWrites?: DrillReturningWrites;
  /** The RPO at the writer's death, measured as RPO is defined (acknowledged WAL the replica never received). */
  rpo?: DrillOutageRpo;
}

export interface DrillReturningWrites {
  /** Failed write attempts between the return and the repoint (the old writer is down or a replica: e.g. 25006). */
  refusedBeforeRepoint: number;
  refusedBySqlstate: Record<string, number>;
  /** Acknowledged by the old writer after the return: must be 0. */
  committedOnOldWriter: number;
  /** Acknowledged by the new writer after the repoint, before the failback: must be more than 0. */
  committedOnNewWriterAfterRepoint: number;
}

export interface DrillOutageRpo {
  /** pg_current_wal_flush_lsn() of the writer, read just before the SIGKILL. */
  writerFlushedLsn: string;
  /** pg_last_wal_receive_lsn() of the replica after the writer died. */
  replicaReceivedLsn: string;
  /** writerFlushedLsn - replicaReceivedLsn in bytes, 0 when the replica had received it all. */
  lagBytes: number;
  /** The writer's death minus the commit time of the replica's last replayed transaction (under load: the RPO in time). */
  lagMs?: number;
  /** Acknowledged commits missing on the final writer (also the failover's lostAcknowledgedCommits). */
  lostAcknowledgedCommits: number;
  /** Of those, acknowledged after the flush LSN was read (in the instant before the SIGKILL: not covered by lagBytes). */
  lostAfterLsnRead: number;
}

export interface DrillSwitch {
  /** Region names. */
  from: string;
  to: string;
  /** The database's own promotion time: fence start -> new writer accepts writes. */
  promotionMs: number;
  /** Promotion done -> every PgBouncer serves the new writer. */
  repointMs: number;
  /** Must be 0. */
  commitsOnOldWriterAfterPromotion: number;
  /** Acknowledged commits missing on the new writer after the switch; must be 0. */
  lostAcknowledgedCommits: number;
  /** The operator's start -> the first write acknowledged by the new writer. */
  writesResumedAfterStartMs?: number;
  /** The target's replication lag (what the preflight's readRpoLag read) when the operator started. */
  rpoLagAtStartMs?: number;
  /** The stack that ran the switch workflow. */
  home?: string;
  /** The run summary's traffic note: what was not moved and why (a control plane did not answer). */
  trafficNote?: string;
  /** Traffic systems not moved (TrafficDegraded). */
  trafficDegraded?: string[];
  /** Measured in this switch's window. */
  regions: Record<string, SwitchRegionResult>;
}

/** One region in one switch: what its clients saw, and how its own stack followed the writer. */
export interface SwitchRegionResult extends RegionResult {
  /** Promotion done -> this region's PgBouncer serves the new writer; -1 when it never did before the next switch. */
  repointedAfterPromotionMs?: number;
  /** RDS events put on this region's bus during the switch (duplicates counted). */
  eventsDelivered?: number;
  /** Applies that moved this region's write alias to the new writer; 1 per target is the most there should be. */
  repoints?: number;
}

export interface RegionResult {
  committed: number;
  failed: number;
  /** SQLSTATE (or the load generator's connection error code) -> count. */
  failedBySqlstate: Record<string, number>;
  /** Write unavailability: the longest interval without an acknowledged commit. */
  writeGapMs: number;
  p99Ms: number;
  maxMs: number;
}

export interface DrillPhase {
  name: string;
  startMs: number;
  endMs: number;
}

export interface DrillSeries {
  region: string;
  /** Width of one bucket; bucket i covers [i * bucketMs, (i + 1) * bucketMs). */
  bucketMs: number;
  /** Commits per bucket (counts, not rates). */
  commits: number[];
  /** Failed transactions per bucket (counts, not rates). */
  errors: number[];
}

export interface DrillInvariant {
  name: string;
  ok: boolean;
  detail: string;
  /** A target on how fast something happened (reported, and fails the drill), not a safety property: tests never assert it. */
  timing?: boolean;
}

export interface BenchResults {
  runs: DrillResults[];
}
