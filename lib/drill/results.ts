/**
 * What a local failover drill measured: the shape of `--json`, the input of every report renderer and,
 * wrapped in `BenchResults`, of the benchmark. Plain data, no behaviour. Times are milliseconds; phase and
 * series times are milliseconds since the drill started.
 */

export const DrillScenarios = ['switchover', 'failover', 'switchover-failback'] as const;
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
}

export interface BenchResults {
  runs: DrillResults[];
}
