/**
 * Event types of the syscall source: every x86_64 syscall (the record's
 * `type` is the syscall number) plus pseudo events above
 * TC_EVT_PSEUDO_BASE (native/wire.h). Names are what `evt.type` compares
 * against, as in Falco.
 */
import { SYSCALLS_X86_64 } from './syscall-table.js';

/** Mirrors `enum tc_pseudo_event` in native/wire.h (a test keeps them equal). */
export const PSEUDO_EVENTS = {
  procexit: 1024,
  drop: 1025,
  switch: 1026,
  signaldeliver: 1027,
  /** Capture files only: what the capturing state learned on the way (see capture-meta.ts). */
  capturemeta: 1028,
} as const;

export const PSEUDO_BASE = 1024;

const NAME_BY_CODE: string[] = [];
const CODE_BY_NAME = new Map<string, number>();
for (const [name, nr] of Object.entries(SYSCALLS_X86_64)) {
  NAME_BY_CODE[nr] = name;
  CODE_BY_NAME.set(name, nr);
}
for (const [name, code] of Object.entries(PSEUDO_EVENTS)) {
  NAME_BY_CODE[code] = name;
  CODE_BY_NAME.set(name, code);
}

/** Every event type name, the universe of `evt.type`. */
export const EVENT_TYPE_NAMES: readonly string[] = [...CODE_BY_NAME.keys()];

/** Name of an event type code (`syscall_<n>` for numbers the table does not know). */
export function eventTypeName(code: number): string {
  return NAME_BY_CODE[code] ?? `syscall_${code}`;
}

export function eventTypeCode(name: string): number | undefined {
  return CODE_BY_NAME.get(name);
}

/** True for syscall events (as opposed to pseudo events such as procexit). */
export function isSyscall(code: number): boolean {
  return code < PSEUDO_BASE;
}
