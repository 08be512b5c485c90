/**
 * The drill report's chart as a browser draws it: each report is opened in headless Chromium (Debian's
 * `chromium`, installed by scripts/ensure-chromium.sh) with a small script added that writes the SVG's
 * text bounding boxes (getBBox, in SVG units, with the fonts this machine really has) into the page;
 * --dump-dom hands them back. Phase labels must not overlap each other, the plot, or a leader line, and
 * must stay inside the chart; tick labels are whole numbers.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { renderHtmlReport } from '../../lib/drill/report-html.ts';
import type { DrillPhase, DrillResults } from '../../lib/drill/results.ts';
import { drillResultsFixture } from '../support/drill-results-fixture.ts';

const CHROMIUM = process.env.CHROMIUM ?? 'chromium';
const scratch = mkdtempSync(join(tmpdir(), 'report-chart-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Box {
  readonly cls: string;
  readonly text: string;
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}
interface Measured {
  readonly texts: Box[];
  readonly leaders: Array<{ x: number; y1: number; y2: number }>;
  readonly plotTop: number;
  readonly viewBox: { w: number; h: number };
}

/** Runs in the page: measures every text of the chart and writes the result into <pre id="measured">. */
const MEASURE = `<script>
const svg = document.querySelector('svg.chart');
const texts = [...svg.querySelectorAll('text')].map((t) => { const b = t.getBBox(); return { cls: t.getAttribute('class') || '', text: t.textContent, x: b.x, y: b.y, w: b.width, h: b.height }; });
const leaders = [...svg.querySelectorAll('line.phase-leader')].map((l) => ({ x: +l.getAttribute('x1'), y1: +l.getAttribute('y1'), y2: +l.getAttribute('y2') }));
const plotTop = Math.min(...[...svg.querySelectorAll('rect.phase')].map((r) => +r.getAttribute('y')));
const pre = document.createElement('pre');
pre.id = 'measured';
pre.textContent = JSON.stringify({ texts, leaders, plotTop, viewBox: { w: svg.viewBox.baseVal.width, h: svg.viewBox.baseVal.height } });
document.body.appendChild(pre);
</script>`;

function measure(name: string, results: DrillResults): Measured {
  const page = join(scratch, `${name}.html`);
  writeFileSync(page, renderHtmlReport(results).replace('</body>', `${MEASURE}\n</body>`));
  const profile = mkdtempSync(join(scratch, 'profile-'));
  const run = spawnSync(
    CHROMIUM,
    ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', `--user-data-dir=${profile}`, '--dump-dom', pathToFileURL(page).href],
    { encoding: 'utf8', timeout: 90_000, maxBuffer: 64 * 1024 * 1024 },
  );
  if (run.error) throw new Error(`cannot run ${CHROMIUM} (${run.error.message}): apt-get install chromium, or sh scripts/ensure-chromium.sh as root`);
  const json = /<pre id="measured">([\s\S]*?)<\/pre>/.exec(run.stdout)?.[1];
  if (!json) throw new Error(`no measurements in the dumped page (exit ${run.status}): ${run.stderr.slice(-500)}`);
  return JSON.parse(json.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&quot;', '"').replaceAll('&#39;', "'").replaceAll('&amp;', '&')) as Measured;
}

const intersects = (a: Box, b: Box) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

/** Two switches as the drill records them: a workflow window with promotion and repoint inside, 30 s. */
function realisticResults(): DrillResults {
  const results = drillResultsFixture();
  results.durationMs = 30_000;
  results.phases = [
    { name: 'warm-up', startMs: 0, endMs: 7_499 },
    { name: 'switchover us-east-2 -> us-west-2', startMs: 7_500, endMs: 7_748 },
    { name: 'promotion', startMs: 7_537, endMs: 7_692 },
    { name: 'repoint', startMs: 7_692, endMs: 7_739 },
    { name: 'between switches', startMs: 7_748, endMs: 17_999 },
    { name: 'switchover us-west-2 -> us-east-2', startMs: 17_999, endMs: 18_246 },
    { name: 'promotion', startMs: 18_019, endMs: 18_184 },
    { name: 'repoint', startMs: 18_184, endMs: 18_244 },
    { name: 'cool-down', startMs: 18_246, endMs: 30_005 },
  ];
  results.series = results.series.map((series) => ({ ...series, commits: series.commits.slice(0, 300), errors: series.errors.slice(0, 300) }));
  return results;
}

/** The worst case we can think of: many phases, long names, a crowd near the right edge, six regions. */
function crowdedResults(): DrillResults {
  const results = drillResultsFixture();
  const phases: DrillPhase[] = [];
  for (let index = 0; index < 12; index += 1) {
    const start = index < 6 ? index * 400 : 54_000 + index * 450;
    phases.push({ name: `failover region-number-${index} -> a-very-long-destination-region-name`, startMs: start, endMs: start + 300 });
    phases.push({ name: 'promotion', startMs: start + 10, endMs: start + 150 });
    phases.push({ name: 'repoint', startMs: start + 150, endMs: start + 290 });
  }
  results.phases = phases;
  results.series = ['us-east-2', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-southeast-2', 'sa-east-1'].map((region, index) => ({
    ...(results.series[index % 2] ?? results.series[0]!),
    region,
  }));
  return results;
}

describe('the drill report chart in headless Chromium', () => {
  describe.each([
    ['fixture', drillResultsFixture()],
    ['realistic', realisticResults()],
    ['crowded', crowdedResults()],
  ] as const)('%s', (name, results) => {
    const measured = measure(name, results);
    const labels = measured.texts.filter((text) => text.cls.startsWith('phase-label'));

    it('labels every phase', () => {
      expect(labels).toHaveLength(results.phases.length);
      for (const label of labels) expect(label.w, label.text).toBeGreaterThan(0);
    });

    it('no two phase labels overlap', () => {
      const overlapping = labels.flatMap((a, i) => labels.slice(i + 1).filter((b) => intersects(a, b)).map((b) => `"${a.text}" × "${b.text}"`));
      expect(overlapping).toEqual([]);
    });

    it('phase labels stay above the plot and inside the chart', () => {
      for (const label of labels) {
        expect(label.y + label.h, label.text).toBeLessThanOrEqual(measured.plotTop);
        expect(label.x, label.text).toBeGreaterThanOrEqual(0);
        expect(label.x + label.w, label.text).toBeLessThanOrEqual(measured.viewBox.w);
        expect(label.y, label.text).toBeGreaterThanOrEqual(0);
      }
    });

    it('no leader line runs through a label other than its own', () => {
      const crossings = measured.leaders.flatMap((leader) =>
        labels
          .filter((label) => leader.x > label.x + 1 && leader.x < label.x + label.w - 1 && label.y < leader.y2 && label.y + label.h > leader.y1)
          .map((label) => `leader at x=${leader.x} through "${label.text}"`),
      );
      expect(crossings).toEqual([]);
    });

    it('legend entries do not overlap and stay inside the chart', () => {
      const legend = measured.texts.filter((text) => text.cls === 'legend');
      expect(legend.length).toBe(results.series.length + 1);
      const overlapping = legend.flatMap((a, i) => legend.slice(i + 1).filter((b) => intersects(a, b)).map((b) => `"${a.text}" × "${b.text}"`));
      expect(overlapping).toEqual([]);
      for (const entry of legend) expect(entry.x + entry.w, entry.text).toBeLessThanOrEqual(measured.viewBox.w);
    });

    it('every y-axis tick is a whole number', () => {
      const ticks = measured.texts.filter((text) => text.cls === 'y-tick').map((text) => text.text);
      expect(ticks.length).toBeGreaterThanOrEqual(4);
      for (const tick of ticks) expect(tick).toMatch(/^\d+$/);
    });
  });
});
