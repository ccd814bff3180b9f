/**
 * Watches the sensor's counters and acts on dropped events as Falco's
 * `syscall_event_drops` does: every interval, the drops since the last look
 * (kernel ring full, oversized records, and batches discarded in userspace)
 * are compared with the events delivered; above the threshold the configured
 * actions run (log, alert, exit), at most as often as the token bucket allows.
 *
 * The alert keeps Falco's rule name and field names, so dashboards and
 * Falcosidekick routes written for Falco's drop alert keep working.
 */
import type { SyscallEventDropsConfig } from '../config/agent.js';
import type { Alert } from '../engine/alert.js';
import type { SensorStats } from '../syscall/native/index.js';

export const DROP_RULE = 'Falco internal: syscall event drop';

/** Falco's output field name for each of the sensor's drop categories. */
const FIELD_BY_CATEGORY: Readonly<Record<string, string>> = {
  clone_fork_exit: 'n_drops_buffer_clone_fork_exit',
  execve: 'n_drops_buffer_execve_exit',
  connect: 'n_drops_buffer_connect_exit',
  open: 'n_drops_buffer_open_exit',
  dir_file: 'n_drops_buffer_dir_file_exit',
  other: 'n_drops_buffer_other_interest_exit',
  close: 'n_drops_buffer_close_exit',
  procexit: 'n_drops_buffer_proc_exit',
};

/** Totals over all CPUs. */
export interface DropTotals {
  events: number;
  /** By sensor category (buffer categories plus max_event_size and no_ring). */
  byCategory: Record<string, number>;
  userspace: number;
}

/** Totals over all CPUs; `jsDrops` are records the agent's own queue dropped (batch-queue.ts). */
export function totalsOf(stats: SensorStats, jsDrops = 0): DropTotals {
  let events = 0;
  const byCategory: Record<string, number> = {};
  for (const c of stats.perCpu) {
    events += Number(c.events);
    for (const [k, v] of Object.entries(c.drops)) byCategory[k] = (byCategory[k] ?? 0) + Number(v);
  }
  return { events, byCategory, userspace: Number(stats.userspaceDrops) + jsDrops };
}

/** What happened in one interval. */
export interface DropDelta {
  events: number;
  drops: number;
  byCategory: Record<string, number>;
  userspace: number;
}

export function deltaOf(prev: DropTotals, cur: DropTotals): DropDelta {
  const byCategory: Record<string, number> = {};
  let drops = 0;
  for (const [k, v] of Object.entries(cur.byCategory)) {
    const d = v - (prev.byCategory[k] ?? 0);
    byCategory[k] = d;
    drops += d;
  }
  const userspace = cur.userspace - prev.userspace;
  return { events: cur.events - prev.events, drops: drops + userspace, byCategory, userspace };
}

/** Falco's token bucket: `rate` tokens per second, at most `maxBurst` saved up; starts full. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(private readonly rate: number, private readonly maxBurst: number, now: number) {
    this.tokens = maxBurst;
    this.last = now;
  }

  claim(now: number): boolean {
    this.tokens = Math.min(this.maxBurst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export interface DropDecision {
  readonly delta: DropDelta;
  /** Actions to run now (empty below the threshold or when rate-limited). */
  readonly actions: readonly ('log' | 'alert' | 'exit')[];
}

export class DropMonitor {
  private prev: DropTotals | undefined;
  private readonly bucket: TokenBucket;

  constructor(private readonly config: SyscallEventDropsConfig, now = Date.now()) {
    this.bucket = new TokenBucket(config.rate, config.maxBurst, now);
  }

  /** Feeds the latest counters; says what to do about the drops since the previous call. */
  observe(stats: SensorStats, now = Date.now(), jsDrops = 0): DropDecision | undefined {
    const cur = totalsOf(stats, jsDrops);
    const prev = this.prev;
    this.prev = cur;
    if (!prev) return undefined;
    const delta = deltaOf(prev, cur);
    if (delta.drops <= 0) return { delta, actions: [] };
    // As Falco: drops over events, where the kernel's event counter already
    // includes the records it could not write (and those dropped later, in
    // userspace, were delivered and counted).
    const ratio = delta.drops / Math.max(1, delta.events);
    if (ratio <= this.config.threshold || this.config.actions.length === 0 || !this.bucket.claim(now)) {
      return { delta, actions: [] };
    }
    return { delta, actions: this.config.actions.filter((a): a is 'log' | 'alert' | 'exit' => a !== 'ignore') };
  }
}

/** Falco's drop alert for one interval's delta (Falco's field names; `n_drops_userspace` is Tiercel's). */
export function dropAlert(delta: DropDelta, intervalMs: number, hostname: string, now = Date.now()): Alert {
  const fields: Record<string, number> = {
    n_evts: delta.events,
    n_drops: delta.drops,
    n_drops_buffer_total: 0,
  };
  let buffer = 0;
  for (const [category, field] of Object.entries(FIELD_BY_CATEGORY)) {
    const n = delta.byCategory[category] ?? 0;
    fields[field] = n;
    buffer += n;
  }
  fields.n_drops_buffer_total = buffer;
  fields.n_drops_scratch_map = delta.byCategory.max_event_size ?? 0;
  fields.n_drops_bug = delta.byCategory.no_ring ?? 0;
  fields.n_drops_page_faults = 0;
  fields.n_drops_userspace = delta.userspace;
  fields.ebpf_enabled = 1;
  const seconds = intervalMs / 1000;
  const span = seconds === 1 ? 'last second' : `last ${seconds} seconds`;
  return {
    time: BigInt(now) * 1_000_000n,
    rule: DROP_RULE,
    priority: 'Debug',
    source: 'syscall',
    tags: [],
    message: `Falco internal: syscall event drop. ${delta.drops} system calls dropped in ${span}.`,
    // Falco sends these counters as strings; consumers of its drop alert (Falcosidekick) expect that.
    outputFields: Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, String(v)])),
    hostname,
  };
}
