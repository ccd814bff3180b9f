/**
 * Retry delays for the API connection: exponential, capped, and jittered so
 * that the agents of every node, cut off together by an apiserver restart,
 * do not come back together and list at the same instant.
 */
export interface BackoffOptions {
  /** First delay (ms). */
  readonly initialMs: number;
  /** Largest delay (ms). */
  readonly maxMs: number;
  /** Random source in [0, 1) (tests pass a fixed one). */
  readonly random?: () => number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 30_000 };

/**
 * The delay before retry number `attempt` (0-based): `initial·2^attempt`
 * capped at `max`, then scaled to a random point in its upper half ("equal
 * jitter": never less than half the nominal delay, so a flapping server is
 * not hammered, and spread enough to de-synchronize nodes).
 */
export function backoffDelay(attempt: number, options: BackoffOptions): number {
  const nominal = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(attempt, 30));
  const r = (options.random ?? Math.random)();
  return Math.round(nominal / 2 + (nominal / 2) * r);
}
