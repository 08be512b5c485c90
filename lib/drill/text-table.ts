/** Plain-text tables with aligned columns, for terminals and CI logs. Pure. */

export interface TextColumn {
  readonly header: string;
  /** Numbers read best right-aligned. */
  readonly align: 'left' | 'right';
}

/** Width in terminal cells; counts code points so `×`, `→` and `✔` are one cell each. */
function displayWidth(text: string): number {
  return [...text].length;
}

function pad(text: string, width: number, align: TextColumn['align']): string {
  const fill = ' '.repeat(Math.max(0, width - displayWidth(text)));
  return align === 'right' ? fill + text : text + fill;
}

/**
 * Renders a header line and one line per row, columns separated by two spaces, no trailing blanks.
 *
 * @example
 * renderTextTable([{ header: 'region', align: 'left' }, { header: 'failed', align: 'right' }], [['us-east-2', '0']])
 * // 'region     failed\nus-east-2       0'
 */
export function renderTextTable(columns: readonly TextColumn[], rows: readonly (readonly string[])[], indent = ''): string {
  const widths = columns.map((column, index) => Math.max(displayWidth(column.header), ...rows.map((row) => displayWidth(row[index] ?? ''))));
  const line = (cells: readonly string[]) =>
    indent +
    columns
      .map((column, index) => pad(cells[index] ?? '', widths[index] ?? 0, column.align))
      .join('  ')
      .trimEnd();
  return [line(columns.map((column) => column.header)), ...rows.map(line)].join('\n');
}
