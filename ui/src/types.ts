/** The query API's JSON shapes the UI reads (docs/api.md; src/api/serialize.ts is the source of truth). */
export type FieldValue = string | number | boolean | null | readonly (string | number)[];

export interface Alert {
  readonly id: string;
  readonly kind: 'alert' | 'context';
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

export interface Incident {
  readonly id: string;
  readonly title: string;
  readonly severity: string;
  readonly status: 'open' | 'acknowledged' | 'resolved';
  readonly actor: { readonly kind: string; readonly name: string; readonly confidence: string } | null;
  readonly target: {
    readonly namespace: string | null; readonly pod: string | null; readonly pod_uid: string | null;
    readonly container: string | null; readonly node: string | null;
  };
  readonly first_seen: string;
  readonly last_seen: string;
  readonly alert_count: number;
  readonly rules: readonly string[];
  readonly tactics: readonly string[];
  readonly keys: readonly { readonly kind: string; readonly value: string }[];
  readonly status_note: string | null;
  readonly updated_at: string;
}

export interface Link {
  readonly incident_id: string;
  readonly alert_id: string;
  readonly key: string;
  readonly confidence: string;
  readonly linked_to: string | null;
  readonly detail: string | null;
}

export interface TimelineEntry {
  readonly dedup_key: string;
  readonly count: number;
  readonly first: Alert;
  readonly last_time: string;
  readonly link: Link | null;
}

export interface IncidentDetail {
  readonly incident: Incident;
  readonly timeline: readonly TimelineEntry[];
  readonly timeline_truncated: boolean;
  readonly links: readonly Link[];
}

export interface Page<T> {
  readonly items: readonly T[];
  readonly next: string | null;
}

export interface Count {
  readonly key: string;
  readonly count: number;
}

export interface Stats {
  readonly from: string;
  readonly to: string;
  readonly bucket: string;
  readonly bucket_ms: number;
  readonly total: number;
  readonly by_priority: Readonly<Record<string, number>>;
  readonly by_rule: readonly Count[];
  readonly by_source: Readonly<Record<string, number>>;
  readonly by_namespace: readonly Count[];
  readonly by_hostname: readonly Count[];
  readonly by_tag: readonly Count[];
  readonly series: readonly { readonly start: string; readonly by_priority: Readonly<Record<string, number>> }[];
  readonly incidents: Readonly<Record<string, number>>;
}

export interface Principal {
  readonly name: string;
  readonly scopes: readonly string[];
}

/** Falco's priorities, most severe first. */
export const PRIORITIES = ['Emergency', 'Alert', 'Critical', 'Error', 'Warning', 'Notice', 'Informational', 'Debug'] as const;
