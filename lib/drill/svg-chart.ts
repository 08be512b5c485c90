/**
 * The drill chart as one inline SVG: commits/s (top panel) and errors/s (bottom panel) per region over
 * time, each panel scaled to its own maximum so a handful of errors is not a flat line under 1000 commits/s.
 * Phases are shaded bands across both panels, labelled above them. Pure.
 */
import { escapeHtml } from './escape-html.ts';
import type { DrillPhase, DrillSeries } from './results.ts';

export const REGION_COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf'] as const;
const PHASE_FILLS = ['#e8eef7', '#f7efe0'] as const;

const WIDTH = 960;
const PLOT_LEFT = 64;
const PLOT_RIGHT = WIDTH - 16;
const LABEL_ROWS = 3;
const LABEL_ROW_HEIGHT = 14;
const COMMITS_PANEL = { top: 62, height: 190 } as const;
const ERRORS_PANEL = { top: 282, height: 110 } as const;
const X_AXIS_Y = ERRORS_PANEL.top + ERRORS_PANEL.height;
const LEGEND_Y = X_AXIS_Y + 52;
const HEIGHT = LEGEND_Y + 16;
const Y_TICKS = 4;
const X_STEPS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600] as const;
const MAX_X_TICKS = 12;
const PHASE_LABEL_CHARS = 36;

interface Panel {
  readonly top: number;
  readonly height: number;
}

/** The smallest 1, 2 or 5 × 10^n that is at least `value` (1 for 0), so axis ticks are round numbers. */
export function niceCeiling(value: number): number {
  if (!(value > 0)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 5, 10].find((factor) => factor * magnitude >= value) ?? 10;
  return step * magnitude;
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
  const commitsMax = niceCeiling(Math.max(0, ...input.series.flatMap((series) => series.commits.map((count) => perSecond(count, series.bucketMs)))));
  const errorsMax = niceCeiling(Math.max(0, ...input.series.flatMap((series) => series.errors.map((count) => perSecond(count, series.bucketMs)))));

  const parts = [
    `<svg class="chart" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" aria-labelledby="chart-title">`,
    '<title id="chart-title">Commits per second and errors per second over time, per region; phases shaded</title>',
    ...phaseBands(input.phases, xOf),
    ...panelAxes(COMMITS_PANEL, commitsMax, 'commits/s'),
    ...panelAxes(ERRORS_PANEL, errorsMax, 'errors/s'),
    ...xAxis(spanMs, xOf),
    ...input.series.map((series, index) => polyline(series, series.commits, 'commits', index, COMMITS_PANEL, commitsMax, xOf)),
    ...input.series.map((series, index) => polyline(series, series.errors, 'errors', index, ERRORS_PANEL, errorsMax, xOf)),
    ...legend(input.series),
    '</svg>',
  ];
  return parts.join('\n');
}

/** One rect per phase spanning both panels (at least 2 px wide so sub-second phases stay visible), labelled on staggered rows above. */
function phaseBands(phases: readonly DrillPhase[], xOf: (ms: number) => number): string[] {
  const top = COMMITS_PANEL.top;
  const bottom = ERRORS_PANEL.top + ERRORS_PANEL.height;
  return phases.flatMap((phase, index) => {
    const x = xOf(phase.startMs);
    const width = Math.max(2, xOf(phase.endMs) - x);
    const name = escapeHtml(phase.name);
    const labelY = 14 + (index % LABEL_ROWS) * LABEL_ROW_HEIGHT;
    const seconds = `${(phase.startMs / 1000).toFixed(3)} s – ${(phase.endMs / 1000).toFixed(3)} s`;
    return [
      `<rect class="phase" x="${round1(x)}" y="${top}" width="${round1(width)}" height="${bottom - top}" fill="${PHASE_FILLS[index % PHASE_FILLS.length]}"><title>${name}: ${seconds}</title></rect>`,
      `<line class="phase-tick" x1="${round1(x)}" y1="${labelY + 3}" x2="${round1(x)}" y2="${top}" stroke="#999" stroke-width="0.5"/>`,
      `<text class="phase-label" x="${round1(x + 2)}" y="${labelY}" font-size="11" fill="#444">${escapeHtml(truncate(phase.name, PHASE_LABEL_CHARS))}</text>`,
    ];
  });
}

function panelAxes(panel: Panel, max: number, title: string): string[] {
  const lines: string[] = [];
  for (let tick = 0; tick <= Y_TICKS; tick += 1) {
    const value = (max * tick) / Y_TICKS;
    const y = round1(panel.top + panel.height - (tick / Y_TICKS) * panel.height);
    lines.push(`<line x1="${PLOT_LEFT}" y1="${y}" x2="${PLOT_RIGHT}" y2="${y}" stroke="${tick === 0 ? '#666' : '#ddd'}" stroke-width="1"/>`);
    lines.push(`<text x="${PLOT_LEFT - 6}" y="${y}" font-size="11" text-anchor="end" dominant-baseline="middle" fill="#444">${round1(value)}</text>`);
  }
  lines.push(`<text class="panel-title" x="${PLOT_LEFT + 6}" y="${panel.top + 14}" font-size="12" font-weight="bold" fill="#222">${title}</text>`);
  return lines;
}

function xAxis(spanMs: number, xOf: (ms: number) => number): string[] {
  const spanS = spanMs / 1000;
  const stepS = X_STEPS_S.find((step) => spanS / step <= MAX_X_TICKS) ?? Math.ceil(spanS / MAX_X_TICKS);
  const lines: string[] = [];
  for (let second = 0; second <= spanS + 1e-9; second += stepS) {
    const x = round1(xOf(second * 1000));
    lines.push(`<line x1="${x}" y1="${X_AXIS_Y}" x2="${x}" y2="${X_AXIS_Y + 4}" stroke="#666"/>`);
    lines.push(`<text x="${x}" y="${X_AXIS_Y + 16}" font-size="11" text-anchor="middle" fill="#444">${second}</text>`);
  }
  lines.push(`<text x="${(PLOT_LEFT + PLOT_RIGHT) / 2}" y="${X_AXIS_Y + 32}" font-size="12" text-anchor="middle" fill="#222">seconds since the drill started</text>`);
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

function legend(series: readonly DrillSeries[]): string[] {
  const itemWidth = 170;
  const phasesX = PLOT_LEFT + series.length * itemWidth;
  const phasesKey = [
    `<rect x="${phasesX}" y="${LEGEND_Y - 11}" width="24" height="12" fill="${PHASE_FILLS[0]}" stroke="#999" stroke-width="0.5"/>`,
    `<text class="legend" x="${phasesX + 30}" y="${LEGEND_Y}" font-size="12" fill="#222">phase (see the timeline)</text>`,
  ];
  const regions = series.flatMap((entry, index) => {
    const x = PLOT_LEFT + index * itemWidth;
    const color = REGION_COLORS[index % REGION_COLORS.length];
    return [
      `<line x1="${x}" y1="${LEGEND_Y - 4}" x2="${x + 24}" y2="${LEGEND_Y - 4}" stroke="${color}" stroke-width="3"/>`,
      `<text class="legend" x="${x + 30}" y="${LEGEND_Y}" font-size="12" fill="#222">${escapeHtml(truncate(entry.region, 20))}</text>`,
    ];
  });
  return [...regions, ...phasesKey];
}
