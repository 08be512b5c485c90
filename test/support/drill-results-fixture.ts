/**
 * A realistic drill result: switchover us-east-2 -> us-west-2 and failback with the `reload` strategy,
 * two regions, 60 s at ~500 commits/s per region. Every number is distinct so tests can tell rows apart.
 */
import type { DrillPhase, DrillResults, DrillSeries, RegionResult } from '../../lib/drill/results.ts';

export const BUCKET_MS = 100;
export const DURATION_MS = 60_000;

export const FIXTURE_PHASES: DrillPhase[] = [
  { name: 'start servers and load', startMs: 0, endMs: 5_000 },
  { name: 'steady load', startMs: 5_000, endMs: 20_000 },
  { name: 'switchover us-east-2 → us-west-2', startMs: 20_000, endMs: 20_840 },
  { name: 'reconcile', startMs: 20_840, endMs: 21_300 },
  { name: 'pause', startMs: 21_300, endMs: 40_000 },
  { name: 'failback us-west-2 → us-east-2', startMs: 40_000, endMs: 40_790 },
  { name: 'reconcile', startMs: 40_790, endMs: 41_250 },
  { name: 'steady load', startMs: 41_250, endMs: 60_000 },
];

/** Buckets where writes stopped (the write gap) and the ones where clients saw errors, per switch. */
const GAP_BUCKETS = [
  { from: 203, to: 207 },
  { from: 403, to: 407 },
];

function regionSeries(region: string, errorsPerGapBucket: readonly number[]): DrillSeries {
  const buckets = DURATION_MS / BUCKET_MS;
  const commits: number[] = [];
  const errors: number[] = [];
  for (let bucket = 0; bucket < buckets; bucket += 1) {
    const gapIndex = GAP_BUCKETS.findIndex((gap) => bucket >= gap.from && bucket < gap.to);
    const warmingUp = bucket < 10;
    commits.push(gapIndex >= 0 ? 0 : warmingUp ? bucket * 5 : 48 + ((bucket * 7) % 5));
    errors.push(gapIndex >= 0 ? (errorsPerGapBucket[gapIndex] ?? 0) : 0);
  }
  return { region, bucketMs: BUCKET_MS, commits, errors };
}

function region(committed: number, failedBySqlstate: Record<string, number>, writeGapMs: number, p99Ms: number, maxMs: number): RegionResult {
  const failed = Object.values(failedBySqlstate).reduce((total, count) => total + count, 0);
  return { committed, failed, failedBySqlstate, writeGapMs, p99Ms, maxMs };
}

export function drillResultsFixture(): DrillResults {
  return {
    scenario: 'switchover-failback',
    strategy: 'reload',
    poolMode: 'transaction',
    startedAt: '2025-06-01T12:00:00.000Z',
    durationMs: DURATION_MS,
    clientsPerRegion: 8,
    switches: [
      {
        from: 'us-east-2',
        to: 'us-west-2',
        promotionMs: 318,
        repointMs: 142,
        commitsOnOldWriterAfterPromotion: 0,
        lostAcknowledgedCommits: 0,
        regions: {
          'us-east-2': region(10412, { '57P01': 3, '25006': 52 }, 412, 38, 455),
          'us-west-2': region(10388, {}, 431, 36, 470),
        },
      },
      {
        from: 'us-west-2',
        to: 'us-east-2',
        promotionMs: 297,
        repointMs: 131,
        commitsOnOldWriterAfterPromotion: 0,
        lostAcknowledgedCommits: 0,
        regions: {
          'us-east-2': region(10377, { '08006': 7 }, 386, 34, 441),
          'us-west-2': region(10391, { '25006': 58, '57P01': 3 }, 398, 41, 448),
        },
      },
    ],
    phases: FIXTURE_PHASES,
    series: [regionSeries('us-east-2', [11, 2]), regionSeries('us-west-2', [0, 12])],
    totals: {
      'us-east-2': region(29114, { '25006': 52, '08006': 7, '57P01': 3 }, 412, 29, 455),
      'us-west-2': region(29087, { '25006': 58, '57P01': 3 }, 431, 31, 470),
    },
    invariants: [
      { name: 'no lost acknowledged commits', ok: true, detail: '0 of 58201 acknowledged commits missing' },
      { name: 'no commits on the old writer after promotion', ok: true, detail: '0 in 2 switches' },
      { name: 'every PgBouncer reached the new writer after each promotion', ok: true, detail: 'drill overhead 142 ms (within the 1 s target)' },
    ],
    overheadMs: 142,
  };
}
