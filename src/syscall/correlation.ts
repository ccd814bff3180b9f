/**
 * Correlation keys of syscall events (spec: outputs-ui-correlation.md §3),
 * strongest first: the apiserver audit ID an exec'd process carries in its
 * environment, the exec session (the process a container runtime shim
 * started for `kubectl exec`, with all its descendants), the container and
 * the pod UID.
 */
import type { SyscallEvent } from './event.js';
import type { Process } from './state/threads.js';

/** Environment variables that carry the audit ID of the exec request. */
const AUDIT_ID_VARS = ['KUBERNETES_EXEC_AUDIT_ID=', 'SPO_EXEC_REQUEST_UID='];
const SHIMS = /^(containerd-shim|conmon|runc|crun|runsc|docker-containerd)/;

function auditIdOf(p: Process): string | undefined {
  for (const kv of p.env) {
    for (const prefix of AUDIT_ID_VARS) if (kv.startsWith(prefix)) return kv.slice(prefix.length);
  }
  return undefined;
}

/**
 * The exec session a process belongs to: its nearest ancestor (or itself)
 * whose parent is a runtime shim and which is not the container's first
 * process (pid 1 in the container's pid namespace).
 */
function execSessionOf(e: SyscallEvent): Process | undefined {
  let cur: Process | undefined = e.proc;
  const table = e.state.threads;
  for (let depth = 0; cur && depth < 64; depth++) {
    const parent: Process | undefined = cur.ppid > 0 ? table.process(cur.ppid) : undefined;
    if (!parent) return undefined;
    if (SHIMS.test(parent.comm)) return cur.vpid !== 1 ? cur : undefined;
    cur = parent;
  }
  return undefined;
}

/** Longest command line carried as a key (the exec request's `command=` is matched against it). */
const MAX_CMDLINE = 1024;

export function syscallCorrelation(e: SyscallEvent): Readonly<Record<string, string>> | undefined {
  const out: Record<string, string> = {};
  const c = e.proc.container;
  if (c.id !== 'host') out.containerId = c.id;
  if (c.podUid) out.podUid = c.podUid;
  // Names from the pod metadata (Kubernetes API, CRI or a static file): the
  // audit side knows pods by namespace and name only.
  const meta = c.id !== 'host' && e.state.metadata ? e.memo('container-metadata', () => e.state.metadata!.lookup(c)) : undefined;
  if (meta?.pod) {
    out.namespace = meta.pod.namespace;
    out.pod = meta.pod.name;
    if (!out.podUid) out.podUid = meta.pod.uid;
  }
  if (meta?.name) out.container = meta.name;
  let auditId = auditIdOf(e.proc);
  if (!auditId) for (const a of e.state.threads.ancestors(e.proc, 16)) if ((auditId = auditIdOf(a))) break;
  if (auditId) out.auditId = auditId;
  if (c.id !== 'host') {
    const session = execSessionOf(e);
    if (session) {
      out.execSession = `${c.id}:${session.pid}:${session.startTs}`;
      const cmdline = [session.comm, ...session.args].join(' ');
      out.execCommand = cmdline.length > MAX_CMDLINE ? cmdline.slice(0, MAX_CMDLINE) : cmdline;
    }
  }
  out.pid = String(e.proc.pid);
  return out;
}
