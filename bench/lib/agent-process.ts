/**
 * A real `tiercel agent` (bin/tiercel.js) for benchmarks: start it on a free
 * loopback port, read its /metrics, its CPU time and RSS from /proc, wait
 * until it has evaluated everything the sensor captured, stop it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { PACKAGE_ROOT } from '../../src/paths.js';

/** Linux's USER_HZ (sysconf(_SC_CLK_TCK)), 100 on every mainstream architecture. */
const CLK_TCK = 100;

/** Prometheus text exposition parsed into `name{labels}` → value. */
export class PromText {
  private readonly values = new Map<string, number>();

  constructor(text: string) {
    for (const line of text.split('\n')) {
      if (!line || line.startsWith('#')) continue;
      const space = line.lastIndexOf(' ');
      this.values.set(line.slice(0, space), Number(line.slice(space + 1)));
    }
  }

  /** Sum of the series of `name` whose labels contain `label` (e.g. `type="openat"`). */
  sum(name: string, label = ''): number {
    let total = 0;
    for (const [key, v] of this.values) {
      if (key.startsWith(name) && (key.length === name.length || key[name.length] === '{') && key.includes(label)) total += v;
    }
    return total;
  }
}

/** Process CPU seconds (user + system) from /proc: the whole process, and the main thread alone. */
export function cpuSeconds(pid: number): { total: number; main: number } {
  const ticks = (path: string): number => {
    const s = readFileSync(path, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]); // utime, stime (fields 14 and 15 of stat)
  };
  try {
    return { total: ticks(`/proc/${pid}/stat`) / CLK_TCK, main: ticks(`/proc/${pid}/task/${pid}/stat`) / CLK_TCK };
  } catch {
    return { total: 0, main: 0 };
  }
}

/** CPU seconds of every thread of a process, by tid. */
export function threadCpuSeconds(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const s = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
        out.set(Number(tid), (Number(f[11]) + Number(f[12])) / CLK_TCK);
      } catch {
        // the thread ended
      }
    }
  } catch {
    // the process ended
  }
  return out;
}

/**
 * Other processes holding an attached BPF program (a `bpf_link` fd): another
 * agent or a test's sensor, which would record the benchmark's workload too
 * and make both the baseline and the agent runs slower.
 */
export function foreignSensors(exclude: readonly number[] = []): { pid: number; cmd: string }[] {
  const out: { pid: number; cmd: string }[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid || exclude.includes(pid)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let target = '';
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      if (target === 'anon_inode:bpf_link') {
        let cmd = '';
        try {
          cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim().slice(0, 120);
        } catch {
          // gone
        }
        out.push({ pid, cmd });
        break;
      }
    }
  }
  return out;
}

/** Busy (non-idle, non-iowait) and total CPU ticks of the whole machine, from /proc/stat. */
export function machineTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - f[3]! - f[4]!, total };
}

/** Seconds of CPU from a difference of machineTicks() values. */
export const ticksToSeconds = (ticks: number): number => ticks / CLK_TCK;

/**
 * RSS of a process by mapping (from /proc/<pid>/smaps): the BPF maps it has
 * mmapped (the sensor's ring buffers: the kernel maps a ring's data pages
 * twice, so each ring counts double), the node executable, anonymous memory
 * (V8 heaps, malloc), and the rest.
 */
export function rssByMapping(pid: number): { bpfMaps: number; executable: number; anon: number; other: number } {
  const out = { bpfMaps: 0, executable: 0, anon: 0, other: 0 };
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  } catch {
    return out;
  }
  let kind: keyof typeof out = 'other';
  for (const line of text.split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) {
      const name = line.split(/\s+/)[5] ?? '';
      kind = name.startsWith('anon_inode:bpf') ? 'bpfMaps' : name === process.execPath || name.endsWith('/node') ? 'executable'
        : name === '' || name === '[heap]' || name.startsWith('[anon') ? 'anon' : 'other';
    } else if (line.startsWith('Rss:')) {
      out[kind] += Number(line.split(/\s+/)[1]) * 1024;
    }
  }
  return out;
}

/** VmRSS of a process, bytes (0 when it is gone). */
export function vmRssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** What the benchmarks read from the agent at one instant. */
export interface AgentSnapshot {
  /** performance.now() when the scrape answered, ms. */
  readonly at: number;
  /** How long the agent took to answer /metrics, ms (its event loop is busy with batches under load). */
  readonly scrapeMs: number;
  readonly events: number;
  readonly openat: number;
  readonly close: number;
  readonly kernelDrops: number;
  readonly userspaceDrops: number;
  readonly evaluationSeconds: number;
  readonly batches: number;
  readonly alerts: number;
  readonly processes: number;
  readonly threads: number;
  readonly queuedBatches: number;
  readonly ringUsed: number;
  /** prom-client's process_resident_memory_bytes. */
  readonly rssMetric: number;
  /** /proc/<pid>/status VmRSS. */
  readonly vmRss: number;
  /** RSS by mapping (see rssByMapping). */
  readonly rss: { bpfMaps: number; executable: number; anon: number; other: number };
  /** The main thread's V8 heap in use and external memory (the sensor's batches are external ArrayBuffers). */
  readonly heapUsed: number;
  /** The main thread's V8 heap committed (used or not). */
  readonly heapTotal: number;
  readonly external: number;
  readonly cpu: number;
  readonly mainCpu: number;
}

export interface AgentStartOptions {
  readonly rules: readonly string[];
  /** `--option key=value` settings. */
  readonly options?: readonly string[];
  /** Extra node options (e.g. --cpu-prof). */
  readonly nodeArgs?: readonly string[];
  readonly cwd?: string;
}

export class AgentProcess {
  private stderrTail = '';

  private constructor(readonly child: ChildProcess, readonly url: string) {}

  get pid(): number {
    return this.child.pid!;
  }

  /** Starts the agent and resolves once it logs "agent running" (with its metrics URL). */
  static async start(o: AgentStartOptions): Promise<AgentProcess> {
    const args = [
      ...(o.nodeArgs ?? []), join(PACKAGE_ROOT, 'bin', 'tiercel.js'), 'agent',
      ...o.rules.flatMap((r) => ['-r', r]),
      '--listen', '127.0.0.1:0', '--log-format', 'json',
      ...(o.options ?? []).flatMap((kv) => ['--option', kv]),
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], ...(o.cwd ? { cwd: o.cwd } : {}) });
    let buf = '';
    let self: AgentProcess | undefined;
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr!.setEncoding('utf8').on('data', (d: string) => {
        // Keep reading (a full pipe would block the agent); keep only the tail.
        if (self) {
          self.stderrTail = (self.stderrTail + d).slice(-8192);
          return;
        }
        buf += d;
        const m = /"msg":"agent running[^\n]*/.exec(buf) && /"url":"([^"]+)"/.exec(buf);
        if (m) resolve(m[1]!);
      });
      child.on('exit', (code, signal) => reject(new Error(`agent exited (${code ?? signal}) before running:\n${buf.slice(-4000)}`)));
    });
    self = new AgentProcess(child, url);
    self.stderrTail = buf.slice(-8192);
    return self;
  }

  /** CPU seconds the agent has used, all threads. */
  cpu(): number {
    return cpuSeconds(this.pid).total;
  }

  /** The agent's log lines so far (the last 8 KiB). */
  get log(): string {
    return this.stderrTail;
  }

  async snapshot(): Promise<AgentSnapshot> {
    const asked = performance.now();
    const res = await fetch(`${this.url}/metrics`);
    const m = new PromText(await res.text());
    const at = performance.now();
    const cpu = cpuSeconds(this.pid);
    return {
      at,
      scrapeMs: at - asked,
      events: m.sum('tiercel_syscall_events_total'),
      openat: m.sum('tiercel_syscall_events_total', 'type="openat"'),
      close: m.sum('tiercel_syscall_events_total', 'type="close"'),
      kernelDrops: m.sum('tiercel_sensor_drops_total'),
      userspaceDrops: m.sum('tiercel_sensor_userspace_drops_total'),
      evaluationSeconds: m.sum('tiercel_rule_evaluation_seconds_total'),
      batches: m.sum('tiercel_sensor_batches_total'),
      alerts: m.sum('tiercel_alerts_total'),
      processes: m.sum('tiercel_state_processes'),
      threads: m.sum('tiercel_state_threads'),
      queuedBatches: m.sum('tiercel_sensor_queued_batches'),
      ringUsed: m.sum('tiercel_sensor_ring_used_bytes'),
      rssMetric: m.sum('process_resident_memory_bytes'),
      vmRss: vmRssBytes(this.pid),
      rss: rssByMapping(this.pid),
      heapUsed: m.sum('nodejs_heap_size_used_bytes'),
      heapTotal: m.sum('nodejs_heap_size_total_bytes'),
      external: m.sum('nodejs_external_memory_bytes'),
      cpu: cpu.total,
      mainCpu: cpu.main,
    };
  }

  /**
   * Waits until the agent has evaluated what was captured: the events counter
   * grows by at most `quietPerSec` (events/s) twice in a row: the rest of the
   * machine keeps producing events, and a backlogged agent evaluates far
   * faster than that. Returns the last snapshot, when the counter last moved
   * faster than that (ms, performance.now()), and whether it timed out.
   */
  async drained(options: { quietPerSec?: number; pollMs?: number; timeoutMs?: number } = {}): Promise<{ snap: AgentSnapshot; busyUntil: number; timedOut: boolean }> {
    const pollMs = options.pollMs ?? 50;
    const quiet = options.quietPerSec ?? 40_000;
    const deadline = performance.now() + (options.timeoutMs ?? 60_000);
    let prev = await this.snapshot();
    let busyUntil = prev.at;
    let calm = 0;
    for (;;) {
      await new Promise((r) => setTimeout(r, pollMs));
      const s = await this.snapshot();
      if ((s.events - prev.events) / ((s.at - prev.at) / 1000) > quiet) {
        busyUntil = s.at;
        calm = 0;
      } else if (++calm >= 2) {
        return { snap: s, busyUntil, timedOut: false };
      }
      prev = s;
      if (s.at > deadline) return { snap: s, busyUntil, timedOut: true };
    }
  }

  /** SIGTERM, and wait for the exit (SIGKILL after 20 s). */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.on('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  }
}
