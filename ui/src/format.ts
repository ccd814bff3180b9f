/** Display helpers. They return strings for the framework's text binding; nothing here produces markup. */
import type { FieldValue } from './types.js';

/** `2026-11-28 12:09:47.711` in UTC (the API's times are UTC; operators compare them with logs). */
export function shortTime(iso: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d{1,3})?/.exec(iso);
  return m ? `${m[1]} ${m[2]}${m[3] ?? ''}` : iso;
}

export function fieldText(v: FieldValue | undefined): string {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return JSON.stringify(v);
  return String(v);
}

/** Cuts long text for table cells (the detail view shows it whole). */
export function clip(text: string, max = 160): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function priorityClass(p: string): string {
  return `prio prio-${p.toLowerCase()}`;
}
