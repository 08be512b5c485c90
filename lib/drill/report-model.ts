/**
 * The tables of a drill report as plain strings, shared by the terminal and the HTML renderers so both
 * show exactly the same numbers. Pure.
 */
import type { DrillResults, RegionResult } from './results.ts';
import type { TextColumn } from './text-table.ts';

export interface ReportTable {
  readonly columns: readonly TextColumn[];
  readonly rows: readonly (readonly string[])[];
}

const left = (header: string): TextColumn => ({ header, align: 'left' });
const right = (header: string): TextColumn => ({ header, align: 'right' });

/** Whole milliseconds. */
export function formatMs(ms: number): string {
  return String(Math.round(ms));
}

/** Seconds with millisecond precision. */
export function formatSeconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

/** `25006×52 57P01×3`: most frequent first, ties by code; '-' when nothing failed. */
export function formatSqlstates(failedBySqlstate: Readonly<Record<string, number>>): string {
  const entries = Object.entries(failedBySqlstate)
    .filter(([, count]) => count > 0)
    .sort(([codeA, countA], [codeB, countB]) => countB - countA || codeA.localeCompare(codeB));
  return entries.length === 0 ? '-' : entries.map(([code, count]) => `${code}×${count}`).join(' ');
}

export function switchLabel(from: string, to: string): string {
  return `${from} → ${to}`;
}

/** One row per switch: what the database and the drill did, and the two numbers that must be 0. */
export function switchTable(results: DrillResults): ReportTable {
  return {
    columns: [right('switch'), left('from → to'), right('promotion ms'), right('repoint ms'), right('commits on old writer'), right('lost ack. commits')],
    rows: results.switches.map((drillSwitch, index) => [
      String(index + 1),
      switchLabel(drillSwitch.from, drillSwitch.to),
      formatMs(drillSwitch.promotionMs),
      formatMs(drillSwitch.repointMs),
      String(drillSwitch.commitsOnOldWriterAfterPromotion),
      String(drillSwitch.lostAcknowledgedCommits),
    ]),
  };
}

/** What the two must-be-zero columns mean, one sentence each. */
export const SWITCH_TABLE_NOTES = [
  'commits on old writer: commits the old writer accepted after the new one was promoted (must be 0).',
  'lost ack. commits: acknowledged commits missing on the new writer after the switch (must be 0).',
] as const;

function regionCells(window: string, region: string, result: RegionResult): string[] {
  return [
    window,
    region,
    String(result.committed),
    String(result.failed),
    formatSqlstates(result.failedBySqlstate),
    formatMs(result.writeGapMs),
    formatMs(result.p99Ms),
    formatMs(result.maxMs),
  ];
}

/** One row per switch and region (measured in that switch's window), then one per region for the whole drill. */
export function regionTable(results: DrillResults): ReportTable {
  const perSwitch = results.switches.flatMap((drillSwitch, index) =>
    Object.entries(drillSwitch.regions).map(([region, result]) => regionCells(`switch ${index + 1}`, region, result)),
  );
  const whole = Object.entries(results.totals).map(([region, result]) => regionCells('whole drill', region, result));
  return {
    columns: [left('window'), left('region'), right('committed'), right('failed'), left('failed by SQLSTATE'), right('write gap ms'), right('p99 ms'), right('max ms')],
    rows: [...perSwitch, ...whole],
  };
}

/** Phases in the order they happened, seconds since the drill started. */
export function timelineTable(results: DrillResults): ReportTable {
  return {
    columns: [left('phase'), right('start s'), right('end s'), right('duration s')],
    rows: results.phases.map((phase) => [phase.name, formatSeconds(phase.startMs), formatSeconds(phase.endMs), formatSeconds(phase.endMs - phase.startMs)]),
  };
}

/** The drill's parameters in one sentence. */
export function describeRun(results: DrillResults): string {
  return (
    `${results.scenario}, strategy ${results.strategy}, pool mode ${results.poolMode}, ` +
    `${results.clientsPerRegion} clients per region, ${(results.durationMs / 1000).toFixed(1)} s, started ${results.startedAt}`
  );
}

/** The drill's own overhead, or undefined when the runner did not measure it. */
export function describeOverhead(results: DrillResults): string | undefined {
  return results.overheadMs === undefined ? undefined : `drill overhead (promotion → every PgBouncer serves the new writer): ${formatMs(results.overheadMs)} ms`;
}
