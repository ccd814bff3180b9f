/**
 * Rule priorities, in Falco's order: lower number = more severe.
 */
export const PRIORITIES = [
  'Emergency', 'Alert', 'Critical', 'Error', 'Warning', 'Notice', 'Informational', 'Debug',
] as const;

export type Priority = (typeof PRIORITIES)[number];

const BY_LOWER = new Map<string, Priority>(PRIORITIES.map((p) => [p.toLowerCase(), p]));
BY_LOWER.set('info', 'Informational');

/**
 * Parses a priority name case-insensitively; `info` is an alias of
 * `Informational`. Anything else (e.g. `WARN`) is not a priority.
 */
export function parsePriority(text: string): Priority | undefined {
  return BY_LOWER.get(text.trim().toLowerCase());
}

/** Numeric severity: 0 (Emergency) .. 7 (Debug). */
export function priorityRank(p: Priority): number {
  return PRIORITIES.indexOf(p);
}

/** True when `p` is at least as severe as `min`. */
export function atLeast(p: Priority, min: Priority): boolean {
  return priorityRank(p) <= priorityRank(min);
}
