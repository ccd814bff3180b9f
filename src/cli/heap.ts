/**
 * Heap tuning for the long-running commands.
 *
 * Under a steady stream of events almost everything the process allocates
 * dies young, yet some of it (events waiting in a queue, batches in flight)
 * lives just long enough to be promoted, and then dies in the old generation.
 * V8 sizes the old generation by a growing factor over what the last full
 * collection found live, and under load that factor is high, so the dead
 * promoted events pile up: with a live heap of ~40 MB the analyzer's old
 * space reached 140 MB before a collection, most of its resident memory
 * under the webhook benchmark. A factor of 1.3 collects sooner: the
 * benchmark's peak RSS went from ~350 to ~245 MB for the same throughput
 * (bench/README.md). Full collections are mostly concurrent marking, so the
 * event loop pays little for the extra ones.
 *
 * Not for the agent by default: its live heap (the process table, fds) is
 * larger and more connected, the extra marking competed with evaluation on
 * two cores, and under the sensor benchmark's process churn it evaluated
 * ~15 % fewer events and began to drop; its memory is bounded elsewhere.
 *
 * `TIERCEL_HEAP_GROWING_PERCENT` overrides the percentage for both (0 leaves
 * V8's own heuristics). The flag is process-wide: worker threads share it.
 */
import v8 from 'node:v8';

/** The analyzer's (`tiercel serve`) default; the agent's is 0. */
export const SERVE_GROWING_PERCENT = 30;

/** The percentage in effect, or an error text for a bad environment value. */
export function heapGrowingPercent(defaultPercent: number, env: NodeJS.ProcessEnv = process.env): number | string {
  const text = env['TIERCEL_HEAP_GROWING_PERCENT'];
  if (text === undefined || text.trim() === '') return defaultPercent;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 1000) {
    return `TIERCEL_HEAP_GROWING_PERCENT: expected an integer percentage 0-1000, got ${JSON.stringify(text.slice(0, 40))}`;
  }
  return n;
}

/** Applies the heap growing factor; returns an error text when the environment's value is unusable. */
export function tuneHeap(defaultPercent: number, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const percent = heapGrowingPercent(defaultPercent, env);
  if (typeof percent === 'string') return percent;
  if (percent > 0) v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
  return undefined;
}
