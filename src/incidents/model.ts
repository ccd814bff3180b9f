/**
 * The incident data model shared by the correlator (src/incidents), the store
 * (src/store), the query API (src/api) and the CLI.
 *
 * An incident is a story told by several pieces of evidence: alerts from both
 * sources and the few audit "context" events needed to join them (the exec
 * request that started a shell, the creation of the pod that later wrote the
 * host's /etc). Every piece is attached by a {@link IncidentLink} that records
 * which key joined it and how sure the join is.
 *
 * Times are nanoseconds since the epoch (bigint) for evidence, like
 * `evt.time`, and milliseconds (number) for bookkeeping (receivedAt,
 * updatedAt).
 */
import type { Priority } from '../engine/priority.js';

/** How sure a link is (spec: outputs-ui-correlation.md §4.4). */
export type Confidence = 'exact' | 'probable' | 'ambiguous';
export const CONFIDENCES: readonly Confidence[] = ['exact', 'probable', 'ambiguous'];

/**
 * The keys evidence is joined by, strongest first.
 *
 * - `audit_id`: the apiserver audit ID in the exec'd process's environment
 *   (KUBERNETES_EXEC_AUDIT_ID, SPO_EXEC_REQUEST_UID) equals the exec request's.
 * - `exec_session`: the same exec session on a node (container, session root pid and start time).
 * - `pod_uid`: the same pod UID.
 * - `pod`: the same namespace and pod name (and container name when both sides have one).
 * - `command`: the exec request's `command=` matches the session root's command line.
 * - `time_window`: close in time, nothing better.
 * - `user`, `service_account`: the same actor (e.g. granted cluster-admin, then acted).
 * - `node`: the same node.
 * - `first`: the piece of evidence that opened the incident (no join).
 * - `storm`: an identical alert (same rule, container and executable) already in the incident.
 */
export type LinkKey =
  | 'audit_id'
  | 'exec_session'
  | 'pod_uid'
  | 'pod'
  | 'command'
  | 'time_window'
  | 'user'
  | 'service_account'
  | 'node'
  | 'first'
  | 'storm';
export const LINK_KEYS: readonly LinkKey[] = [
  'audit_id', 'exec_session', 'pod_uid', 'pod', 'command', 'time_window', 'user', 'service_account', 'node', 'first', 'storm',
];

export type IncidentStatus = 'open' | 'acknowledged' | 'resolved';
export const INCIDENT_STATUSES: readonly IncidentStatus[] = ['open', 'acknowledged', 'resolved'];

/**
 * `alert`: a rule fired. `context`: an audit event no rule needs to fire on
 * but that joins alerts into a story (pods/exec, pods/attach,
 * pods/portforward, a risky pod creation, an RBAC grant, a secret read); it
 * is stored only once it joins an incident.
 */
export type EvidenceKind = 'alert' | 'context';

/** Falco's JSON alert values, as JSON carries them (ns times as exact integers in text). */
export type FieldValue = string | number | boolean | null | (string | number | boolean)[];

/** One alert (or context event) as stored. */
export interface StoredAlert {
  /** Assigned by whoever produced the alert (an agent, the analyzer), so retries are idempotent. */
  readonly id: string;
  readonly kind: EvidenceKind;
  /** Event time, ns since the epoch. */
  readonly time: bigint;
  readonly rule: string;
  readonly priority: Priority;
  /** `k8s_audit` or `syscall` (or a plugin's source). */
  readonly source: string;
  readonly tags: readonly string[];
  /** Falco's `output` line (time, priority, message). */
  readonly output: string;
  readonly outputFields: Readonly<Record<string, FieldValue>>;
  /** The node (syscall) or the analyzer (k8s_audit) that produced it. */
  readonly hostname: string;
  /** The source's correlation keys (see `correlate` of the sources). */
  readonly correlation: Readonly<Record<string, string>>;
  // Extracted for filters and joins; absent when unknown.
  readonly namespace?: string;
  readonly pod?: string;
  readonly podUid?: string;
  readonly containerId?: string;
  /** The Kubernetes user (k8s_audit) or, once joined, the user the incident attributes it to. */
  readonly user?: string;
  /** Groups identical alerts of a storm: rule + container + executable (or audit target). */
  readonly dedupKey: string;
  readonly incidentId?: string;
  /** When the analyzer received it, ms since the epoch. */
  readonly receivedAt: number;
}

/** Who the incident is attributed to. */
export interface Actor {
  readonly kind: 'user' | 'serviceaccount' | 'unknown';
  /** `alice`, `system:serviceaccount:prod:builder`. */
  readonly name: string;
  readonly confidence: Confidence;
}

/** What the incident happened to. */
export interface Target {
  readonly namespace?: string;
  readonly pod?: string;
  readonly podUid?: string;
  readonly container?: string;
  readonly node?: string;
}

/** A value the correlator joins on, kept with the incident so it survives a restart. */
export interface IncidentKey {
  /** `audit_id`, `exec_session`, `pod_uid`, `pod` (`ns/name`), `user`, `service_account`, `container`. */
  readonly kind: string;
  readonly value: string;
}

export interface Incident {
  readonly id: string;
  readonly title: string;
  /** The highest priority of its alerts, raised one step for a multi-stage chain. */
  readonly severity: Priority;
  readonly status: IncidentStatus;
  readonly actor?: Actor;
  readonly target: Target;
  /** Earliest and latest evidence time, ns. */
  readonly firstSeen: bigint;
  readonly lastSeen: bigint;
  /** Alerts (not context events) attached, storms counted in full. */
  readonly alertCount: number;
  /** Distinct rules of its alerts. */
  readonly rules: readonly string[];
  /** MITRE ATT&CK tactics from the alerts' tags (`mitre_execution` → `execution`). */
  readonly tactics: readonly string[];
  readonly keys: readonly IncidentKey[];
  /** Who changed the status last and why (from the API). */
  readonly statusNote?: string;
  /** ms since the epoch. */
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** How one piece of evidence joined an incident. */
export interface IncidentLink {
  readonly incidentId: string;
  readonly alertId: string;
  readonly key: LinkKey;
  readonly confidence: Confidence;
  /** The evidence it joined to (an alert id), when one. */
  readonly linkedTo?: string;
  /** The joined value or a short explanation (`audit id 5b1c…`, `3 exec requests on web-1 within 30 s`). */
  readonly detail?: string;
}

/** One row of an incident's timeline: an alert, or a storm of identical alerts collapsed. */
export interface TimelineEntry {
  readonly dedupKey: string;
  /** The first alert of the group; the others are queryable through the alerts API. */
  readonly first: StoredAlert;
  readonly count: number;
  readonly lastTime: bigint;
  /** The link of the first alert. */
  readonly link?: IncidentLink;
}

/** Everything a write of the correlator changes, committed in one transaction. */
export interface WriteBatch {
  /** New evidence; an id already stored is ignored (retries). */
  readonly alerts: readonly StoredAlert[];
  /**
   * Incidents created or changed, whole. An update keeps the stored status
   * and statusNote (users change those through the API, not the correlator).
   */
  readonly incidents: readonly Incident[];
  readonly links: readonly IncidentLink[];
  /**
   * Incidents found to tell one story after both were stored (an exec
   * request arriving late that joins two sessions' incidents): `from`'s
   * evidence and links move to `into`, and `from` is deleted. `into` is in
   * `incidents` with its merged summary.
   */
  readonly merges?: readonly { readonly from: string; readonly into: string }[];
}
