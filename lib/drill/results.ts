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

export interface DrillResults {
  scenario: DrillScenario;
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
  regions: Record<string, RegionResult>;
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
