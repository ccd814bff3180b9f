/**
 * Evidence for the correlator's tests: syscall alerts shaped like the
 * upstream rules' outputs (their output fields, tags and priorities, plus
 * Falco's default append_output container and Kubernetes fields), and audit
 * events read from Falco's recorded k8s_audit suite or the project's golden
 * cases.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeAuditEvent, type AuditEvent } from '../../src/audit/event.js';
import type { Alert } from '../../src/engine/alert.js';
import type { Priority } from '../../src/engine/priority.js';
import { contextFromAuditEvent, evidenceFromAlert } from '../../src/incidents/evidence.js';
import type { StoredAlert } from '../../src/incidents/model.js';
import { anchorPath } from '../helpers/anchors.js';

export const NS = 1_000_000_000n;

export function at(iso: string, plusSeconds = 0): bigint {
  return BigInt(Date.parse(iso)) * 1_000_000n + BigInt(Math.round(plusSeconds * 1e9));
}

export function readAnchorEvent(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(anchorPath('falco-k8s-audit-suite', 'trace_files', 'k8s_audit', name), 'utf8')) as Record<string, unknown>;
}

/** Every event of a recorded file (some hold one JSON event per line). */
export function readAnchorEvents(name: string): Record<string, unknown>[] {
  const text = readFileSync(anchorPath('falco-k8s-audit-suite', 'trace_files', 'k8s_audit', name), 'utf8');
  return text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Record<string, unknown>);
}

export function readGoldenEvents(name: string): Record<string, unknown>[] {
  const file = join(import.meta.dirname, '..', 'golden', 'k8s_audit', name, 'events.jsonl');
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Record<string, unknown>);
}

export function auditEvent(obj: Record<string, unknown>): AuditEvent {
  const e = decodeAuditEvent(obj);
  if (typeof e === 'string') throw new Error(e);
  return e;
}

export function context(obj: Record<string, unknown>): StoredAlert {
  const c = contextFromAuditEvent(auditEvent(obj));
  if (!c) throw new Error('no context event');
  return c;
}

/** A copy of a recorded event with some members replaced (deep for `user`, `objectRef`). */
export function variant(obj: Record<string, unknown>, changes: Record<string, unknown>): Record<string, unknown> {
  return { ...structuredClone(obj), ...changes };
}

let seq = 0;
export function nextId(prefix = 'a'): string {
  return `${prefix}-${String(++seq).padStart(6, '0')}`;
}

/** Where a process runs, as the agent knows it. */
export interface Place {
  readonly node?: string;
  readonly ns: string;
  readonly pod: string;
  readonly podUid?: string;
  readonly containerId: string;
  readonly containerName?: string;
}

/** The process, with the correlation keys the agent computes (src/syscall/correlation.ts). */
export interface Proc {
  readonly pid: number;
  /** `<container>:<pid>:<startTs>` of the session root, when exec'd. */
  readonly session?: string;
  readonly auditId?: string;
  readonly name: string;
  readonly exepath: string;
  readonly cmdline: string;
  readonly pname?: string;
  readonly tty?: number;
}

interface RuleShape {
  readonly rule: string;
  readonly priority: Priority;
  readonly tags: readonly string[];
  readonly message: string;
  readonly extra?: Record<string, string | number>;
}

export const RULES = {
  shell: {
    rule: 'Terminal shell in container',
    priority: 'Notice',
    tags: ['maturity_stable', 'container', 'shell', 'mitre_execution', 'T1059'],
    message: 'A shell was spawned in a container with an attached terminal',
  },
  remoteCopy: {
    rule: 'Launch Ingress Remote File Copy Tools in Container',
    priority: 'Notice',
    tags: ['maturity_incubating', 'container', 'network', 'process', 'mitre_command_and_control', 'TA0011'],
    message: 'Ingress remote file copy tool launched in container',
  },
  dropExec: {
    rule: 'Drop and execute new binary in container',
    priority: 'Critical',
    tags: ['maturity_stable', 'container', 'process', 'mitre_persistence', 'TA0003', 'PCI_DSS_11.5.1'],
    message: 'Executing binary not part of base image',
  },
  writeEtc: {
    rule: 'Write below etc',
    priority: 'Error',
    tags: ['maturity_sandbox', 'host', 'container', 'filesystem', 'mitre_persistence', 'T1098'],
    message: 'File below /etc opened for writing',
    extra: { 'fd.name': '/host/etc/cron.d/backdoor' },
  },
  outbound: {
    rule: 'Network Connection outside Local Subnet',
    priority: 'Warning',
    tags: ['maturity_incubating', 'container', 'network', 'mitre_discovery', 'T1046', 'PCI_DSS_6.4.2'],
    message: 'Network connection outside local subnet',
    extra: { 'fd.name': '10.0.0.12:43122->203.0.113.7:443', 'fd.rport': 443, 'fd.l4proto': 'tcp' },
  },
} as const satisfies Record<string, RuleShape>;

/** A syscall alert as the engine emits it for `rule` on `proc` in `place`. */
export function syscallAlert(shape: RuleShape, time: bigint, place: Place, proc: Proc): Alert {
  const fields: Record<string, string | number | bigint | null> = {
    'evt.time': time,
    'evt.type': 'execve',
    'user.name': 'root',
    'user.uid': 0,
    'user.loginuid': -1,
    'proc.name': proc.name,
    'proc.exepath': proc.exepath,
    'proc.pname': proc.pname ?? 'containerd-shim',
    'proc.cmdline': proc.cmdline,
    'proc.tty': proc.tty ?? 34816,
    'container.id': place.containerId,
    'container.name': place.containerName ?? null,
    'k8s.ns.name': place.ns,
    'k8s.pod.name': place.pod,
    ...(shape.extra ?? {}),
  };
  const correlation: Record<string, string> = { containerId: place.containerId, pid: String(proc.pid) };
  if (place.podUid) correlation.podUid = place.podUid;
  if (proc.auditId) correlation.auditId = proc.auditId;
  if (proc.session) correlation.execSession = proc.session;
  const rendered = Object.entries(fields).filter(([k]) => k !== 'evt.time').map(([k, v]) => `${k.replace(/\./g, '_')}=${v ?? '<NA>'}`).join(' ');
  return {
    time,
    rule: shape.rule,
    priority: shape.priority,
    source: 'syscall',
    tags: shape.tags,
    message: `${shape.message} | ${rendered}`,
    outputFields: fields,
    hostname: place.node ?? 'worker-1',
    correlation,
  };
}

export function stored(alert: Alert, id = nextId()): StoredAlert {
  return evidenceFromAlert(alert, { id, receivedAt: Number(alert.time / 1_000_000n) });
}

/** Shorthand: a stored syscall alert. */
export function sys(shape: RuleShape, time: bigint, place: Place, proc: Proc): StoredAlert {
  return stored(syscallAlert(shape, time, place, proc));
}

/** A counter id source, so incident ids are predictable. */
export function idSource(prefix = 'inc'): () => string {
  let n = 0;
  return () => `${prefix}-${++n}`;
}

/**
 * What a store would hold after committing batches in order: enough to count
 * incidents and see where each piece of evidence ended up (merges applied).
 */
export class BatchLedger {
  readonly incidents = new Map<string, import('../../src/incidents/model.js').Incident>();
  readonly evidence = new Map<string, StoredAlert>();
  readonly links = new Map<string, import('../../src/incidents/model.js').IncidentLink>();
  readonly merges: { from: string; into: string }[] = [];

  apply(batch: import('../../src/incidents/model.js').WriteBatch): this {
    for (const a of batch.alerts) if (!this.evidence.has(a.id)) this.evidence.set(a.id, a);
    for (const l of batch.links) if (!this.links.has(l.alertId)) this.links.set(l.alertId, l);
    for (const m of batch.merges ?? []) {
      this.merges.push(m);
      for (const [id, a] of this.evidence) if (a.incidentId === m.from) this.evidence.set(id, { ...a, incidentId: m.into });
      for (const [id, l] of this.links) if (l.incidentId === m.from) this.links.set(id, { ...l, incidentId: m.into });
      this.incidents.delete(m.from);
    }
    for (const inc of batch.incidents) this.incidents.set(inc.id, inc);
    return this;
  }

  /** Incidents that hold evidence. */
  get stories(): import('../../src/incidents/model.js').Incident[] {
    const used = new Set([...this.evidence.values()].map((a) => a.incidentId));
    return [...this.incidents.values()].filter((i) => used.has(i.id));
  }

  incidentOf(evidenceId: string): string | undefined {
    return this.evidence.get(evidenceId)?.incidentId;
  }

  link(evidenceId: string): import('../../src/incidents/model.js').IncidentLink {
    const l = this.links.get(evidenceId);
    if (!l) throw new Error(`no link for ${evidenceId}`);
    return l;
  }
}
