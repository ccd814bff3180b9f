/**
 * MITRE ATT&CK tactics from Falco rule tags (`mitre_execution` →
 * `execution`), listed in the kill-chain order of the ATT&CK matrix so an
 * incident's tactics read as the story progressed.
 */

const TACTICS_IN_ORDER = [
  'reconnaissance',
  'resource_development',
  'initial_access',
  'execution',
  'persistence',
  'privilege_escalation',
  'defense_evasion',
  'credential_access',
  'discovery',
  'lateral_movement',
  'collection',
  'command_and_control',
  'exfiltration',
  'impact',
] as const;

const RANK = new Map<string, number>(TACTICS_IN_ORDER.map((t, i) => [t, i]));

/** The tactic a tag names, or undefined (only the 14 enterprise tactics count, not `mitre_anything`). */
export function tacticOfTag(tag: string): string | undefined {
  if (!tag.startsWith('mitre_')) return undefined;
  const name = tag.slice(6).toLowerCase();
  return RANK.has(name) ? name : undefined;
}

/** Sorts tactic names in kill-chain order (unknown names last, alphabetically). */
export function sortTactics(tactics: Iterable<string>): string[] {
  return [...tactics].sort((a, b) => (RANK.get(a) ?? 99) - (RANK.get(b) ?? 99) || (a < b ? -1 : a > b ? 1 : 0));
}
