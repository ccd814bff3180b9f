/**
 * An incident's severity: its most severe alert, raised one step when the
 * alerts form a chain (two or more distinct rules in two or more ATT&CK
 * tactics: a shell, then a download, then a dropped binary run).
 *
 * The raise stops at Critical. Falco keeps Alert and Emergency for rules
 * whose single event is already that grave; a chain of Warnings is worth a
 * closer look, not a page that outranks such rules. An alert that is itself
 * Alert or Emergency keeps its priority.
 */
import { PRIORITIES, type Priority, priorityRank } from '../engine/priority.js';

const CRITICAL_RANK = priorityRank('Critical');

export function isMultiStage(distinctRules: number, distinctTactics: number): boolean {
  return distinctRules >= 2 && distinctTactics >= 2;
}

export function incidentSeverity(highest: Priority, multiStage: boolean): Priority {
  const rank = priorityRank(highest);
  if (!multiStage || rank <= CRITICAL_RANK) return highest;
  return PRIORITIES[rank - 1]!;
}

/** The more severe of two priorities. */
export function moreSevere(a: Priority, b: Priority): Priority {
  return priorityRank(a) <= priorityRank(b) ? a : b;
}
