/**
 * Plain-text renderings of the API's JSON (the CLI's `-o text`).
 *
 * Everything shown comes from events, and events are attacker-controlled:
 * a pod named `web\x1b[2J` or a command line with newlines and bidi
 * overrides must not clear, move or rewrite the operator's terminal, nor
 * forge table rows. So every value goes through {@link escapeTerminal}
 * before it is laid out, and column widths are capped so one huge value
 * cannot push the others off screen.
 */
import type { IncidentDetailJson, IncidentJson, PageJson, TargetJson } from './serialize.js';

/**
 * C0 and C1 controls, DEL, the backslash (so an escape in the output is
 * unambiguous), and the Unicode format characters that reorder or break
 * lines (bidi embeddings, overrides and isolates; line and paragraph
 * separators).
 */
const UNSAFE = /[\\\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** Makes text safe to print on a terminal: unsafe characters become visible escapes (`\n`, `\x1b`, `\u202e`). */
export function escapeTerminal(text: string): string {
  return text.replace(UNSAFE, (c) => {
    switch (c) {
      case '\\': return '\\\\';
      case '\n': return '\\n';
      case '\r': return '\\r';
      case '\t': return '\\t';
      default: {
        const code = c.charCodeAt(0);
        return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
      }
    }
  });
}

/**
 * JSON for a terminal or a pipe: JSON.stringify already escapes C0
 * controls; C1 controls and the bidi/line-separator characters are escaped
 * too (as `\u009b`), which leaves the JSON equal in value.
 */
export function safeJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Widest a column other than the last may grow. */
const MAX_CELL = 48;

function clip(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}

/** Lays out rows in aligned columns (two spaces apart); cells are escaped, the last column is never clipped. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const cells = rows.map((r) => r.map((c, i) => (i < r.length - 1 ? clip(escapeTerminal(c), MAX_CELL) : escapeTerminal(c))));
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]?.length ?? 0)));
  const line = (r: readonly string[]): string =>
    r.map((c, i) => (i < r.length - 1 ? c.padEnd(widths[i]!) : c)).join('  ').trimEnd();
  return [line(header), ...cells.map(line)].join('\n') + '\n';
}

/** An ISO time cut to whole seconds (`2026-11-28T12:00:00Z`) for tables; `show` keeps nanoseconds. */
export function shortTime(iso: string): string {
  return iso.length >= 19 ? `${iso.slice(0, 19)}Z` : iso;
}

export function targetText(t: TargetJson): string {
  const where = t.namespace !== null && t.pod !== null ? `${t.namespace}/${t.pod}`
    : t.pod ?? (t.namespace !== null ? `namespace ${t.namespace}` : '');
  const parts = [where];
  if (t.container !== null) parts.push(`container=${t.container}`);
  if (t.node !== null) parts.push(`node=${t.node}`);
  return parts.filter((p) => p !== '').join(' ') || '-';
}

function actorText(i: IncidentJson): string {
  return i.actor ? i.actor.name : '-';
}

export function incidentListText(page: PageJson<IncidentJson>): string {
  if (page.items.length === 0) return 'No incidents match.\n';
  return table(
    ['ID', 'SEVERITY', 'STATUS', 'LAST SEEN', 'ALERTS', 'ACTOR', 'TARGET', 'TITLE'],
    page.items.map((i) => [i.id, i.severity, i.status, shortTime(i.last_seen), String(i.alert_count), actorText(i), targetText(i.target), i.title]),
  );
}

/** `key value` lines, keys aligned; values escaped. */
function fields(rows: readonly (readonly [string, string])[]): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${escapeTerminal(v)}`).join('\n') + '\n';
}

export function incidentDetailText(d: IncidentDetailJson): string {
  const i = d.incident;
  const out: string[] = [];
  out.push(fields([
    ['Incident', i.id],
    ['Title', i.title],
    ['Severity', i.severity],
    ['Status', i.status + (i.status_note !== null ? ` (${i.status_note})` : '')],
    ['Actor', i.actor ? `${i.actor.name} (${i.actor.kind}, ${i.actor.confidence})` : '-'],
    ['Target', targetText(i.target)],
    ['First seen', i.first_seen],
    ['Last seen', i.last_seen],
    ['Alerts', String(i.alert_count)],
    ['Rules', i.rules.join(', ') || '-'],
    ['Tactics', i.tactics.join(', ') || '-'],
  ]).trimEnd());
  out.push('');
  const storms = d.timeline.filter((e) => e.count > 1).length;
  out.push(`Timeline (${d.timeline.length} entries${storms > 0 ? `, ${storms} storm${storms > 1 ? 's' : ''} collapsed` : ''}`
    + `${d.timeline_truncated ? ', truncated' : ''}):`);
  if (d.timeline.length > 0) {
    out.push(table(
      ['TIME', 'PRIORITY', 'SOURCE', 'COUNT', 'LINK', 'ALERT', 'RULE'],
      d.timeline.map((e) => [
        e.first.time,
        e.first.priority,
        e.first.source,
        e.count > 1 ? `x${e.count} until ${shortTime(e.last_time)}` : '1',
        e.link ? `${e.link.key}/${e.link.confidence}` : '-',
        e.first.id,
        e.first.rule,
      ]),
    ).trimEnd());
  }
  out.push('');
  out.push(`Links (${d.links.length}):`);
  if (d.links.length > 0) {
    out.push(table(
      ['ALERT', 'KEY', 'CONFIDENCE', 'LINKED TO', 'DETAIL'],
      d.links.map((l) => [l.alert_id, l.key, l.confidence, l.linked_to ?? '-', l.detail ?? '']),
    ).trimEnd());
  }
  return out.join('\n') + '\n';
}

export function statusChangeText(i: IncidentJson): string {
  return `${escapeTerminal(i.id)}: ${i.status}${i.status_note !== null ? ` (${escapeTerminal(i.status_note)})` : ''}\n`;
}
