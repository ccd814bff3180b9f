/**
 * What the correlator needs to know about one piece of evidence, read once
 * from its correlation keys and output fields: the keys it can be joined by
 * and the part it plays in a story.
 */
import { CONTEXT_RULES } from './audit-context.js';
import { fieldText } from './field-values.js';
import type { FieldValue, StoredAlert } from './model.js';

/**
 * - `exec_request`: a pods/exec, attach or portforward request (starts a session).
 * - `pod_creation`: a pod created with host access.
 * - `grant`: a (cluster) role binding created.
 * - `secret_read`: a service account read secrets.
 * - `audit`: any other audit evidence.
 * - `runtime`: an alert from a node (syscall or another node source).
 */
export type EvidenceRole = 'exec_request' | 'pod_creation' | 'grant' | 'secret_read' | 'audit' | 'runtime';

export interface ExecRequestFacts {
  readonly kind: 'exec' | 'attach' | 'portforward';
  /** The argv joined by spaces; with `firstOnly`, just the program. */
  readonly command?: string;
  readonly firstOnly: boolean;
  readonly container?: string;
}

export interface EvidenceFacts {
  readonly ev: StoredAlert;
  readonly role: EvidenceRole;
  readonly isContext: boolean;
  readonly auditId?: string;
  readonly execSession?: string;
  /** `namespace/pod`. */
  readonly podKey?: string;
  readonly podUid?: string;
  readonly containerId?: string;
  readonly containerName?: string;
  readonly node?: string;
  /** The identity an audit request acted as. */
  readonly actor?: string;
  readonly request?: ExecRequestFacts;
  /** Who a binding grants to (user names; `system:serviceaccount:ns:name`; `group:name`). */
  readonly subjects?: readonly string[];
  readonly grantedRole?: string;
  /** The session root's command line, when known. */
  readonly sessionCmdline?: string;
  /**
   * A runtime alert that can come from an exec session: it has a session, or
   * it came without Tiercel's process keys (Falco, Falcosidekick) so nobody
   * knows. A Tiercel agent's alert with a pid but no session came from the
   * container's own process tree, which no exec request started.
   */
  readonly sessionCapable: boolean;
}

const SERVICE_ACCOUNT_PREFIX = 'system:serviceaccount:';

function listOf(v: FieldValue | undefined): string[] {
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  const s = fieldText(v);
  return s === undefined ? [] : [s];
}

/** Falco's `ka.req.binding.subjects` values are each a subject as JSON text. */
function subjectsFromFields(fields: Readonly<Record<string, FieldValue>>, namespace: string | undefined): string[] {
  const out: string[] = [];
  for (const name of listOf(fields['ka.req.binding.subjects.user_names'])) out.push(name);
  for (const nsName of listOf(fields['ka.req.binding.subjects.serviceaccount_ns_names'])) {
    const [ns, name] = nsName.split(':');
    if (ns && name) out.push(`${SERVICE_ACCOUNT_PREFIX}${ns}:${name}`);
  }
  for (const text of listOf(fields['ka.req.binding.subjects']).slice(0, 64)) {
    if (!text.startsWith('{') || text.length > 4096) continue;
    try {
      const s = JSON.parse(text) as { kind?: unknown; name?: unknown; namespace?: unknown };
      if (typeof s.name !== 'string') continue;
      if (s.kind === 'User') out.push(s.name);
      else if (s.kind === 'ServiceAccount') {
        const ns = typeof s.namespace === 'string' ? s.namespace : namespace;
        if (ns) out.push(`${SERVICE_ACCOUNT_PREFIX}${ns}:${s.name}`);
      } else if (s.kind === 'Group') out.push(`group:${s.name}`);
    } catch {
      // Not JSON: nothing to learn from it.
    }
  }
  return [...new Set(out)];
}

function parseSubjects(text: string | undefined): string[] {
  if (text === undefined) return [];
  try {
    const v = JSON.parse(text) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string').slice(0, 64) : [];
  } catch {
    return [];
  }
}

/** The pid of an exec session key `<container>:<pid>:<startTs>`. */
function sessionPid(session: string): string | undefined {
  const parts = session.split(':');
  return parts.length >= 3 ? parts[parts.length - 2] : undefined;
}

function auditRole(ev: StoredAlert, c: Readonly<Record<string, string>>): EvidenceRole {
  if (ev.kind === 'context') {
    switch (ev.rule) {
      case CONTEXT_RULES.exec:
      case CONTEXT_RULES.attach:
      case CONTEXT_RULES.portforward:
        return 'exec_request';
      case CONTEXT_RULES.riskyPod:
        return 'pod_creation';
      case CONTEXT_RULES.binding:
        return 'grant';
      case CONTEXT_RULES.secretRead:
        return 'secret_read';
      default:
        return 'audit';
    }
  }
  const resource = c.resource ?? fieldText(ev.outputFields['ka.target.resource']);
  const sub = c.subresource ?? fieldText(ev.outputFields['ka.target.subresource']);
  const verb = c.verb ?? fieldText(ev.outputFields['ka.verb']);
  if (resource === 'pods' && (sub === 'exec' || sub === 'attach' || sub === 'portforward')) return 'exec_request';
  if (resource === 'pods' && !sub && verb === 'create') return 'pod_creation';
  if ((resource === 'clusterrolebindings' || resource === 'rolebindings') && verb === 'create') return 'grant';
  if (resource === 'secrets' && ev.user?.startsWith(SERVICE_ACCOUNT_PREFIX)) return 'secret_read';
  return 'audit';
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export function factsOf(ev: StoredAlert): EvidenceFacts {
  const c = ev.correlation;
  const fields = ev.outputFields;
  const audit = ev.source === 'k8s_audit';
  const f: Mutable<EvidenceFacts> = {
    ev,
    role: audit ? auditRole(ev, c) : 'runtime',
    isContext: ev.kind === 'context',
    sessionCapable: false,
  };
  if (c.auditId) f.auditId = c.auditId;
  if (ev.namespace !== undefined && ev.pod !== undefined) f.podKey = `${ev.namespace}/${ev.pod}`;
  if (ev.podUid !== undefined) f.podUid = ev.podUid;
  if (ev.containerId !== undefined) f.containerId = ev.containerId;
  const containerName = c.container ?? fieldText(fields['container.name']);
  if (containerName !== undefined) f.containerName = containerName;

  if (!audit) {
    if (ev.hostname) f.node = ev.hostname;
    if (c.execSession) f.execSession = c.execSession;
    f.sessionCapable = c.execSession !== undefined || (c.pid === undefined && f.containerId !== undefined);
    // The agent sends the session root's command line as execCommand (src/syscall/correlation.ts).
    let cmdline = c.execCommand ?? c.cmdline;
    if (cmdline === undefined && f.execSession !== undefined && c.pid === sessionPid(f.execSession)) {
      // The alert is about the session root itself: its command line is the root's.
      cmdline = fieldText(fields['proc.cmdline']);
    }
    if (cmdline !== undefined) f.sessionCmdline = cmdline;
    return f;
  }

  if (ev.user !== undefined) f.actor = c.user ?? ev.user;
  if (c.node) f.node = c.node;
  switch (f.role) {
    case 'exec_request': {
      const sub = c.subresource ?? fieldText(fields['ka.target.subresource']);
      const kind = sub === 'attach' ? 'attach' : sub === 'portforward' ? 'portforward' : 'exec';
      const full = c.command;
      const first = fieldText(fields['ka.uri.param[command]']);
      const request: Mutable<ExecRequestFacts> = { kind, firstOnly: full === undefined };
      if (full !== undefined || first !== undefined) request.command = full ?? first;
      const container = c.container ?? fieldText(fields['ka.uri.param[container]']);
      if (container !== undefined) request.container = container;
      f.request = request;
      break;
    }
    case 'grant': {
      f.subjects = ev.kind === 'context' ? parseSubjects(c.subjects) : subjectsFromFields(fields, ev.namespace);
      const role = c.role ?? fieldText(fields['ka.req.binding.role']);
      if (role !== undefined) f.grantedRole = role;
      break;
    }
    default:
      break;
  }
  return f;
}
