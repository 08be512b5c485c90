/**
 * The drill report as ONE self-contained HTML page: inline CSS and SVG, no scripts, no fonts, nothing
 * loaded from the network, so it opens from a file on a machine without network. Pure.
 */
import { escapeHtml } from './escape-html.ts';
import { describeOverhead, describeRun, regionTable, SWITCH_TABLE_NOTES, switchTable, timelineTable, type ReportTable } from './report-model.ts';
import type { DrillInvariant, DrillResults } from './results.ts';
import { renderDrillChart } from './svg-chart.ts';

export { escapeHtml } from './escape-html.ts';

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; color: #222; margin: 24px auto; max-width: 1000px; padding: 0 16px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px; }
.run { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { padding: 3px 10px; border-bottom: 1px solid #e3e3e3; text-align: left; white-space: nowrap; }
th { background: #f4f4f4; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.note { color: #555; font-size: 13px; }
.verdict { display: inline-block; padding: 4px 10px; border-radius: 4px; font-weight: 600; }
.verdict.ok { background: #e3f4e6; color: #17692a; } .verdict.fail { background: #fbe3e3; color: #9b1c1c; }
ul.invariants { list-style: none; padding-left: 0; } ul.invariants li { margin: 3px 0; }
.ok .mark { color: #17692a; } .fail .mark { color: #9b1c1c; } .mark { font-weight: 700; }
svg.chart { max-width: 100%; height: auto; border: 1px solid #e3e3e3; }
`;

function htmlTable(reportTable: ReportTable, className: string): string {
  const cellClass = (index: number) => (reportTable.columns[index]?.align === 'right' ? ' class="num"' : '');
  const head = reportTable.columns.map((column, index) => `<th${cellClass(index)}>${escapeHtml(column.header)}</th>`).join('');
  const body = reportTable.rows
    .map((row) => `<tr>${row.map((cell, index) => `<td${cellClass(index)}>${escapeHtml(cell)}</td>`).join('')}</tr>`)
    .join('\n');
  return `<table class="${className}">\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

function invariantItem(invariant: DrillInvariant): string {
  const state = invariant.ok ? 'ok' : 'fail';
  const mark = invariant.ok ? '✔ ok' : '✘ FAIL';
  const detail = invariant.detail ? `: ${escapeHtml(invariant.detail)}` : '';
  return `<li class="${state}"><span class="mark">${mark}</span> ${escapeHtml(invariant.name)}${detail}</li>`;
}

function verdict(results: DrillResults): string {
  const failed = results.invariants.filter((invariant) => !invariant.ok).length;
  return failed === 0
    ? '<p class="verdict ok">✔ every invariant holds</p>'
    : `<p class="verdict fail">✘ ${failed} invariant${failed === 1 ? '' : 's'} FAIL</p>`;
}

/**
 * @example
 * writeFileSync('drill.html', renderHtmlReport(results)); // the caller does the I/O
 */
export function renderHtmlReport(results: DrillResults): string {
  const title = `Failover drill: ${results.scenario}, ${results.strategy}, ${results.poolMode} pooling`;
  const overhead = describeOverhead(results);
  const sections = [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    `<h1>${escapeHtml(title)}</h1>`,
    `<p class="run">${escapeHtml(describeRun(results))}</p>`,
    verdict(results),
    '<h2>Results</h2>',
  ];
  if (results.switches.length > 0) {
    sections.push(htmlTable(switchTable(results), 'switches'), `<p class="note">${escapeHtml(SWITCH_TABLE_NOTES.join(' '))}</p>`);
  }
  sections.push(htmlTable(regionTable(results), 'regions'));
  if (overhead) sections.push(`<p class="note">${escapeHtml(overhead)}</p>`);
  sections.push(
    '<h2>Invariants</h2>',
    `<ul class="invariants">\n${results.invariants.map(invariantItem).join('\n')}\n</ul>`,
    '<h2>Clients over time</h2>',
    renderDrillChart({ series: results.series, phases: results.phases, durationMs: results.durationMs }),
    '<h2>Timeline</h2>',
    htmlTable(timelineTable(results), 'timeline'),
    '</body>',
    '</html>',
    '',
  );
  return sections.join('\n');
}
