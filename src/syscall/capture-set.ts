/**
 * Which syscalls a sensor must capture: those the enabled rules can match
 * (the rule index says), plus those the state machine needs to keep
 * processes, files and sockets right even when no rule looks at them (a
 * rule on `connect` is useless if `socket`/`dup2`/`close` went unseen).
 *
 * Falco's `base_syscalls` settings change the second part: `custom_set`
 * replaces the state set (`!name` removes a syscall), and `repair` picks the
 * smallest state set the rules' syscalls need: the process lifecycle always,
 * the fd-tracking syscalls only when some selected syscall works on fds.
 */
import type { Ruleset } from '../engine/ruleset.js';
import { EVENT_TYPE_NAMES, PSEUDO_BASE, eventTypeCode } from './event-types.js';

/** Processes: creation, program, exit, credentials, working directory. */
export const PROCESS_SYSCALLS: readonly string[] = [
  'clone', 'clone3', 'fork', 'vfork', 'execve', 'execveat', 'procexit',
  'chdir', 'fchdir', 'setuid', 'setgid', 'setreuid', 'setregid', 'setresuid', 'setresgid', 'prctl',
];

/** Files and sockets: what creates, duplicates, names and closes fds. */
export const FD_SYSCALLS: readonly string[] = [
  'open', 'openat', 'openat2', 'creat', 'memfd_create', 'close', 'dup', 'dup2', 'dup3', 'pipe', 'pipe2',
  'socket', 'socketpair', 'connect', 'accept', 'accept4', 'bind', 'listen',
];

/** Syscalls the state needs, whatever the rules (Falco's default "base syscalls"). */
export const STATE_SYSCALLS: readonly string[] = [...PROCESS_SYSCALLS, ...FD_SYSCALLS];

/** Syscalls whose events name their objects by path or pid, so fd state adds nothing to them. */
const FD_FREE_SYSCALLS = new Set([
  'unlink', 'unlinkat', 'rename', 'renameat', 'renameat2', 'mkdir', 'mkdirat', 'rmdir', 'chmod', 'fchmodat',
  'chown', 'lchown', 'fchownat', 'link', 'linkat', 'symlink', 'symlinkat', 'mount', 'umount', 'umount2',
  'kill', 'tkill', 'tgkill', 'ptrace', 'init_module', 'delete_module', 'unshare', 'bpf', 'userfaultfd',
  'mknod', 'mknodat', 'truncate', 'execve', 'execveat',
]);

/** Falco's `base_syscalls` configuration. */
export interface BaseSyscalls {
  /** Replaces the default state set when non-empty; `!name` removes a syscall (rules' syscalls stay). */
  readonly customSet?: readonly string[];
  /** Add only the state syscalls the selected ones need. */
  readonly repair?: boolean;
}

export interface CaptureSet {
  /** Event type names to capture. */
  readonly names: readonly string[];
  /** Syscall numbers for the sensor's in-kernel filter (pseudo events are always on). */
  readonly syscallIds: readonly number[];
  /** True when some enabled rule needs every event type (no in-kernel filtering possible). */
  readonly everything: boolean;
}

/** Names in `base_syscalls.custom_set` that are not event types (for a config warning). */
export function unknownSyscalls(names: readonly string[]): string[] {
  return names.map((n) => n.replace(/^!/, '')).filter((n) => eventTypeCode(n) === undefined);
}

/** The capture set for a ruleset's enabled syscall rules. */
export function captureSet(ruleset: Ruleset, base: BaseSyscalls = {}): CaptureSet {
  const fromRules = ruleset.requiredIndexValues('syscall');
  const everything = fromRules === undefined;
  const rules = new Set<string>(everything ? EVENT_TYPE_NAMES : fromRules);
  const custom = (base.customSet ?? []).filter((n) => !n.startsWith('!'));
  const removed = new Set((base.customSet ?? []).filter((n) => n.startsWith('!')).map((n) => n.slice(1)));

  const names = new Set<string>(rules);
  if (custom.length > 0) for (const n of custom) names.add(n);
  else if (!base.repair) for (const n of STATE_SYSCALLS) if (!removed.has(n)) names.add(n);
  if (base.repair) {
    for (const n of PROCESS_SYSCALLS) names.add(n);
    const usesFds = [...names].some((n) => !PROCESS_SYSCALLS.includes(n) && !FD_FREE_SYSCALLS.has(n));
    if (usesFds) for (const n of FD_SYSCALLS) names.add(n);
  }
  // Removal applies to the state part only: a syscall a rule needs is always captured.
  for (const n of removed) if (!rules.has(n)) names.delete(n);

  const syscallIds = [...names].map((n) => eventTypeCode(n)).filter((c): c is number => c !== undefined && c < PSEUDO_BASE).sort((a, b) => a - b);
  return { names: [...names].sort(), syscallIds, everything };
}
