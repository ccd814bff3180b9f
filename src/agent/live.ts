/**
 * Opening the live syscall stream, shared by `tiercel agent` and
 * `tiercel capture`: load the addon (or say what is missing), attach the
 * sensor, then seed the state from /proc. The sensor is attached *before*
 * the scan, so a process started during the scan is in the snapshot or in
 * the records waiting in the rings (or both, which the state tolerates),
 * never in neither. The caller starts the sensor's consumer.
 */
import { hostname as osHostname } from 'node:os';
import type { Logger } from 'pino';
import { getHostname } from '../engine/generic-fields.js';
import { StartupError } from '../server/server.js';
import { type NativeAddon, type Sensor, type SyscallAttachMode, checkPrerequisites, tryLoadNative } from '../syscall/native/index.js';
import { SyscallState } from '../syscall/state/index.js';
import type { MetadataProvider } from '../syscall/state/metadata.js';
import { scanHostWithStats } from '../syscall/state/proc-scan.js';
import type { HostSnapshot } from '../syscall/state/snapshot.js';
import { UserDatabase } from '../syscall/state/users.js';

/** The addon, the machine's prerequisites checked, or a StartupError naming what is missing. */
export function sensorAddon(): NativeAddon {
  const native = tryLoadNative();
  if (!native.addon) throw new StartupError('the eBPF sensor is not available', native.error.message.split('\n'));
  const pre = checkPrerequisites();
  const blocking = pre.problems.filter((p) => !p.startsWith('missing Debian packages'));
  if (blocking.length) throw new StartupError('the eBPF sensor cannot run here', blocking);
  return native.addon;
}

export interface LiveOptions {
  /** Event type codes to record (syscall numbers, procexit). */
  readonly interesting: readonly number[];
  readonly ringBytes: number;
  readonly cpusPerRing: number;
  /** `agent.syscall_attach` (default sys_exit). */
  readonly syscallAttach?: SyscallAttachMode;
  /** Where the host's filesystem is mounted (`/` or `/host`). */
  readonly hostRoot: string;
  readonly maxProcesses: number;
  readonly metadata?: MetadataProvider;
  readonly logger: Logger;
  /** Called when the host's (undefined) or a container's users and groups were read or changed. */
  readonly onAccountsChanged?: (containerId: string | undefined) => void;
}

export interface LiveStream {
  readonly sensor: Sensor;
  readonly state: SyscallState;
  /** What the state was seeded with (a capture's header). */
  readonly snapshot: HostSnapshot;
}

/**
 * One line on how syscalls are recorded: the fexit programs cost only the
 * syscalls the rules select; sys_exit costs every syscall of the node, so
 * auto falling back to it is a warning with the reason.
 */
function logAttachment(sensor: Sensor, logger: Logger): void {
  const a = sensor.attachment();
  const timing = { loadMs: Math.round(a.loadMs), attachMs: Math.round(a.attachMs) };
  if (a.mode === 'fexit') {
    logger.info({ ...timing, syscalls: a.fexitSyscalls.length }, `syscalls recorded by fexit programs on ${a.fexitSyscalls.length} syscalls`);
  } else if (a.fallbackReason) {
    logger.warn({ ...timing, reason: a.fallbackReason }, `syscalls recorded through sys_exit (every syscall pays for it): ${a.fallbackReason}`);
  } else {
    logger.info(timing, 'syscalls recorded through sys_exit (agent.syscall_attach: sys_exit)');
  }
}

/** Attaches the sensor and seeds the state. Throws StartupError; detaches on failure. */
export async function openLiveStream(options: LiveOptions): Promise<LiveStream> {
  const addon = sensorAddon();
  let sensor: Sensor;
  try {
    sensor = addon.openSensor({
      interesting: [...options.interesting], ringBytes: options.ringBytes, cpusPerRing: options.cpusPerRing,
      attach: options.syscallAttach ?? 'sys_exit',
    });
  } catch (e) {
    throw new StartupError('the eBPF sensor could not be loaded', (e as Error).message.split('\n'));
  }
  logAttachment(sensor, options.logger);
  try {
    const hostname = getHostname() || osHostname();
    const users = new UserDatabase({
      hostRoot: options.hostRoot,
      ...(options.onAccountsChanged ? { onAccountsChanged: options.onAccountsChanged } : {}),
    });
    const started = Date.now();
    const { snapshot, stats } = await scanHostWithStats({ hostRoot: options.hostRoot, users, hostname });
    const procDir = `${options.hostRoot === '/' ? '' : options.hostRoot}/proc`;
    options.logger.info({ processes: snapshot.processes.length, ms: Date.now() - started, vanished: stats.vanished },
      `state seeded from ${procDir}`);
    if (stats.permissionDenied > 0) {
      options.logger.warn({ processes: stats.permissionDenied },
        `${stats.permissionDenied} processes could not be read completely (permission denied: executable, environment or open files ` +
        `missing until they exec or open again); the agent needs CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH, and no AppArmor/SELinux confinement of ${procDir}`);
    }
    if (stats.processesDropped > 0 || stats.failed > 0) {
      options.logger.warn({ dropped: stats.processesDropped, failed: stats.failed }, 'some processes were left out of the /proc scan');
    }
    const state = new SyscallState({
      users, hostname, maxProcesses: options.maxProcesses, ...(options.metadata ? { metadata: options.metadata } : {}),
    });
    state.seed(snapshot);
    return { sensor, state, snapshot };
  } catch (e) {
    sensor.stop();
    throw e;
  }
}
