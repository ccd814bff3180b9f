/**
 * The store: one interface, two engines (SQLite, the embedded default, and
 * PostgreSQL, shared by analyzer replicas). Everything the query API, the
 * CLI and the correlator need from persistence goes through {@link Store};
 * one conformance suite (test/store) runs against both engines.
 */
import type { Priority } from '../engine/priority.js';
import type {
  EvidenceKind,
  Incident,
  IncidentLink,
  IncidentStatus,
  StoredAlert,
  TimelineEntry,
  WriteBatch,
} from '../incidents/model.js';

/** A page of results, newest first; `next` continues the listing (keyset, stable under inserts). */
export interface Page<T> {
  readonly items: readonly T[];
  readonly next?: string;
}

/** Filters shared by alert and incident listings. Absent = no filter. */
interface CommonQuery {
  /** Time range, ns since the epoch, inclusive. Alerts: their time; incidents: overlapping [firstSeen, lastSeen]. */
  readonly from?: bigint;
  readonly to?: bigint;
  readonly namespace?: string;
  readonly pod?: string;
  /** Alerts: their user; incidents: the actor's name. */
  readonly user?: string;
  /** At least this severe (alerts: priority; incidents: severity). */
  readonly minPriority?: Priority;
  /** Alerts: their rule; incidents: containing an alert of this rule. */
  readonly rule?: string;
  /**
   * Case-insensitive substring search, taken literally: `%`, `_`, quotes,
   * dots and dashes are ordinary characters. Alerts: output, rule, hostname;
   * incidents: title, actor, target.
   */
  readonly text?: string;
  /** Page size, 1..1000 (default 100). */
  readonly limit?: number;
  /** `next` of the previous page. An invalid cursor throws {@link StoreQueryError}. */
  readonly cursor?: string;
}

export interface AlertQuery extends CommonQuery {
  readonly source?: string;
  readonly hostname?: string;
  readonly incidentId?: string;
  /** Default `alert` (context events are listed only when asked for). */
  readonly kind?: EvidenceKind | 'any';
}

export interface IncidentQuery extends CommonQuery {
  readonly status?: IncidentStatus;
}

export interface StatsQuery {
  readonly from: bigint;
  readonly to: bigint;
  /** Width of the time series buckets, ms (≥ 1000). */
  readonly bucketMs: number;
  /** Entries per breakdown (default 10, the largest counts). */
  readonly top?: number;
}

export interface Stats {
  readonly total: number;
  readonly byPriority: Readonly<Record<string, number>>;
  /** The largest counts, descending. */
  readonly byRule: readonly { readonly key: string; readonly count: number }[];
  readonly bySource: Readonly<Record<string, number>>;
  readonly byNamespace: readonly { readonly key: string; readonly count: number }[];
  readonly byHostname: readonly { readonly key: string; readonly count: number }[];
  readonly byTag: readonly { readonly key: string; readonly count: number }[];
  /** Every bucket from `from` to `to`, empty ones included (charts are never blank or gappy). */
  readonly series: readonly { readonly start: bigint; readonly byPriority: Readonly<Record<string, number>> }[];
  readonly incidents: Readonly<Record<IncidentStatus, number>>;
}

export interface RetentionPolicy {
  /** Evidence older than this (by event time) is deleted, with incidents left empty. */
  readonly maxAgeMs?: number;
  /** At most this many alerts are kept; the oldest go first. */
  readonly maxAlerts?: number;
}

export interface RetentionResult {
  readonly deletedAlerts: number;
  readonly deletedIncidents: number;
}

/** A query the store refuses (a malformed cursor, a limit out of range): the API answers 400. */
export class StoreQueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreQueryError';
  }
}

export interface Store {
  readonly engine: 'sqlite' | 'postgres';
  /** Where it is (a file path, or the URL without password), for logs. */
  readonly location: string;

  /**
   * Commits a batch in one transaction; resolves once durable. Alerts whose
   * id is already stored are skipped (and their links too), so a retried
   * batch changes nothing.
   */
  write(batch: WriteBatch): Promise<void>;

  getAlert(id: string): Promise<StoredAlert | undefined>;
  /**
   * Which of these ids are stored already (at most 5000 per call). The
   * analyzer drops them before correlating, so an agent's retry after a
   * crash cannot open an empty incident.
   */
  knownAlertIds(ids: readonly string[]): Promise<Set<string>>;
  listAlerts(query: AlertQuery): Promise<Page<StoredAlert>>;

  getIncident(id: string): Promise<Incident | undefined>;
  listIncidents(query: IncidentQuery): Promise<Page<Incident>>;
  /** Oldest first, storms collapsed by dedupKey; at most `limit` entries (default 500). */
  incidentTimeline(id: string, limit?: number): Promise<TimelineEntry[]>;
  incidentLinks(id: string): Promise<IncidentLink[]>;
  /** Sets status and note; undefined when there is no such incident. */
  setIncidentStatus(id: string, status: IncidentStatus, note?: string): Promise<Incident | undefined>;
  /** Not resolved incidents whose lastSeen ≥ since (ns): the correlator's working set after a restart. */
  activeIncidents(since: bigint): Promise<Incident[]>;

  stats(query: StatsQuery): Promise<Stats>;
  applyRetention(policy: RetentionPolicy): Promise<RetentionResult>;
  /** Number of alerts (kind `alert`) stored. */
  countAlerts(): Promise<number>;

  close(): Promise<void>;
}
