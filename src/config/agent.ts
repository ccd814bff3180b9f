/**
 * The node agent's settings (`tiercel agent`): the sensor's ring buffers,
 * the health/metrics web server and what to do about dropped events. Key
 * names are Falco's where Falco has the concept (`webserver`,
 * `syscall_event_drops`); the sensor's own knobs live under `agent`.
 */
import { type AnalyzerForwardConfig, readAnalyzerForward } from './forward.js';
import { type BaseSyscalls, unknownSyscalls } from '../syscall/capture-set.js';
import { type MapReader } from './read.js';
import { DEFAULT_CRI_SOCKETS } from '../k8s/cri/sockets.js';
import { type ListenAddress, parseListen } from './schema.js';

/** Falco's webserver port, so probes and dashboards written for Falco keep working. */
export const AGENT_DEFAULT_PORT = 8765;
export const DEFAULT_RING_BYTES = 8 * 1024 * 1024;

export type DropAction = 'ignore' | 'log' | 'alert' | 'exit';

/** `agent.syscall_attach`: how the sensor records syscalls (docs/agent.md). */
export type SyscallAttach = 'auto' | 'fexit' | 'sys_exit';
const SYSCALL_ATTACH: readonly SyscallAttach[] = ['auto', 'fexit', 'sys_exit'];

export interface SyscallEventDropsConfig {
  /** Act only when dropped / (delivered + dropped) in an interval exceeds this fraction (Falco: 0.1). */
  readonly threshold: number;
  readonly actions: readonly DropAction[];
  /** Token bucket for the actions: tokens per second and bucket size (Falco: 1/30 s, 1). */
  readonly rate: number;
  readonly maxBurst: number;
}

export interface AgentConfig {
  /** Where /healthz, /readyz and /metrics are served; undefined when `webserver.enabled` is false. */
  readonly listen: ListenAddress | undefined;
  /** Bytes per sensor ring buffer (a power of two, multiple of the page size). */
  readonly ringBytes: number;
  /** CPUs sharing one ring (Falco's `cpus_for_each_buffer`). */
  readonly cpusPerRing: number;
  /** A fexit program per selected syscall, the one sys_exit tracepoint program, or the first that works. */
  readonly syscallAttach: SyscallAttach;
  /** How often the sensor's counters are read (drops, ring usage). */
  readonly statsIntervalMs: number;
  /** Most processes the state keeps before evicting the least recently seen. */
  readonly maxProcesses: number;
  /** Where the host's filesystem is mounted (`/host` in the DaemonSet; Falco's HOST_ROOT). */
  readonly hostRoot: string;
  /** Container and pod metadata file (YAML/JSON, see docs/syscall-source.md), if any. */
  readonly metadataFile: string | undefined;
  /** Also write every record the agent evaluates to this capture file. */
  readonly captureFile: string | undefined;
  readonly drops: SyscallEventDropsConfig;
  /** Falco's `base_syscalls`: which state syscalls to capture besides the rules' own. */
  readonly baseSyscalls: BaseSyscalls;
  /** Pod metadata from the Kubernetes API (`agent.kubernetes`); undefined when off. */
  readonly kubernetes: KubernetesAgentConfig | undefined;
  /** Container metadata from the runtime's CRI socket (`agent.cri`); undefined when off (`socket: []`). */
  readonly cri: CriAgentConfig | undefined;
  /** Where alerts are forwarded for correlation (`agent.analyzer`); undefined: nowhere. */
  readonly analyzer: AnalyzerForwardConfig | undefined;
}

/** `agent.kubernetes`: watch this node's pods for the `container.*` and `k8s.*` fields. */
export interface KubernetesAgentConfig {
  /** A kubeconfig file; without it, the pod's service account (in-cluster). */
  readonly kubeconfig: string | undefined;
  /** The node whose pods are watched; default NODE_NAME, else the host name. */
  readonly nodeName: string | undefined;
  /** `enabled: true`: the agent does not start without it; `auto`: it starts anyway, with a warning. */
  readonly required: boolean;
}

/** `agent.cri`: container names and images from the node's runtime (containerd, cri-o) over its CRI socket. */
export interface CriAgentConfig {
  /** Host paths of the sockets to try, in order (the agent looks under host_root). */
  readonly sockets: readonly string[];
  /** Time between two lists of the runtime's containers (ms). */
  readonly refreshMs: number;
}

/** `socket`: a path or a list (default: the runtimes' usual sockets); an empty list turns it off. */
function readCri(k: MapReader): CriAgentConfig | undefined {
  const sockets = k.stringList('socket') ?? [...DEFAULT_CRI_SOCKETS];
  sockets.forEach((s, i) => {
    if (!s.startsWith('/')) throw k.error(`socket[${i}]`, `expected an absolute path, got "${s.slice(0, 60)}"`);
  });
  const refreshMs = k.int('refresh_interval_ms', 10_000, 1000, 600_000);
  k.rejectUnknown();
  return sockets.length ? { sockets, refreshMs } : undefined;
}

const DROP_ACTIONS: readonly DropAction[] = ['ignore', 'log', 'alert', 'exit'];

/**
 * `agent.kubernetes.enabled`: `auto` (the default) turns it on in a pod
 * (KUBERNETES_SERVICE_HOST is set in every container) or when a kubeconfig
 * is given; `true` / `false` force it.
 */
function readKubernetes(k: MapReader, env: NodeJS.ProcessEnv): KubernetesAgentConfig | undefined {
  const raw = k.get('enabled');
  const mode = raw === undefined || raw === null || raw === 'auto' ? 'auto' : raw === true || raw === 'true' ? 'on' : raw === false || raw === 'false' ? 'off' : undefined;
  if (mode === undefined) throw k.error('enabled', `expected auto, true or false, got ${typeof raw === 'string' ? `"${raw.slice(0, 60)}"` : JSON.stringify(raw)?.slice(0, 60)}`);
  const kubeconfig = k.optionalString('kubeconfig');
  const nodeName = k.optionalString('node_name');
  k.rejectUnknown();
  if (nodeName !== undefined && !/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(nodeName)) {
    throw k.error('node_name', `expected a node name (lower-case DNS subdomain), got "${nodeName.slice(0, 60)}"`);
  }
  const on = mode === 'on' || (mode === 'auto' && (kubeconfig !== undefined || Boolean(env['KUBERNETES_SERVICE_HOST'])));
  return on ? { kubeconfig, nodeName, required: mode === 'on' } : undefined;
}

export function readAgentConfig(
  agent: MapReader, webserver: MapReader, drops: MapReader, base: MapReader, env: NodeJS.ProcessEnv, warnings: string[],
): AgentConfig {
  const ringBytes = agent.bytes('ring_buffer_bytes', DEFAULT_RING_BYTES, 64 * 1024, 1024 ** 3);
  if ((ringBytes & (ringBytes - 1)) !== 0) {
    throw agent.error('ring_buffer_bytes', `must be a power of two (e.g. 8MiB), got ${ringBytes}`);
  }
  const cpusPerRing = agent.int('cpus_for_each_buffer', 1, 1, 4096);
  const syscallAttach = agent.string('syscall_attach', 'sys_exit');
  if (!(SYSCALL_ATTACH as readonly string[]).includes(syscallAttach)) {
    throw agent.error('syscall_attach', `expected one of ${SYSCALL_ATTACH.join(', ')}, got "${syscallAttach.slice(0, 60)}"`);
  }
  const statsIntervalMs = agent.int('stats_interval_ms', 1000, 100, 60_000);
  const maxProcesses = agent.int('max_processes', 131_072, 1024, 10_000_000);
  const hostRoot = agent.string('host_root', env['HOST_ROOT'] || '/');
  const metadataFile = agent.optionalString('metadata_file');
  const captureFile = agent.optionalString('capture_file');
  const kubernetes = readKubernetes(agent.map('kubernetes'), env);
  const cri = readCri(agent.map('cri'));
  const analyzer = readAnalyzerForward(agent.map('analyzer'), env);
  agent.rejectUnknown();

  // Falco's webserver keys; unknown Falco keys (ssl, prometheus_metrics_enabled...) are accepted and ignored.
  const enabled = webserver.bool('enabled', true);
  const host = webserver.string('listen_address', '127.0.0.1');
  const port = webserver.int('listen_port', AGENT_DEFAULT_PORT, 0, 65535);
  const listen = parseListen(`${host.includes(':') ? `[${host}]` : host}:${port}`);
  if (!listen) throw webserver.error('listen_address', `expected an IP address or host name, got "${host}"`);

  const threshold = drops.number('threshold', 0.1, 0, 1);
  const actions = (drops.stringList('actions') ?? ['log', 'alert']).map((a, i) => {
    if (!(DROP_ACTIONS as readonly string[]).includes(a)) {
      throw drops.error(`actions[${i}]`, `expected one of ${DROP_ACTIONS.join(', ')}, got "${a}"`);
    }
    return a as DropAction;
  });
  const rate = drops.number('rate', 0.03333, 0, 1_000_000);
  const maxBurst = drops.int('max_burst', 1, 1, 1_000_000);
  drops.get('simulate_drops');

  const customSet = base.stringList('custom_set') ?? [];
  const unknown = unknownSyscalls(customSet);
  if (unknown.length) warnings.push(`base_syscalls.custom_set: not syscalls on x86_64, ignored: ${unknown.join(', ')}`);
  const repair = base.bool('repair', false);
  if (base.bool('all', false)) warnings.push('base_syscalls.all: not supported, ignored (the sensor captures what the rules need plus the state syscalls; list more in custom_set)');

  return {
    listen: enabled ? listen : undefined,
    ringBytes, cpusPerRing, syscallAttach: syscallAttach as SyscallAttach, statsIntervalMs, maxProcesses, hostRoot, metadataFile, captureFile,
    drops: { threshold, actions: actions.includes('ignore') ? [] : actions, rate, maxBurst },
    baseSyscalls: { customSet, repair },
    kubernetes,
    cri,
    analyzer,
  };
}
