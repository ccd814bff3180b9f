/**
 * Mapping between the model (src/incidents/model.ts) and table rows, shared
 * by both engines. Each engine passes its own conversions for what its driver
 * returns (SQLite: bigint for integers read with safeIntegers, JSON as text;
 * PostgreSQL: int8 as decimal text, jsonb already parsed).
 */
import type { Priority } from '../engine/priority.js';
import type {
  Actor,
  Confidence,
  EvidenceKind,
  FieldValue,
  Incident,
  IncidentKey,
  IncidentLink,
  IncidentStatus,
  LinkKey,
  StoredAlert,
  Target,
} from '../incidents/model.js';
import { foldForSearch, rankOf } from './query.js';

export type Row = Record<string, unknown>;

/** How an engine turns driver values into model values, and text into storable text. */
export interface Codec {
  big(v: unknown): bigint;
  num(v: unknown): number;
  json(v: unknown): unknown;
  /** Text as the engine can store it (PostgreSQL cannot store U+0000). */
  text(s: string): string;
  /** `text` changes nothing: JSON is written as it is, without a copy. */
  readonly textIsIdentity: boolean;
}

/**
 * An alert is in at most one incident, so the link that attached it (key,
 * confidence, what it joined to, detail) lives in its row: NULL `link_key`
 * = no link. One row written per alert, and a merge moves links with the
 * evidence in the same UPDATE.
 */
export const LINK_FIELDS = ['link_key', 'link_confidence', 'linked_to', 'link_detail'] as const;

export const ALERT_COLUMNS = [
  'id', 'kind', 'time', 'rule', 'priority', 'priority_rank', 'source', 'tags', 'output', 'output_fields',
  'hostname', 'correlation', 'namespace', 'pod', 'pod_uid', 'container_id', 'user_name', 'dedup_key',
  'incident_id', 'received_at', 'search', ...LINK_FIELDS,
] as const;

/** Columns read back as an alert (everything but the derived ones and the link). */
export const ALERT_SELECT = 'seq, ' + ALERT_COLUMNS
  .filter((c) => c !== 'priority_rank' && c !== 'search' && !(LINK_FIELDS as readonly string[]).includes(c)).join(', ');

/** An alert's link as read back (see {@link rowToLink}). */
export const LINK_SELECT = `incident_id, id AS alert_id, ${LINK_FIELDS.join(', ')}`;

/**
 * `link`: the one attaching this alert, if any. A link to another incident
 * than the alert's own is ignored (an alert is in one incident); an alert
 * without one joins the link's incident.
 */
export function alertParams(a: StoredAlert, c: Codec, link?: IncidentLink): unknown[] {
  const t = (s: string | undefined): string | null => (s === undefined ? null : c.text(s));
  const l = link !== undefined && (a.incidentId === undefined || a.incidentId === link.incidentId) ? link : undefined;
  return [
    c.text(a.id), a.kind, a.time, c.text(a.rule), a.priority, rankOf(a.priority), c.text(a.source),
    jsonText(a.tags, c), c.text(a.output), jsonText(a.outputFields, c), c.text(a.hostname), jsonText(a.correlation, c),
    t(a.namespace), t(a.pod), t(a.podUid), t(a.containerId), t(a.user), c.text(a.dedupKey), t(a.incidentId ?? l?.incidentId),
    a.receivedAt, c.text(foldForSearch(`${a.output}\n${a.rule}\n${a.hostname}`)),
    l?.key ?? null, l?.confidence ?? null, t(l?.linkedTo), t(l?.detail),
  ];
}

export function rowToAlert(r: Row, c: Codec): StoredAlert {
  const a: Record<string, unknown> = {
    id: r.id as string,
    kind: r.kind as EvidenceKind,
    time: c.big(r.time),
    rule: r.rule as string,
    priority: r.priority as Priority,
    source: r.source as string,
    tags: c.json(r.tags) as string[],
    output: r.output as string,
    outputFields: c.json(r.output_fields) as Record<string, FieldValue>,
    hostname: r.hostname as string,
    correlation: c.json(r.correlation) as Record<string, string>,
  };
  // Optional fields are left out when absent, as the producer left them out.
  optional(a, 'namespace', r.namespace);
  optional(a, 'pod', r.pod);
  optional(a, 'podUid', r.pod_uid);
  optional(a, 'containerId', r.container_id);
  optional(a, 'user', r.user_name);
  a.dedupKey = r.dedup_key as string;
  optional(a, 'incidentId', r.incident_id);
  a.receivedAt = c.num(r.received_at);
  return a as unknown as StoredAlert;
}

export const INCIDENT_COLUMNS = [
  'id', 'title', 'severity', 'severity_rank', 'status', 'status_note', 'actor_kind', 'actor_name',
  'actor_confidence', 'target_namespace', 'target_pod', 'target_pod_uid', 'target_container', 'target_node',
  'first_seen', 'last_seen', 'alert_count', 'rules', 'tactics', 'corr_keys', 'created_at', 'updated_at', 'search',
] as const;

/**
 * Columns an upsert of the correlator overwrites: not status and its note
 * (users set those through the API), not created_at (the first write's).
 */
export const INCIDENT_UPSERT_SET = INCIDENT_COLUMNS
  .filter((col) => !['id', 'status', 'status_note', 'created_at'].includes(col))
  .map((col) => `${col} = excluded.${col}`)
  .join(', ');

export function incidentParams(i: Incident, c: Codec): unknown[] {
  const t = (s: string | undefined): string | null => (s === undefined ? null : c.text(s));
  const target = i.target;
  const search = [i.title, i.actor?.name, target.namespace, target.pod, target.container, target.node]
    .filter((s) => s !== undefined)
    .join('\n');
  return [
    c.text(i.id), c.text(i.title), i.severity, rankOf(i.severity), i.status, t(i.statusNote),
    i.actor?.kind ?? null, t(i.actor?.name), i.actor?.confidence ?? null,
    t(target.namespace), t(target.pod), t(target.podUid), t(target.container), t(target.node),
    i.firstSeen, i.lastSeen, i.alertCount, jsonText(i.rules, c), jsonText(i.tactics, c), jsonText(i.keys, c),
    i.createdAt, i.updatedAt, c.text(foldForSearch(search)),
  ];
}

export function rowToIncident(r: Row, c: Codec): Incident {
  const target: Record<string, unknown> = {};
  optional(target, 'namespace', r.target_namespace);
  optional(target, 'pod', r.target_pod);
  optional(target, 'podUid', r.target_pod_uid);
  optional(target, 'container', r.target_container);
  optional(target, 'node', r.target_node);
  const i: Record<string, unknown> = {
    id: r.id as string,
    title: r.title as string,
    severity: r.severity as Priority,
    status: r.status as IncidentStatus,
  };
  if (r.actor_kind !== null && r.actor_kind !== undefined) {
    i.actor = {
      kind: r.actor_kind as Actor['kind'],
      name: r.actor_name as string,
      confidence: r.actor_confidence as Confidence,
    } satisfies Actor;
  }
  i.target = target as Target;
  i.firstSeen = c.big(r.first_seen);
  i.lastSeen = c.big(r.last_seen);
  i.alertCount = c.num(r.alert_count);
  i.rules = c.json(r.rules) as string[];
  i.tactics = c.json(r.tactics) as string[];
  i.keys = c.json(r.corr_keys) as IncidentKey[];
  optional(i, 'statusNote', r.status_note);
  i.createdAt = c.num(r.created_at);
  i.updatedAt = c.num(r.updated_at);
  return i as unknown as Incident;
}

/**
 * Params of {@link LINK_ADOPT} for a link whose alert was stored earlier:
 * incident, key, confidence, linked to, detail, alert, incident.
 */
export function linkParams(l: IncidentLink, c: Codec): unknown[] {
  const id = c.text(l.incidentId);
  return [
    id, l.key, l.confidence, l.linkedTo === undefined ? null : c.text(l.linkedTo),
    l.detail === undefined ? null : c.text(l.detail), c.text(l.alertId), id,
  ];
}

/** A link from the columns of {@link LINK_SELECT}. */
export function rowToLink(r: Row): IncidentLink {
  const l: Record<string, unknown> = {
    incidentId: r.incident_id as string,
    alertId: r.alert_id as string,
    key: r.link_key as LinkKey,
    confidence: r.link_confidence as Confidence,
  };
  optional(l, 'linkedTo', r.linked_to);
  optional(l, 'detail', r.link_detail);
  return l as unknown as IncidentLink;
}

/** `INSERT INTO t (a, b) VALUES (?, ?)` for a column list. */
export function insertSql(table: string, columns: readonly string[]): string {
  return `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`;
}

function optional(o: Record<string, unknown>, key: string, v: unknown): void {
  if (v !== null && v !== undefined) o[key] = v;
}

/** JSON text, with every string (keys included) made storable by the engine. */
function jsonText(v: unknown, c: Codec): string {
  return JSON.stringify(c.textIsIdentity ? v : cleanJson(v, c));
}

function cleanJson(v: unknown, c: Codec): unknown {
  if (typeof v === 'string') return c.text(v);
  if (typeof v === 'bigint') return v.toString();
  if (Array.isArray(v)) return v.map((x) => cleanJson(x, c));
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[c.text(k)] = cleanJson(x, c);
    return out;
  }
  return v;
}
