/**
 * Context events: audit events that no rule needs to fire on but that join
 * alerts into a story — who exec'd into the pod where a shell then ran, who
 * created the privileged pod that later wrote the host's /etc, who was
 * granted cluster-admin, which service account read a secret.
 *
 * This runs on every audit event, so anything else is turned away after one
 * or two property reads. Everything read here is attacker-controlled JSON of
 * any type; nothing is trusted to be a string until checked.
 */
import type { Alert } from '../engine/alert.js';
import { getHostname } from '../engine/generic-fields.js';
import type { AuditEvent } from '../audit/event.js';
import { parseRfc3339Nanos } from '../audit/time.js';
import { evidenceFromAlert } from './evidence.js';
import { contentUuid } from './ids.js';
import type { FieldValue, StoredAlert } from './model.js';

export const CONTEXT_RULES = {
  exec: '(context) exec into pod',
  attach: '(context) attach to pod',
  portforward: '(context) port-forward to pod',
  riskyPod: '(context) pod with host access created',
  binding: '(context) role binding created',
  secretRead: '(context) secret read by service account',
} as const;

/** Bounds on what is copied out of one event (argv, containers, volumes, subjects). */
const MAX_ITEMS = 64;
const MAX_TEXT = 4096;
const SERVICE_ACCOUNT_PREFIX = 'system:serviceaccount:';

type Json = unknown;

function get(v: Json, key: string): Json {
  // Own properties only: a key such as `constructor` must not reach Object.prototype.
  return v !== null && typeof v === 'object' && !Array.isArray(v) && Object.hasOwn(v, key)
    ? (v as Record<string, Json>)[key]
    : undefined;
}

function str(v: Json): string | undefined {
  return typeof v === 'string' && v !== '' ? (v.length > MAX_TEXT ? v.slice(0, MAX_TEXT) : v) : undefined;
}

function list(v: Json): readonly Json[] {
  return Array.isArray(v) ? (v.length > MAX_ITEMS ? v.slice(0, MAX_ITEMS) : v) : [];
}

/** The first string of `user.extra[key]` (the apiserver puts bound-token claims there as lists). */
function extra(user: Json, key: string): string | undefined {
  return str(list(get(get(user, 'extra'), key))[0]);
}

interface RequestFacts {
  readonly auditId: string;
  readonly verb: string;
  readonly user: string;
  readonly impersonated?: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly subresource?: string;
  readonly time: bigint;
}

/** The common part, or undefined when the request failed or its outcome is not known yet. */
function requestFacts(evt: AuditEvent): RequestFacts | undefined {
  const obj = evt.obj;
  const auditId = str(obj['auditID']);
  const verb = str(obj['verb']);
  const user = str(get(obj['user'], 'username'));
  if (!auditId || !verb || !user) return undefined;
  const stage = obj['stage'];
  if (stage === 'RequestReceived' || stage === 'Panic') return undefined;
  const code = get(obj['responseStatus'], 'code');
  if (typeof code === 'number' && code >= 400) return undefined;
  const ref = obj['objectRef'];
  // The request time, not the stage's: an exec's ResponseStarted and
  // ResponseComplete events (minutes apart) then describe one request at one time.
  const time = parseRfc3339Nanos(obj['requestReceivedTimestamp']) ?? evt.time;
  const facts: { -readonly [K in keyof RequestFacts]: RequestFacts[K] } = { auditId, verb, user, time };
  const impersonated = str(get(obj['impersonatedUser'], 'username'));
  if (impersonated) facts.impersonated = impersonated;
  const namespace = str(get(ref, 'namespace'));
  if (namespace) facts.namespace = namespace;
  const name = str(get(ref, 'name'));
  if (name) facts.name = name;
  const sub = str(get(ref, 'subresource'));
  if (sub) facts.subresource = sub;
  return facts;
}

/** The identity the request acted as: the impersonated user when there is one (RBAC checked that one). */
function actingUser(r: RequestFacts): string {
  return r.impersonated ?? r.user;
}

function baseFields(r: RequestFacts, resource: string): Record<string, FieldValue> {
  const f: Record<string, FieldValue> = {
    'ka.auditid': r.auditId,
    'ka.user.name': r.user,
    'ka.verb': r.verb,
    'ka.target.resource': resource,
    'ka.target.namespace': r.namespace ?? null,
    'ka.target.name': r.name ?? null,
  };
  if (r.impersonated) f['ka.impuser.name'] = r.impersonated;
  if (r.subresource) f['ka.target.subresource'] = r.subresource;
  return f;
}

function baseCorrelation(r: RequestFacts, resource: string): Record<string, string> {
  const c: Record<string, string> = { auditId: r.auditId, user: actingUser(r), verb: r.verb, resource };
  if (r.impersonated) c.authenticatedUser = r.user;
  if (r.subresource) c.subresource = r.subresource;
  if (r.namespace) c.namespace = r.namespace;
  if (r.name) c.name = r.name;
  return c;
}

function build(
  r: RequestFacts,
  rule: string,
  message: string,
  fields: Record<string, FieldValue>,
  correlation: Record<string, string>,
): StoredAlert {
  const alert: Alert = {
    time: r.time,
    rule,
    priority: 'Informational',
    source: 'k8s_audit',
    tags: ['context', 'k8s'],
    message,
    outputFields: fields,
    hostname: getHostname(),
    correlation,
  };
  // One id per request: the stages of one exec request are one piece of evidence.
  const id = contentUuid('context', rule, r.auditId);
  return { ...evidenceFromAlert(alert, { id, receivedAt: Date.now() }), kind: 'context' };
}

/** `command=` parameters of the request URI, in order: the exec'd argv. */
function uriParams(evt: AuditEvent): URLSearchParams | undefined {
  const uri = evt.obj['requestURI'];
  if (typeof uri !== 'string') return undefined;
  const q = uri.indexOf('?');
  return q < 0 ? undefined : new URLSearchParams(uri.slice(q + 1, q + 1 + 64 * 1024));
}

function sessionRequest(evt: AuditEvent, r: RequestFacts): StoredAlert | undefined {
  const kind = r.subresource;
  if (kind !== 'exec' && kind !== 'attach' && kind !== 'portforward') return undefined;
  // kubectl ≥ 1.30 opens exec/attach over WebSocket: the request is a GET.
  if (r.verb !== 'create' && r.verb !== 'get') return undefined;
  if (!r.name || !r.namespace) return undefined;
  const params = uriParams(evt);
  const argv = (params?.getAll('command') ?? []).slice(0, MAX_ITEMS).map((a) => (a.length > MAX_TEXT ? a.slice(0, MAX_TEXT) : a));
  const container = str(params?.get('container'));
  const fields = baseFields(r, 'pods');
  fields['ka.uri.param[command]'] = argv[0] ?? null;
  fields['ka.uri.param[container]'] = container ?? null;
  if (argv.length) fields['exec.argv'] = argv;
  const correlation = baseCorrelation(r, 'pods');
  correlation.pod = r.name;
  if (container) correlation.container = container;
  if (argv.length) correlation.command = argv.join(' ');
  const where = `${r.namespace}/${r.name}${container ? ` container=${container}` : ''}`;
  const rule = kind === 'exec' ? CONTEXT_RULES.exec : kind === 'attach' ? CONTEXT_RULES.attach : CONTEXT_RULES.portforward;
  const what = kind === 'exec' ? `exec into ${where} command=${argv.join(' ')}` : kind === 'attach' ? `attach to ${where}` : `port-forward to ${where}`;
  return build(r, rule, `${actingUser(r)} ${what} (audit_id=${r.auditId})`, fields, correlation);
}

/** What makes a pod spec a way out of its container, in the order a reader cares. */
function hostAccess(spec: Json): { reasons: string[]; hostPaths: string[] } {
  const reasons: string[] = [];
  const hostPaths: string[] = [];
  let privileged = false;
  for (const key of ['containers', 'initContainers', 'ephemeralContainers']) {
    for (const c of list(get(spec, key))) if (get(get(c, 'securityContext'), 'privileged') === true) privileged = true;
  }
  if (privileged) reasons.push('privileged');
  for (const v of list(get(spec, 'volumes'))) {
    const path = str(get(get(v, 'hostPath'), 'path'));
    if (path) hostPaths.push(path);
  }
  if (hostPaths.length) reasons.push(`hostPath ${hostPaths.join(',')}`);
  if (get(spec, 'hostPID') === true) reasons.push('hostPID');
  if (get(spec, 'hostNetwork') === true) reasons.push('hostNetwork');
  if (get(spec, 'hostIPC') === true) reasons.push('hostIPC');
  return { reasons, hostPaths };
}

function podCreation(evt: AuditEvent, r: RequestFacts): StoredAlert | undefined {
  const ephemeral = r.subresource === 'ephemeralcontainers';
  if (r.subresource && !ephemeral) return undefined;
  if (r.verb !== 'create' && r.verb !== 'update' && !(ephemeral && r.verb === 'patch')) return undefined;
  const response = evt.obj['responseObject'];
  // The response is the pod as stored (a patch's request is only a patch).
  const pod = get(response, 'kind') === 'Pod' ? response : r.verb === 'patch' ? undefined : evt.obj['requestObject'];
  const spec = get(pod, 'spec');
  if (spec === undefined) return undefined;
  const { reasons, hostPaths } = hostAccess(spec);
  if (!reasons.length) return undefined;
  const meta = get(pod, 'metadata');
  const name = str(get(get(response, 'metadata'), 'name')) ?? r.name ?? str(get(meta, 'name'));
  const namespace = r.namespace ?? str(get(meta, 'namespace'));
  const uid = str(get(get(response, 'metadata'), 'uid'));
  const fields = baseFields(r, 'pods');
  fields['ka.target.name'] = name ?? null;
  fields['ka.target.namespace'] = namespace ?? null;
  fields['ka.resp.name'] = name ?? null;
  fields['pod.host_access'] = reasons;
  if (hostPaths.length) fields['ka.req.pod.volumes.hostpath'] = hostPaths;
  if (uid) fields['k8s.pod.uid'] = uid;
  const correlation = baseCorrelation(r, 'pods');
  if (name) {
    correlation.name = name;
    correlation.pod = name;
  }
  if (namespace) correlation.namespace = namespace;
  if (uid) correlation.podUid = uid;
  const action = ephemeral ? 'added an ephemeral container to' : r.verb === 'create' ? 'created' : 'updated';
  const message = `${actingUser(r)} ${action} pod ${namespace ?? '<NA>'}/${name ?? '<NA>'} with ${reasons.join(', ')} (audit_id=${r.auditId})`;
  return build(r, CONTEXT_RULES.riskyPod, message, fields, correlation);
}

/** A binding subject as the user name it authenticates as (`group:` for groups). */
function subjectName(s: Json, bindingNamespace: string | undefined): string | undefined {
  const name = str(get(s, 'name'));
  if (!name) return undefined;
  switch (get(s, 'kind')) {
    case 'User':
      return name;
    case 'Group':
      return `group:${name}`;
    case 'ServiceAccount': {
      const ns = str(get(s, 'namespace')) ?? bindingNamespace;
      return ns ? `${SERVICE_ACCOUNT_PREFIX}${ns}:${name}` : undefined;
    }
    default:
      return undefined;
  }
}

function roleBinding(evt: AuditEvent, r: RequestFacts, resource: string): StoredAlert | undefined {
  if (r.verb !== 'create' || r.subresource) return undefined;
  const binding = evt.obj['requestObject'] ?? evt.obj['responseObject'];
  const roleRef = get(binding, 'roleRef');
  const role = str(get(roleRef, 'name'));
  const roleKind = str(get(roleRef, 'kind')) ?? 'Role';
  const subjects: string[] = [];
  for (const s of list(get(binding, 'subjects'))) {
    const n = subjectName(s, r.namespace);
    if (n) subjects.push(n);
  }
  if (!role || !subjects.length) return undefined;
  const name = r.name ?? str(get(get(binding, 'metadata'), 'name'));
  const clusterAdmin = role === 'cluster-admin' && roleKind === 'ClusterRole';
  const fields = baseFields(r, resource);
  fields['ka.target.name'] = name ?? null;
  fields['ka.req.binding.role'] = role;
  fields['binding.subjects'] = subjects;
  fields['binding.cluster_admin'] = clusterAdmin;
  const correlation = baseCorrelation(r, resource);
  if (name) correlation.name = name;
  correlation.role = role;
  correlation.roleKind = roleKind;
  correlation.subjects = JSON.stringify(subjects);
  if (clusterAdmin) correlation.clusterAdmin = 'true';
  const scope = resource === 'rolebindings' ? ` in namespace ${r.namespace ?? '<NA>'}` : '';
  const message =
    `${actingUser(r)} bound ${roleKind} ${role}${clusterAdmin ? ' (full control of the cluster)' : ''} to ${subjects.join(', ')}` +
    `${scope} (binding=${name ?? '<NA>'} audit_id=${r.auditId})`;
  return build(r, CONTEXT_RULES.binding, message, fields, correlation);
}

function secretRead(evt: AuditEvent, r: RequestFacts): StoredAlert | undefined {
  if (r.verb !== 'get' && r.verb !== 'list' && r.verb !== 'watch') return undefined;
  const sa = actingUser(r);
  if (!sa.startsWith(SERVICE_ACCOUNT_PREFIX)) return undefined;
  const [saNamespace, saName] = sa.slice(SERVICE_ACCOUNT_PREFIX.length).split(':');
  if (!saNamespace || !saName) return undefined;
  const user = evt.obj['user'];
  // Bound service account tokens (every projected token since 1.21) carry the pod they were issued to.
  const pod = extra(user, 'authentication.kubernetes.io/pod-name');
  const podUid = extra(user, 'authentication.kubernetes.io/pod-uid');
  const node = extra(user, 'authentication.kubernetes.io/node-name');
  const fields = baseFields(r, 'secrets');
  fields['k8s.ns.name'] = saNamespace;
  fields['k8s.pod.name'] = pod ?? null;
  if (podUid) fields['k8s.pod.uid'] = podUid;
  if (node) fields['k8s.node.name'] = node;
  // Namespace and pod are the reader's (where the story continues); the secret's are kept apart.
  const correlation = baseCorrelation(r, 'secrets');
  delete correlation.name;
  correlation.namespace = saNamespace;
  correlation.serviceAccount = sa;
  if (r.namespace) correlation.secretNamespace = r.namespace;
  if (r.name) correlation.secretName = r.name;
  if (pod) correlation.pod = pod;
  if (podUid) correlation.podUid = podUid;
  if (node) correlation.node = node;
  const what = r.name ? `secret ${r.namespace ?? ''}/${r.name}` : `secrets${r.namespace ? ` in ${r.namespace}` : ' in all namespaces'}`;
  const from = pod ? ` from pod ${saNamespace}/${pod}` : '';
  return build(r, CONTEXT_RULES.secretRead, `${sa} ${r.verb} ${what}${from} (audit_id=${r.auditId})`, fields, correlation);
}

/**
 * The context event an audit event gives, or undefined (nearly always).
 * Failed requests give none: a forbidden exec started no session.
 */
export function contextFromAuditEvent(evt: AuditEvent): StoredAlert | undefined {
  const ref = evt.obj['objectRef'];
  const resource = get(ref, 'resource');
  if (resource !== 'pods' && resource !== 'secrets' && resource !== 'clusterrolebindings' && resource !== 'rolebindings') {
    return undefined;
  }
  if (!evt.hasAuditID) return undefined;
  const r = requestFacts(evt);
  if (r === undefined) return undefined;
  switch (resource) {
    case 'pods':
      return r.subresource === undefined || r.subresource === 'ephemeralcontainers' ? podCreation(evt, r) : sessionRequest(evt, r);
    case 'secrets':
      return secretRead(evt, r);
    default:
      return roleBinding(evt, r, resource);
  }
}
