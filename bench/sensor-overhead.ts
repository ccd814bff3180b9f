/**
 * Sensor overhead: what a running `tiercel agent` costs a syscall-heavy
 * workload, and what the agent keeps up with. The workload is
 * bench/fixtures/openclose.c (openat + close in a tight loop), compiled with
 * cc into a temporary directory. Every figure is a ratio against the same
 * workload without the agent, measured in the same run: baseline and agent
 * runs alternate, medians are reported with their spread.
 *
 *  (a) syscalls no rule selects: one execve rule and `base_syscalls.repair`,
 *      so openat/close are not in the in-kernel filter. Goal: ratio <= 1.05.
 *  (b) every openat/close delivered to JS and evaluated with the full
 *      upstream stable ruleset (falco_rules.yaml). Goals: ratio <= 1.30,
 *      >= 250k events/s evaluated, 0 drops at the default ring size.
 *  (c) drop onset: the workload paced at increasing rates with the full
 *      ruleset, until drops (kernel or userspace) appear.
 *  (d) with --rss-minutes N (and only then): the (b) load plus process churn
 *      for N minutes, sampling the agent's RSS and state table every 10 s.
 *      Goals: RSS <= 150 MB after 10 minutes, the state table bounded.
 *
 *   node --import tsx bench/sensor-overhead.ts                  (a)-(c), about 2-3 minutes
 *   node --import tsx bench/sensor-overhead.ts --write          also update bench/README.md
 *   node --import tsx bench/sensor-overhead.ts --rss-minutes 10 [--write]    (d) only
 *
 * Environment: BENCH_SECONDS (workload seconds per run, default 1.5),
 * BENCH_ROUNDS (baseline/agent pairs, default 7), BENCH_STEP_SECONDS (per
 * rate in (c), default 4), BENCH_RATES (syscalls/s for (c), 0 = unpaced;
 * default 100000,200000,...), BENCH_PROCS (workload processes in (c),
 * default 2: one process cannot outrun the agent on two cores), BENCH_PHASES (e.g. "b" to run one part; no
 * --write then), BENCH_CHURN (processes/s in (d), default 50), BENCH_RSS_RATE
 * (pace the (d) workload, syscalls/s; default 0: unpaced, the (b) load),
 * BENCH_AGENT_NODE_ARGS (node options of the agent; default the DaemonSet's NODE_OPTIONS,
 * "--max-semi-space-size=4"; e.g. "--max-semi-space-size=4 --cpu-prof --cpu-prof-dir=/tmp/prof"),
 * BENCH_SYSCALL_ATTACH (the agents' agent.syscall_attach: auto, fexit or sys_exit; default sys_exit, the agent's default;
 * the report says which mode the agents used, and why auto fell back to sys_exit).
 * Needs root, the sensor (npm install builds it), a build (npm run build:
 * the agent is bin/tiercel.js) and cc. Loopback only.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { PACKAGE_ROOT } from '../src/paths.js';
import { AgentProcess, type AgentSnapshot, foreignSensors, machineTicks, ticksToSeconds } from './lib/agent-process.js';

const ANCHORS = process.env['TIERCEL_ANCHORS'] ?? join(PACKAGE_ROOT, '..', 'shared', 'anchors');
const FALCO_RULES = join(ANCHORS, 'falco-rules', 'falco_rules.yaml');
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 1.5);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 7);
const STEP_SECONDS = Number(process.env['BENCH_STEP_SECONDS'] ?? 4);
const RATES = (process.env['BENCH_RATES'] ?? '100000,200000,300000,400000,500000,600000,800000,1000000,0').split(',').map(Number);
const PROCS = Number(process.env['BENCH_PROCS'] ?? 2);
const PHASES = (process.env['BENCH_PHASES'] ?? 'a,b,c').split(',');
const CHURN = Number(process.env['BENCH_CHURN'] ?? 50);
const RSS_RATE = Number(process.env['BENCH_RSS_RATE'] ?? 0);
/** The agent runs as the DaemonSet runs it (manifests/agent/daemonset.yaml sets NODE_OPTIONS to this). */
const DAEMONSET_NODE_OPTIONS = '--max-semi-space-size=4';
const AGENT_NODE_ARGS = (process.env['BENCH_AGENT_NODE_ARGS'] ?? DAEMONSET_NODE_OPTIONS).split(' ').filter(Boolean);
const WRITE = process.argv.includes('--write');
const RSS_MINUTES = (() => {
  const i = process.argv.indexOf('--rss-minutes');
  return i >= 0 ? Number(process.argv[i + 1]) : 0;
})();
const RSS_SAMPLE_SECONDS = 10;
const WAIT_SECONDS = Number(process.env['BENCH_WAIT_SECONDS'] ?? 15);
/** How the agents record syscalls (agent.syscall_attach); the mode they used is in the report. */
const SYSCALL_ATTACH = process.env['BENCH_SYSCALL_ATTACH'] ?? 'sys_exit';
const ATTACH_OPTION = `agent.syscall_attach=${SYSCALL_ATTACH}`;
/** Attach modes the agents were in (from /metrics), with auto's fallback reason (from the log). */
const attachSeen = new Map<string, string>();

async function noteAttach(agent: AgentProcess): Promise<void> {
  const text = await (await fetch(`${agent.url}/metrics`)).text();
  const mode = /tiercel_sensor_syscall_attach_info\{mode="(\w+)"\} 1\b/.exec(text)?.[1] ?? 'unknown';
  const reason = /"reason":"((?:[^"\\]|\\.)*)"/.exec(agent.log)?.[1] ?? '';
  attachSeen.set(mode, reason);
}

/** The report's line on the attach mode: asked, used, and why auto fell back. */
function attachLine(): string {
  const used = [...attachSeen].map(([mode, reason]) => (reason ? `${mode} (${reason})` : mode)).join(', ') || 'unknown';
  return `Syscall programs: \`agent.syscall_attach: ${SYSCALL_ATTACH}\`, in use: ${used}.`;
}

/** Other eBPF sensors seen during the run (other jobs' agents and tests), pid → command. */
const foreignSeen = new Map<number, string>();

/** True when another process has a BPF program attached now (it would record the workload too). */
function foreignNow(exclude: readonly number[] = []): boolean {
  const found = foreignSensors(exclude);
  for (const f of found) foreignSeen.set(f.pid, f.cmd);
  return found.length > 0;
}

/** Waits up to BENCH_WAIT_SECONDS for the other sensors to go; true when none is attached. */
async function noForeignSensor(exclude: readonly number[] = []): Promise<boolean> {
  const deadline = performance.now() + WAIT_SECONDS * 1000;
  while (foreignNow(exclude)) {
    if (performance.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 250));
  }
  return true;
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const f2 = (n: number): string => n.toFixed(2);
const mb = (n: number): string => (n / 1e6).toFixed(0);

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
const spread = (xs: readonly number[]): string => `${f2(Math.min(...xs))}–${f2(Math.max(...xs))}`;

// ---------------------------------------------------------------------------
// The workload.

interface WorkloadResult {
  iterations: number;
  syscalls: number;
  seconds: number;
  calls_per_sec: number;
  target: number;
  failures: number;
  user_s: number;
  sys_s: number;
  nivcsw: number;
}

let WORKLOAD = '';

function compileWorkload(dir: string): void {
  WORKLOAD = join(dir, 'openclose');
  execFileSync('cc', ['-O2', '-o', WORKLOAD, join(PACKAGE_ROOT, 'bench', 'fixtures', 'openclose.c'), '-pthread'], { stdio: 'inherit' });
}

function runProgram(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(WORKLOAD, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    // 'close', not 'exit': only then has all of stdout been read.
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`openclose ${args.join(' ')} exited ${code}`))));
  });
}

/** openat+close for `seconds`, paced at `rate` syscalls/s (0: as fast as it goes). */
async function workload(seconds: number, rate = 0): Promise<WorkloadResult> {
  return JSON.parse(await runProgram(['-t', String(seconds), ...(rate > 0 ? ['-r', String(rate)] : [])])) as WorkloadResult;
}

/** `procs` workloads side by side, the rate split between them; the sum of their results. */
async function parallelWorkload(procs: number, seconds: number, rate = 0): Promise<WorkloadResult> {
  const rs = await Promise.all(Array.from({ length: procs }, () => workload(seconds, rate / procs)));
  const sum = (f: (r: WorkloadResult) => number): number => rs.reduce((n, r) => n + f(r), 0);
  return {
    iterations: sum((r) => r.iterations), syscalls: sum((r) => r.syscalls), seconds: Math.max(...rs.map((r) => r.seconds)),
    calls_per_sec: sum((r) => r.calls_per_sec), target: rate, failures: sum((r) => r.failures),
    user_s: sum((r) => r.user_s), sys_s: sum((r) => r.sys_s), nivcsw: sum((r) => r.nivcsw),
  };
}

/** A workload run with the CPU the rest of the machine used meanwhile (cores, minus `minus` CPU seconds). */
async function measured(run: () => Promise<WorkloadResult>, minus: () => number = () => 0): Promise<WorkloadResult & { others: number }> {
  const t0 = machineTicks();
  const m0 = minus();
  const r = await run();
  const t1 = machineTicks();
  const busy = ticksToSeconds(t1.busy - t0.busy) - (r.user_s + r.sys_s) - (minus() - m0);
  return { ...r, others: Math.max(0, busy / r.seconds) };
}

/** How fast the agent's event counter may grow once it has evaluated a run of `rate` syscalls/s (the rest of the machine). */
const quietFor = (rate: number): number => Math.max(40_000, rate / 4);

// ---------------------------------------------------------------------------
// (a) and (b): alternating baseline and agent runs.

type Measured = WorkloadResult & { others: number };

interface PairResult {
  base: Measured;
  agent: Measured;
  ratio: number;
  /** Snapshots before the measured run, after the run, and once everything is evaluated. */
  s0: AgentSnapshot;
  sEnd: AgentSnapshot;
  s1: AgentSnapshot;
  started: number;
  ended: number;
  busyUntil: number;
  timedOut: boolean;
}

/**
 * Baseline/agent pairs until ROUNDS of them ran with no other eBPF sensor
 * attached (at most ROUNDS + ROUNDS/2 attempts); pairs where one was
 * attached are kept apart.
 */
async function pairs(label: string, rules: string[], options: string[]): Promise<{ clean: PairResult[]; foreign: PairResult[] }> {
  const clean: PairResult[] = [];
  const foreign: PairResult[] = [];
  for (let attempt = 0; clean.length < ROUNDS && attempt < ROUNDS + Math.ceil(ROUNDS / 2); attempt++) {
    let quiet = await noForeignSensor();
    const base = await measured(() => workload(SECONDS));
    quiet &&= !foreignNow();
    const agent = await AgentProcess.start({ rules, options: [...options, ATTACH_OPTION], nodeArgs: AGENT_NODE_ARGS });
    try {
      await noteAttach(agent);
      // Warm up (JIT, state of the workload's process), then start from a drained agent.
      await workload(0.5);
      const { snap: s0 } = await agent.drained();
      quiet &&= await noForeignSensor([agent.pid]);
      const started = performance.now();
      const run = await measured(() => workload(SECONDS), () => agent.cpu());
      const ended = performance.now();
      quiet &&= !foreignNow([agent.pid]);
      const sEnd = await agent.snapshot();
      const { snap: s1, busyUntil, timedOut } = await agent.drained({ quietPerSec: quietFor(run.calls_per_sec) });
      const ratio = base.calls_per_sec / run.calls_per_sec;
      (quiet ? clean : foreign).push({ base, agent: run, ratio, s0, sEnd, s1, started, ended, busyUntil, timedOut });
      process.stderr.write(`  ${label} pair ${attempt + 1}${quiet ? '' : ' (another eBPF sensor was attached: set apart)'}: alone ${fmt(base.calls_per_sec)} calls/s, ` +
        `with the agent ${fmt(run.calls_per_sec)} calls/s, ratio ${f2(ratio)}; agent evaluated ${fmt(s1.events - s0.events)} events ` +
        `(${fmt(s1.openat - s0.openat)} openat), drops ${fmt(s1.kernelDrops - s0.kernelDrops)} kernel + ${fmt(s1.userspaceDrops - s0.userspaceDrops)} userspace\n`);
    } finally {
      await agent.stop();
    }
  }
  return { clean, foreign };
}

/** The pairs the medians use: the clean ones, or every pair when fewer than 3 are clean (said in the report). */
function usable(p: { clean: PairResult[]; foreign: PairResult[] }): { results: PairResult[]; note: string } {
  if (p.clean.length >= 3) {
    return { results: p.clean, note: p.foreign.length ? ` ${p.foreign.length} more pairs ran while another eBPF sensor was attached (another job's agent): left out.` : '' };
  }
  return {
    results: [...p.clean, ...p.foreign],
    note: ` **Only ${p.clean.length} pairs ran with no other eBPF sensor attached; ${p.foreign.length} ran beside another job's agent, ` +
      'which records the workload in the baseline too: these figures are unreliable.**',
  };
}

interface Report {
  header: string;
  body: string;
  /** Goal lines: met / NOT met, with the numbers. */
  verdict: string[];
}

/** Rows every setup reports: the workload's rates, the ratio, its CPU time, the machine's other load. */
function workloadRows(results: PairResult[]): { rows: string[]; ratio: number; cpuRatio: number } {
  const per = (f: (r: PairResult) => number): number => median(results.map(f));
  const ratios = results.map((r) => r.ratio);
  const cpuRatios = results.map((r) => ((r.agent.user_s + r.agent.sys_s) / r.agent.syscalls) / ((r.base.user_s + r.base.sys_s) / r.base.syscalls));
  const ns = (secondsPerSyscall: number): string => (secondsPerSyscall * 1e9).toFixed(0);
  const offCpu = (w: WorkloadResult): number => Math.max(0, w.seconds - w.user_s - w.sys_s) / w.syscalls;
  return {
    ratio: median(ratios),
    cpuRatio: median(cpuRatios),
    rows: [
      `| workload alone (median) | ${fmt(per((r) => r.base.calls_per_sec))} syscalls/s |`,
      `| with the agent (median) | ${fmt(per((r) => r.agent.calls_per_sec))} syscalls/s |`,
      `| **ratio** (time with the agent / alone), median (min–max of ${results.length} pairs) | **${f2(median(ratios))}** (${spread(ratios)}) |`,
      `| workload CPU time per syscall, with the agent / alone (the in-kernel cost, paid in the workload's own thread), median (min–max) | ${f2(median(cpuRatios))} (${spread(cpuRatios)}) |`,
      `| workload system time per syscall, alone / with the agent (median) | ${ns(per((r) => r.base.sys_s / r.base.syscalls))} / ${ns(per((r) => r.agent.sys_s / r.agent.syscalls))} ns |`,
      `| workload time off-CPU per syscall (waiting for a core), alone / with the agent (median) | ` +
        `${ns(per((r) => offCpu(r.base)))} / ${ns(per((r) => offCpu(r.agent)))} ns |`,
      `| CPU used by the rest of the machine meanwhile (other jobs), alone / with the agent (median) | ${f2(per((r) => r.base.others))} / ${f2(per((r) => r.agent.others))} cores |`,
    ],
  };
}

function partA(p: { clean: PairResult[]; foreign: PairResult[] }): Report {
  const { results, note } = usable(p);
  const { rows, ratio, cpuRatio } = workloadRows(results);
  const openat = median(results.map((r) => r.s1.openat - r.s0.openat));
  const agentCpu = median(results.map((r) => (r.s1.cpu - r.s0.cpu) / ((r.s1.at - r.s0.at) / 1000)));
  const body = [
    '| measure | value |',
    '|---|---:|',
    ...rows,
    `| openat events the agent received during a run (median; the workload made ${fmt(median(results.map((r) => r.agent.iterations)))}) | ${fmt(openat)} |`,
    `| agent CPU during a run (median) | ${f2(agentCpu)} cores |`,
  ].join('\n');
  return {
    header: '### (a) syscalls no rule selects',
    body: 'Rules: one execve rule, `base_syscalls.repair: true`: the in-kernel filter holds the process lifecycle event types, ' +
      'not openat/close, so the sensor\'s cost is the `sys_exit` program bailing out on each of them (sys_exit mode), ' +
      `or nothing (fexit mode: no program is attached to them).${note}\n\n${body}`,
    verdict: [`(a) ratio <= 1.05: ${ratio <= 1.05 ? 'met' : 'NOT met'} (${ratio.toFixed(3)}; workload CPU time ratio ${cpuRatio.toFixed(3)})`],
  };
}

function partB(p: { clean: PairResult[]; foreign: PairResult[] }): Report {
  const { results, note } = usable(p);
  const { rows, ratio, cpuRatio } = workloadRows(results);
  const per = (f: (r: PairResult) => number): number => median(results.map(f));
  const events = (r: PairResult): number => r.s1.events - r.s0.events;
  const rates = results.map((r) => events(r) / ((Math.max(r.busyUntil, r.ended) - r.started) / 1000));
  const rate = median(rates);
  const kernel = results.reduce((n, r) => n + r.s1.kernelDrops - r.s0.kernelDrops, 0);
  const user = results.reduce((n, r) => n + r.s1.userspaceDrops - r.s0.userspaceDrops, 0);
  const evalNs = per((r) => ((r.s1.evaluationSeconds - r.s0.evaluationSeconds) * 1e9) / events(r));
  const cpuNs = per((r) => ((r.s1.cpu - r.s0.cpu) * 1e9) / events(r));
  const mainNs = per((r) => ((r.s1.mainCpu - r.s0.mainCpu) * 1e9) / events(r));
  const lag = per((r) => Math.max(0, r.busyUntil - r.ended) / 1000);
  const agentCores = per((r) => (r.sEnd.cpu - r.s0.cpu) / ((r.ended - r.started) / 1000));
  const alerts = results.reduce((n, r) => n + r.s1.alerts - r.s0.alerts, 0);
  const peakRss = Math.max(...results.map((r) => Math.max(r.sEnd.vmRss, r.s1.vmRss)));
  const timeouts = results.filter((r) => r.timedOut).length;
  const body = [
    '| measure | value |',
    '|---|---:|',
    ...rows,
    `| **events/s the agent evaluated** (all event types, from the run's start until it had evaluated everything; median, min–max) | **${fmt(rate)}** (${fmt(Math.min(...rates))}–${fmt(Math.max(...rates))}) |`,
    `| events evaluated per run (median) | ${fmt(per(events))} |`,
    `| backlog: how long the agent kept evaluating after the workload ended (median) | ${lag.toFixed(2)} s${timeouts ? ` (${timeouts} runs did not drain within 60 s)` : ''} |`,
    `| agent time per event: state + rules (tiercel_rule_evaluation_seconds_total) / main thread CPU / all threads' CPU | ${evalNs.toFixed(0)} / ${mainNs.toFixed(0)} / ${cpuNs.toFixed(0)} ns |`,
    `| what the main thread could evaluate with a core to itself (1 / state + rules time) | ${fmt(1e9 / evalNs)} events/s |`,
    `| agent CPU while the workload ran (median) | ${f2(agentCores)} cores |`,
    `| /metrics answer right after the run (median, max; batches are evaluated on the event loop that serves it) | ${fmt(per((r) => r.sEnd.scrapeMs))} ms, ${fmt(Math.max(...results.map((r) => r.sEnd.scrapeMs)))} ms |`,
    `| **drops**, all ${results.length} runs: kernel + userspace | **${fmt(kernel)} + ${fmt(user)}** |`,
    `| alerts, all runs | ${fmt(alerts)} |`,
    `| agent peak RSS seen | ${mb(peakRss)} MB |`,
  ].join('\n');
  return {
    header: '### (b) every openat/close evaluated with falco_rules.yaml',
    body: `Rules: \`falco_rules.yaml\` (25 rules, rule_matching first), default base syscalls, default rings (8 MiB per CPU), no output enabled.${note}\n\n${body}`,
    verdict: [
      `(b) ratio <= 1.30: ${ratio <= 1.3 ? 'met' : 'NOT met'} (${ratio.toFixed(3)}; workload CPU time ratio ${cpuRatio.toFixed(3)})`,
      `(b) >= 250k events/s evaluated: ${rate >= 250_000 ? 'met' : 'NOT met'} (${fmt(rate)})`,
      `(b) 0 drops at the default ring size: ${kernel + user === 0 ? 'met' : 'NOT met'} (${fmt(kernel)} kernel + ${fmt(user)} userspace)`,
    ],
  };
}

// ---------------------------------------------------------------------------
// (c): drop onset.

interface Step {
  target: number;
  achieved: number;
  duringRun: number;
  agentCores: number;
  lag: number;
  timedOut: boolean;
  kernel: number;
  user: number;
  rss: number;
  foreign: boolean;
}

async function partC(): Promise<Report> {
  const agent = await AgentProcess.start({ rules: [FALCO_RULES], options: ['stdout_output.enabled=false', ATTACH_OPTION], nodeArgs: AGENT_NODE_ARGS });
  await noteAttach(agent);
  const steps: Step[] = [];
  try {
    await workload(0.5);
    await agent.drained();
    for (let k = 0, retried = false; k < RATES.length; k++) {
      const target = RATES[k]!;
      await agent.drained();
      let quiet = await noForeignSensor([agent.pid]);
      const { snap: s0 } = await agent.drained();
      const started = performance.now();
      const run = await parallelWorkload(PROCS, STEP_SECONDS, target);
      const ended = performance.now();
      quiet &&= !foreignNow([agent.pid]);
      const sEnd = await agent.snapshot();
      const { snap: s1, busyUntil, timedOut } = await agent.drained({ quietPerSec: quietFor(run.calls_per_sec) });
      const step: Step = {
        target,
        achieved: run.calls_per_sec,
        duringRun: (sEnd.events - s0.events) / ((sEnd.at - s0.at) / 1000),
        agentCores: (sEnd.cpu - s0.cpu) / ((sEnd.at - s0.at) / 1000),
        lag: Math.max(0, busyUntil - ended) / 1000,
        timedOut,
        kernel: s1.kernelDrops - s0.kernelDrops,
        user: s1.userspaceDrops - s0.userspaceDrops,
        rss: Math.max(sEnd.vmRss, s1.vmRss),
        foreign: !quiet,
      };
      steps.push(step);
      process.stderr.write(`  (c) ${target ? fmt(target) : 'unpaced'}: achieved ${fmt(step.achieved)} syscalls/s, evaluated ${fmt(step.duringRun)}/s during the run ` +
        `(agent ${f2(step.agentCores)} cores), backlog ${step.lag.toFixed(2)} s, drops ${fmt(step.kernel)} kernel + ${fmt(step.user)} userspace` +
        `${step.foreign ? ' (another eBPF sensor was attached)' : ''}\n`);
      // A step beside another job's sensor is run once more (the table keeps both).
      if (step.foreign && !retried) {
        retried = true;
        k--;
        continue;
      }
      retried = false;
      // Two steps in a row with drops end the search (a single one may be a stall of this noisy machine).
      if (steps.length >= 2 && steps.slice(-2).every((x) => x.kernel + x.user > 0)) break;
    }
  } finally {
    await agent.stop();
  }
  const body = [
    '| target syscalls/s | achieved | evaluated/s while running | agent CPU | backlog after the run | kernel drops | userspace drops | agent RSS | another sensor attached |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|:---:|',
    ...steps.map((s) => `| ${s.target ? fmt(s.target) : 'unpaced'} | ${fmt(s.achieved)} | ${fmt(s.duringRun)} | ${f2(s.agentCores)} cores | ` +
      `${s.timedOut ? '> 60 s' : `${s.lag.toFixed(2)} s`} | ${fmt(s.kernel)} | ${fmt(s.user)} | ${mb(s.rss)} MB | ${s.foreign ? 'yes' : ''} |`),
  ].join('\n');
  // Steps beside another job's sensor count only when no clean one says otherwise.
  const onset = steps.find((s) => !s.foreign && s.kernel + s.user > 0) ?? steps.find((s) => s.kernel + s.user > 0);
  // The highest rate below which every step kept up (no drops, backlog under 0.25 s).
  let lastKept = 0;
  for (const s of steps) {
    if (s.foreign && steps.some((o) => o !== s && o.target === s.target && !o.foreign)) continue;
    if (s.lag >= 0.25 || s.kernel + s.user > 0) break;
    lastKept = s.achieved;
  }
  const kept = lastKept ? `every step up to ${fmt(lastKept)} syscalls/s kept up (no drops, backlog < 0.25 s)` : 'the first step already fell behind';
  const verdict = onset
    ? `(c) drops first appear at ${fmt(onset.achieved)} syscalls/s (target ${onset.target ? fmt(onset.target) : 'unpaced'}, ` +
      `${((100 * (onset.kernel + onset.user)) / (onset.achieved * STEP_SECONDS)).toFixed(1)}% of the step's events) in ${STEP_SECONDS} s steps; ${kept}`
    : `(c) no drops up to ${fmt(Math.max(...steps.map((s) => s.achieved)))} syscalls/s (the fastest the workload ran) in ${STEP_SECONDS} s steps; ${kept}`;
  return {
    header: '### (c) drop onset',
    body: `${PROCS} workload processes side by side, together paced at each rate for ${STEP_SECONDS} s (openat and close count as ` +
      'one syscall each), full ruleset, one agent; it drains before the next step. "Backlog" is how long the agent kept evaluating ' +
      'after the step ended. Two steps in a row with drops end the search.\n\n' + body,
    verdict: [verdict],
  };
}

// ---------------------------------------------------------------------------
// (d): RSS and state over a long run.

interface RssSample {
  t: number;
  vmRss: number;
  rssMetric: number;
  processes: number;
  threads: number;
  eventsPerSec: number;
  kernel: number;
  user: number;
  foreign: boolean;
  /** Processes alive on the machine (/proc), for comparison with the state's table. */
  live: number;
  rings: number;
  executable: number;
  anon: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  scrapeMs: number;
}

/** Processes alive on the machine now. */
function liveProcesses(): number {
  return readdirSync('/proc').filter((n) => /^[0-9]+$/.test(n)).length;
}

async function partD(minutes: number): Promise<Report> {
  const agent = await AgentProcess.start({ rules: [FALCO_RULES], options: ['stdout_output.enabled=false', ATTACH_OPTION], nodeArgs: AGENT_NODE_ARGS });
  await noteAttach(agent);
  const samples: RssSample[] = [];
  const loads: number[] = [];
  let churnOut = '';
  try {
    await workload(0.5);
    const { snap: first } = await agent.drained();
    const t0 = performance.now();
    const until = t0 + minutes * 60_000;
    let stop = false;
    // The (b) load, back to back in 10 s runs, and the churn beside it.
    const loadLoop = (async () => {
      while (!stop && performance.now() < until) {
        const left = Math.min(10, (until - performance.now()) / 1000);
        if (left < 0.2) break;
        loads.push((await workload(left, RSS_RATE)).calls_per_sec);
      }
    })();
    const churn = runProgram(['--churn', String(CHURN), '-t', String(minutes * 60)]).then((o) => (churnOut = o));
    let prev = first;
    const sample = (s: AgentSnapshot): void => {
      samples.push({
        t: Math.max(0, s.at - t0) / 1000, vmRss: s.vmRss, rssMetric: s.rssMetric, processes: s.processes, threads: s.threads,
        eventsPerSec: s === prev ? 0 : (s.events - prev.events) / ((s.at - prev.at) / 1000),
        rings: s.rss.bpfMaps, executable: s.rss.executable, anon: s.rss.anon, heapUsed: s.heapUsed, heapTotal: s.heapTotal, external: s.external, scrapeMs: s.scrapeMs,
        kernel: s.kernelDrops - first.kernelDrops, user: s.userspaceDrops - first.userspaceDrops,
        foreign: foreignNow([agent.pid]),
        live: liveProcesses(),
      });
      prev = s;
      const x = samples.at(-1)!;
      process.stderr.write(`  (d) ${x.t.toFixed(0)} s: RSS ${mb(x.vmRss)} MB (metric ${mb(x.rssMetric)}; rings ${mb(x.rings)}, node executable ${mb(x.executable)}, anonymous ${mb(x.anon)}; ` +
        `V8 heap used ${mb(x.heapUsed)} of ${mb(x.heapTotal)}, external ${mb(x.external)}; scrape ${fmt(x.scrapeMs)} ms), processes ${x.processes} (${x.live} alive), threads ${x.threads}, ` +
        `${fmt(x.eventsPerSec)} events/s, drops ${fmt(x.kernel)} + ${fmt(x.user)}\n`);
    };
    sample(first);
    for (let k = 1; performance.now() < until; k++) {
      await new Promise((r) => setTimeout(r, Math.max(0, t0 + k * RSS_SAMPLE_SECONDS * 1000 - performance.now())));
      sample(await agent.snapshot());
    }
    stop = true;
    await loadLoop;
    await churn;
    const { snap: last } = await agent.drained();
    sample(last);
  } finally {
    await agent.stop();
  }
  const churned = JSON.parse(churnOut || '{}') as { spawned?: number; orphans?: number; threads?: number; seconds?: number };
  // The last sample under load (at the end of the N minutes), and the one after the agent drained.
  const drainedS = samples.at(-1)!;
  const underLoad = samples.at(-2)!;
  const startS = samples[0]!;
  const peak = Math.max(...samples.map((s) => s.vmRss));
  const maxProcs = Math.max(...samples.map((s) => s.processes));
  const maxExcess = Math.max(...samples.map((s) => s.processes - s.live));
  const rows = samples.filter((_, i) => i % 6 === 0 || i >= samples.length - 2);
  const body = [
    '| time | VmRSS | process_resident_memory_bytes | of which: ring buffers (mapped twice) / node executable / anonymous | main V8 heap used / committed, external | state processes (alive on the machine) | state threads | events/s (last 10 s) | drops so far, kernel + userspace | another sensor attached |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|',
    ...rows.map((s, i) => `| ${s === drainedS && i === rows.length - 1 ? `${s.t.toFixed(0)} s, load stopped` : `${s.t.toFixed(0)} s`} | ${mb(s.vmRss)} MB | ${mb(s.rssMetric)} MB | ` +
      `${mb(s.rings)} / ${mb(s.executable)} / ${mb(s.anon)} MB | ${mb(s.heapUsed)} / ${mb(s.heapTotal)}, ${mb(s.external)} MB | ` +
      `${fmt(s.processes)} (${fmt(s.live)}) | ${fmt(s.threads)} | ${fmt(s.eventsPerSec)} | ${fmt(s.kernel)} + ${fmt(s.user)} | ${s.foreign ? 'yes' : ''} |`),
  ].join('\n');
  // Bounded: exited processes stay in the table for a grace period (5 s of event time), so it
  // holds what is alive plus the last seconds' exits; it must not grow from the first minute
  // of load to the last.
  const loaded = samples.slice(1, -1);
  const firstMinute = loaded.filter((s) => s.t <= 60);
  const lastMinute = loaded.filter((s) => s.t >= minutes * 60 - 60);
  const maxOf = (xs: RssSample[], f: (s: RssSample) => number): number => Math.max(...xs.map(f));
  const grows = (f: (s: RssSample) => number): boolean => maxOf(lastMinute, f) > 1.2 * maxOf(firstMinute, f) + 50;
  const bounded = firstMinute.length > 0 && lastMinute.length > 0 && !grows((s) => s.processes) && !grows((s) => s.threads);
  const exitsPerSec = ((churned.spawned ?? 0) + (churned.orphans ?? 0)) / (churned.seconds ?? minutes * 60);
  const rssFirst = maxOf(firstMinute.length ? firstMinute : samples, (s) => s.vmRss);
  const rssLast = maxOf(lastMinute.length ? lastMinute : samples, (s) => s.vmRss);
  return {
    header: `### (d) RSS and state over ${minutes} minutes`,
    body: `Load: the (b) workload${RSS_RATE ? ` paced at ${fmt(RSS_RATE)} syscalls/s` : ''} back to back (${fmt(median(loads))} syscalls/s median over ${loads.length} runs of 10 s) plus churn: ` +
      `${fmt(churned.spawned ?? 0)} short-lived processes (${CHURN}/s, each execs /bin/true; ${fmt(churned.orphans ?? 0)} of them orphaned and reparented ` +
      `to the churn process, a child subreaper; ${fmt(churned.threads ?? 0)} short-lived threads). Sampled every ${RSS_SAMPLE_SECONDS} s; one row a minute here. ` +
      `The machine's other jobs start and end processes too ("alive": numeric entries of /proc when sampled).\n\n${body}\n\n` +
      `Peak VmRSS ${mb(peak)} MB (the first minute's peak ${mb(rssFirst)} MB, the last minute's ${mb(rssLast)} MB); ` +
      `state processes ${fmt(startS.processes)} at the start, at most ${fmt(maxProcs)}, ${fmt(underLoad.processes)} at the end of the load; ` +
      `at most ${fmt(maxExcess)} more in the table than alive on the machine, where the churn's ${exitsPerSec.toFixed(0)} exits/s kept for the 5 s ` +
      `grace period account for about ${fmt(exitsPerSec * 5)}. /metrics answered in ${fmt(median(samples.map((s) => s.scrapeMs)))} ms ` +
      `(median), ${fmt(Math.max(...samples.map((s) => s.scrapeMs)))} ms at worst (batches are evaluated on the event loop that serves /metrics and /healthz).`,
    verdict: [
      `(d) RSS <= 150 MB after ${minutes} minutes: ${underLoad.vmRss <= 150e6 ? 'met' : 'NOT met'} (${mb(underLoad.vmRss)} MB under load, ` +
        `${mb(drainedS.vmRss)} MB once drained; peak ${mb(peak)} MB)`,
      `(d) state bounded (no growth from the first minute under load to the last): ${bounded ? 'met' : 'NOT met'} (processes: first minute ` +
        `max ${fmt(maxOf(firstMinute, (s) => s.processes))}, last minute max ${fmt(maxOf(lastMinute, (s) => s.processes))}; threads ` +
        `${fmt(maxOf(firstMinute, (s) => s.threads))} → ${fmt(maxOf(lastMinute, (s) => s.threads))}; ${fmt(maxExcess)} at most above the processes alive)`,
    ],
  };
}

// ---------------------------------------------------------------------------

function writeSection(marker: string, text: string): void {
  const readme = join(PACKAGE_ROOT, 'bench', 'README.md');
  const content = readFileSync(readme, 'utf8');
  const begin = `<!-- ${marker}:begin -->`;
  const end = `<!-- ${marker}:end -->`;
  const i = content.indexOf(begin);
  const j = content.indexOf(end);
  if (i < 0 || j < 0) throw new Error(`${marker} markers not found in bench/README.md`);
  writeFileSync(readme, content.slice(0, i + begin.length) + `\n${text}` + content.slice(j));
}

function preconditions(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (the agent loads BPF programs)';
  if (!existsSync(join(PACKAGE_ROOT, 'build', 'Release', 'tiercel_sensor.node'))) return 'the sensor is not built (npm install or npm run build:native)';
  if (!existsSync(join(PACKAGE_ROOT, 'dist', 'cli', 'main.js'))) return 'not built (npm run build)';
  if (!existsSync(FALCO_RULES)) return `falco_rules.yaml not found at ${FALCO_RULES} (set TIERCEL_ANCHORS)`;
  return undefined;
}

async function main(): Promise<void> {
  const missing = preconditions();
  if (missing) {
    process.stderr.write(`sensor-overhead: skipped: ${missing}\n`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'tiercel-bench-sensor-'));
  try {
    compileWorkload(dir);
    const started = performance.now();
    const reports: Report[] = [];
    const when = `Node ${process.version}, kernel ${readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()}, ` +
      `${(await import('node:os')).cpus().length} CPUs, ${new Date().toISOString().slice(0, 10)}`;
    let header: string;
    let marker: string;
    if (RSS_MINUTES > 0) {
      marker = 'sensor-overhead-rss';
      header = `${when}.`;
      reports.push(await partD(RSS_MINUTES));
    } else {
      marker = 'sensor-overhead';
      header = `Workload: openat("/etc/hostname") + close in a loop (bench/fixtures/openclose.c), ${SECONDS} s per run, ` +
        `${ROUNDS} baseline/agent pairs per setup, alternating; ${when}.`;
      if (PHASES.includes('a')) {
        const rules = join(dir, 'exec-only.yaml');
        writeFileSync(rules, [
          '- rule: Bench exec of a missing program',
          '  desc: an execve rule no event matches; the agent captures the process lifecycle only',
          '  condition: evt.type = execve and evt.dir = < and proc.exepath = /nonexistent/bench',
          '  output: exec (cmdline=%proc.cmdline)',
          '  priority: WARNING',
          '',
        ].join('\n'));
        reports.push(partA(await pairs('(a)', [rules], ['base_syscalls.repair=true', 'stdout_output.enabled=false'])));
      }
      if (PHASES.includes('b')) reports.push(partB(await pairs('(b)', [FALCO_RULES], ['stdout_output.enabled=false'])));
      if (PHASES.includes('c')) reports.push(await partC());
    }
    const seconds = (performance.now() - started) / 1000;
    const goals = reports.flatMap((r) => r.verdict);
    if (foreignSeen.size) {
      goals.push(`other eBPF sensors were attached during the run (other jobs): ${[...foreignSeen].map(([pid, cmd]) => `${pid} \`${cmd}\``).join('; ')}`);
    }
    const text = `${header} ${attachLine()} Took ${seconds.toFixed(0)} s.\n\n` +
      reports.map((r) => `${r.header}\n\n${r.body}\n`).join('\n') +
      `\nGoals:\n\n${goals.map((g) => `- ${g}`).join('\n')}\n`;
    process.stdout.write(text);
    if (WRITE) {
      if (RSS_MINUTES === 0 && PHASES.length < 3) throw new Error('--write needs every part (unset BENCH_PHASES)');
      writeSection(marker, text);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
