/**
 * The JSON shapes of the API, built from the store's model.
 *
 * One rule for times, everywhere: an evidence time (ns, bigint in the model)
 * is written twice, `<name>` as RFC 3339 UTC with nine fraction digits (as
 * Falco writes an alert's `time`) and `<name>_ns` as the exact integer in a
 * string (JSON numbers lose precision past 2^53); bookkeeping times (ms in
 * the model) are written once, as RFC 3339 UTC with milliseconds. Keys are
 * snake_case like Falco's alert JSON, so an alert from the API is a Falco
 * alert with Tiercel's keys added.
 *
 * The CLI prints these same shapes (`-o json`) whether it read them over
 * HTTP or built them from a store it opened, and its text output is made
 * from them.
 */
import { formatIso8601 } from '../engine/generic-fields.js';
import type {
  Actor, Confidence, EvidenceKind, FieldValue, Incident, IncidentLink, IncidentStatus, LinkKey, StoredAlert, TimelineEntry,
} from '../incidents/model.js';
import type { Page, Stats } from '../store/types.js';

export interface AlertJson {
  readonly id: string;
  readonly kind: EvidenceKind;
  readonly time: string;
  readonly time_ns: string;
  readonly rule: string;
  readonly priority: string;
  readonly source: string;
  readonly tags: readonly string[];
  readonly output: string;
  readonly output_fields: Readonly<Record<string, FieldValue>>;
  readonly hostname: string;
  readonly correlation: Readonly<Record<string, string>>;
  readonly namespace: string | null;
  readonly pod: string | null;
  readonly pod_uid: string | null;
  readonly container_id: string | null;
  readonly user: string | null;
  readonly dedup_key: string;
  readonly incident_id: string | null;
  readonly received_at: string;
}

export interface TargetJson {
  readonly namespace: string | null;
  readonly pod: string | null;
  readonly pod_uid: string | null;
  readonly container: string | null;
  readonly node: string | null;
}

export interface IncidentJson {
  readonly id: string;
  readonly title: string;
  readonly severity: string;
  readonly status: IncidentStatus;
  readonly actor: Actor | null;
  readonly target: TargetJson;
  readonly first_seen: string;
  readonly first_seen_ns: string;
  readonly last_seen: string;
  readonly last_seen_ns: string;
  readonly alert_count: number;
  readonly rules: readonly string[];
  readonly tactics: readonly string[];
  readonly keys: readonly { readonly kind: string; readonly value: string }[];
  readonly status_note: string | null;
  readonly created_at: string;
  readonly updated_at: string;
}

export interface LinkJson {
  readonly incident_id: string;
  readonly alert_id: string;
  readonly key: LinkKey;
  readonly confidence: Confidence;
  readonly linked_to: string | null;
  readonly detail: string | null;
}

export interface TimelineEntryJson {
  readonly dedup_key: string;
  /** Alerts in the entry: 1, or the size of a storm of identical alerts. */
  readonly count: number;
  readonly first: AlertJson;
  readonly last_time: string;
  readonly last_time_ns: string;
  readonly link: LinkJson | null;
}

export interface PageJson<T> {
  readonly items: readonly T[];
  /** Pass as `cursor` for the next page; null on the last page. */
  readonly next: string | null;
}

export interface IncidentDetailJson {
  readonly incident: IncidentJson;
  readonly timeline: readonly TimelineEntryJson[];
  /** True when the timeline was cut at its limit (the alerts stay listable with `GET /alerts?incident=ID`). */
  readonly timeline_truncated: boolean;
  readonly links: readonly LinkJson[];
}

export interface CountJson {
  readonly key: string;
  readonly count: number;
}

export interface StatsJson {
  readonly from: string;
  readonly from_ns: string;
  readonly to: string;
  readonly to_ns: string;
  readonly bucket: string;
  readonly bucket_ms: number;
  readonly total: number;
  readonly by_priority: Readonly<Record<string, number>>;
  readonly by_rule: readonly CountJson[];
  readonly by_source: Readonly<Record<string, number>>;
  readonly by_namespace: readonly CountJson[];
  readonly by_hostname: readonly CountJson[];
  readonly by_tag: readonly CountJson[];
  readonly series: readonly { readonly start: string; readonly start_ns: string; readonly by_priority: Readonly<Record<string, number>> }[];
  readonly incidents: Readonly<Record<IncidentStatus, number>>;
}

/** An ns time as `{<name>: ISO, <name>_ns: exact}`. */
function nsTime<K extends string>(name: K, ns: bigint): Record<K | `${K}_ns`, string> {
  return { [name]: formatIso8601(ns), [`${name}_ns`]: ns.toString() } as Record<K | `${K}_ns`, string>;
}

function msTime(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? new Date(0).toISOString() : d.toISOString();
}

export function alertJson(a: StoredAlert): AlertJson {
  return {
    id: a.id,
    kind: a.kind,
    ...nsTime('time', a.time),
    rule: a.rule,
    priority: a.priority,
    source: a.source,
    tags: a.tags,
    output: a.output,
    output_fields: a.outputFields,
    hostname: a.hostname,
    correlation: a.correlation,
    namespace: a.namespace ?? null,
    pod: a.pod ?? null,
    pod_uid: a.podUid ?? null,
    container_id: a.containerId ?? null,
    user: a.user ?? null,
    dedup_key: a.dedupKey,
    incident_id: a.incidentId ?? null,
    received_at: msTime(a.receivedAt),
  };
}

export function incidentJson(i: Incident): IncidentJson {
  return {
    id: i.id,
    title: i.title,
    severity: i.severity,
    status: i.status,
    actor: i.actor ? { kind: i.actor.kind, name: i.actor.name, confidence: i.actor.confidence } : null,
    target: {
      namespace: i.target.namespace ?? null,
      pod: i.target.pod ?? null,
      pod_uid: i.target.podUid ?? null,
      container: i.target.container ?? null,
      node: i.target.node ?? null,
    },
    ...nsTime('first_seen', i.firstSeen),
    ...nsTime('last_seen', i.lastSeen),
    alert_count: i.alertCount,
    rules: i.rules,
    tactics: i.tactics,
    keys: i.keys.map((k) => ({ kind: k.kind, value: k.value })),
    status_note: i.statusNote ?? null,
    created_at: msTime(i.createdAt),
    updated_at: msTime(i.updatedAt),
  };
}

export function linkJson(l: IncidentLink): LinkJson {
  return {
    incident_id: l.incidentId,
    alert_id: l.alertId,
    key: l.key,
    confidence: l.confidence,
    linked_to: l.linkedTo ?? null,
    detail: l.detail ?? null,
  };
}

export function timelineEntryJson(e: TimelineEntry): TimelineEntryJson {
  return {
    dedup_key: e.dedupKey,
    count: e.count,
    first: alertJson(e.first),
    ...nsTime('last_time', e.lastTime),
    link: e.link ? linkJson(e.link) : null,
  };
}

export function pageJson<T, J>(page: Page<T>, item: (t: T) => J): PageJson<J> {
  return { items: page.items.map(item), next: page.next ?? null };
}

export function statsJson(s: Stats, range: { from: bigint; to: bigint; bucketMs: number; bucket: string }): StatsJson {
  return {
    ...nsTime('from', range.from),
    ...nsTime('to', range.to),
    bucket: range.bucket,
    bucket_ms: range.bucketMs,
    total: s.total,
    by_priority: s.byPriority,
    by_rule: s.byRule,
    by_source: s.bySource,
    by_namespace: s.byNamespace,
    by_hostname: s.byHostname,
    by_tag: s.byTag,
    series: s.series.map((b) => ({ ...nsTime('start', b.start), by_priority: b.byPriority })),
    incidents: s.incidents,
  };
}
