/** The benchmark's comparison table: one row per drill run, the numbers the strategies are judged by. Pure. */
import { formatMs } from './report-model.ts';
import type { BenchResults, DrillResults, RegionResult } from './results.ts';
import { renderTextTable, type TextColumn } from './text-table.ts';

export interface BenchRow {
  strategy: string;
  poolMode: string;
  /** Which regions' buses received the RDS events ('all' for results that predate the field). */
  eventDelivery: string;
  /** Failed transactions, summed over every switch and region. */
  failed: number;
  /** The worst region's write gap in any switch. */
  maxWriteGapMs: number;
  maxP99Ms: number;
  /** The slowest promotion: the floor a write gap is compared with. */
  maxPromotionMs: number;
  lostAcknowledgedCommits: number;
  commitsOnOldWriterAfterPromotion: number;
  /** The drill's overhead; the slowest repoint when the runner did not report it separately. */
  overheadMs: number;
  invariantsOk: boolean;
}

function switchRegions(run: DrillResults): RegionResult[] {
  return run.switches.flatMap((drillSwitch) => Object.values(drillSwitch.regions));
}

const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);
const max = (values: readonly number[]) => values.reduce((highest, value) => Math.max(highest, value), 0);

/** The comparison numbers of one run. */
export function benchRow(run: DrillResults): BenchRow {
  const regions = switchRegions(run);
  return {
    strategy: run.strategy,
    poolMode: run.poolMode,
    eventDelivery: run.eventDelivery ?? 'all',
    failed: sum(regions.map((region) => region.failed)),
    maxWriteGapMs: max(regions.map((region) => region.writeGapMs)),
    maxP99Ms: max(regions.map((region) => region.p99Ms)),
    maxPromotionMs: max(run.switches.map((drillSwitch) => drillSwitch.promotionMs)),
    lostAcknowledgedCommits: sum(run.switches.map((drillSwitch) => drillSwitch.lostAcknowledgedCommits)),
    commitsOnOldWriterAfterPromotion: sum(run.switches.map((drillSwitch) => drillSwitch.commitsOnOldWriterAfterPromotion)),
    overheadMs: run.overheadMs ?? max(run.switches.map((drillSwitch) => drillSwitch.repointMs)),
    invariantsOk: run.invariants.every((invariant) => invariant.ok),
  };
}

const COLUMNS: readonly TextColumn[] = [
  { header: 'strategy', align: 'left' },
  { header: 'pool mode', align: 'left' },
  { header: 'events to', align: 'left' },
  { header: 'failed tx', align: 'right' },
  { header: 'max write gap ms', align: 'right' },
  { header: 'max promotion ms', align: 'right' },
  { header: 'max p99 ms', align: 'right' },
  { header: 'lost commits', align: 'right' },
  { header: 'old-writer commits', align: 'right' },
  { header: 'overhead ms', align: 'right' },
  { header: 'invariants', align: 'left' },
];

/**
 * One row per run, in the order the runs were made.
 *
 * @example
 * console.log(renderBenchTable({ runs: [restartRun, reloadRun, liveRun] }));
 * // strategy  pool mode    failed tx  max write gap ms  ...
 * // restart   transaction        104               930  ...
 */
export function renderBenchTable(bench: BenchResults): string {
  if (bench.runs.length === 0) return 'Benchmark: no runs';
  const outages = bench.runs.filter((run) => run.outage);
  const switches = bench.runs.filter((run) => !run.outage);
  const tables = switches.length ? [renderSwitchTable(switches)] : [];
  if (outages.length) tables.push(`Region outage (failover from the survivor, return, failback)\n${renderOutageTable(outages)}`);
  return tables.join('\n\n');
}

export interface OutageBenchRow {
  deadRegion: string;
  controlPlanesDown: string;
  /** Operator's start -> the new writer acknowledged a write (run-lock waits included). */
  writesResumedAfterStartMs: number | undefined;
  promotionMs: number;
  /** The flushed WAL the replica never received when the writer died (bytes, and ms where known). */
  rpoLagAtDeath: { bytes: number; ms?: number } | undefined;
  lostAcknowledgedCommits: number;
  commitsOnOldWriterAfterPromotion: number;
  /** Failed transactions during the failback, every region. */
  failbackFailed: number;
  invariantsOk: boolean;
}

/** The numbers of one region-outage run. */
export function outageBenchRow(run: DrillResults): OutageBenchRow {
  const [failover, failback] = run.switches;
  return {
    deadRegion: run.outage?.region ?? '?',
    controlPlanesDown: run.outage?.controlPlanesDown.join(', ') || 'none',
    writesResumedAfterStartMs: failover?.writesResumedAfterStartMs,
    promotionMs: failover?.promotionMs ?? 0,
    rpoLagAtDeath: run.outage?.rpo ? { bytes: run.outage.rpo.lagBytes, ...(run.outage.rpo.lagMs === undefined ? {} : { ms: run.outage.rpo.lagMs }) } : undefined,
    lostAcknowledgedCommits: sum(run.switches.map((drillSwitch) => drillSwitch.lostAcknowledgedCommits)),
    commitsOnOldWriterAfterPromotion: sum(run.switches.map((drillSwitch) => drillSwitch.commitsOnOldWriterAfterPromotion)),
    failbackFailed: failback ? sum(Object.values(failback.regions).map((region) => region.failed)) : 0,
    invariantsOk: run.invariants.every((invariant) => invariant.ok),
  };
}

const OUTAGE_COLUMNS: readonly TextColumn[] = [
  { header: 'dead region', align: 'left' },
  { header: 'control plane down', align: 'left' },
  { header: 'writes resumed after start ms', align: 'right' },
  { header: 'promotion ms', align: 'right' },
  { header: 'RPO lag at death', align: 'right' },
  { header: 'lost commits', align: 'right' },
  { header: 'old-writer commits', align: 'right' },
  { header: 'failback failed tx', align: 'right' },
  { header: 'invariants', align: 'left' },
];

function renderOutageTable(runs: readonly DrillResults[]): string {
  const rows = runs.map(outageBenchRow).map((row) => [
    row.deadRegion,
    row.controlPlanesDown,
    row.writesResumedAfterStartMs === undefined ? 'never' : formatMs(row.writesResumedAfterStartMs),
    formatMs(row.promotionMs),
    row.rpoLagAtDeath === undefined ? '-' : `${row.rpoLagAtDeath.bytes} B${row.rpoLagAtDeath.ms === undefined ? '' : ` / ${formatMs(row.rpoLagAtDeath.ms)} ms`}`,
    String(row.lostAcknowledgedCommits),
    String(row.commitsOnOldWriterAfterPromotion),
    String(row.failbackFailed),
    row.invariantsOk ? '✔ ok' : '✘ FAIL',
  ]);
  return renderTextTable(OUTAGE_COLUMNS, rows);
}

function renderSwitchTable(runs: readonly DrillResults[]): string {
  const rows = runs.map(benchRow).map((row) => [
    row.strategy,
    row.poolMode,
    row.eventDelivery,
    String(row.failed),
    formatMs(row.maxWriteGapMs),
    formatMs(row.maxPromotionMs),
    formatMs(row.maxP99Ms),
    String(row.lostAcknowledgedCommits),
    String(row.commitsOnOldWriterAfterPromotion),
    formatMs(row.overheadMs),
    row.invariantsOk ? '✔ ok' : '✘ FAIL',
  ]);
  return renderTextTable(COLUMNS, rows);
}
