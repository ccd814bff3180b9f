/**
 * Which syscalls a sensor must capture: those the enabled rules can match
 * (the rule index says), plus those the state machine needs to keep
 * processes, files and sockets right even when no rule looks at them (a
 * rule on `connect` is useless if `socket`/`dup2`/`close` went unseen).
 */
import type { Ruleset } from '../engine/ruleset.js';
import { EVENT_TYPE_NAMES, PSEUDO_BASE, eventTypeCode } from './event-types.js';

/** Syscalls the state needs, whatever the rules (Falco's "base syscalls" idea). */
export const STATE_SYSCALLS: readonly string[] = [
  'clone', 'clone3', 'fork', 'vfork', 'execve', 'execveat', 'procexit',
  'open', 'openat', 'openat2', 'creat', 'memfd_create', 'close', 'dup', 'dup2', 'dup3', 'pipe', 'pipe2',
  'socket', 'socketpair', 'connect', 'accept', 'accept4', 'bind', 'listen',
  'chdir', 'fchdir', 'setuid', 'setgid', 'setreuid', 'setregid', 'setresuid', 'setresgid', 'prctl',
];

export interface CaptureSet {
  /** Event type names to capture. */
  readonly names: readonly string[];
  /** Syscall numbers for the sensor's in-kernel filter (pseudo events are always on). */
  readonly syscallIds: readonly number[];
  /** True when some enabled rule needs every event type (no in-kernel filtering possible). */
  readonly everything: boolean;
}

/** The capture set for a ruleset's enabled syscall rules. */
export function captureSet(ruleset: Ruleset): CaptureSet {
  const fromRules = ruleset.requiredIndexValues('syscall');
  const names = new Set<string>(STATE_SYSCALLS);
  if (fromRules === undefined) {
    for (const n of EVENT_TYPE_NAMES) names.add(n);
  } else {
    for (const n of fromRules) names.add(n);
  }
  const syscallIds = [...names].map((n) => eventTypeCode(n)).filter((c): c is number => c !== undefined && c < PSEUDO_BASE).sort((a, b) => a - b);
  return { names: [...names].sort(), syscallIds, everything: fromRules === undefined };
}
