/** The drill report for terminals and CI logs: timeline, results tables, invariants, live progress line. Pure. */
import { describeOverhead, describeRun, regionTable, SWITCH_TABLE_NOTES, switchTable, timelineTable, type ReportTable } from './report-model.ts';
import type { DrillInvariant, DrillResults } from './results.ts';
import { renderTextTable } from './text-table.ts';

const INDENT = '  ';

function table(reportTable: ReportTable): string {
  return renderTextTable(reportTable.columns, reportTable.rows, INDENT);
}

/**
 * The phases in order with start, end and duration in seconds since the drill started.
 *
 * @example
 * console.log(renderTimeline(results));
 * // Timeline
 * //   phase                 start s   end s  duration s
 * //   load warm-up            0.000   5.000       5.000
 */
export function renderTimeline(results: DrillResults): string {
  if (results.phases.length === 0) return 'Timeline\n  (no phases recorded)';
  return `Timeline\n${table(timelineTable(results))}`;
}

/** `✔ ok    name: detail`: the symbol for people, the word for grep in CI logs. */
export function renderInvariant(invariant: DrillInvariant): string {
  const mark = invariant.ok ? '✔ ok  ' : '✘ FAIL';
  return `${INDENT}${mark}  ${invariant.name}${invariant.detail ? `: ${invariant.detail}` : ''}`;
}

/**
 * Per switch (promotion, repoint, the two must-be-zero counts), per switch and region (committed, failed by
 * SQLSTATE, write gap, p99, max), the whole drill per region, then the invariants.
 */
export function renderResultsTable(results: DrillResults): string {
  const sections = [`Results: ${describeRun(results)}`];
  if (results.switches.length > 0) sections.push(['Switches', table(switchTable(results)), ...SWITCH_TABLE_NOTES.map((note) => INDENT + note)].join('\n'));
  sections.push(`Clients per region\n${table(regionTable(results))}`);
  const overhead = describeOverhead(results);
  if (overhead) sections.push(`${INDENT}${overhead}`);
  if (results.outage) sections.push(describeOutage(results));
  const failedCount = results.invariants.filter((invariant) => !invariant.ok).length;
  const verdict = failedCount === 0 ? 'all ok' : `${failedCount} FAIL`;
  sections.push(`Invariants (${verdict})\n${results.invariants.map(renderInvariant).join('\n')}`);
  return sections.join('\n\n');
}

/** Scenario region-outage: what died when, what the operator's failover and the failback took. */
function describeOutage(results: DrillResults): string {
  const outage = results.outage!;
  const seconds = (ms: number | undefined) => (ms === undefined ? 'never' : `${(ms / 1000).toFixed(3)} s`);
  const lines = [
    `${outage.region} died at ${seconds(outage.atMs)} (SIGKILL; its APIs${outage.controlPlanesDown.length ? ` and the ${outage.controlPlanesDown.join(' and ')} control plane` : ''} unreachable); operator started the failover at ${seconds(outage.operatorStartMs)}`,
    `returned at ${seconds(outage.returnedAtMs)}, old writer a replica again at ${seconds(outage.rejoinedAtMs)}, its PgBouncer repointed by its own scheduled reconcile at ${seconds(outage.repointedAtMs)} (writes -> ${outage.writeRoutedToOnReturn ?? 'unknown'}), clients back at ${seconds(outage.clientsBackAtMs)}`,
    `writes in flight in ${outage.region} when it died (failed with it): ${outage.failedInDeadRegion}`,
    ...(outage.rpo
      ? [`RPO at the writer's death: the replica lacked ${outage.rpo.lagBytes} bytes of flushed WAL (writer ${outage.rpo.writerFlushedLsn}, replica received ${outage.rpo.replicaReceivedLsn})${outage.rpo.lagMs === undefined ? '' : `, last replayed commit ${outage.rpo.lagMs} ms before the death`}; lost acknowledged commits ${outage.rpo.lostAcknowledgedCommits}${outage.rpo.lostAfterLsnRead ? ` (${outage.rpo.lostAfterLsnRead} acknowledged after the LSN was read)` : ''}`]
      : []),
    ...(outage.returningWrites
      ? [`${outage.region}'s returning clients before the repoint: ${outage.returningWrites.refusedBeforeRepoint} write(s) refused (${Object.entries(outage.returningWrites.refusedBySqlstate).map(([code, count]) => `${code} x${count}`).join(', ') || 'none'}), ${outage.returningWrites.committedOnOldWriter} committed on the old writer; after it ${outage.returningWrites.committedOnNewWriterAfterRepoint} on the new writer`]
      : []),
    ...results.switches.map((item) => `${item.from} -> ${item.to} (from ${item.home ?? '?'}'s stack): writes resumed ${item.writesResumedAfterStartMs ?? 'never'} ms after the start; target replay lag at start ${item.rpoLagAtStartMs ?? '?'} ms${item.trafficNote ? `; ${item.trafficNote}` : ''}`),
  ];
  return `Region outage\n${lines.map((line) => INDENT + line).join('\n')}`;
}

export interface DrillProgress {
  phase: string;
  elapsedMs: number;
  commitsPerSec: number;
  errorsPerSec: number;
}

/** Fixed width, so rewriting the line with `\r` leaves nothing of a longer previous line behind. */
export const PROGRESS_LINE_WIDTH = 96;
const PHASE_WIDTH = 40;

function fitPhase(phase: string): string {
  const chars = [...phase.replace(/\s+/g, ' ')];
  return chars.length <= PHASE_WIDTH ? chars.join('').padEnd(PHASE_WIDTH) : `${chars.slice(0, PHASE_WIDTH - 1).join('')}…`;
}

/**
 * One line of PROGRESS_LINE_WIDTH characters, without `\r` or `\n`; the runner writes `\r` + line.
 *
 * @example
 * process.stderr.write(`\r${renderProgressLine({ phase: 'switchover us-east-2 → us-west-2', elapsedMs: 12_345, commitsPerSec: 1012, errorsPerSec: 0 })}`);
 * // '  12.3 s  switchover us-east-2 → us-west-2          commits/s   1012  errors/s      0 '
 */
export function renderProgressLine(progress: DrillProgress): string {
  const elapsed = `${(progress.elapsedMs / 1000).toFixed(1).padStart(6)} s`;
  const rate = (perSec: number) => String(Math.round(perSec)).padStart(6);
  const line = `${elapsed}  ${fitPhase(progress.phase)}  commits/s ${rate(progress.commitsPerSec)}  errors/s ${rate(progress.errorsPerSec)}`;
  const chars = [...line];
  return chars.length >= PROGRESS_LINE_WIDTH ? chars.slice(0, PROGRESS_LINE_WIDTH).join('') : line.padEnd(PROGRESS_LINE_WIDTH + line.length - chars.length);
}
