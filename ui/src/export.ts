/**
 * Alerts as JSON and CSV files. Pure functions (no DOM), so they are unit
 * tested under Node (test/ui/export.test.ts).
 *
 * CSV is opened in spreadsheets, which run a cell starting with `=`, `+`,
 * `-` or `@` as a formula (CSV injection): such cells get a leading `'`,
 * as OWASP recommends, and so do cells starting with a tab or carriage
 * return, which some spreadsheets strip before looking for those characters.
 * Every cell is quoted, quotes doubled, so commas and newlines in attacker
 * text cannot forge columns or rows.
 */
import type { Alert } from './types.js';

export const CSV_COLUMNS = [
  'time', 'priority', 'rule', 'source', 'hostname', 'namespace', 'pod', 'user', 'container_id',
  'incident_id', 'id', 'kind', 'tags', 'output', 'output_fields',
] as const;

const FORMULA_START = /^[=+\-@\t\r]/;

export function csvCell(value: string): string {
  const safe = FORMULA_START.test(value) ? `'${value}` : value;
  return `"${safe.replace(/"/g, '""')}"`;
}

function cellOf(a: Alert, column: (typeof CSV_COLUMNS)[number]): string {
  switch (column) {
    case 'tags':
      return a.tags.join(' ');
    case 'output_fields':
      return JSON.stringify(a.output_fields);
    default: {
      const v = a[column];
      return v === null || v === undefined ? '' : String(v);
    }
  }
}

/** RFC 4180 CSV (CRLF line ends), with a header row. */
export function alertsToCsv(alerts: readonly Alert[]): string {
  const rows = [CSV_COLUMNS.map(csvCell).join(',')];
  for (const a of alerts) rows.push(CSV_COLUMNS.map((c) => csvCell(cellOf(a, c))).join(','));
  return `${rows.join('\r\n')}\r\n`;
}

export function alertsToJson(alerts: readonly Alert[], filter: Readonly<Record<string, string>>): string {
  return `${JSON.stringify({ exported_at: new Date().toISOString(), filter, count: alerts.length, alerts }, null, 2)}\n`;
}
