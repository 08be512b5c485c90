/** Pure summaries of a load run: what clients experienced. No I/O. */
import type { CommitRecord, ErrorRecord, LoadResult } from './load-generator.ts';
import { commitKey } from './load-generator.ts';

export interface LoadWindow {
  /** Only this region's clients; all regions when absent. */
  readonly region?: string;
  readonly fromMs?: number;
  readonly toMs?: number;
}

export interface LoadSummary {
  readonly durationMs: number;
  readonly committed: number;
  readonly failed: number;
  readonly failedBySqlstate: Readonly<Record<string, number>>;
  /** Committed write transactions per second over the window. */
  readonly tps: number;
  /** Longest interval without any acknowledged commit, and where it was (epoch ms). */
  readonly writeGapMs: number;
  readonly writeGapFromMs: number;
  readonly writeGapToMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** `client:seq` of every acknowledged commit. */
  readonly acknowledged: readonly string[];
}

export function summarizeLoad(result: LoadResult, window: LoadWindow = {}): LoadSummary {
  const fromMs = window.fromMs ?? result.startedAt;
  const toMs = window.toMs ?? result.endedAt;
  const inWindow = (region: string, at: number) => (!window.region || region === window.region) && at >= fromMs && at <= toMs;
  const commits = result.commits.filter((commit) => inWindow(commit.region, commit.endedAt));
  const errors = result.errors.filter((error) => error.operation !== 'read' && inWindow(error.region, error.at));
  const failedBySqlstate: Record<string, number> = {};
  for (const error of errors) failedBySqlstate[error.code] = (failedBySqlstate[error.code] ?? 0) + 1;
  const latencies = commits.map((commit) => commit.endedAt - commit.startedAt).sort((a, b) => a - b);
  const gap = longestGap(commits.map((commit) => commit.endedAt), fromMs, toMs);
  const durationMs = toMs - fromMs;
  return {
    durationMs,
    committed: commits.length,
    failed: errors.length,
    failedBySqlstate,
    tps: durationMs > 0 ? (commits.length * 1000) / durationMs : 0,
    writeGapMs: gap.to - gap.from,
    writeGapFromMs: gap.from,
    writeGapToMs: gap.to,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    maxMs: latencies.at(-1) ?? 0,
    acknowledged: commits.map(commitKey),
  };
}

/** Acknowledged commits whose row is not on `present` (e.g. the new writer's rows): must be empty. */
export function missingAcknowledged(commits: readonly CommitRecord[], present: ReadonlySet<string>): CommitRecord[] {
  return commits.filter((commit) => !present.has(commitKey(commit)));
}

/**
 * Commits acknowledged by the server on `serverPort` for transactions started after `afterMs` (e.g. on the
 * old writer after the new one was promoted: split brain): must be empty. Start time, not ack time, so an
 * ack that was already on its way when the promotion finished is not miscounted.
 */
export function commitsOnServerAfter(commits: readonly CommitRecord[], serverPort: number, afterMs: number): CommitRecord[] {
  return commits.filter((commit) => commit.serverPort === serverPort && commit.startedAt > afterMs);
}

/** Errors recorded in a time range, e.g. during a switch. */
export function errorsBetween(errors: readonly ErrorRecord[], fromMs: number, toMs: number): ErrorRecord[] {
  return errors.filter((error) => error.at >= fromMs && error.at <= toMs);
}

function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1);
  return sorted[Math.max(0, index)] ?? 0;
}

function longestGap(times: readonly number[], fromMs: number, toMs: number): { from: number; to: number } {
  const sorted = [...times].sort((a, b) => a - b);
  if (sorted.length === 0) return { from: fromMs, to: toMs };
  let best = { from: sorted[0] as number, to: sorted[0] as number };
  for (let index = 1; index < sorted.length; index += 1) {
    const from = sorted[index - 1] as number;
    const to = sorted[index] as number;
    if (to - from > best.to - best.from) best = { from, to };
  }
  return best;
}
