/**
 * The correlator: joins evidence from both sources into incidents, in
 * memory, synchronously, deterministically (given `newId` and `now`).
 *
 * Keys, strongest first (spec §4.4, model.ts LinkKey):
 * - `audit_id` (exact): the exec request's audit ID, carried into the exec'd
 *   process's environment.
 * - `exec_session` (exact): the same exec session on a node.
 * - `pod_uid` (exact when both sides carry the UID): a UID names one pod
 *   for its whole life and is never reused, so the join "this happened in
 *   that pod" is certain. Whether two things in one pod are one story is
 *   what the window decides, as for every key below.
 * - `command` (probable): chooses among exec requests on one pod by the
 *   session root's command line.
 * - `pod` (probable): namespace/name, which are reused (StatefulSets,
 *   recreated pods).
 * - `service_account` (probable; exact with the pod UID of a bound token): a
 *   secret read by a pod's service account, then that pod acts.
 * - `user` (probable): a binding granted to a user, then that user acts.
 * - `time_window` (ambiguous): several exec requests on one pod and nothing
 *   to choose between them but time.
 * - `node` (ambiguous): alerts of host processes on one node.
 *
 * Context events (exec requests, risky pod creations, bindings, secret
 * reads) wait, bounded, until evidence joins them; only then are they
 * written. The apiserver sends audit events in batches up to 30 s late, so a
 * late exec request still finds the sessions it started and gives their
 * incident its actor; when it ties two incidents into one story they merge.
 *
 * Memory is bounded by event time (nothing older than the window is kept),
 * by `maxIncidents` and `maxPending`.
 */
import { priorityRank } from '../engine/priority.js';
import { randomUUID } from 'node:crypto';
import { commandMatches } from './command.js';
import { type EvidenceFacts, factsOf } from './facts.js';
import {
  ACTOR_RANK,
  type ExecRequestRecord,
  IncidentState,
  type JoinKeyKind,
  LIMITS,
  type SessionRecord,
  clip,
} from './incident-state.js';
import { KeyIndex } from './key-index.js';
import type { Confidence, Incident, IncidentLink, IncidentStatus, LinkKey, StoredAlert, WriteBatch } from './model.js';
import { moreSevere } from './severity.js';

export interface CorrelatorOptions {
  /** How far apart in event time evidence may be and still join (default 30 min). */
  readonly windowMs?: number;
  /** Context events waiting for evidence (default 10 000); the oldest go first. */
  readonly maxPending?: number;
  /** Incidents held in memory (default 20 000); the least recently active go first. */
  readonly maxIncidents?: number;
  readonly newId?: () => string;
  /** Wall clock, ms; bounds how far in the future an event's time may move the correlator's clock. */
  readonly now?: () => number;
}

const NS_PER_MS = 1_000_000n;
/** Clock difference tolerated between the apiserver and the nodes. */
const SKEW_NS = 10_000n * NS_PER_MS;
/** Evidence ids remembered to skip a retried delivery. */
const SEEN_IDS = 100_000;

/** Order of strength, for choosing among candidates. */
const KEY_STRENGTH: Record<LinkKey, number> = {
  audit_id: 0,
  exec_session: 1,
  pod_uid: 2,
  command: 3,
  service_account: 4,
  pod: 5,
  user: 6,
  time_window: 7,
  node: 8,
  storm: 9,
  first: 10,
};
const CONFIDENCE_ORDER: Record<Confidence, number> = { exact: 0, probable: 1, ambiguous: 2 };

interface LinkSpec {
  readonly key: LinkKey;
  readonly confidence: Confidence;
  readonly linkedTo?: string;
  readonly detail?: string;
}

interface Candidate extends LinkSpec {
  readonly incident: IncidentState;
}

interface Pending {
  readonly facts: EvidenceFacts;
  readonly request?: ExecRequestRecord;
  /** The pending-index keys it was filed under. */
  readonly keys: readonly [string, string][];
}

interface PendingCandidate extends LinkSpec {
  readonly pending: Pending;
}

/** A choice among exec requests or sessions: what was chosen and how surely. */
interface Choice<T> {
  readonly item: T;
  readonly key: LinkKey;
  readonly confidence: Confidence;
  readonly detail: string;
}

/** What one ingest call changes, assembled into a WriteBatch at the end. */
class BatchBuilder {
  /** Evidence and the incident it joined (copied once, at the end, with the final incident). */
  readonly alerts: [StoredAlert, string][] = [];
  readonly links: IncidentLink[] = [];
  readonly touched = new Map<string, IncidentState>();
  readonly mergedInto = new Map<string, string>();
  /** Incidents created in this batch: a merge of one of them is a rewrite, not a store merge. */
  readonly created = new Set<string>();

  final(id: string): string {
    let cur = id;
    for (let i = 0; i < 64; i++) {
      const next = this.mergedInto.get(cur);
      if (next === undefined) return cur;
      cur = next;
    }
    return cur;
  }
}

/** One record per request: an audit alert and its context event describe the same exec. */
function uniqueRequests(rs: readonly ExecRequestRecord[]): ExecRequestRecord[] {
  const seen = new Set<string>();
  return rs.filter((r) => {
    if (r.auditId === undefined) return true;
    if (seen.has(r.auditId)) return false;
    seen.add(r.auditId);
    return true;
  });
}

function seconds(ns: bigint): string {
  const s = Number(ns / NS_PER_MS) / 1000;
  return `${Math.round(Math.abs(s))} s`;
}

export class Correlator {
  private readonly windowNs: bigint;
  private readonly windowText: string;
  private readonly maxPending: number;
  private readonly maxIncidents: number;
  private readonly newId: () => string;
  private readonly now: () => number;

  /** Active incidents, least recently touched first. */
  private readonly incidents = new Map<string, IncidentState>();
  private readonly index = new KeyIndex();
  /** Context events waiting, oldest first. */
  private readonly pending = new Map<string, Pending>();
  private readonly pendingIndex = new KeyIndex();
  /** Exec requests by `namespace/pod`, pending or joined. */
  private readonly requestsByPod = new Map<string, ExecRequestRecord[]>();
  /** Exec sessions in incidents by `namespace/pod`. */
  private readonly sessionsByPod = new Map<string, SessionRecord[]>();
  /**
   * Evidence already joined, by id, with its link. A second delivery (an
   * agent's retry after the store refused a batch) is written again into the
   * same incident — the store skips it if the first write did commit — but
   * not counted again.
   */
  private readonly seen = new Map<string, IncidentLink>();
  /** Incidents merged away → the one they went into, for the links above. */
  private readonly aliases = new Map<string, string>();
  /** The latest event time seen (bounded by the wall clock): what the window is measured against. */
  private clock = 0n;
  private lastSweep = 0n;

  constructor(options: CorrelatorOptions = {}) {
    const windowMs = options.windowMs ?? 30 * 60 * 1000;
    this.windowNs = BigInt(Math.max(1, Math.round(windowMs))) * NS_PER_MS;
    this.windowText = windowMs % 60_000 === 0 ? `${windowMs / 60_000} min` : `${Math.round(windowMs / 1000)} s`;
    this.maxPending = options.maxPending ?? 10_000;
    this.maxIncidents = options.maxIncidents ?? 20_000;
    this.newId = options.newId ?? randomUUID;
    this.now = options.now ?? Date.now;
  }

  /** Incidents and context events held (for metrics and tests). */
  get size(): { readonly incidents: number; readonly pending: number; readonly indexKeys: number } {
    return { incidents: this.incidents.size, pending: this.pending.size, indexKeys: this.index.size };
  }

  /** Rebuilds the working set after a restart from the store's active incidents. */
  warm(incidents: readonly Incident[]): void {
    for (const inc of incidents) {
      if (inc.status === 'resolved' || this.incidents.has(inc.id)) continue;
      const state = IncidentState.fromIncident(inc);
      this.incidents.set(state.id, state);
      for (const k of state.joinKeys.values()) this.index.add(k.kind, k.value, state.id);
      for (const r of state.requests) this.fileRequest(r);
      for (const s of state.sessions) this.fileSession(s);
      const latest = this.latestPlausibleTime();
      const t = state.lastSeen > latest ? latest : state.lastSeen;
      if (t > this.clock) this.clock = t;
    }
    this.enforceBounds();
  }

  /**
   * Tells the correlator a user changed an incident's status. A resolved
   * incident takes no more evidence: what comes next opens a new one.
   */
  statusChanged(id: string, status: IncidentStatus, note?: string): void {
    const state = this.incidents.get(id);
    if (state === undefined) return;
    if (status === 'resolved') this.evict(state);
    else {
      state.status = status;
      if (note !== undefined) state.statusNote = note;
    }
  }

  /** Joins evidence into incidents; the batch is what the store commits. */
  ingest(evidence: readonly StoredAlert[]): WriteBatch {
    const batch = new BatchBuilder();
    // An event stamped in the future (a skewed or hostile sender) must not expire everything else.
    const latest = this.latestPlausibleTime();
    for (const ev of evidence) {
      if (this.pending.has(ev.id) || this.replay(ev, batch)) continue;
      const t = ev.time > latest ? latest : ev.time;
      if (t > this.clock) this.clock = t;
      const f = factsOf(ev);
      if (f.isContext) this.ingestContext(f, batch);
      else this.ingestAlert(f, batch);
    }
    this.sweepIfDue();
    this.enforceBounds();
    return this.finish(batch);
  }

  // ---- ingest paths ----

  private ingestAlert(f: EvidenceFacts, batch: BatchBuilder): void {
    const { candidates, request } = this.incidentCandidates(f);
    const pulls = this.pendingCandidates(f, request);
    let incident: IncidentState;
    let link: LinkSpec;
    if (candidates.length > 0) {
      incident = this.mergeCandidates(candidates, batch);
      link = candidates[0]!;
    } else {
      incident = this.open(f, batch);
      const via = pulls[0];
      link = via ? { key: via.key, confidence: via.confidence, linkedTo: via.pending.facts.ev.id, ...(via.detail ? { detail: via.detail } : {}) } : { key: 'first', confidence: 'exact' };
    }
    if (request && f.execSession !== undefined) request.item.claimedBy = f.execSession;
    incident = this.attach(incident, f, link, batch);
    this.pullAll(incident, f, pulls, batch);
  }

  private ingestContext(f: EvidenceFacts, batch: BatchBuilder): void {
    const { candidates, session } = this.incidentCandidates(f);
    if (candidates.length === 0) {
      this.hold(f);
      return;
    }
    if (session) session.item.attributedTo = f.ev.id;
    let incident = this.mergeCandidates(candidates, batch);
    incident = this.attach(incident, f, candidates[0]!, batch);
    this.pullAll(incident, f, this.pendingCandidates(f, undefined), batch);
  }

  /** Brings in waiting context events, and those they in turn join (a grant behind an exec request). */
  private pullAll(start: IncidentState, from: EvidenceFacts, first: PendingCandidate[], batch: BatchBuilder): void {
    let incident = start;
    const work: [PendingCandidate, string][] = first.map((p) => [p, from.ev.id]);
    for (let steps = 0; work.length > 0 && steps < 256; steps++) {
      const [p, pulledBy] = work.shift()!;
      const id = p.pending.facts.ev.id;
      if (!this.pending.has(id)) continue;
      this.unhold(p.pending);
      incident = this.liveIncident(incident, batch);
      // The context event may tie in another incident (a grant already stored as an alert).
      const { candidates } = this.incidentCandidates(p.pending.facts, true);
      const mergeable = candidates.filter((c) => c.incident !== incident && this.mergeable(c));
      if (mergeable.length) incident = this.mergeCandidates([{ ...p, incident }, ...mergeable], batch);
      const link: LinkSpec = { key: p.key, confidence: p.confidence, linkedTo: pulledBy, ...(p.detail ? { detail: p.detail } : {}) };
      incident = this.attach(incident, p.pending.facts, link, batch, p.pending.request);
      for (const next of this.pendingCandidates(p.pending.facts, undefined)) work.push([next, id]);
    }
  }

  // ---- finding where evidence belongs ----

  /**
   * Incidents the evidence joins, best first. With `mergesOnly` (a context
   * event pulled in by other evidence) only exact and grant links are
   * looked for: the ones that can make two incidents one.
   */
  private incidentCandidates(
    f: EvidenceFacts,
    mergesOnly = false,
  ): { candidates: Candidate[]; request?: Choice<ExecRequestRecord>; session?: Choice<SessionRecord> } {
    const out: Candidate[] = [];
    const exact = (kind: JoinKeyKind, value: string | undefined, key: LinkKey, detail: string): void => {
      if (value === undefined) return;
      for (const id of this.index.get(kind, value)) {
        const inc = this.incidents.get(id);
        if (inc) out.push({ incident: inc, key, confidence: 'exact', detail });
      }
    };
    exact('audit_id', f.auditId, 'audit_id', `audit id ${f.auditId}`);
    exact('exec_session', f.execSession, 'exec_session', `exec session ${f.execSession}`);
    const hadExact = out.length > 0;

    let request: Choice<ExecRequestRecord> | undefined;
    let session: Choice<SessionRecord> | undefined;
    if (f.role === 'runtime') {
      if (!hadExact && !mergesOnly) {
        request = this.chooseExecRequest(f);
        const inc = request?.item.incidentId !== undefined ? this.incidents.get(request.item.incidentId) : undefined;
        if (request && inc) out.push({ incident: inc, key: request.key, confidence: request.confidence, linkedTo: request.item.evidenceId, detail: request.detail });
        if (!request) this.podCandidates(f, out);
      }
    } else {
      if (!hadExact && !mergesOnly && f.role === 'exec_request') {
        session = this.chooseSession(f);
        const inc = session ? this.incidents.get(session.item.incidentId) : undefined;
        if (session && inc) {
          out.push({ incident: inc, key: session.key, confidence: session.confidence, detail: session.detail, ...(session.item.firstAlertId ? { linkedTo: session.item.firstAlertId } : {}) });
        }
      }
      this.auditCandidates(f, out, hadExact || mergesOnly);
    }
    const candidates = this.rank(out);
    return { candidates, ...(request ? { request } : {}), ...(session ? { session } : {}) };
  }

  /**
   * The incident about the same pod (or container, or host) as a runtime
   * alert. Among equally strong keys the pod's own story (no exec session in
   * it) comes before someone's exec session, then the most recent. One pass,
   * nothing allocated unless found: storms go through here.
   */
  private podCandidates(f: EvidenceFacts, out: Candidate[]): void {
    // A known exec session whose request is unknown is someone's own story: it
    // does not join another session's incident just for being in the same pod.
    const ownSession = f.execSession !== undefined;
    const t = f.ev.time;
    let best: IncidentState | undefined;
    let bestKey: LinkKey = 'first';
    let bestConfidence: Confidence = 'exact';
    let bestDetail = '';
    let rivals = 0;
    const consider = (kind: JoinKeyKind, value: string | undefined, key: LinkKey, confidence: Confidence, detail: () => string): void => {
      if (value === undefined) return;
      if (best !== undefined && KEY_STRENGTH[key] > KEY_STRENGTH[bestKey]) return;
      for (const id of this.index.get(kind, value)) {
        const inc = this.incidents.get(id);
        if (!inc || !this.near(inc, t) || (ownSession && inc.sessionOwned)) continue;
        if (best === undefined || KEY_STRENGTH[key] < KEY_STRENGTH[bestKey]) {
          best = inc;
          bestKey = key;
          bestConfidence = confidence;
          bestDetail = detail();
          rivals = 1;
          continue;
        }
        if (inc === best) continue;
        rivals++;
        const better = best.sessionOwned !== inc.sessionOwned ? !inc.sessionOwned : inc.lastSeen > best.lastSeen || (inc.lastSeen === best.lastSeen && inc.id < best.id);
        if (better) best = inc;
      }
    };
    consider('pod_uid', f.podUid, 'pod_uid', 'exact', () => `pod uid ${f.podUid}`);
    consider('sa_pod_uid', f.podUid, 'service_account', 'exact', () => `its service account read secrets (pod uid ${f.podUid})`);
    consider('pod', f.podKey, 'pod', 'probable', () => `pod ${f.podKey}`);
    consider('sa_pod', f.podKey, 'service_account', 'probable', () => `its service account read secrets (pod ${f.podKey})`);
    if (f.podKey === undefined) consider('container', f.containerId, 'pod', 'probable', () => `container ${f.containerId}`);
    if (f.podKey === undefined && f.containerId === undefined && f.node !== undefined) {
      consider('node', f.node, 'node', 'ambiguous', () => `host processes on node ${f.node} within ${this.windowText}`);
    }
    if (best === undefined) return;
    if (rivals > 1) {
      out.push({ incident: best, key: bestKey, confidence: 'ambiguous', detail: `${bestDetail}: ${rivals} incidents on it within ${this.windowText}; the pod's own, else the latest, was chosen` });
    } else {
      out.push({ incident: best, key: bestKey, confidence: bestConfidence, detail: bestDetail });
    }
  }

  private auditCandidates(f: EvidenceFacts, out: Candidate[], joinedExactly: boolean): void {
    const t = f.ev.time;
    const afterCreation = (inc: IncidentState): boolean => inc.lastSeen + SKEW_NS >= t && this.near(inc, t);
    switch (f.role) {
      case 'pod_creation':
      case 'secret_read': {
        const key: LinkKey = f.role === 'pod_creation' ? 'pod_uid' : 'service_account';
        const what = f.role === 'pod_creation' ? 'created pod' : 'pod of the service account';
        if (f.podUid !== undefined) {
          for (const id of this.index.get('pod_uid', f.podUid)) {
            const inc = this.incidents.get(id);
            if (inc) out.push({ incident: inc, key, confidence: 'exact', detail: `${what}, uid ${f.podUid}` });
          }
        }
        if (f.podKey !== undefined && out.length === 0 && !joinedExactly) {
          for (const id of this.index.get('pod', f.podKey)) {
            const inc = this.incidents.get(id);
            if (inc && afterCreation(inc)) out.push({ incident: inc, key: key === 'pod_uid' ? 'pod' : key, confidence: 'probable', detail: `${what} ${f.podKey}` });
          }
        }
        break;
      }
      case 'grant': {
        // A grant that arrives after its subject already acted (separate audit batches).
        for (const subject of f.subjects ?? []) {
          for (const id of this.index.get('actor', subject)) {
            const inc = this.incidents.get(id);
            if (inc && inc.lastSeen + SKEW_NS >= t && this.near(inc, t)) {
              out.push({ incident: inc, key: 'user', confidence: 'probable', detail: `${subject} was granted ${f.grantedRole ?? 'a role'} by ${f.actor ?? 'someone'}` });
            }
          }
        }
        break;
      }
      case 'exec_request': {
        // Into a pod created (with host access) shortly before: "X created a privileged pod, then exec'd into it".
        if (joinedExactly || f.podKey === undefined) break;
        for (const id of this.index.get('created_pod', f.podKey)) {
          const inc = this.incidents.get(id);
          if (inc && inc.firstSeen <= t + SKEW_NS && this.near(inc, t)) {
            out.push({ incident: inc, key: 'pod', confidence: 'probable', detail: `exec into ${f.podKey}, created ${seconds(t - inc.firstSeen)} before` });
          }
        }
        break;
      }
      default:
        break;
    }
    // The actor was granted a role shortly before: the grant's story continues.
    if (f.actor !== undefined) {
      for (const id of this.index.get('user', f.actor)) {
        const inc = this.incidents.get(id);
        if (inc && inc.firstSeen <= t + SKEW_NS && this.near(inc, t)) {
          out.push({ incident: inc, key: 'user', confidence: 'probable', detail: `${f.actor} was granted a role ${seconds(t - inc.firstSeen)} before` });
        }
      }
    }
  }

  /** Context events waiting that the evidence joins. */
  private pendingCandidates(f: EvidenceFacts, request: Choice<ExecRequestRecord> | undefined): PendingCandidate[] {
    const out: PendingCandidate[] = [];
    const t = f.ev.time;
    const add = (kind: string, value: string | undefined, key: LinkKey, confidence: Confidence, detail: string, ok?: (p: Pending) => boolean): void => {
      if (value === undefined) return;
      for (const id of this.pendingIndex.get(kind, value)) {
        const p = this.pending.get(id);
        if (p && p.facts.ev.id !== f.ev.id && (ok === undefined || ok(p))) out.push({ pending: p, key, confidence, detail });
      }
    };
    const before = (p: Pending): boolean => p.facts.ev.time <= t + SKEW_NS && p.facts.ev.time + this.windowNs >= t;
    add('audit_id', f.auditId, 'audit_id', 'exact', `audit id ${f.auditId}`);
    if (request && request.item.incidentId === undefined) {
      const p = this.pending.get(request.item.evidenceId);
      if (p) out.push({ pending: p, key: request.key, confidence: request.confidence, detail: request.detail });
    }
    if (f.role === 'runtime' || f.role === 'exec_request') {
      add('pod_uid', f.podUid, 'pod_uid', 'exact', `pod uid ${f.podUid}`, before);
      add('pod', f.podKey, 'pod', 'probable', `pod ${f.podKey}`, (p) => before(p) && !out.some((o) => o.pending === p));
      add('sa_pod_uid', f.podUid, 'service_account', 'exact', `its service account read secrets (pod uid ${f.podUid})`, before);
      add('sa_pod', f.podKey, 'service_account', 'probable', `its service account read secrets (pod ${f.podKey})`, (p) => before(p) && !out.some((o) => o.pending === p));
    }
    if (f.actor !== undefined) {
      add('subject', f.actor, 'user', 'probable', `${f.actor} was granted a role before acting`, before);
    }
    // One pull per context event, the strongest.
    const best = new Map<Pending, PendingCandidate>();
    for (const c of out) {
      const cur = best.get(c.pending);
      if (!cur || KEY_STRENGTH[c.key] < KEY_STRENGTH[cur.key]) best.set(c.pending, c);
    }
    return [...best.values()].sort((a, b) => (a.pending.facts.ev.time < b.pending.facts.ev.time ? -1 : a.pending.facts.ev.time > b.pending.facts.ev.time ? 1 : 0));
  }

  /**
   * The exec request a runtime alert's session came from, when the alert
   * carries no audit ID: requests on the same pod that no other session
   * took, started before the alert and within the window, whose command
   * does not contradict the session's.
   */
  private chooseExecRequest(f: EvidenceFacts): Choice<ExecRequestRecord> | undefined {
    if (f.podKey === undefined || f.auditId !== undefined) return undefined;
    const wanted = f.sessionCapable ? 'exec' : 'attach';
    const t = f.ev.time;
    const candidates = (this.requestsByPod.get(f.podKey) ?? []).filter(
      (r) =>
        r.kind === wanted &&
        (r.claimedBy === undefined || r.claimedBy === f.execSession) &&
        r.time <= t + SKEW_NS &&
        t <= r.time + this.windowNs &&
        (r.incidentId === undefined || this.incidents.has(r.incidentId)),
    );
    const cmdline = f.sessionCmdline;
    const fits = (r: ExecRequestRecord): boolean | undefined =>
      r.command !== undefined && cmdline !== undefined ? commandMatches(r.command, cmdline, r.firstOnly) : undefined;
    return this.choose(uniqueRequests(candidates), fits, (a, b) => (a.time > b.time ? a : b), {
      one: `${wanted} request on ${f.podKey}`,
      many: `${wanted} requests on ${f.podKey}`,
      chosen: 'the latest before the session was chosen',
    });
  }

  /** The session a late exec request started: sessions on its pod no request has claimed. */
  private chooseSession(f: EvidenceFacts): Choice<SessionRecord> | undefined {
    if (f.podKey === undefined || f.request?.kind !== 'exec') return undefined;
    const t = f.ev.time;
    const candidates = (this.sessionsByPod.get(f.podKey) ?? []).filter(
      (s) =>
        s.attributedTo === undefined &&
        (s.auditId === undefined || s.auditId === f.auditId) &&
        s.firstTime + SKEW_NS >= t &&
        s.firstTime <= t + this.windowNs &&
        this.incidents.has(s.incidentId),
    );
    const request = f.request;
    const fits = (s: SessionRecord): boolean | undefined =>
      request.command !== undefined && s.cmdline !== undefined ? commandMatches(request.command, s.cmdline, request.firstOnly) : undefined;
    return this.choose(candidates, fits, (a, b) => (a.firstTime < b.firstTime ? a : b), {
      one: `session on ${f.podKey} without an exec request`,
      many: `sessions on ${f.podKey} without an exec request`,
      chosen: 'the earliest after the request was chosen',
    });
  }

  /**
   * Picks one of several exec requests (or sessions): a command that matches
   * decides, a contradicting one excludes; one left is probable, several
   * left is ambiguous and said so.
   */
  private choose<T>(
    items: T[],
    /** Whether the command fits: true, false, or undefined when one side is unknown. */
    fits: (item: T) => boolean | undefined,
    prefer: (a: T, b: T) => T,
    words: { one: string; many: string; chosen: string },
  ): Choice<T> | undefined {
    if (items.length === 0) return undefined;
    const verdicts = items.map((item) => ({ item, m: fits(item) }));
    const matching = verdicts.filter((v) => v.m === true).map((v) => v.item);
    const open = verdicts.filter((v) => v.m !== false).map((v) => v.item);
    if (matching.length === 1) return { item: matching[0]!, key: 'command', confidence: 'probable', detail: 'command matches the exec request' };
    const pool = matching.length > 1 ? matching : open;
    if (pool.length === 0) return undefined;
    if (pool.length === 1 && items.length === 1) return { item: pool[0]!, key: 'pod', confidence: 'probable', detail: `the only ${words.one} within ${this.windowText}` };
    if (pool.length === 1) return { item: pool[0]!, key: 'pod', confidence: 'probable', detail: `the only ${words.one} whose command fits` };
    const chosen = pool.reduce(prefer);
    return {
      item: chosen,
      key: 'time_window',
      confidence: 'ambiguous',
      detail: `${pool.length} ${words.many} within ${this.windowText} and no audit id or command to tell them apart; ${words.chosen}`,
    };
  }

  private rank(cs: Candidate[]): Candidate[] {
    if (cs.length <= 1) return cs;
    // Best link per incident, then best incident first: strongest key, surest, most recent.
    const best = new Map<IncidentState, Candidate>();
    for (const c of cs) {
      const cur = best.get(c.incident);
      if (!cur || this.compare(c, cur) < 0) best.set(c.incident, c);
    }
    return [...best.values()].sort((a, b) => this.compare(a, b));
  }

  private compare(a: Candidate, b: Candidate): number {
    return (
      KEY_STRENGTH[a.key] - KEY_STRENGTH[b.key] ||
      CONFIDENCE_ORDER[a.confidence] - CONFIDENCE_ORDER[b.confidence] ||
      (a.incident.lastSeen > b.incident.lastSeen ? -1 : a.incident.lastSeen < b.incident.lastSeen ? 1 : 0) ||
      (a.incident.id < b.incident.id ? -1 : a.incident.id > b.incident.id ? 1 : 0)
    );
  }

  /** Two incidents are one story when one piece of evidence joins both exactly, or a grant and its use. */
  private mergeable(c: Candidate): boolean {
    return c.confidence === 'exact' || c.key === 'user';
  }

  /** The best candidate's incident, with the other candidates that tell the same story merged in. */
  private mergeCandidates(candidates: readonly Candidate[], batch: BatchBuilder): IncidentState {
    let into = candidates[0]!.incident;
    for (const c of candidates.slice(1)) {
      if (c.incident === into || !this.mergeable(c) || !this.incidents.has(c.incident.id)) continue;
      // The older incident survives: its id is the one people may already have looked at.
      const [keep, drop] = into.createdAt < c.incident.createdAt || (into.createdAt === c.incident.createdAt && into.id < c.incident.id) ? [into, c.incident] : [c.incident, into];
      this.merge(keep, drop, batch);
      into = keep;
    }
    return into;
  }

  // ---- changing incidents ----

  private open(f: EvidenceFacts, batch: BatchBuilder): IncidentState {
    const state = new IncidentState(this.newId(), this.now(), f.ev.time);
    this.incidents.set(state.id, state);
    batch.created.add(state.id);
    return state;
  }

  /** The incident as it is now (it may have been merged into another meanwhile). */
  private liveIncident(state: IncidentState, batch: BatchBuilder): IncidentState {
    return this.incidents.get(batch.final(state.id)) ?? state;
  }

  private attach(start: IncidentState, f: EvidenceFacts, join: LinkSpec, batch: BatchBuilder, request?: ExecRequestRecord): IncidentState {
    const incident = this.liveIncident(start, batch);
    const ev = f.ev;
    let link = join;
    if (!f.isContext) {
      const first = incident.dedup.get(ev.dedupKey);
      if (first !== undefined) link = { key: 'storm', confidence: 'exact', linkedTo: first, detail: 'same rule, container and executable' };
      else if (incident.dedup.size < LIMITS.dedup) incident.dedup.set(ev.dedupKey, ev.id);
      incident.countAlert(ev.rule, ev.priority, ev.tags);
    }
    incident.touch(ev.time);
    incident.updatedAt = this.now();
    // Most recently active last, for eviction.
    this.incidents.delete(incident.id);
    this.incidents.set(incident.id, incident);

    this.learnActor(incident, f, link.confidence);
    this.fileKeys(incident, f, request);

    batch.alerts.push([ev, incident.id]);
    const l: { -readonly [K in keyof IncidentLink]: IncidentLink[K] } = { incidentId: incident.id, alertId: ev.id, key: link.key, confidence: link.confidence };
    if (link.linkedTo !== undefined) l.linkedTo = link.linkedTo;
    if (link.detail !== undefined) l.detail = clip(link.detail, 500);
    batch.links.push(l);
    batch.touched.set(incident.id, incident);
    this.remember(l);
    return incident;
  }

  /** Actor, title story and target from the evidence. */
  private learnActor(incident: IncidentState, f: EvidenceFacts, confidence: Confidence): void {
    const ev = f.ev;
    const actor = f.actor;
    const node = f.role === 'runtime' || f.role === 'secret_read' ? f.node : undefined;
    incident.fillTarget(
      f.role === 'grant' ? undefined : ev.namespace,
      ev.pod,
      ev.podUid,
      f.containerName ?? f.request?.container ?? f.containerId,
      node,
    );
    if (actor === undefined || f.role === 'runtime') return;
    const rank = ACTOR_RANK[f.role];
    if (incident.offerActor(actor, rank, confidence) && this.incidents.has(incident.id)) {
      if (incident.addJoinKey('actor', actor)) this.index.add('actor', actor, incident.id);
    }
    switch (f.role) {
      case 'exec_request': {
        const verb = f.request?.kind === 'attach' ? 'attach to' : f.request?.kind === 'portforward' ? 'port-forward to' : 'exec into';
        incident.offerStory(`${clip(actor, 80)} ${verb} ${clip(f.podKey ?? '', 100)}`, rank);
        break;
      }
      case 'pod_creation': {
        const reasons = ev.outputFields['pod.host_access'];
        const why = Array.isArray(reasons) && typeof reasons[0] === 'string' ? ` (${clip(reasons[0], 40)})` : '';
        incident.offerStory(`${clip(actor, 80)} created pod ${clip(f.podKey ?? '', 100)}${why}`, rank);
        break;
      }
      case 'secret_read':
        incident.offerStory(`${clip(actor, 100)} read secrets`, rank);
        break;
      case 'grant':
        // A binding whose subjects the event does not show (no request object logged) says only that a role was granted.
        const subjects = (f.subjects ?? []).join(', ');
        incident.offerStory(`${clip(actor, 60)} granted ${clip(f.grantedRole ?? 'a role', 40)}${subjects ? ` to ${clip(subjects, 80)}` : ''}`, rank);
        break;
      default:
        incident.offerStory(clip(actor, 100), rank);
        break;
    }
  }

  /** Files the evidence's join keys under the incident. */
  private fileKeys(incident: IncidentState, f: EvidenceFacts, request: ExecRequestRecord | undefined): void {
    const key = (kind: JoinKeyKind, value: string | undefined): void => {
      if (value !== undefined && incident.addJoinKey(kind, value)) this.index.add(kind, value, incident.id);
    };
    key('audit_id', f.auditId);
    switch (f.role) {
      case 'runtime':
        key('exec_session', f.execSession);
        key('pod_uid', f.podUid);
        key('pod', f.podKey);
        key('container', f.containerId);
        if (f.podKey === undefined && f.containerId === undefined) key('node', f.node);
        if (f.execSession !== undefined) this.noteSession(incident, f);
        break;
      case 'pod_creation':
        key('pod_uid', f.podUid);
        key('pod', f.podKey);
        // An exec into the pod someone just created with host access continues that story. Only a
        // creation found risky counts (the context event, or an alert of Warning or worse): an
        // informational "object created" must not pull every later exec into the controller's story.
        if (f.ev.kind === 'context' || priorityRank(f.ev.priority) <= priorityRank('Warning')) key('created_pod', f.podKey);
        break;
      case 'secret_read':
        key('sa_pod_uid', f.podUid);
        key('sa_pod', f.podKey);
        break;
      case 'grant':
        for (const s of f.subjects ?? []) key('user', s);
        break;
      case 'exec_request': {
        key('pod', f.podKey);
        const r = request ?? this.requestRecord(f);
        if (r === undefined) break;
        const twin = r.auditId !== undefined ? incident.requests.find((x) => x.auditId === r.auditId && x !== r) : undefined;
        if (twin !== undefined) {
          // The same request seen twice (an audit alert and its context event): one record.
          if (request) this.unfileRequest(request);
          break;
        }
        if (!incident.requests.includes(r) && incident.requests.length < LIMITS.requests) {
          r.incidentId = incident.id;
          incident.requests.push(r);
          this.fileRequest(r);
        }
        // Sessions it started: chosen for it, carrying its audit id, or attributed to it late.
        for (const s of incident.sessions) {
          if (s.session === r.claimedBy || s.attributedTo === r.evidenceId || (r.auditId !== undefined && s.auditId === r.auditId)) {
            s.attributedTo ??= r.evidenceId;
            r.claimedBy ??= s.session;
          }
        }
        break;
      }
      default:
        break;
    }
  }

  private noteSession(incident: IncidentState, f: EvidenceFacts): void {
    const session = f.execSession!;
    let s = incident.sessions.find((x) => x.session === session);
    if (s === undefined) {
      if (incident.sessions.length >= LIMITS.sessions) return;
      s = { session, firstTime: f.ev.time, incidentId: incident.id, firstAlertId: f.ev.id, ...(f.podKey !== undefined ? { podKey: f.podKey } : {}) };
      // A request already chosen for this session attributes it.
      const r = incident.requests.find((x) => x.claimedBy === session);
      if (r) s.attributedTo = r.evidenceId;
      incident.sessions.push(s);
      this.fileSession(s);
    }
    if (f.ev.time < s.firstTime) (s as { firstTime: bigint }).firstTime = f.ev.time;
    if (s.cmdline === undefined && f.sessionCmdline !== undefined) s.cmdline = f.sessionCmdline;
    if (s.auditId === undefined && f.auditId !== undefined) s.auditId = f.auditId;
    if (s.attributedTo === undefined) {
      const r = incident.requests.find((x) => x.claimedBy === session || (f.auditId !== undefined && x.auditId === f.auditId));
      if (r) {
        s.attributedTo = r.evidenceId;
        r.claimedBy = session;
      }
    }
  }

  private requestRecord(f: EvidenceFacts): ExecRequestRecord | undefined {
    if (f.role !== 'exec_request' || f.podKey === undefined || f.request === undefined) return undefined;
    const r: ExecRequestRecord = {
      evidenceId: f.ev.id,
      kind: f.request.kind,
      podKey: f.podKey,
      time: f.ev.time,
      firstOnly: f.request.firstOnly,
      ...(f.auditId !== undefined ? { auditId: f.auditId } : {}),
      ...(f.actor !== undefined ? { user: f.actor } : {}),
      ...(f.request.command !== undefined ? { command: clip(f.request.command, 1024) } : {}),
    };
    return r;
  }

  private merge(into: IncidentState, from: IncidentState, batch: BatchBuilder): void {
    into.touch(from.firstSeen);
    into.touch(from.lastSeen);
    into.alertCount += from.alertCount;
    for (const r of from.rules) if (!into.rules.includes(r) && into.rules.length < LIMITS.rules) into.rules.push(r);
    for (const t of from.tactics) into.tactics.add(t);
    if (from.maxPriority !== undefined) {
      into.maxPriority = into.maxPriority === undefined ? from.maxPriority : moreSevere(into.maxPriority, from.maxPriority);
    }
    if (from.actor) into.offerActor(from.actor.name, from.actorRank, from.actor.confidence);
    if (from.story !== undefined) into.offerStory(from.story, from.storyRank);
    into.fillTarget(from.target.namespace, from.target.pod, from.target.podUid, from.target.container, from.target.node);
    for (const [k, first] of from.dedup) if (!into.dedup.has(k) && into.dedup.size < LIMITS.dedup) into.dedup.set(k, first);
    for (const k of from.joinKeys.values()) {
      this.index.remove(k.kind, k.value, from.id);
      if (into.addJoinKey(k.kind as JoinKeyKind, k.value)) this.index.add(k.kind, k.value, into.id);
    }
    for (const r of from.requests) {
      r.incidentId = into.id;
      if (into.requests.length < LIMITS.requests) into.requests.push(r);
    }
    for (const s of from.sessions) {
      s.incidentId = into.id;
      if (into.sessions.length < LIMITS.sessions) into.sessions.push(s);
    }
    into.updatedAt = this.now();
    this.incidents.delete(from.id);
    batch.touched.delete(from.id);
    batch.touched.set(into.id, into);
    batch.mergedInto.set(from.id, into.id);
    this.aliases.set(from.id, into.id);
    if (this.aliases.size > SEEN_IDS) this.aliases.delete(this.aliases.keys().next().value!);
  }

  // ---- waiting context events ----

  private hold(f: EvidenceFacts): void {
    const keys: [string, string][] = [];
    const file = (kind: string, value: string | undefined): void => {
      if (value !== undefined) keys.push([kind, value]);
    };
    file('audit_id', f.auditId);
    switch (f.role) {
      case 'pod_creation':
        file('pod_uid', f.podUid);
        file('pod', f.podKey);
        break;
      case 'secret_read':
        file('sa_pod_uid', f.podUid);
        file('sa_pod', f.podKey);
        break;
      case 'grant':
        for (const s of f.subjects ?? []) file('subject', s);
        break;
      default:
        break;
    }
    const request = this.requestRecord(f);
    const p: Pending = { facts: f, keys, ...(request ? { request } : {}) };
    this.pending.set(f.ev.id, p);
    for (const [kind, value] of keys) this.pendingIndex.add(kind, value, f.ev.id);
    if (request) this.fileRequest(request);
    while (this.pending.size > this.maxPending) this.dropPending(this.pending.values().next().value!);
  }

  /** Takes a context event out of waiting (it joined; its request record stays filed). */
  private unhold(p: Pending): void {
    this.pending.delete(p.facts.ev.id);
    for (const [kind, value] of p.keys) this.pendingIndex.remove(kind, value, p.facts.ev.id);
  }

  private dropPending(p: Pending): void {
    this.unhold(p);
    if (p.request) this.unfileRequest(p.request);
  }

  // ---- per-pod registries ----

  private fileRequest(r: ExecRequestRecord): void {
    const list = this.requestsByPod.get(r.podKey);
    if (list === undefined) this.requestsByPod.set(r.podKey, [r]);
    else if (!list.includes(r)) {
      list.push(r);
      // A pod exec'd into all day keeps only its most recent requests.
      if (list.length > 64) list.shift();
    }
  }

  private unfileRequest(r: ExecRequestRecord): void {
    const list = this.requestsByPod.get(r.podKey);
    if (!list) return;
    const i = list.indexOf(r);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.requestsByPod.delete(r.podKey);
  }

  private fileSession(s: SessionRecord): void {
    if (s.podKey === undefined) return;
    const list = this.sessionsByPod.get(s.podKey);
    if (list === undefined) this.sessionsByPod.set(s.podKey, [s]);
    else if (!list.includes(s)) {
      list.push(s);
      if (list.length > 64) list.shift();
    }
  }

  private unfileSession(s: SessionRecord): void {
    if (s.podKey === undefined) return;
    const list = this.sessionsByPod.get(s.podKey);
    if (!list) return;
    const i = list.indexOf(s);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.sessionsByPod.delete(s.podKey);
  }

  // ---- time and bounds ----

  private latestPlausibleTime(): bigint {
    return BigInt(Math.floor(this.now())) * NS_PER_MS + SKEW_NS;
  }

  private near(inc: IncidentState, t: bigint): boolean {
    return t + this.windowNs >= inc.firstSeen && t <= inc.lastSeen + this.windowNs;
  }

  private remember(link: IncidentLink): void {
    this.seen.set(link.alertId, link);
    if (this.seen.size > SEEN_IDS) this.seen.delete(this.seen.keys().next().value!);
  }

  /** Writes already-joined evidence again, to the incident it joined; false when it is new here. */
  private replay(ev: StoredAlert, batch: BatchBuilder): boolean {
    const link = this.seen.get(ev.id);
    if (link === undefined) return false;
    let id = link.incidentId;
    for (let i = 0; i < 64 && this.aliases.has(id); i++) id = this.aliases.get(id)!;
    const incident = this.incidents.get(id);
    // Its incident is gone (resolved, expired): the evidence starts afresh.
    if (incident === undefined) return false;
    batch.alerts.push([ev, id]);
    batch.links.push({ ...link, incidentId: id });
    batch.touched.set(id, incident);
    return true;
  }

  private evict(state: IncidentState): void {
    this.incidents.delete(state.id);
    for (const k of state.joinKeys.values()) this.index.remove(k.kind, k.value, state.id);
    for (const r of state.requests) this.unfileRequest(r);
    for (const s of state.sessions) this.unfileSession(s);
  }

  private sweepIfDue(): void {
    if (this.clock - this.lastSweep < this.windowNs / 8n) return;
    this.lastSweep = this.clock;
    const horizon = this.clock - this.windowNs;
    for (const state of [...this.incidents.values()]) if (state.lastSeen < horizon) this.evict(state);
    for (const p of [...this.pending.values()]) if (p.facts.ev.time < horizon) this.dropPending(p);
  }

  private enforceBounds(): void {
    while (this.incidents.size > this.maxIncidents) this.evict(this.incidents.values().next().value!);
  }

  private finish(batch: BatchBuilder): WriteBatch {
    const final = (id: string): string => batch.final(id);
    const states = new Map<string, IncidentState>();
    for (const [id, s] of batch.touched) {
      const fid = final(id);
      const live = fid === id ? s : (batch.touched.get(fid) ?? this.incidents.get(fid));
      if (live) states.set(fid, live);
    }
    const alerts = batch.alerts.map(([ev, joined]): StoredAlert => {
      const incidentId = final(joined);
      const actor = states.get(incidentId)?.actor;
      // Node alerts carry the user the incident is attributed to, for filters.
      return actor !== undefined && ev.user === undefined && ev.source !== 'k8s_audit' ? { ...ev, incidentId, user: actor.name } : { ...ev, incidentId };
    });
    const links = batch.links.map((l) => (final(l.incidentId) === l.incidentId ? l : { ...l, incidentId: final(l.incidentId) }));
    const merges: { from: string; into: string }[] = [];
    for (const from of batch.mergedInto.keys()) {
      if (!batch.created.has(from)) merges.push({ from, into: final(from) });
    }
    const out: { -readonly [K in keyof WriteBatch]: WriteBatch[K] } = {
      alerts,
      incidents: [...states.values()].map((s) => s.toIncident()),
      links,
    };
    if (merges.length) out.merges = merges;
    return out;
  }
}
