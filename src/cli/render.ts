// Human-readable output: lists as aligned tables, one object as "field  value" lines with
// its lists of objects (an app's keys) as tables after it. Every value passes through
// clean() (terminal-text.ts); `--json` prints the server's JSON instead, untouched.
import { clean } from './terminal-text.ts';

type Row = Readonly<Record<string, unknown>>;

export function cell(value: unknown): string {
  if (value === null) return '-';
  if (value === undefined) return '';
  if (Array.isArray(value)) return value.every((v) => typeof v !== 'object' || v === null) ? value.map(cell).join(', ') : clean(JSON.stringify(value));
  if (typeof value === 'object') return clean(JSON.stringify(value));
  return clean(String(value));
}

/** Lines of columns padded to their widest cell, the header first. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => [...(r[i] ?? '')].length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat(widths[i]! - [...c].length)))
      .join('  ')
      .trimEnd();
  return [line(header.map((h) => h.toUpperCase())), ...rows.map(line)].join('\n') + '\n';
}

/**
 * A list of objects as a table: the preferred columns that some row has, in their order;
 * with no preference (or none present), every field of scalar value that some row has.
 */
export function rowsTable(rows: readonly Row[], preferred: readonly string[] = []): string {
  if (rows.length === 0) return '(none)\n';
  const present = (name: string) => rows.some((r) => r[name] !== undefined);
  let columns = preferred.filter(present);
  if (columns.length === 0) {
    columns = [...new Set(rows.flatMap((r) => Object.keys(r).filter((k) => typeof r[k] !== 'object' || r[k] === null)))];
  }
  return table(columns, rows.map((r) => columns.map((c) => cell(r[c]))));
}

const isRowList = (value: unknown): value is Row[] =>
  Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'object' && v !== null && !Array.isArray(v));

/** One object: its fields as "name  value" lines, then each list of objects as a titled table. */
export function record(object: Row): string {
  const lines = Object.entries(object).filter(([, v]) => !isRowList(v));
  const width = Math.max(0, ...lines.map(([k]) => k.length));
  let out = lines.map(([k, v]) => `${clean(k).padEnd(width)}  ${cell(v)}`.trimEnd()).join('\n') + '\n';
  for (const [name, value] of Object.entries(object)) {
    if (isRowList(value)) out += `\n${clean(name)}:\n${rowsTable(value)}`;
  }
  return out;
}
