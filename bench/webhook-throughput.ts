/**
 * End-to-end webhook throughput: a separate load process POSTs 400-event
 * audit EventLists (the apiserver's default batch size) to a real
 * `tiercel serve` running the full upstream k8s_audit ruleset with the file
 * output on, and the run reports events/s from the first measured POST until
 * every event is evaluated and every alert written, the request latency
 * (p50/p99) and the server's peak RSS — beside JSON.parse-only throughput of
 * the same batches measured in the same run (the machine is noisy; the ratio
 * is what compares across runs).
 *
 *   node --import tsx bench/webhook-throughput.ts            print the results
 *   node --import tsx bench/webhook-throughput.ts --write    also update bench/README.md
 *
 * Environment: BENCH_EVENTS (measured events, default 200000), BENCH_WARMUP
 * (default 40000), BENCH_CONCURRENCY (requests in flight, default 4),
 * BENCH_SERVER_NODE_ARGS (node options of the server; default the Deployment's NODE_OPTIONS,
 * "--max-semi-space-size=8"; e.g. "--max-semi-space-size=8 --cpu-prof"),
 * BENCH_BUFFERED=1 (buffered_outputs), BENCH_NO_OUTPUT=1 (file output off: diagnosis only),
 * BENCH_NO_INCIDENTS=1 (no incident store: diagnosis only).
 * Needs a build (`npm run build`): the server is bin/tiercel.js.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { PACKAGE_ROOT, SAMPLE_AUDIT_LOG } from '../src/paths.js';
import { clusterEvent } from './lib/cluster-mix.js';

const ANCHORS = process.env['TIERCEL_ANCHORS'] ?? join(PACKAGE_ROOT, '..', 'shared', 'anchors');
const BATCH = 400;
const EVENTS = Number(process.env['BENCH_EVENTS'] ?? 200_000);
const WARMUP = Number(process.env['BENCH_WARMUP'] ?? 40_000);
const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 4);
/** The analyzer runs as its Deployment runs it (manifests/analyzer/deployment.yaml sets NODE_OPTIONS to this). */
const DEPLOYMENT_NODE_OPTIONS = '--max-semi-space-size=8';
const SERVER_NODE_ARGS = (process.env['BENCH_SERVER_NODE_ARGS'] ?? DEPLOYMENT_NODE_OPTIONS).split(' ').filter(Boolean);
/**
 * `mix`: a steady-state cluster's traffic (lease renewals, status patches,
 * controller reads, events) with 2% of Falco's suite traces mixed in;
 * `suite`: the suite traces alone (about half of them alert: a worst case).
 */
const CORPUS = (process.env['BENCH_CORPUS'] ?? 'mix') as 'mix' | 'suite';

/** The real apiserver events of Falco's suite and Tiercel's sample day, replicated with distinct IDs into 400-event EventLists. */
function batches(count: number, idPrefix: string): string[] {
  const seeds: Record<string, unknown>[] = [];
  const traceDir = join(ANCHORS, 'falco-k8s-audit-suite', 'trace_files', 'k8s_audit');
  for (const file of [...readdirSync(traceDir).map((f) => join(traceDir, f)), SAMPLE_AUDIT_LOG]) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      try {
        const obj = JSON.parse(line);
        if (obj && typeof obj === 'object' && 'auditID' in obj) seeds.push(obj);
      } catch {
        // the suite's deliberately broken trace
      }
    }
  }
  const out: string[] = [];
  for (let b = 0; b * BATCH < count; b++) {
    const items: unknown[] = [];
    for (let i = 0; i < BATCH; i++) {
      const n = b * BATCH + i;
      if (CORPUS === 'mix') {
        const e = clusterEvent(n, seeds, { attackShare: 0.02, nodes: 50 });
        e['auditID'] = `${idPrefix}-${String(n).padStart(8, '0')}`;
        items.push(e);
        continue;
      }
      const e = structuredClone(seeds[n % seeds.length]!) as Record<string, any>;
      e['auditID'] = `${idPrefix}-${String(n).padStart(8, '0')}`;
      if (e['objectRef']?.name) e['objectRef'].name = `${e['objectRef'].name}-${n % 97}`;
      items.push(e);
    }
    out.push(JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', metadata: {}, items }));
  }
  return out;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

// ---------------------------------------------------------------------------
// The load process.

interface LoadResult {
  events: number;
  bytes: number;
  seconds: number;
  acceptSeconds: number;
  p50: number;
  p99: number;
  max: number;
  retries429: number;
  alerts: number;
  dropped: number;
}

async function metricsText(base: string): Promise<string> {
  const res = await fetch(`${base}/metrics`);
  return res.text();
}

function metric(text: string, name: string, label = ''): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(name) && (line[name.length] === ' ' || line[name.length] === '{') && line.includes(label)) {
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return sum;
}

/** Waits until `events` are evaluated and the file output has written every alert; returns the alert count. */
async function settled(base: string, events: number): Promise<number> {
  for (;;) {
    const t = await metricsText(base);
    const alerts = metric(t, 'tiercel_alerts_total');
    const written = process.env['BENCH_NO_OUTPUT'] === '1' ? alerts
      : metric(t, 'tiercel_output_delivered_total', 'output="file"') + metric(t, 'tiercel_output_dropped_total', 'output="file"');
    if (metric(t, 'tiercel_audit_events_evaluated_total') >= events && written >= alerts) {
      return alerts;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function load(webhook: string, warm: string[], measured: string[], concurrency: number): Promise<LoadResult> {
  const base = webhook.replace(/\/k8s-audit$/, '');
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  let retries429 = 0;
  const post = (body: string): Promise<{ status: number; ms: number }> => new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request(webhook, {
      method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0 }));
    });
    req.on('error', reject);
    req.end(body);
  });
  const send = async (list: string[], latencies: number[] | undefined): Promise<void> => {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < list.length) {
        const body = list[next++]!;
        for (;;) {
          const r = await post(body);
          if (r.status === 200) {
            latencies?.push(r.ms);
            break;
          }
          if (r.status !== 429) throw new Error(`webhook answered ${r.status}`);
          retries429++;
          // The apiserver would back off for seconds; a short pause keeps the pipe full.
          await new Promise((res) => setTimeout(res, 20));
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  };

  await send(warm, undefined);
  await settled(base, warm.length * BATCH);
  const alertsBefore = metric(await metricsText(base), 'tiercel_alerts_total');
  retries429 = 0;
  const latencies: number[] = [];
  const t0 = performance.now();
  await send(measured, latencies);
  const t1 = performance.now();
  const alerts = await settled(base, (warm.length + measured.length) * BATCH);
  const t2 = performance.now();
  const dropped = metric(await metricsText(base), 'tiercel_output_dropped_total');
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    events: measured.length * BATCH,
    bytes: measured.reduce((n, b) => n + b.length, 0),
    seconds: (t2 - t0) / 1000,
    acceptSeconds: (t1 - t0) / 1000,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies.at(-1)!,
    retries429,
    alerts: alerts - alertsBefore,
    dropped,
  };
}

// ---------------------------------------------------------------------------
// The orchestrator.

function parseOnly(list: string[]): number {
  let rounds: number[] = [];
  for (let round = 0; round < 7; round++) {
    const t0 = performance.now();
    let n = 0;
    for (const b of list) n += (JSON.parse(b) as { items: unknown[] }).items.length;
    const s = (performance.now() - t0) / 1000;
    if (round >= 2) rounds.push(n / s);
  }
  rounds = rounds.sort((a, b) => a - b);
  return rounds[Math.floor(rounds.length / 2)]!;
}

function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tiercel-bench-'));
  const warm = batches(WARMUP, 'warm');
  const measured = batches(EVENTS, 'run');
  const batchesFile = join(dir, 'batches.json');
  writeFileSync(batchesFile, JSON.stringify({ warm, measured }));
  const parseRate = parseOnly(measured);

  const alertsFile = join(dir, 'alerts.jsonl');
  const config = join(dir, 'tiercel.yaml');
  writeFileSync(config, JSON.stringify({
    rules_files: [join(ANCHORS, 'falco-rules', 'k8s_audit_rules.yaml')],
    json_output: true,
    watch_config_files: false,
    stdout_output: { enabled: false },
    file_output: { enabled: process.env['BENCH_NO_OUTPUT'] !== '1', filename: alertsFile, keep_alive: true },
    buffered_outputs: process.env['BENCH_BUFFERED'] === '1',
    // The analyzer as it runs by default: alerts also go to the incident store (SQLite here).
    data_dir: join(dir, 'data'),
    incidents: { enabled: process.env['BENCH_NO_INCIDENTS'] !== '1' },
  }));
  const nodeArgs = SERVER_NODE_ARGS;
  const server = spawn(process.execPath, [...nodeArgs, join(PACKAGE_ROOT, 'bin', 'tiercel.js'), 'serve', '--config', config,
    '--listen', '127.0.0.1:0', '--log-format', 'json'], { stdio: ['ignore', 'inherit', 'pipe'] });
  const webhook = await new Promise<string>((resolve, reject) => {
    let buf = '';
    server.stderr!.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      const m = /"webhook":"([^"]+)"/.exec(buf);
      if (m) resolve(m[1]!);
    });
    server.on('exit', (code) => reject(new Error(`server exited ${code}: ${buf}`)));
  });
  let peakRss = rssBytes(server.pid!);
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, rssBytes(server.pid!));
  }, 50);

  const loader = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--load', webhook, batchesFile, String(CONCURRENCY)],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  loader.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const code = await new Promise<number | null>((resolve) => loader.on('exit', resolve));
  clearInterval(sampler);
  peakRss = Math.max(peakRss, rssBytes(server.pid!));
  server.kill('SIGTERM');
  await new Promise((r) => server.on('exit', r));
  rmSync(dir, { recursive: true, force: true });
  if (code !== 0) throw new Error(`load process failed (${code}): ${out}`);
  const r = JSON.parse(out) as LoadResult;

  const eventsPerSec = r.events / r.seconds;
  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
  const goals = [
    [`>= 40,000 events/s`, eventsPerSec >= 40_000],
    [`p99 < 100 ms`, r.p99 < 100],
    [`RSS < 250 MB`, peakRss < 250e6],
  ] as const;
  const header = `${fmt(r.events)} events in ${fmt(r.events / BATCH)} EventLists of ${BATCH} (${(r.bytes / 1e6).toFixed(0)} MB of JSON) after ` +
    `${fmt(WARMUP)} warm-up events, ${CONCURRENCY} requests in flight, full upstream k8s_audit ruleset ` +
    `(rule_matching first), file output (JSON) on, incident store (SQLite) on; server node options ` +
    `\`${SERVER_NODE_ARGS.join(' ') || '(none)'}\`, heap growing ${process.env['TIERCEL_HEAP_GROWING_PERCENT'] ?? '30'} % ` +
    `(TIERCEL_HEAP_GROWING_PERCENT); Node ${process.version}, ${new Date().toISOString().slice(0, 10)}.`;
  const table = [
    '| measure | value |',
    '|---|---:|',
    `| end to end (first POST to last alert written) | ${fmt(eventsPerSec)} events/s |`,
    `| accepting (first POST to last 200) | ${fmt(r.events / r.acceptSeconds)} events/s |`,
    `| JSON.parse only, same batches, same machine | ${fmt(parseRate)} events/s |`,
    `| end to end / JSON.parse only | ${(eventsPerSec / parseRate).toFixed(2)} |`,
    `| request latency of accepted batches, p50 / p99 / max | ${r.p50.toFixed(1)} / ${r.p99.toFixed(1)} / ${r.max.toFixed(1)} ms |`,
    `| 429 answers (retried) | ${fmt(r.retries429)} |`,
    `| alerts written (dropped by the file output) | ${fmt(r.alerts - r.dropped)} (${fmt(r.dropped)}) |`,
    `| server peak RSS | ${(peakRss / 1e6).toFixed(0)} MB |`,
  ].join('\n');
  const verdict = 'Goals: ' + goals.map(([g, ok]) => `${g} ${ok ? 'met' : 'NOT met'}`).join('; ') + '.';
  process.stdout.write(`${header}\n\n${table}\n\n${verdict}\n`);

  if (process.argv.includes('--write')) {
    const readme = join(PACKAGE_ROOT, 'bench', 'README.md');
    const text = readFileSync(readme, 'utf8');
    const begin = '<!-- webhook-throughput:begin -->';
    const end = '<!-- webhook-throughput:end -->';
    const i = text.indexOf(begin);
    const j = text.indexOf(end);
    if (i < 0 || j < 0) throw new Error('webhook-throughput markers not found in bench/README.md');
    writeFileSync(readme, text.slice(0, i + begin.length) + `\n${header}\n\n${table}\n\n${verdict}\n` + text.slice(j));
  }
}

if (process.argv[2] === '--load') {
  const [, , , webhook, file, concurrency] = process.argv;
  const { warm, measured } = JSON.parse(readFileSync(file!, 'utf8')) as { warm: string[]; measured: string[] };
  load(webhook!, warm, measured, Number(concurrency)).then(
    (r) => process.stdout.write(JSON.stringify(r)),
    (e: unknown) => {
      process.stderr.write(`${String(e)}\n`);
      process.exit(1);
    },
  );
} else {
  await main();
}
