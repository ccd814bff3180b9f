/**
 * Alerts as a cluster's agents and audit pipeline produce them, in Falco's
 * JSON schema with Tiercel's id and correlation keys: exec sessions in pods
 * (the exec request's audit alert, then a shell and tools, half of the
 * sessions with the audit ID in their environment), alert storms (the same
 * rule, container and executable over and over) and scattered alerts in
 * other pods. For the incident benchmarks.
 */
import { randomBytes, randomUUID } from 'node:crypto';

const NAMESPACES = Array.from({ length: 30 }, (_, i) => `team-${i}`);
const USERS = Array.from({ length: 20 }, (_, i) => `user${i}@example.com`);
const SHELL_RULES = ['Terminal Shell in Container', 'File Transfer Tool Launched in Container', 'Executable Run From Temporary Directory',
  'Sensitive File Read', 'Network Tool Launched in Container', 'Package Manager Launched in Container'];

interface Pod { ns: string; name: string; uid: string; containerId: string }
const PODS: Pod[] = Array.from({ length: 1000 }, (_, i) => ({
  ns: NAMESPACES[i % NAMESPACES.length]!, name: `web-${i}-${randomBytes(3).toString('hex')}`, uid: randomUUID(),
  containerId: randomBytes(6).toString('hex'),
}));

function iso(ns: bigint): string {
  const ms = ns / 1_000_000n;
  return new Date(Number(ms)).toISOString().replace('Z', '') + (ns % 1_000_000n).toString().padStart(6, '0') + 'Z';
}

function syscallAlert(t: bigint, rule: string, pod: Pod, extra: Record<string, string>, exe: string): Record<string, unknown> {
  return {
    id: randomUUID(), time: iso(t), rule, priority: rule.startsWith('Terminal') ? 'Notice' : 'Warning', source: 'syscall',
    tags: ['container', 'process', 'mitre_execution'],
    output: `${iso(t)}: Warning ${rule} | exe=${exe} container_id=${pod.containerId} pod=${pod.name} namespace=${pod.ns}`,
    output_fields: { 'evt.time': Number(t / 1000n), 'proc.exepath': exe, 'proc.name': exe.split('/').pop(), 'container.id': pod.containerId, 'k8s.pod.name': pod.name, 'k8s.ns.name': pod.ns },
    hostname: `node-${pod.containerId.charCodeAt(0) % 10}`,
    correlation: { containerId: pod.containerId, podUid: pod.uid, namespace: pod.ns, pod: pod.name, pid: String(1000 + Number(t % 30000n)), ...extra },
  };
}

function execAuditAlert(t: bigint, pod: Pod, user: string, auditId: string): Record<string, unknown> {
  return {
    id: randomUUID(), time: iso(t), rule: 'Attach/Exec Into Pod', priority: 'Notice', source: 'k8s_audit', tags: ['k8s', 'mitre_execution'],
    output: `${iso(t)}: Notice Exec/attach into pod (user=${user} ns=${pod.ns} pod=${pod.name} command=sh)`,
    output_fields: { 'ka.user.name': user, 'ka.target.namespace': pod.ns, 'ka.target.name': pod.name, 'ka.uri.param[command]': 'sh', 'ka.auditid': auditId },
    hostname: 'analyzer',
    correlation: { auditId, user, verb: 'create', resource: 'pods', subresource: 'exec', namespace: pod.ns, name: pod.name },
  };
}

/** About `n` alerts in event-time order: sessions, storms and background noise interleaved. */
export function generateAlerts(n: number): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  let t = BigInt(Date.now() - 3_600_000) * 1_000_000n;
  let i = 0;
  while (out.length < n) {
    t += 2_000_000n + BigInt(i % 7) * 1_000_000n;
    const pod = PODS[(i * 7919) % PODS.length]!;
    const kind = i % 10;
    if (kind < 4) {
      // An exec session: the audit alert, then 3-6 syscall alerts, half with the audit ID in their environment.
      const auditId = randomUUID();
      const user = USERS[i % USERS.length]!;
      const session = `${pod.containerId}:${4000 + i}:${t}`;
      const withId = i % 2 === 0;
      out.push(execAuditAlert(t, pod, user, auditId));
      for (let k = 0; k < 3 + (i % 4); k++) {
        t += 1_000_000n;
        out.push(syscallAlert(t, SHELL_RULES[k]!, pod, { execSession: session, execCommand: 'sh', ...(withId ? { auditId } : {}) }, k === 0 ? '/bin/sh' : `/usr/bin/tool${k}`));
      }
    } else if (kind < 7) {
      // A storm: the same alert, many times.
      for (let k = 0; k < 20; k++) {
        t += 100_000n;
        out.push(syscallAlert(t, 'Sensitive File Read', pod, {}, '/usr/sbin/nginx'));
      }
    } else {
      out.push(syscallAlert(t, SHELL_RULES[i % SHELL_RULES.length]!, pod, {}, `/usr/bin/app${i % 50}`));
    }
    i++;
  }
  return out.slice(0, n);
}

