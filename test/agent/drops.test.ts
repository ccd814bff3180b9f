/**
 * Falco's `syscall_event_drops` as the agent implements it (src/agent/drops.ts):
 * totals over CPUs, the delta between two looks at the sensor's counters, the
 * threshold, the token bucket that limits the actions, and the drop alert
 * with Falco's rule name and output field names.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DROP_RULE, DropMonitor, TokenBucket, deltaOf, dropAlert, totalsOf } from '../../src/agent/drops.js';
import type { SyscallEventDropsConfig } from '../../src/config/agent.js';
import { alertJson } from '../../src/engine/alert.js';
import type { DropCounters, SensorStats } from '../../src/syscall/native/index.js';

const CATEGORIES = ['clone_fork_exit', 'execve', 'connect', 'open', 'dir_file', 'other', 'close', 'procexit', 'max_event_size', 'no_ring'] as const;

type Drops = Partial<Record<(typeof CATEGORIES)[number], number>>;

function counters(d: Drops = {}): DropCounters {
  return Object.fromEntries(CATEGORIES.map((c) => [c, BigInt(d[c] ?? 0)])) as unknown as DropCounters;
}

/** Sensor stats as the addon reports them: cumulative counters, one entry per CPU. */
function stats(perCpu: { events: number; drops?: Drops }[], userspace = 0): SensorStats {
  return {
    perCpu: perCpu.map((c, cpu) => ({ cpu, events: BigInt(c.events), drops: counters(c.drops) as SensorStats['perCpu'][number]['drops'] })),
    userspaceDrops: BigInt(userspace),
    batches: 0n, records: 0n, bytes: 0n, queuedBatches: 0, rings: [],
  };
}

/** Falco's defaults (falco.yaml): threshold .1, actions [log, alert], one action per 30 s. */
const FALCO_DEFAULTS: SyscallEventDropsConfig = { threshold: 0.1, actions: ['log', 'alert'], rate: 0.03333, maxBurst: 1 };

describe('drop totals and deltas', () => {
  it('sums every CPU, category by category, with the userspace drops apart', () => {
    const t = totalsOf(stats([
      { events: 100, drops: { open: 3, close: 1 } },
      { events: 50, drops: { open: 2, max_event_size: 1 } },
    ], 7));
    assert.equal(t.events, 150);
    assert.equal(t.byCategory.open, 5);
    assert.equal(t.byCategory.close, 1);
    assert.equal(t.byCategory.max_event_size, 1);
    assert.equal(t.byCategory.execve, 0);
    assert.equal(t.userspace, 7);
  });

  it('the delta is what happened since the previous look; drops include the userspace ones', () => {
    const prev = totalsOf(stats([{ events: 1000, drops: { open: 10 } }], 5));
    const cur = totalsOf(stats([{ events: 1600, drops: { open: 40, execve: 2 } }], 25));
    const d = deltaOf(prev, cur);
    assert.equal(d.events, 600);
    assert.equal(d.byCategory.open, 30);
    assert.equal(d.byCategory.execve, 2);
    assert.equal(d.byCategory.close, 0);
    assert.equal(d.userspace, 20);
    assert.equal(d.drops, 30 + 2 + 20);
  });

  it('a category absent from the previous look counts from zero', () => {
    const prev = { events: 10, byCategory: { open: 1 }, userspace: 0 };
    const cur = { events: 20, byCategory: { open: 1, brand_new: 4 }, userspace: 0 };
    const d = deltaOf(prev, cur);
    assert.equal(d.byCategory.brand_new, 4);
    assert.equal(d.drops, 4);
  });
});

describe('token bucket', () => {
  it('starts full, spends one token per claim, refills at `rate` per second up to `maxBurst`', () => {
    const b = new TokenBucket(1, 2, 0);
    assert.equal(b.claim(0), true);
    assert.equal(b.claim(0), true);
    assert.equal(b.claim(0), false, 'empty');
    assert.equal(b.claim(500), false, 'half a token');
    assert.equal(b.claim(1000), true, 'one token after a second');
    assert.equal(b.claim(60_000), true, 'refilled, but only up to maxBurst');
    assert.equal(b.claim(60_000), true);
    assert.equal(b.claim(60_000), false);
  });

  it("Falco's default (rate 0.03333, max_burst 1): one action, then the next about 30 s later", () => {
    const b = new TokenBucket(0.03333, 1, 0);
    assert.equal(b.claim(0), true);
    assert.equal(b.claim(29_000), false);
    assert.equal(b.claim(30_100), true);
  });
});

describe('DropMonitor', () => {
  it('the first look only records a baseline; later looks without drops ask for nothing', () => {
    const m = new DropMonitor(FALCO_DEFAULTS, 0);
    assert.equal(m.observe(stats([{ events: 100, drops: { open: 50 } }]), 0), undefined, 'drops before the agent started are not reported');
    const d = m.observe(stats([{ events: 200, drops: { open: 50 } }]), 1000);
    assert.ok(d);
    assert.equal(d.delta.drops, 0);
    assert.deepEqual(d.actions, []);
  });

  it('acts above the threshold, not at or below it', () => {
    const m = new DropMonitor(FALCO_DEFAULTS, 0);
    m.observe(stats([{ events: 0 }]), 0);
    // 5 dropped of 10 000 events: 0.05%, below 10%.
    const low = m.observe(stats([{ events: 10_000, drops: { open: 5 } }]), 1000)!;
    assert.equal(low.delta.drops, 5);
    assert.deepEqual(low.actions, [], 'below the threshold: the delta is reported (metrics) but nothing is done');
    // 600 dropped of 1000 more events: far above 10%.
    const high = m.observe(stats([{ events: 11_000, drops: { open: 605 } }]), 2000)!;
    assert.equal(high.delta.drops, 600);
    assert.deepEqual(high.actions, ['log', 'alert']);
  });

  it("the ratio is Falco's: drops over events, the kernel's event count including the dropped ones", () => {
    // Every event of the interval dropped: ratio 1, which must pass a 0.6 threshold
    // (drops / (events + drops) could never exceed 0.5).
    const m = new DropMonitor({ ...FALCO_DEFAULTS, threshold: 0.6 }, 0);
    m.observe(stats([{ events: 0 }]), 0);
    assert.deepEqual(m.observe(stats([{ events: 1000, drops: { open: 1000 } }]), 1000)!.actions, ['log', 'alert']);
    // 10.5% dropped is above the default 10%.
    const d = new DropMonitor(FALCO_DEFAULTS, 0);
    d.observe(stats([{ events: 0 }]), 0);
    assert.deepEqual(d.observe(stats([{ events: 1000, drops: { open: 105 } }]), 1000)!.actions, ['log', 'alert']);
  });

  it('userspace drops count toward the threshold', () => {
    const m = new DropMonitor(FALCO_DEFAULTS, 0);
    m.observe(stats([{ events: 0 }], 0), 0);
    const d = m.observe(stats([{ events: 1000 }], 900), 1000)!;
    assert.equal(d.delta.userspace, 900);
    assert.deepEqual(d.actions, ['log', 'alert']);
  });

  it('threshold 0 acts on any drop (Falco: simulate_drops uses it)', () => {
    const m = new DropMonitor({ ...FALCO_DEFAULTS, threshold: 0 }, 0);
    m.observe(stats([{ events: 0 }]), 0);
    assert.deepEqual(m.observe(stats([{ events: 1_000_000, drops: { close: 1 } }]), 1000)!.actions, ['log', 'alert']);
  });

  it('the token bucket limits the actions: the default acts at most once per 30 s', () => {
    const m = new DropMonitor(FALCO_DEFAULTS, 0);
    let events = 0;
    let drops = 0;
    const tick = (now: number): readonly string[] => {
      events += 1000;
      drops += 500;
      return m.observe(stats([{ events, drops: { open: drops } }]), now)!.actions;
    };
    m.observe(stats([{ events: 0 }]), 0);
    assert.deepEqual(tick(1000), ['log', 'alert']);
    // 0.03333 tokens/s: the next token is whole 30.003 s after the first action.
    for (let t = 2000; t <= 31_000; t += 1000) assert.deepEqual(tick(t), [], `rate-limited at ${t} ms`);
    assert.deepEqual(tick(32_000), ['log', 'alert']);
  });

  it('runs the configured actions in order; none when the list is empty', () => {
    const exit = new DropMonitor({ ...FALCO_DEFAULTS, actions: ['alert', 'exit'] }, 0);
    exit.observe(stats([{ events: 0 }]), 0);
    assert.deepEqual(exit.observe(stats([{ events: 10, drops: { open: 10 } }]), 1000)!.actions, ['alert', 'exit']);

    // `ignore` is turned into an empty list by the config reader (see test/config/agent-config.test.ts).
    const none = new DropMonitor({ ...FALCO_DEFAULTS, actions: [] }, 0);
    none.observe(stats([{ events: 0 }]), 0);
    const d = none.observe(stats([{ events: 10, drops: { open: 10 } }]), 1000)!;
    assert.equal(d.delta.drops, 10, 'still measured, for the metrics');
    assert.deepEqual(d.actions, []);
  });
});

describe('the drop alert', () => {
  const delta = deltaOf(
    { events: 0, byCategory: {}, userspace: 0 },
    {
      events: 5000,
      byCategory: { clone_fork_exit: 1, execve: 2, connect: 3, open: 400, dir_file: 5, other: 6, close: 7, procexit: 8, max_event_size: 9, no_ring: 10 },
      userspace: 11,
    },
  );

  it("has Falco's rule name, priority, source and message", () => {
    const a = dropAlert(delta, 1000, 'node-1', 1_700_000_000_123);
    assert.equal(a.rule, DROP_RULE);
    assert.equal(a.rule, 'Falco internal: syscall event drop');
    assert.equal(a.priority, 'Debug');
    assert.equal(a.source, 'syscall');
    assert.deepEqual(a.tags, []);
    assert.equal(a.hostname, 'node-1');
    assert.equal(a.time, 1_700_000_000_123_000_000n, 'ms to ns');
    assert.equal(a.message, `Falco internal: syscall event drop. ${delta.drops} system calls dropped in last second.`);
    assert.match(dropAlert(delta, 5000, 'n').message, /dropped in last 5 seconds\.$/);
  });

  it("carries Falco's output fields (as strings, as Falco sends them), mapped from the sensor's categories", () => {
    const f = dropAlert(delta, 1000, 'node-1').outputFields;
    assert.equal(f.n_evts, String(5000));
    assert.equal(f.n_drops, String(1 + 2 + 3 + 400 + 5 + 6 + 7 + 8 + 9 + 10 + 11));
    assert.equal(f.n_drops_buffer_clone_fork_exit, String(1));
    assert.equal(f.n_drops_buffer_execve_exit, String(2));
    assert.equal(f.n_drops_buffer_connect_exit, String(3));
    assert.equal(f.n_drops_buffer_open_exit, String(400));
    assert.equal(f.n_drops_buffer_dir_file_exit, String(5));
    assert.equal(f.n_drops_buffer_other_interest_exit, String(6));
    assert.equal(f.n_drops_buffer_close_exit, String(7));
    assert.equal(f.n_drops_buffer_proc_exit, String(8));
    assert.equal(f.n_drops_buffer_total, String(1 + 2 + 3 + 400 + 5 + 6 + 7 + 8), 'ring-full drops only');
    assert.equal(f.n_drops_scratch_map, String(9), 'oversized records');
    assert.equal(f.n_drops_bug, String(10), 'no ring for the CPU');
    assert.equal(f.n_drops_page_faults, String(0));
    assert.equal(f.n_drops_userspace, String(11), "Tiercel's own: batches discarded because evaluation fell behind");
    assert.equal(f.ebpf_enabled, String(1));
  });

  it("renders as Falco's JSON alert", () => {
    const j = JSON.parse(alertJson(dropAlert(delta, 1000, 'node-1', Date.UTC(2026, 10, 28, 10, 0, 0))));
    assert.equal(j.rule, 'Falco internal: syscall event drop');
    assert.equal(j.priority, 'Debug');
    assert.equal(j.source, 'syscall');
    assert.equal(j.hostname, 'node-1');
    assert.equal(j.time, '2026-11-28T10:00:00.000000000Z');
    assert.match(j.output, /^\S+: Debug Falco internal: syscall event drop\. 462 system calls dropped in last second\.$/);
    assert.equal(j.output_fields.n_drops, '462');
  });
});
