/**
 * One incident while the correlator holds it: the summary the store gets
 * (title, severity, actor, target, counts) and the join state behind it
 * (keys, exec requests, sessions, storm groups). Everything needed to
 * continue after a restart is written into the incident's `keys`.
 */
import { PRIORITIES, type Priority } from '../engine/priority.js';
import type { Actor, Confidence, Incident, IncidentKey, IncidentStatus, Target } from './model.js';
import { incidentSeverity, isMultiStage, moreSevere } from './severity.js';
import { sortTactics, tacticOfTag } from './tactics.js';

/** A pods/exec (attach, portforward) request, pending or joined. */
export interface ExecRequestRecord {
  readonly evidenceId: string;
  readonly kind: 'exec' | 'attach' | 'portforward';
  readonly auditId?: string;
  readonly user?: string;
  readonly podKey: string;
  readonly time: bigint;
  readonly command?: string;
  readonly firstOnly: boolean;
  /** The exec session it was matched with. */
  claimedBy?: string;
  /** Undefined while the request waits (a pending context event). */
  incidentId?: string;
}

/** An exec session seen on a node, as part of an incident. */
export interface SessionRecord {
  readonly session: string;
  readonly podKey?: string;
  readonly firstTime: bigint;
  cmdline?: string;
  auditId?: string;
  /** The exec request (evidence id) it was attributed to. */
  attributedTo?: string;
  /** Its first alert, which a late exec request links to. */
  firstAlertId?: string;
  incidentId: string;
}

/** Kinds of keys the correlator looks incidents up by. */
export const JOIN_KEY_KINDS = ['audit_id', 'exec_session', 'pod_uid', 'pod', 'container', 'node', 'user', 'actor', 'sa_pod', 'sa_pod_uid', 'created_pod'] as const;
export type JoinKeyKind = (typeof JOIN_KEY_KINDS)[number];
const JOIN_KINDS = new Set<string>(JOIN_KEY_KINDS);

/** How much an actor candidate says about who did it: the hands on the keyboard first. */
export const ACTOR_RANK = { exec_request: 4, pod_creation: 3, secret_read: 3, audit: 2, grant: 1 } as const;

const CONFIDENCE_RANK: Record<Confidence, number> = { exact: 0, probable: 1, ambiguous: 2 };

export const LIMITS = { joinKeys: 256, dedup: 64, requests: 32, sessions: 32, rules: 64, titleChars: 200 } as const;

function serviceAccountActor(name: string): Actor['kind'] {
  return name.startsWith('system:serviceaccount:') ? 'serviceaccount' : 'user';
}

/** Shortens attacker-length text without interpreting it. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export class IncidentState {
  status: IncidentStatus = 'open';
  statusNote: string | undefined;
  updatedAt: number;
  firstSeen: bigint;
  lastSeen: bigint;
  alertCount = 0;
  readonly rules: string[] = [];
  readonly tactics = new Set<string>();
  maxPriority: Priority | undefined;
  actor: Actor | undefined;
  actorRank = 0;
  /** What the title says before the rules (`alice exec into prod/web-1`), and how strong its source is. */
  story: string | undefined;
  storyRank = 0;
  target: { -readonly [K in keyof Target]: Target[K] } = {};
  /** `kind\0value` → key, for the indexes. */
  readonly joinKeys = new Map<string, IncidentKey>();
  /** dedupKey → id of the first alert of the group. */
  readonly dedup = new Map<string, string>();
  readonly requests: ExecRequestRecord[] = [];
  readonly sessions: SessionRecord[] = [];

  constructor(
    readonly id: string,
    readonly createdAt: number,
    time: bigint,
  ) {
    this.updatedAt = createdAt;
    this.firstSeen = time;
    this.lastSeen = time;
  }

  /** Records a join key; false when it was already there or the incident holds enough. */
  addJoinKey(kind: JoinKeyKind, value: string): boolean {
    const k = `${kind}\u0000${value}`;
    if (this.joinKeys.has(k) || this.joinKeys.size >= LIMITS.joinKeys) return false;
    this.joinKeys.set(k, { kind, value });
    return true;
  }

  hasJoinKey(kind: JoinKeyKind, value: string): boolean {
    return this.joinKeys.has(`${kind}\u0000${value}`);
  }

  /** Holds exec sessions or requests: someone's hands-on story, not just a pod's. */
  get sessionOwned(): boolean {
    return this.sessions.length > 0 || this.requests.length > 0;
  }

  touch(time: bigint): void {
    if (time < this.firstSeen) this.firstSeen = time;
    if (time > this.lastSeen) this.lastSeen = time;
  }

  countAlert(rule: string, priority: Priority, tags: readonly string[]): void {
    this.alertCount++;
    this.maxPriority = this.maxPriority === undefined ? priority : moreSevere(this.maxPriority, priority);
    if (this.rules.length < LIMITS.rules && !this.rules.includes(rule)) this.rules.push(rule);
    for (const tag of tags) {
      const t = tacticOfTag(tag);
      if (t !== undefined) this.tactics.add(t);
    }
  }

  /** Takes an actor when it says more (a higher rank, or the same rank more surely). */
  offerActor(name: string, rank: number, confidence: Confidence): boolean {
    const cur = this.actor;
    if (cur !== undefined) {
      if (rank < this.actorRank) return false;
      if (rank === this.actorRank && CONFIDENCE_RANK[confidence] >= CONFIDENCE_RANK[cur.confidence]) return false;
    }
    this.actor = { kind: serviceAccountActor(name), name, confidence };
    this.actorRank = rank;
    return true;
  }

  offerStory(text: string, rank: number): void {
    if (this.story === undefined || rank > this.storyRank) {
      this.story = text;
      this.storyRank = rank;
    }
  }

  /** Fills what the target does not know yet (called for every piece of evidence: no allocation). */
  fillTarget(namespace?: string, pod?: string, podUid?: string, container?: string, node?: string): void {
    const t = this.target;
    if (t.namespace === undefined && namespace !== undefined) t.namespace = namespace;
    if (t.pod === undefined && pod !== undefined) t.pod = pod;
    if (t.podUid === undefined && podUid !== undefined) t.podUid = podUid;
    if (t.container === undefined && container !== undefined) t.container = container;
    if (t.node === undefined && node !== undefined) t.node = node;
  }

  get severity(): Priority {
    const highest = this.maxPriority ?? 'Informational';
    return incidentSeverity(highest, isMultiStage(this.rules.length, this.tactics.size));
  }

  get title(): string {
    const where = this.target.pod !== undefined ? `${this.target.namespace ?? ''}/${this.target.pod}` : this.target.node;
    const prefix = this.story ?? where;
    const chain = this.rules.join(' → ');
    const text = prefix === undefined ? chain : chain === '' ? prefix : `${prefix}: ${chain}`;
    return clip(text === '' ? 'incident' : text, LIMITS.titleChars);
  }

  toIncident(): Incident {
    const keys: IncidentKey[] = [...this.joinKeys.values()];
    for (const [dedupKey, alertId] of this.dedup) keys.push({ kind: 'dedup', value: `${dedupKey} ${alertId}` });
    for (const r of this.requests) keys.push({ kind: 'exec_request', value: JSON.stringify({ ...r, time: r.time.toString(), incidentId: undefined }) });
    for (const s of this.sessions) keys.push({ kind: 'session', value: JSON.stringify({ ...s, firstTime: s.firstTime.toString(), incidentId: undefined }) });
    if (this.maxPriority !== undefined) keys.push({ kind: 'max_priority', value: this.maxPriority });
    if (this.story !== undefined) keys.push({ kind: 'story', value: JSON.stringify([this.storyRank, this.story]) });
    if (this.actor !== undefined) keys.push({ kind: 'actor_rank', value: String(this.actorRank) });
    const out: { -readonly [K in keyof Incident]: Incident[K] } = {
      id: this.id,
      title: this.title,
      severity: this.severity,
      status: this.status,
      target: { ...this.target },
      firstSeen: this.firstSeen,
      lastSeen: this.lastSeen,
      alertCount: this.alertCount,
      rules: [...this.rules],
      tactics: sortTactics(this.tactics),
      keys,
      createdAt: this.createdAt,
      updatedAt: this.updatedAt,
    };
    if (this.actor !== undefined) out.actor = this.actor;
    if (this.statusNote !== undefined) out.statusNote = this.statusNote;
    return out;
  }

  /** Rebuilds the state of a stored incident (a warm start); unreadable keys are skipped. */
  static fromIncident(inc: Incident): IncidentState {
    const s = new IncidentState(inc.id, inc.createdAt, inc.firstSeen);
    s.lastSeen = inc.lastSeen;
    s.updatedAt = inc.updatedAt;
    s.status = inc.status;
    s.statusNote = inc.statusNote;
    s.alertCount = inc.alertCount;
    s.rules.push(...inc.rules.slice(0, LIMITS.rules));
    for (const t of inc.tactics) s.tactics.add(t);
    s.target = { ...inc.target };
    if (inc.actor) {
      s.actor = inc.actor;
      s.actorRank = 1;
    }
    for (const k of inc.keys) {
      try {
        s.restoreKey(k);
      } catch {
        // A key written by another version: the incident still works without it.
      }
    }
    return s;
  }

  private restoreKey(k: IncidentKey): void {
    if (JOIN_KINDS.has(k.kind)) {
      this.addJoinKey(k.kind as JoinKeyKind, k.value);
      return;
    }
    switch (k.kind) {
      case 'dedup': {
        const sp = k.value.indexOf(' ');
        if (sp > 0) this.dedup.set(k.value.slice(0, sp), k.value.slice(sp + 1));
        break;
      }
      case 'exec_request': {
        const r = JSON.parse(k.value) as ExecRequestRecord & { time: string };
        if (typeof r.evidenceId === 'string' && typeof r.podKey === 'string') {
          this.requests.push({ ...r, time: BigInt(r.time), incidentId: this.id });
        }
        break;
      }
      case 'session': {
        const r = JSON.parse(k.value) as SessionRecord & { firstTime: string };
        if (typeof r.session === 'string') this.sessions.push({ ...r, firstTime: BigInt(r.firstTime), incidentId: this.id });
        break;
      }
      case 'max_priority':
        if ((PRIORITIES as readonly string[]).includes(k.value)) this.maxPriority = k.value as Priority;
        break;
      case 'story': {
        const [rank, text] = JSON.parse(k.value) as [number, string];
        if (typeof rank === 'number' && typeof text === 'string') {
          this.story = text;
          this.storyRank = rank;
        }
        break;
      }
      case 'actor_rank':
        this.actorRank = Number(k.value) || 1;
        break;
      default:
        break;
    }
  }
}
