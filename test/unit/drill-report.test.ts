import { describe, expect, it } from 'vitest';
import { renderBenchTable } from '../../lib/drill/bench-table.ts';
import { escapeHtml, renderHtmlReport } from '../../lib/drill/report-html.ts';
import { formatSqlstates } from '../../lib/drill/report-model.ts';
import { PROGRESS_LINE_WIDTH, renderProgressLine, renderResultsTable, renderTimeline } from '../../lib/drill/report-text.ts';
import type { DrillResults } from '../../lib/drill/results.ts';
import { classifyPhases, estimateLabelWidth, layoutPhaseLabels, wholeNumberAxis, type PhaseKind } from '../../lib/drill/svg-chart.ts';
import { DURATION_MS, BUCKET_MS, drillResultsFixture, FIXTURE_PHASES } from '../support/drill-results-fixture.ts';

/** The cells of a rendered text table line (columns are separated by at least two spaces). */
function cells(line: string): string[] {
  return line.trim().split(/\s{2,}/);
}

/** The cells of the first line whose leading cells are `prefix`. */
function row(text: string, ...prefix: string[]): string[] {
  const found = text
    .split('\n')
    .map(cells)
    .find((candidate) => prefix.every((cell, index) => candidate[index] === cell));
  if (!found) throw new Error(`no row starting with ${prefix.join(' | ')} in:\n${text}`);
  return found;
}

/** Like toContain, without printing a whole HTML page when it fails. */
function expectFragment(html: string, fragment: string): void {
  expect(html.includes(fragment), `missing: ${fragment}`).toBe(true);
}

function expectNoFragment(html: string, fragment: string): void {
  expect(html.includes(fragment), `unexpected: ${fragment}`).toBe(false);
}

function count(text: string, fragment: string): number {
  return text.split(fragment).length - 1;
}

function hostileResults(): DrillResults {
  const results = drillResultsFixture();
  results.phases = [...results.phases, { name: '<script>alert("phase")</script>', startMs: 59_000, endMs: 59_500 }];
  const series = results.series[0];
  if (series) series.region = '"><img src=x onerror=alert(1)>';
  results.invariants = [{ name: 'detail & <b>bold</b>', ok: false, detail: "it's <broken>" }];
  return results;
}

describe('formatSqlstates', () => {
  it('lists the most frequent SQLSTATE first, and a dash when nothing failed', () => {
    expect(formatSqlstates({ '57P01': 3, '25006': 52 })).toBe('25006×52 57P01×3');
    expect(formatSqlstates({ '57P01': 3, '08006': 3 })).toBe('08006×3 57P01×3');
    expect(formatSqlstates({})).toBe('-');
    expect(formatSqlstates({ '25006': 0 })).toBe('-');
  });
});

describe('renderTimeline', () => {
  it('lists every phase in order with start, end and duration in aligned columns', () => {
    // Act
    const timeline = renderTimeline(drillResultsFixture());

    // Assess
    const lines = timeline.split('\n');
    expect(lines[0]).toBe('Timeline');
    expect(cells(lines[1] ?? '')).toEqual(['phase', 'start s', 'end s', 'duration s']);
    expect(lines.slice(2).map((line) => cells(line)[0])).toEqual(FIXTURE_PHASES.map((phase) => phase.name));
    expect(row(timeline, 'switchover us-east-2 → us-west-2')).toEqual(['switchover us-east-2 → us-west-2', '20.000', '20.840', '0.840']);
    expect(row(timeline, 'pause')).toEqual(['pause', '21.300', '40.000', '18.700']);
    // Right-aligned last column: every line ends in the same column.
    const widths = new Set(lines.slice(1).map((line) => [...line].length));
    expect(widths.size).toBe(1);
  });

  it('says so when no phase was recorded', () => {
    expect(renderTimeline({ ...drillResultsFixture(), phases: [] })).toContain('no phases recorded');
  });
});

describe('renderResultsTable', () => {
  it('puts each switch and each region’s numbers in their own row', () => {
    // Act
    const table = renderResultsTable(drillResultsFixture());

    // Assess
    expect(table).toContain('switchover-failback, strategy reload, pool mode transaction, 8 clients per region, 60.0 s');
    expect(row(table, 'switch', 'from → to')).toEqual(['switch', 'from → to', 'promotion ms', 'repoint ms', 'commits on old writer', 'lost ack. commits']);
    expect(row(table, '1', 'us-east-2 → us-west-2')).toEqual(['1', 'us-east-2 → us-west-2', '318', '142', '0', '0']);
    expect(row(table, '2', 'us-west-2 → us-east-2')).toEqual(['2', 'us-west-2 → us-east-2', '297', '131', '0', '0']);
    expect(row(table, 'window')).toEqual(['window', 'region', 'committed', 'failed', 'failed by SQLSTATE', 'write gap ms', 'p99 ms', 'max ms']);
    expect(row(table, 'switch 1', 'us-east-2')).toEqual(['switch 1', 'us-east-2', '10412', '55', '25006×52 57P01×3', '412', '38', '455']);
    expect(row(table, 'switch 1', 'us-west-2')).toEqual(['switch 1', 'us-west-2', '10388', '0', '-', '431', '36', '470']);
    expect(row(table, 'switch 2', 'us-east-2')).toEqual(['switch 2', 'us-east-2', '10377', '7', '08006×7', '386', '34', '441']);
    expect(row(table, 'switch 2', 'us-west-2')).toEqual(['switch 2', 'us-west-2', '10391', '61', '25006×58 57P01×3', '398', '41', '448']);
    expect(row(table, 'whole drill', 'us-east-2')).toEqual(['whole drill', 'us-east-2', '29114', '62', '25006×52 08006×7 57P01×3', '412', '29', '455']);
    expect(table).toContain('drill overhead (promotion → every PgBouncer serves the new writer): 142 ms');
  });

  it('marks every invariant with a symbol and a word CI logs can grep', () => {
    // Prepare
    const results = drillResultsFixture();
    results.invariants = [
      { name: 'no lost acknowledged commits', ok: true, detail: '0 missing' },
      { name: 'live: 0 failed transactions', ok: false, detail: '55 failed' },
    ];

    // Act
    const table = renderResultsTable(results);

    // Assess
    expect(table).toContain('Invariants (1 FAIL)');
    expect(table).toContain('  ✔ ok    no lost acknowledged commits: 0 missing');
    expect(table).toContain('  ✘ FAIL  live: 0 failed transactions: 55 failed');
  });

  it('says all ok when every invariant holds', () => {
    expect(renderResultsTable(drillResultsFixture())).toContain('Invariants (all ok)');
  });
});

describe('renderProgressLine', () => {
  it('is one fixed-width line under 100 characters with the phase and both rates', () => {
    // Act
    const line = renderProgressLine({ phase: 'switchover us-east-2 → us-west-2', elapsedMs: 12_345, commitsPerSec: 1011.6, errorsPerSec: 0 });

    // Assess
    expect(line).not.toMatch(/[\r\n]/);
    expect([...line]).toHaveLength(PROGRESS_LINE_WIDTH);
    expect(PROGRESS_LINE_WIDTH).toBeLessThan(100);
    expect(line).toMatch(/^ +12\.3 s {2}switchover us-east-2 → us-west-2 +commits\/s +1012 {2}errors\/s +0 +$/);
  });

  it('shortens a long phase name instead of growing past the width', () => {
    // Act
    const line = renderProgressLine({ phase: 'x'.repeat(200), elapsedMs: 3_600_000, commitsPerSec: 123_456, errorsPerSec: 99_999 });

    // Assess
    expect([...line]).toHaveLength(PROGRESS_LINE_WIDTH);
    expect(line).toContain('x…');
    expect(line).toContain('123456');
    expect(line).toContain('99999');
  });
});

describe('escapeHtml', () => {
  it('escapes markup and both quote characters', () => {
    expect(escapeHtml(`<script>alert("x" + 'y') && 1</script>`)).toBe('&lt;script&gt;alert(&quot;x&quot; + &#39;y&#39;) &amp;&amp; 1&lt;/script&gt;');
  });
});

describe('renderHtmlReport', () => {
  it('is one self-contained page: doctype, one svg, nothing loaded from the network, balanced tags', () => {
    // Act
    const html = renderHtmlReport(drillResultsFixture());

    // Assess
    expect(html.slice(0, 15)).toBe('<!doctype html>');
    expect(count(html, '<svg')).toBe(1);
    expect(/https?:\/\//.test(html), 'a URL in the page').toBe(false);
    expect(/<script|<link|@import|url\(/i.test(html), 'a resource load in the page').toBe(false);
    for (const tag of ['html', 'head', 'body', 'table', 'tr', 'svg', 'ul', 'li', 'h2', 'title']) {
      expect(count(html, `<${tag}>`) + count(html, `<${tag} `), tag).toBe(count(html, `</${tag}>`));
    }
    expectFragment(html, '<title>Failover drill: switchover-failback, reload, transaction pooling</title>');
  });

  it('shows the results, invariants and timeline with the same numbers as the terminal', () => {
    // Act
    const html = renderHtmlReport(drillResultsFixture());

    // Assess
    expectFragment(html, 
      '<tr><td>switch 1</td><td>us-east-2</td><td class="num">10412</td><td class="num">55</td><td>25006×52 57P01×3</td><td class="num">412</td><td class="num">38</td><td class="num">455</td></tr>',
    );
    expectFragment(html, '<tr><td class="num">1</td><td>us-east-2 → us-west-2</td><td class="num">318</td><td class="num">142</td>');
    expectFragment(html, '<li class="ok"><span class="mark">✔ ok</span> no lost acknowledged commits: 0 of 58201 acknowledged commits missing</li>');
    expectFragment(html, '<tr><td>pause</td><td class="num">21.300</td><td class="num">40.000</td><td class="num">18.700</td></tr>');
    expectFragment(html, '✔ every invariant holds');
  });

  it('draws one polyline per region per metric with a point per bucket, and one shaded band per phase', () => {
    // Act
    const html = renderHtmlReport(drillResultsFixture());

    // Assess
    const polylines = [...html.matchAll(/<polyline class="series (commits|errors)" data-region="([^"]+)"[^>]* points="([^"]*)"/g)];
    expect(polylines.map((match) => `${match[1]} ${match[2]}`)).toEqual([
      'commits us-east-2',
      'commits us-west-2',
      'errors us-east-2',
      'errors us-west-2',
    ]);
    for (const match of polylines) expect(match[3]?.split(' ')).toHaveLength(DURATION_MS / BUCKET_MS);
    expect(count(html, '<rect class="phase ')).toBe(FIXTURE_PHASES.length);
    expect(count(html, '<text class="phase-label ')).toBe(FIXTURE_PHASES.length);
    expect(/<text class="phase-label switch"[^>]*>switchover us-east-2 → us-west-2<\/text>/.test(html), 'full phase name as label').toBe(true);
    expect(count(html, '<text class="legend"')).toBe(3); // two regions and the phase key
  });

  it('scales each panel to its maximum: the busiest bucket touches the top of its panel', () => {
    // Prepare: 50 commits in one 100 ms bucket = 500/s, the nice ceiling of the commits panel.
    const results = drillResultsFixture();
    const series = results.series[0];
    if (!series) throw new Error('fixture has no series');
    results.series = [{ ...series, commits: [10, 50, 20], errors: [0, 0, 4] }];

    // Act
    const html = renderHtmlReport(results);

    // Assess: the three commit points are 10/50 of the way up, at the top, and 20/50 of the way up.
    const points = /class="series commits"[^>]* points="([^"]*)"/.exec(html)?.[1]?.split(' ') ?? [];
    const ys = points.map((point) => Number(point.split(',')[1]));
    expect(ys).toHaveLength(3);
    const [low, top, middle] = ys as [number, number, number];
    expect(top).toBeLessThan(middle);
    expect(middle).toBeLessThan(low);
    expect((low - top) / (middle - top)).toBeCloseTo(0.8 / 0.6, 2);
  });

  it('escapes hostile phase names, region names and invariant text', () => {
    // Act
    const html = renderHtmlReport(hostileResults());

    // Assess
    expectNoFragment(html, '<script');
    expectNoFragment(html, '<img');
    expectNoFragment(html, '<b>');
    expectFragment(html, '&lt;script&gt;alert(&quot;phase&quot;)&lt;/script&gt;');
    expectFragment(html, 'data-region="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"');
    expectFragment(html, '<li class="fail"><span class="mark">✘ FAIL</span> detail &amp; &lt;b&gt;bold&lt;/b&gt;: it&#39;s &lt;broken&gt;</li>');
    expectFragment(html, '✘ 1 invariant FAIL');
  });
});

describe('renderBenchTable', () => {
  function run(strategy: DrillResults['strategy'], poolMode: DrillResults['poolMode'], failedScale: number): DrillResults {
    const results = drillResultsFixture();
    results.strategy = strategy;
    results.poolMode = poolMode;
    for (const drillSwitch of results.switches) {
      for (const region of Object.values(drillSwitch.regions)) region.failed *= failedScale;
    }
    return results;
  }

  it('lists every run with its summed failures and worst gap, p99 and overhead', () => {
    // Prepare
    const live = run('live', 'transaction', 0);
    live.overheadMs = undefined;
    const session = run('live', 'session', 0);
    session.eventDelivery = 'old-writer';
    session.switches[0]!.lostAcknowledgedCommits = 2;
    session.invariants = [{ name: 'no lost acknowledged commits', ok: false, detail: '2 missing' }];

    // Act
    const table = renderBenchTable({ runs: [run('restart', 'transaction', 2), run('reload', 'transaction', 1), live, session] });

    // Assess
    const lines = table.split('\n');
    expect(lines).toHaveLength(5);
    expect(cells(lines[0] ?? '')).toEqual([
      'strategy', 'pool mode', 'events to', 'failed tx', 'max write gap ms', 'max promotion ms', 'max p99 ms', 'lost commits', 'old-writer commits', 'overhead ms', 'invariants',
    ]);
    expect(row(table, 'restart')).toEqual(['restart', 'transaction', 'all', '246', '431', '318', '41', '0', '0', '142', '✔ ok']);
    expect(row(table, 'reload')).toEqual(['reload', 'transaction', 'all', '123', '431', '318', '41', '0', '0', '142', '✔ ok']);
    // Without a reported overhead, the slowest repoint stands in for it; without eventDelivery, every region got every event.
    expect(row(table, 'live', 'transaction')).toEqual(['live', 'transaction', 'all', '0', '431', '318', '41', '0', '0', '142', '✔ ok']);
    expect(row(table, 'live', 'session')).toEqual(['live', 'session', 'old-writer', '0', '431', '318', '41', '2', '0', '142', '✘ FAIL']);
  });

  it('says so when there are no runs', () => {
    expect(renderBenchTable({ runs: [] })).toBe('Benchmark: no runs');
  });

  it('puts region-outage runs in their own table: dead region, control plane down, writes resumed after the start, RPO lag at the writer\'s death, failback failures', () => {
    // Prepare
    const outage = run('live', 'transaction', 0);
    outage.scenario = 'region-outage';
    outage.outage = {
      region: 'us-west-2',
      atMs: 6000,
      controlPlanesDown: ['global-accelerator'],
      operatorStartMs: 7000,
      failedInDeadRegion: 4,
      rpo: { writerFlushedLsn: '0/3002000', replicaReceivedLsn: '0/3000000', lagBytes: 8192, lagMs: 40, lostAcknowledgedCommits: 2, lostAfterLsnRead: 0 },
    };
    outage.switches = [
      { ...outage.switches[0]!, writesResumedAfterStartMs: 14007, rpoLagAtStartMs: 0, promotionMs: 118 },
      { ...outage.switches[0]!, regions: Object.fromEntries(Object.entries(outage.switches[0]!.regions).map(([name, region]) => [name, { ...region, failed: 3 }])) },
    ];

    // Act
    const table = renderBenchTable({ runs: [run('restart', 'transaction', 1), outage] });

    // Assess
    expect(row(table, 'restart')).toHaveLength(11);
    expect(table).toContain('Region outage (failover from the survivor, return, failback)');
    expect(row(table, 'us-west-2')).toEqual(['us-west-2', 'global-accelerator', '14007', '118', '8192 B / 40 ms', '0', '0', String(3 * Object.keys(outage.switches[1]!.regions).length), '✔ ok']);
  });
});

describe('wholeNumberAxis', () => {
  it('gives at most four intervals whose ticks are whole numbers and reach the data maximum', () => {
    for (const dataMax of [0, 0.4, 1, 2, 3, 7, 10, 30, 99, 480, 523, 1000, 1011.6, 7000, 123_456]) {
      const { max, step } = wholeNumberAxis(dataMax);
      expect(Number.isInteger(step), `step for ${dataMax}`).toBe(true);
      expect(Number.isInteger(max), `max for ${dataMax}`).toBe(true);
      expect(max).toBeGreaterThanOrEqual(dataMax);
      expect(max / step).toBeLessThanOrEqual(4);
    }
    expect(wholeNumberAxis(3)).toEqual({ max: 3, step: 1 });
    expect(wholeNumberAxis(1000)).toEqual({ max: 1000, step: 250 });
  });
});

describe('classifyPhases', () => {
  it('finds switch windows by name or by the steps inside them, and the steps inside them', () => {
    // Prepare: the drill's own phase names
    const phases = [
      { name: 'warm-up', startMs: 0, endMs: 2_499 },
      { name: 'switchover us-east-2 -> us-west-2', startMs: 2_500, endMs: 2_748 },
      { name: 'promotion', startMs: 2_537, endMs: 2_692 },
      { name: 'repoint', startMs: 2_692, endMs: 2_739 },
      { name: 'between switches', startMs: 2_748, endMs: 5_999 },
      { name: 'run 2', startMs: 5_999, endMs: 6_246 },
      { name: 'promotion', startMs: 6_019, endMs: 6_184 },
      { name: 'cool-down', startMs: 6_246, endMs: 10_005 },
    ];

    // Act
    const kinds = classifyPhases(phases);

    // Assess
    expect(kinds).toEqual<PhaseKind[]>(['background', 'switch', 'step', 'step', 'background', 'switch', 'step', 'background']);
  });
});

describe('the chart', () => {
  it('draws each switch window as a filled band at least 6 px wide, its steps on top, and quiet phases without fill', () => {
    // Act
    const html = renderHtmlReport(drillResultsFixture());

    // Assess
    const switches = [...html.matchAll(/<rect class="phase switch" x="[^"]+" y="[^"]+" width="([^"]+)"[^>]* fill="(#[0-9a-f]{6})" fill-opacity="([^"]+)"/g)];
    expect(switches).toHaveLength(2);
    for (const [, width, , opacity] of switches) {
      expect(Number(width)).toBeGreaterThanOrEqual(6);
      expect(Number(opacity)).toBeGreaterThan(0.1);
    }
    const quiet = [...html.matchAll(/<rect class="phase background"[^>]* fill-opacity="([^"]+)"/g)];
    expect(quiet.length).toBe(FIXTURE_PHASES.length - 2);
    for (const [, opacity] of quiet) expect(Number(opacity)).toBe(0);
  });

  it('labels y ticks with whole numbers only', () => {
    // Prepare: 3 errors/s at most, which used to give ticks 0, 1.25, 2.5, ...
    const results = drillResultsFixture();
    results.series = results.series.map((series) => ({ ...series, bucketMs: 1000, commits: [900, 1011, 950], errors: [0, 3, 1] }));

    // Act
    const html = renderHtmlReport(results);

    // Assess
    const ticks = [...html.matchAll(/<text class="y-tick"[^>]*>([^<]*)<\/text>/g)].map((match) => match[1]);
    expect(ticks).toEqual(['0', '500', '1000', '1500', '0', '1', '2', '3']);
  });
});

describe('layoutPhaseLabels', () => {
  it('never lets two labels (at their estimated widths) overlap, however crowded, and keeps them in bounds', () => {
    // Prepare: 30 phases within 60 px, and 30 more at the right edge
    const requests = Array.from({ length: 60 }, (_, index) => {
      const anchorX = index < 30 ? 100 + index * 2 : 900 + (index - 30) * 1.5;
      return { index, text: index % 3 === 0 ? `switchover region-${index} -> region-${index + 1}` : 'promotion', kind: (index % 3 === 0 ? 'switch' : 'step') as PhaseKind, anchorX, endX: anchorX + 1 };
    });

    // Act
    const placed = layoutPhaseLabels(requests, { left: 4, right: 956 });

    // Assess
    expect(placed).toHaveLength(60);
    for (const [i, a] of placed.entries()) {
      expect(a.x).toBeGreaterThanOrEqual(4);
      expect(a.x + a.width).toBeLessThanOrEqual(956);
      for (const b of placed.slice(i + 1)) {
        const overlap = a.row === b.row && a.x < b.x + b.width && b.x < a.x + a.width;
        expect(overlap, `${a.index} and ${b.index}`).toBe(false);
      }
      const crossed = placed.filter((b) => b.row < a.row && a.anchorX > b.x + 1 && a.anchorX < b.x + b.width - 1);
      expect(crossed.map((b) => b.index), `leader of ${a.index}`).toEqual([]);
    }
    expect(estimateLabelWidth('promotion', false)).toBeGreaterThan(0);
  });
});
