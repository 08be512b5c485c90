/**
 * The drill chart as one inline SVG: commits/s (top panel) and errors/s (bottom panel) per region over
 * time, each panel scaled to its own maximum so a handful of errors is not a flat line under 1000 commits/s.
 * Switch windows (and the promotion / repoint steps inside them) are strong bands across both panels; the
 * quiet phases between them are only divided by a thin line. Phase labels sit in rows above the plot,
 * laid out so that no two labels overlap and no leader line crosses a label. Axis ticks are whole numbers.
 * Pure.
 */
import { escapeHtml } from './escape-html.ts';
import type { DrillPhase, DrillSeries } from './results.ts';

export const REGION_COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf'] as const;

/** How a phase is drawn: a switch window, a step inside one (promotion, repoint), or the time around them. */
export const PhaseKinds = ['switch', 'step', 'background'] as const;
export type PhaseKind = (typeof PhaseKinds)[number];

const PHASE_STYLE: Readonly<Record<PhaseKind, { fill: string; opacity: number; stroke: string; label: string; weight: string }>> = {
  switch: { fill: '#fd7e14', opacity: 0.22, stroke: '#e8590c', label: '#b8400a', weight: 'bold' },
  step: { fill: '#e8590c', opacity: 0.45, stroke: 'none', label: '#7a2e0b', weight: 'normal' },
  background: { fill: 'none', opacity: 0, stroke: '#bbb', label: '#666', weight: 'normal' },
};

const WIDTH = 960;
const PLOT_LEFT = 64;
const PLOT_RIGHT = WIDTH - 16;
const LABEL_FONT_PX = 11;
const LABEL_ROW_HEIGHT = 16;
const LABEL_AREA_TOP = 6;
const LABEL_GAP_PX = 8;
const COMMITS_PANEL_HEIGHT = 190;
const PANEL_GAP = 30;
const ERRORS_PANEL_HEIGHT = 110;
const MIN_SWITCH_BAND_PX = 6;
const MAX_Y_TICKS = 4;
const X_STEPS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600] as const;
const MAX_X_TICKS = 12;
const PHASE_LABEL_CHARS = 36;
/** Steps that happen inside a switch window, by the names the drill gives them. */
const STEP_NAMES: ReadonlySet<string> = new Set(['promotion', 'repoint', 'fence', 'fencing']);
const SWITCH_NAME = /^(switchover|failover|failback|switch)\b/i;

interface Panel {
  readonly top: number;
  readonly height: number;
}

/**
 * A y axis for values up to `dataMax` with at most MAX_Y_TICKS intervals, every tick a whole number:
 * the step is 1, 2, 2.5 (from 25 up), or 5 × 10^n and at least 1.
 *
 * @example
 * wholeNumberAxis(3);    // { max: 3, step: 1 }   -> 0 1 2 3
 * wholeNumberAxis(1000); // { max: 1000, step: 250 }
 */
export function wholeNumberAxis(dataMax: number): { max: number; step: number } {
  if (!(dataMax > 0)) return { max: 1, step: 1 };
  const raw = dataMax / MAX_Y_TICKS;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const factors = magnitude >= 10 ? [1, 2, 2.5, 5, 10] : [1, 2, 5, 10];
  const step = Math.max(1, (factors.find((factor) => factor * magnitude >= raw) ?? 10) * magnitude);
  return { max: step * Math.ceil(dataMax / step), step };
}

/**
 * Switch windows by name (`switchover a -> b`, `failover ...`) or because another phase lies inside them;
 * steps by name (`promotion`, `repoint`) or because they lie inside a switch window; the rest is background.
 */
export function classifyPhases(phases: readonly DrillPhase[]): PhaseKind[] {
  const inside = (inner: DrillPhase, outer: DrillPhase) =>
    inner !== outer && inner.startMs >= outer.startMs && inner.endMs <= outer.endMs && inner.endMs - inner.startMs < outer.endMs - outer.startMs;
  const switches = phases.filter((phase) => SWITCH_NAME.test(phase.name) || phases.some((other) => inside(other, phase) && STEP_NAMES.has(other.name)));
  return phases.map((phase) => {
    if (switches.includes(phase)) return 'switch';
    if (STEP_NAMES.has(phase.name) || switches.some((window) => inside(phase, window))) return 'step';
    return 'background';
  });
}

function round1(value: number): string {
  return String(Math.round(value * 10) / 10);
}

function perSecond(count: number, bucketMs: number): number {
  return bucketMs > 0 ? (count * 1000) / bucketMs : 0;
}

function truncate(text: string, maxChars: number): string {
  const chars = [...text];
  return chars.length <= maxChars ? text : `${chars.slice(0, maxChars - 1).join('')}…`;
}

/**
 * A generous width for `text` at LABEL_FONT_PX: wider than the usual sans-serif fonts render it (checked in
 * headless Chromium by test/integration/report-chart.test.ts), so labels placed by it never touch.
 */
export function estimateLabelWidth(text: string, bold: boolean): number {
  const em = [...text].reduce((total, char) => total + (char.charCodeAt(0) > 0x7f ? 1.0 : /[A-Z@mwMW%]/.test(char) ? 0.9 : 0.62), 0);
  return em * LABEL_FONT_PX * (bold ? 1.1 : 1);
}

export interface LabelRequest {
  /** Index into the phases. */
  readonly index: number;
  readonly text: string;
  readonly kind: PhaseKind;
  /** Where the phase starts on the x axis. */
  readonly anchorX: number;
  /** Where the phase ends on the x axis. */
  readonly endX: number;
}

export interface PlacedLabel extends LabelRequest {
  /** The label's left edge and estimated width. */
  readonly x: number;
  readonly width: number;
  /** 0 is the row nearest the plot. */
  readonly row: number;
  /** A leader line from the label down to the plot at anchorX; background labels centred in their phase need none. */
  readonly leader: boolean;
}

/**
 * Row layout for the phase labels, so that no two labels overlap and no leader line (from a label down
 * to the plot at the phase's start) runs through another label:
 * 1. A background phase wide enough for its label gets it centred on the row nearest the plot, with no
 *    leader, unless another phase starts under it.
 * 2. Every other label sits right of its leader ("right"), or left of it ("left") where the right edge
 *    is too near. A right label whose text would cover a left label's leader turns left too (repeated
 *    until nothing changes), so no right label's text ever covers a left label's leader.
 * 3. Right labels are placed right to left, then left labels left to right, each in the lowest row where
 *    it overlaps no label of the row, its leader crosses no label below it, and no leader from a row above
 *    crosses it. In that order the last two conditions can always be met by going up; rows grow as needed.
 */
export function layoutPhaseLabels(labels: readonly LabelRequest[], bounds: { readonly left: number; readonly right: number }): PlacedLabel[] {
  const half = LABEL_GAP_PX / 2;
  const items = labels.map((label) => ({ label, width: estimateLabelWidth(label.text, PHASE_STYLE[label.kind].weight === 'bold') }));
  const covers = (x: number, width: number, leaderX: number) => leaderX > x + 1 && leaderX < x + width - 1;
  const placed: PlacedLabel[] = [];
  const overlapsRow = (row: number, x: number, width: number) =>
    placed.some((other) => other.row === row && x - half < other.x + other.width + half && other.x - half < x + width + half);

  // 1. Centred background labels.
  for (const { label, width } of items) {
    if (label.kind !== 'background' || label.endX - label.anchorX < width + 2 * LABEL_GAP_PX) continue;
    const x = (label.anchorX + label.endX) / 2 - width / 2;
    const coversAnchor = items.some((other) => other.label !== label && other.label.anchorX > x - half && other.label.anchorX < x + width + half);
    if (!coversAnchor && !overlapsRow(0, x, width)) placed.push({ ...label, x, width, row: 0, leader: false });
  }

  // 2. Sides.
  const rest = items.filter(({ label }) => !placed.some((done) => done.index === label.index));
  const side = new Map(rest.map(({ label, width }) => [label.index, label.anchorX + width <= bounds.right ? 'right' : 'left'] as const));
  const boxX = (anchorX: number, width: number, where: 'right' | 'left') =>
    where === 'right' ? Math.min(anchorX, bounds.right - width) : Math.max(bounds.left, anchorX - width);
  for (let changed = true; changed; ) {
    changed = false;
    for (const { label, width } of rest) {
      if (side.get(label.index) !== 'right' || label.anchorX - width < bounds.left) continue;
      const coversLeftLeader = rest.some((other) => side.get(other.label.index) === 'left' && covers(label.anchorX, width, other.label.anchorX));
      if (coversLeftLeader) {
        side.set(label.index, 'left');
        changed = true;
      }
    }
  }

  // 3. Rows.
  const rights = rest.filter(({ label }) => side.get(label.index) === 'right').sort((a, b) => b.label.anchorX - a.label.anchorX || PhaseKinds.indexOf(a.label.kind) - PhaseKinds.indexOf(b.label.kind));
  const lefts = rest.filter(({ label }) => side.get(label.index) === 'left').sort((a, b) => a.label.anchorX - b.label.anchorX || PhaseKinds.indexOf(a.label.kind) - PhaseKinds.indexOf(b.label.kind));
  for (const { label, width } of [...rights, ...lefts]) {
    const x = boxX(label.anchorX, width, side.get(label.index) ?? 'right');
    const topRow = Math.max(-1, ...placed.map((other) => other.row));
    for (let row = 0; ; row += 1) {
      const leaderCrossesLower = placed.some((other) => other.row < row && covers(other.x, other.width, label.anchorX));
      const higherLeaderCrosses = placed.some((other) => other.leader && other.row > row && covers(x - half, width + 2 * half, other.anchorX));
      // Only reachable when the chart is too narrow for its labels: take the first free row above them all.
      const stuck = leaderCrossesLower && row > topRow;
      if (!overlapsRow(row, x, width) && !higherLeaderCrosses && (!leaderCrossesLower || stuck)) {
        placed.push({ ...label, x, width, row, leader: true });
        break;
      }
    }
  }
  return placed.sort((a, b) => a.index - b.index);
}

export interface ChartInput {
  readonly series: readonly DrillSeries[];
  readonly phases: readonly DrillPhase[];
  readonly durationMs: number;
}

/**
 * @example
 * const svg = renderDrillChart({ series: results.series, phases: results.phases, durationMs: results.durationMs });
 */
export function renderDrillChart(input: ChartInput): string {
  const spanMs = Math.max(
    1,
    input.durationMs,
    ...input.series.map((series) => series.commits.length * series.bucketMs),
    ...input.phases.map((phase) => phase.endMs),
  );
  const xOf = (ms: number) => PLOT_LEFT + (Math.min(Math.max(ms, 0), spanMs) / spanMs) * (PLOT_RIGHT - PLOT_LEFT);
  const kinds = classifyPhases(input.phases);
  const labels = layoutPhaseLabels(
    input.phases.map((phase, index) => ({ index, text: truncate(phase.name, PHASE_LABEL_CHARS), kind: kinds[index] ?? 'background', anchorX: xOf(phase.startMs), endX: xOf(phase.endMs) })),
    { left: 4, right: WIDTH - 4 },
  );
  const rows = Math.max(1, ...labels.map((label) => label.row + 1));
  const commitsPanel: Panel = { top: LABEL_AREA_TOP + rows * LABEL_ROW_HEIGHT + 10, height: COMMITS_PANEL_HEIGHT };
  const errorsPanel: Panel = { top: commitsPanel.top + commitsPanel.height + PANEL_GAP, height: ERRORS_PANEL_HEIGHT };
  const xAxisY = errorsPanel.top + errorsPanel.height;
  const legendY = xAxisY + 52;
  const legendLines = legendKeyWraps(input.series.length) ? 2 : 1;
  const height = legendY + 16 + (legendLines - 1) * LEGEND_LINE_HEIGHT;
  const commitsAxis = wholeNumberAxis(Math.max(0, ...input.series.flatMap((series) => series.commits.map((count) => perSecond(count, series.bucketMs)))));
  const errorsAxis = wholeNumberAxis(Math.max(0, ...input.series.flatMap((series) => series.errors.map((count) => perSecond(count, series.bucketMs)))));

  const parts = [
    `<svg class="chart" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img" aria-labelledby="chart-title">`,
    '<title id="chart-title">Commits per second and errors per second over time, per region; switch windows highlighted</title>',
    ...phaseBands(input.phases, kinds, xOf, commitsPanel.top, xAxisY),
    ...panelAxes(commitsPanel, commitsAxis, 'commits/s'),
    ...panelAxes(errorsPanel, errorsAxis, 'errors/s'),
    ...xAxis(spanMs, xOf, xAxisY),
    ...input.series.map((series, index) => polyline(series, series.commits, 'commits', index, commitsPanel, commitsAxis.max, xOf)),
    ...input.series.map((series, index) => polyline(series, series.errors, 'errors', index, errorsPanel, errorsAxis.max, xOf)),
    ...phaseLabels(labels, rows, commitsPanel.top),
    ...legend(input.series, legendY),
    '</svg>',
  ];
  return parts.join('\n');
}

/** Switch windows and steps as filled bands over both panels (a switch at least MIN_SWITCH_BAND_PX wide); background phases as a divider line. */
function phaseBands(phases: readonly DrillPhase[], kinds: readonly PhaseKind[], xOf: (ms: number) => number, top: number, bottom: number): string[] {
  const order = phases.map((phase, index) => ({ phase, index, kind: kinds[index] ?? 'background' }));
  // Background first, then switch windows, then the steps on top of their window.
  order.sort((a, b) => PhaseKinds.indexOf(b.kind) - PhaseKinds.indexOf(a.kind) || a.index - b.index);
  return order.map(({ phase, kind }) => {
    const style = PHASE_STYLE[kind];
    const start = xOf(phase.startMs);
    const end = xOf(phase.endMs);
    const minWidth = kind === 'switch' ? MIN_SWITCH_BAND_PX : 2;
    const width = Math.max(minWidth, end - start);
    const x = kind === 'switch' ? Math.max(PLOT_LEFT, (start + end) / 2 - width / 2) : start;
    const seconds = `${(phase.startMs / 1000).toFixed(3)} s – ${(phase.endMs / 1000).toFixed(3)} s`;
    const title = `<title>${escapeHtml(phase.name)}: ${seconds}</title>`;
    if (kind === 'background') {
      return `<rect class="phase background" x="${round1(start)}" y="${top}" width="${round1(Math.max(0, end - start))}" height="${bottom - top}" fill="#fff" fill-opacity="0" stroke="none">${title}</rect>` +
        (phase.startMs > 0 ? `<line class="phase-divider" x1="${round1(start)}" y1="${top}" x2="${round1(start)}" y2="${bottom}" stroke="${style.stroke}" stroke-width="1" stroke-dasharray="3 3"/>` : '');
    }
    const stroke = style.stroke === 'none' ? '' : ` stroke="${style.stroke}" stroke-width="1"`;
    return `<rect class="phase ${kind}" x="${round1(x)}" y="${top}" width="${round1(width)}" height="${bottom - top}" fill="${style.fill}" fill-opacity="${style.opacity}"${stroke}>${title}</rect>`;
  });
}

function phaseLabels(labels: readonly PlacedLabel[], rows: number, plotTop: number): string[] {
  return labels.flatMap((label) => {
    const style = PHASE_STYLE[label.kind];
    const baseline = LABEL_AREA_TOP + (rows - label.row) * LABEL_ROW_HEIGHT - 4;
    const leaderColor = label.kind === 'background' ? '#bbb' : style.stroke;
    return [
      ...(label.leader ? [`<line class="phase-leader" x1="${round1(label.anchorX)}" y1="${baseline + 3}" x2="${round1(label.anchorX)}" y2="${plotTop}" stroke="${leaderColor}" stroke-width="0.75"/>`] : []),
      `<text class="phase-label ${label.kind}" x="${round1(label.x)}" y="${baseline}" font-size="${LABEL_FONT_PX}" font-weight="${style.weight}" fill="${style.label}">${escapeHtml(label.text)}</text>`,
    ];
  });
}

function panelAxes(panel: Panel, axis: { max: number; step: number }, title: string): string[] {
  const lines: string[] = [];
  for (let value = 0; value <= axis.max; value += axis.step) {
    const y = round1(panel.top + panel.height - (value / axis.max) * panel.height);
    lines.push(`<line x1="${PLOT_LEFT}" y1="${y}" x2="${PLOT_RIGHT}" y2="${y}" stroke="${value === 0 ? '#666' : '#ddd'}" stroke-width="1"/>`);
    lines.push(`<text class="y-tick" x="${PLOT_LEFT - 6}" y="${y}" font-size="11" text-anchor="end" dominant-baseline="middle" fill="#444">${value}</text>`);
  }
  lines.push(`<text class="panel-title" x="${PLOT_LEFT + 6}" y="${panel.top + 14}" font-size="12" font-weight="bold" fill="#222">${title}</text>`);
  return lines;
}

function xAxis(spanMs: number, xOf: (ms: number) => number, axisY: number): string[] {
  const spanS = spanMs / 1000;
  const stepS = X_STEPS_S.find((step) => spanS / step <= MAX_X_TICKS) ?? Math.ceil(spanS / MAX_X_TICKS);
  const lines: string[] = [];
  for (let second = 0; second <= spanS + 1e-9; second += stepS) {
    const x = round1(xOf(second * 1000));
    lines.push(`<line x1="${x}" y1="${axisY}" x2="${x}" y2="${axisY + 4}" stroke="#666"/>`);
    lines.push(`<text class="x-tick" x="${x}" y="${axisY + 16}" font-size="11" text-anchor="middle" fill="#444">${second}</text>`);
  }
  lines.push(`<text x="${(PLOT_LEFT + PLOT_RIGHT) / 2}" y="${axisY + 32}" font-size="12" text-anchor="middle" fill="#222">seconds since the drill started</text>`);
  return lines;
}

/** Each bucket's rate plotted at the bucket's middle. */
function polyline(
  series: DrillSeries,
  counts: readonly number[],
  metric: 'commits' | 'errors',
  index: number,
  panel: Panel,
  max: number,
  xOf: (ms: number) => number,
): string {
  const points = counts
    .map((count, bucket) => {
      const x = xOf((bucket + 0.5) * series.bucketMs);
      const y = panel.top + panel.height - (Math.min(perSecond(count, series.bucketMs), max) / max) * panel.height;
      return `${round1(x)},${round1(y)}`;
    })
    .join(' ');
  const color = REGION_COLORS[index % REGION_COLORS.length];
  return `<polyline class="series ${metric}" data-region="${escapeHtml(series.region)}" fill="none" stroke="${color}" stroke-width="1.5" stroke-linejoin="round" points="${points}"/>`;
}

const LEGEND_ITEM_WIDTH = 150;
const LEGEND_LINE_HEIGHT = 20;
const PHASE_KEY_TEXT = 'switch window (darker: promotion, repoint; times in the timeline)';

/** Whether the phase key goes on its own line below the regions. */
function legendKeyWraps(regions: number): boolean {
  return PLOT_LEFT + regions * LEGEND_ITEM_WIDTH + 30 + estimateLabelWidth(PHASE_KEY_TEXT, false) * (12 / LABEL_FONT_PX) > WIDTH;
}

function legend(series: readonly DrillSeries[], legendY: number): string[] {
  const itemWidth = LEGEND_ITEM_WIDTH;
  const regions = series.flatMap((entry, index) => {
    const x = PLOT_LEFT + index * itemWidth;
    const color = REGION_COLORS[index % REGION_COLORS.length];
    return [
      `<line x1="${x}" y1="${legendY - 4}" x2="${x + 24}" y2="${legendY - 4}" stroke="${color}" stroke-width="3"/>`,
      `<text class="legend" x="${x + 30}" y="${legendY}" font-size="12" fill="#222">${escapeHtml(truncate(entry.region, 16))}</text>`,
    ];
  });
  const wraps = legendKeyWraps(series.length);
  const keyX = wraps ? PLOT_LEFT : PLOT_LEFT + series.length * itemWidth;
  const keyY = wraps ? legendY + LEGEND_LINE_HEIGHT : legendY;
  const switchStyle = PHASE_STYLE.switch;
  const stepStyle = PHASE_STYLE.step;
  const phasesKey = [
    `<rect x="${keyX}" y="${keyY - 11}" width="24" height="12" fill="${switchStyle.fill}" fill-opacity="${switchStyle.opacity}" stroke="${switchStyle.stroke}" stroke-width="1"/>`,
    `<rect x="${keyX + 9}" y="${keyY - 11}" width="6" height="12" fill="${stepStyle.fill}" fill-opacity="${stepStyle.opacity}"/>`,
    `<text class="legend" x="${keyX + 30}" y="${keyY}" font-size="12" fill="#222">${PHASE_KEY_TEXT}</text>`,
  ];
  return [...regions, ...phasesKey];
}
