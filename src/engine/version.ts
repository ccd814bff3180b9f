/**
 * Versions Tiercel's engine answers to.
 *
 * `required_engine_version` in rules files is checked against the Falco
 * engine version whose rule language Tiercel implements (Falco 0.63.0's
 * engine), and `required_plugin_versions` against the plugins Tiercel's own
 * sources stand in for.
 */

/** The Falco rules-engine version Tiercel is compatible with. */
export const ENGINE_VERSION = '0.63.0';

export interface Semver {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
}

/** Parses `x.y.z` (an optional `-pre`/`+build` suffix is ignored); undefined when invalid. */
export function parseSemver(text: string): Semver | undefined {
  const m = /^\s*v?(\d+)\.(\d+)\.(\d+)(?:[-+][0-9A-Za-z.+-]*)?\s*$/.exec(text);
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
}

export function formatSemver(v: Semver): string {
  return `${v.major}.${v.minor}.${v.patch}`;
}

export function compareSemver(a: Semver, b: Semver): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

/** Falco's rule: same major version and at least the required one. */
export function satisfies(have: Semver, required: Semver): boolean {
  return have.major === required.major && compareSemver(have, required) >= 0;
}

/**
 * Plugins whose fields Tiercel provides natively: the k8saudit and json
 * plugins for `k8s_audit` events, and the container plugin's fields for
 * syscall events. Rules files that require them load unmodified.
 */
export const PROVIDED_PLUGINS: readonly { name: string; version: string }[] = [
  { name: 'k8saudit', version: '0.18.0' },
  { name: 'json', version: '0.7.4' },
  { name: 'container', version: '0.4.0' },
];
