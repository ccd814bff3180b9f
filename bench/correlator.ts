/**
 * Correlator throughput: alerts/s through `Correlator.ingest`, alone and with
 * everything the analyzer does before it for an agent's POST (JSON.parse of
 * the Falco-schema body, `parseAlertJson`). Goal: ≥ 10 000 alerts/s.
 *
 * The workload is a busy cluster compressed in time: 2 000 pods on 50 nodes,
 * events 100 µs apart (so the 30 min window holds everything and the indexes
 * stay full), mixing
 * - storms: the same rule on the same executable in a pod, again and again;
 * - single alerts from pods' own processes;
 * - exec stories: the exec request (a context event, sometimes arriving after
 *   the session's alerts), then 3 to 5 alerts of the session, half with the
 *   audit ID in the environment;
 * - audit alerts by a few dozen users, secret reads by service accounts,
 *   risky pod creations and (rare) role bindings: context events.
 *
 *   node --import tsx bench/correlator.ts
 */
import { availableParallelism, loadavg } from 'node:os';
import { Correlator } from '../src/incidents/correlator.js';
import { evidenceFromAlert, parseAlertJson } from '../src/incidents/evidence.js';
import { CONTEXT_RULES } from '../src/incidents/audit-context.js';
import type { Alert } from '../src/engine/alert.js';
import { alertJson } from '../src/engine/alert.js';
import type { StoredAlert } from '../src/incidents/model.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 200_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const PODS = 2000;
const NODES = 50;
const T0 = 1_717_000_000_000_000_000n;
const STEP = 100_000n; // 100 µs of event time per event

/** Deterministic pseudo-random numbers (xorshift32). */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

interface Pod {
  ns: string;
  name: string;
  uid: string;
  container: string;
  node: string;
}

const SYSCALL_RULES = [
  { rule: 'Terminal shell in container', priority: 'Notice', tags: ['container', 'shell', 'mitre_execution'], exe: '/bin/bash' },
  { rule: 'Launch Ingress Remote File Copy Tools in Container', priority: 'Notice', tags: ['container', 'network', 'mitre_command_and_control'], exe: '/usr/bin/curl' },
  { rule: 'Drop and execute new binary in container', priority: 'Critical', tags: ['container', 'process', 'mitre_persistence'], exe: '/tmp/x' },
  { rule: 'Read sensitive file untrusted', priority: 'Warning', tags: ['filesystem', 'mitre_credential_access'], exe: '/usr/bin/cat' },
  { rule: 'Contact K8S API Server From Container', priority: 'Notice', tags: ['network', 'k8s', 'mitre_discovery'], exe: '/usr/bin/kubectl' },
] as const;

function syscallAlert(time: bigint, pod: Pod, rule: (typeof SYSCALL_RULES)[number], pid: number, session?: string, auditId?: string): Alert {
  const correlation: Record<string, string> = { containerId: pod.container, podUid: pod.uid, pid: String(pid) };
  if (session) correlation.execSession = session;
  if (auditId) correlation.auditId = auditId;
  return {
    time,
    rule: rule.rule,
    priority: rule.priority,
    source: 'syscall',
    tags: rule.tags,
    message: `${rule.rule} | process=${rule.exe.split('/').pop()} proc_exepath=${rule.exe} parent=bash command=${rule.exe} -x terminal=34816`,
    outputFields: {
      'evt.time': time,
      'evt.type': 'execve',
      'user.name': 'root',
      'proc.name': rule.exe.split('/').pop()!,
      'proc.exepath': rule.exe,
      'proc.cmdline': `${rule.exe.split('/').pop()} -x`,
      'proc.pname': 'bash',
      'proc.tty': 34816,
      'container.id': pod.container,
      'k8s.ns.name': pod.ns,
      'k8s.pod.name': pod.name,
    },
    hostname: pod.node,
    correlation,
  };
}

function auditAlert(time: bigint, user: string, extra: Record<string, string>, rule: string, resource: string): Alert {
  return {
    time,
    rule,
    priority: 'Warning',
    source: 'k8s_audit',
    tags: ['k8s'],
    message: `${rule} (user=${user})`,
    outputFields: { 'ka.user.name': user, 'ka.target.resource': resource, 'ka.verb': extra.verb ?? 'create' },
    hostname: 'analyzer',
    correlation: { user, resource, verb: 'create', ...extra },
  };
}

function contextEvidence(id: string, time: bigint, rule: string, correlation: Record<string, string>, fields: Record<string, string | string[]> = {}): StoredAlert {
  const base = evidenceFromAlert(
    { time, rule, priority: 'Informational', source: 'k8s_audit', tags: ['context', 'k8s'], message: rule, outputFields: fields, hostname: 'analyzer', correlation },
    { id, receivedAt: 0 },
  );
  return { ...base, kind: 'context' };
}

/** The evidence stream, in arrival order; `json` holds the agents' alerts as POSTed. */
function workload(): { evidence: StoredAlert[]; json: (string | StoredAlert)[] } {
  const r = rng(42);
  const pods: Pod[] = [];
  for (let i = 0; i < PODS; i++) {
    const ns = `ns-${i % 40}`;
    pods.push({ ns, name: `app-${i}`, uid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, container: (0x100000000000 + i).toString(16), node: `node-${i % NODES}` });
  }
  const evidence: StoredAlert[] = [];
  const json: (string | StoredAlert)[] = [];
  let n = 0;
  let t = T0;
  const push = (e: StoredAlert, alert?: Alert): void => {
    evidence.push(e);
    // Agents post syscall alerts as JSON; audit evidence is made inside the analyzer.
    json.push(alert && alert.source === 'syscall' ? alertJson({ ...alert, correlation: { ...alert.correlation, id: e.id } }).replace(/^\{/, `{"id":"${e.id}",`) : e);
  };
  const id = (): string => `00000000-0000-4000-9000-${String(++n).padStart(12, '0')}`;
  while (evidence.length < EVENTS) {
    t += STEP;
    const pod = pods[Math.floor(r() * PODS)]!;
    const p = r();
    if (p < 0.45) {
      // A storm: the same alert in a pod that keeps doing it.
      const storming = pods[Math.floor(r() * 50)]!;
      const a = syscallAlert(t, storming, SYSCALL_RULES[3], 1);
      push(evidenceFromAlert(a, { id: id(), receivedAt: 0 }), a);
    } else if (p < 0.7) {
      const a = syscallAlert(t, pod, SYSCALL_RULES[Math.floor(r() * SYSCALL_RULES.length)]!, 1 + Math.floor(r() * 50));
      push(evidenceFromAlert(a, { id: id(), receivedAt: 0 }), a);
    } else if (p < 0.88) {
      // An exec story.
      const user = `user-${Math.floor(r() * 40)}`;
      const auditId = `aud-${n}`;
      const pid = 10_000 + n;
      const session = `${pod.container}:${pid}:${t}`;
      const withEnv = r() < 0.5;
      const exec = contextEvidence(id(), t, CONTEXT_RULES.exec, {
        auditId, user, verb: 'create', resource: 'pods', subresource: 'exec', namespace: pod.ns, name: pod.name, pod: pod.name, command: 'bash',
      });
      const late = r() < 0.3;
      if (!late) push(exec);
      const steps = 3 + Math.floor(r() * 3);
      for (let s = 0; s < steps; s++) {
        t += STEP;
        const a = syscallAlert(t, pod, SYSCALL_RULES[s % SYSCALL_RULES.length]!, pid + s, session, withEnv ? auditId : undefined);
        push(evidenceFromAlert(a, { id: id(), receivedAt: 0 }), a);
      }
      if (late) push(exec);
    } else if (p < 0.94) {
      const user = `user-${Math.floor(r() * 40)}`;
      const a = auditAlert(t, user, { auditId: `aud-${n}`, namespace: pod.ns, name: `cm-${n % 100}` }, 'Create Configmap With Private Credentials', 'configmaps');
      push(evidenceFromAlert(a, { id: id(), receivedAt: 0 }), a);
    } else if (p < 0.97) {
      const sa = `system:serviceaccount:${pod.ns}:sa-${pod.name}`;
      push(contextEvidence(id(), t, CONTEXT_RULES.secretRead, {
        auditId: `aud-${n}`, user: sa, verb: 'get', resource: 'secrets', namespace: pod.ns, pod: pod.name, podUid: pod.uid, serviceAccount: sa,
      }));
    } else if (p < 0.998) {
      push(contextEvidence(id(), t, CONTEXT_RULES.riskyPod, {
        auditId: `aud-${n}`, user: `user-${Math.floor(r() * 40)}`, verb: 'create', resource: 'pods', namespace: pod.ns, name: pod.name, pod: pod.name, podUid: pod.uid,
      }, { 'pod.host_access': ['privileged'] }));
    } else {
      push(contextEvidence(id(), t, CONTEXT_RULES.binding, {
        // Rare, and mostly to people who are not otherwise busy (on-call engineers, new hires).
        auditId: `aud-${n}`, user: 'admin', verb: 'create', resource: 'clusterrolebindings', name: `b-${n}`, role: 'cluster-admin', subjects: JSON.stringify([r() < 0.1 ? `user-${Math.floor(r() * 40)}` : `oncall-${n}`]),
      }));
    }
  }
  return { evidence, json };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function round(evidence: readonly StoredAlert[], json: readonly (string | StoredAlert)[] | undefined): { perSecond: number; incidents: number; pending: number } {
  const correlator = new Correlator({ now: () => Number(T0 / 1_000_000n) + 3_600_000 });
  const started = performance.now();
  for (let i = 0; i < evidence.length; i += BATCH) {
    let batch: readonly StoredAlert[];
    if (json) {
      batch = json.slice(i, i + BATCH).map((x) => (typeof x === 'string' ? parseAlertJson(JSON.parse(x), 0) : x));
    } else {
      batch = evidence.slice(i, i + BATCH);
    }
    correlator.ingest(batch);
  }
  const seconds = (performance.now() - started) / 1000;
  return { perSecond: evidence.length / seconds, incidents: correlator.size.incidents, pending: correlator.size.pending };
}

const { evidence, json } = workload();
const contexts = evidence.filter((e) => e.kind === 'context').length;
console.log(`correlator bench: ${evidence.length} pieces of evidence (${contexts} context events), batches of ${BATCH}, ${ROUNDS} rounds`);
round(evidence, undefined); // warm-up (JIT)
const alone: number[] = [];
const full: number[] = [];
let last = { perSecond: 0, incidents: 0, pending: 0 };
for (let i = 0; i < ROUNDS; i++) {
  last = round(evidence, undefined);
  alone.push(last.perSecond);
  full.push(round(evidence, json).perSecond);
}
console.log(`  ingest only:                         ${Math.round(median(alone)).toLocaleString('en-US')} alerts/s (median)`);
console.log(`  JSON.parse + parseAlertJson + ingest: ${Math.round(median(full)).toLocaleString('en-US')} alerts/s (median)`);
console.log(`  held at the end: ${last.incidents} incidents, ${last.pending} context events waiting`);
console.log(`  (load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${availableParallelism()} cores: figures on a shared machine vary)`);
