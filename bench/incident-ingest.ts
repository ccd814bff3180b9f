/**
 * Incident ingest: how many alerts a second the analyzer correlates and
 * commits to SQLite (issue 6, goal ≥ 10k alerts/s).
 *
 * The alerts are what a cluster's agents and audit pipeline produce: exec
 * sessions in pods (a shell, then tools, with the exec request's audit ID in
 * some sessions' environment and not in others), the audit alerts of those
 * exec requests, alert storms (the same rule, container and executable over
 * and over), and scattered alerts in other pods and namespaces.
 *
 * Three measurements, in one run on the same alerts:
 *  - store only: the alerts written in batches with no correlation (each
 *    its own link-less row) — the baseline the others are compared with;
 *  - correlated: the analyzer's recorder (correlator + store) in this process;
 *  - end to end: a real `tiercel serve` (bin/tiercel.js) that agents POST
 *    batches to (`/api/v1/alerts`, 4 in flight, 500 alerts each), counted
 *    when acknowledged, i.e. committed.
 *
 *   node --import tsx bench/incident-ingest.ts [--write]
 *
 * Environment: BENCH_ALERTS (default 100000), BENCH_BATCH (500),
 * BENCH_CONCURRENCY (4), BENCH_SERVER_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"). Needs a build (npm run build) for the end-to-end part.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { parseAlertJson } from '../src/incidents/alert-json.js';
import { generateAlerts } from './lib/alert-mix.js';
import { Correlator } from '../src/incidents/correlator.js';
import type { StoredAlert } from '../src/incidents/model.js';
import { PACKAGE_ROOT } from '../src/paths.js';
import { IncidentRecorder } from '../src/server/incident-recorder.js';
import { openStore } from '../src/store/index.js';

const ALERTS = Number(process.env['BENCH_ALERTS'] ?? 100_000);
const BATCH = Number(process.env['BENCH_BATCH'] ?? 500);
const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 4);
const WRITE = process.argv.includes('--write');

// ---- measurements --------------------------------------------------------------------------

async function storeOnly(evidence: readonly StoredAlert[], dir: string): Promise<number> {
  const store = await openStore(`sqlite:${join(dir, 'baseline.db')}`);
  const t0 = performance.now();
  for (let i = 0; i < evidence.length; i += BATCH) {
    await store.write({ alerts: evidence.slice(i, i + BATCH), incidents: [], links: [] });
  }
  const s = (performance.now() - t0) / 1000;
  await store.close();
  return evidence.length / s;
}

async function correlated(evidence: readonly StoredAlert[], dir: string): Promise<{ rate: number; incidents: number }> {
  const store = await openStore(`sqlite:${join(dir, 'correlated.db')}`);
  const recorder = new IncidentRecorder({ store, correlator: new Correlator({ windowMs: 30 * 60_000 }), logger: pino({ level: 'silent' }), capacity: 1_000_000 });
  const t0 = performance.now();
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < evidence.length; i += BATCH) {
    pending.push(recorder.ingest(evidence.slice(i, i + BATCH)));
    if (pending.length >= CONCURRENCY) await pending.shift();
  }
  await Promise.all(pending);
  const s = (performance.now() - t0) / 1000;
  const now = BigInt(Date.now()) * 1_000_000n;
  const incidents = (await store.stats({ from: now - 86_400_000_000_000n, to: now + 86_400_000_000_000n, bucketMs: 3_600_000 })).incidents;
  await recorder.close();
  await store.close();
  return { rate: evidence.length / s, incidents: incidents.open + incidents.acknowledged + incidents.resolved };
}

async function endToEnd(alerts: readonly Record<string, unknown>[], dir: string): Promise<{ rate: number; p50: number; p99: number; rss: number }> {
  const token = randomBytes(24).toString('base64url');
  const nodeArgs = (process.env['BENCH_SERVER_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
  const server = spawn(process.execPath, [...nodeArgs, join(PACKAGE_ROOT, 'bin', 'tiercel.js'), 'serve', '--listen', '127.0.0.1:0', '--log-format', 'json',
    '--data-dir', join(dir, 'e2e'), '--option', 'stdout_output.enabled=false', '--option', 'api.tokens[0].name=agents',
    '--option', 'api.tokens[0].token_env=BENCH_TOKEN', '--option', 'api.tokens[0].scopes=[ingest]'], {
    env: { ...process.env, BENCH_TOKEN: token }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  const url = await new Promise<string>((resolve, reject) => {
    server.stderr!.setEncoding('utf8').on('data', (d: string) => {
      log += d;
      const m = /"url":"(http:[^"]+)"/.exec(log);
      if (m) resolve(m[1]!);
    });
    server.on('exit', (code) => reject(new Error(`server exited ${code}: ${log}`)));
  });
  const bodies: string[] = [];
  for (let i = 0; i < alerts.length; i += BATCH) bodies.push(JSON.stringify(alerts.slice(i, i + BATCH)));
  const latencies: number[] = [];
  let next = 0;
  let peakRss = 0;
  const rssTimer = setInterval(() => {
    try {
      const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'));
      if (m) peakRss = Math.max(peakRss, Number(m[1]) * 1024);
    } catch {
      // exited
    }
  }, 100);
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < bodies.length) {
      const body = bodies[next++]!;
      const s = performance.now();
      const res = await fetch(`${url}/api/v1/alerts`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`POST answered ${res.status}: ${text}`);
      latencies.push(performance.now() - s);
    }
  }));
  const s = (performance.now() - t0) / 1000;
  clearInterval(rssTimer);
  server.kill('SIGTERM');
  await new Promise((r) => server.on('exit', r));
  latencies.sort((a, b) => a - b);
  const q = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
  return { rate: alerts.length / s, p50: q(0.5), p99: q(0.99), rss: peakRss };
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tiercel-ingest-bench-'));
  try {
    const alerts = generateAlerts(ALERTS);
    const receivedAt = Date.now();
    const evidence = alerts.map((a) => parseAlertJson(a, receivedAt));
    // Warm up the code paths (JIT) on a separate store, then measure.
    await storeOnly(evidence.slice(0, 5000), mkdtempSync(join(dir, 'w1-')));
    await correlated(evidence.slice(0, 5000), mkdtempSync(join(dir, 'w2-')));
    const base = await storeOnly(evidence, dir);
    const corr = await correlated(evidence, dir);
    const e2e = await endToEnd(alerts, dir);
    const ratio = corr.rate / base;
    const lines = [
      `Node ${process.version}, ${cpus().length} CPUs, ${new Date().toISOString().slice(0, 10)}. ${fmt(ALERTS)} alerts ` +
        `(exec sessions with their audit alert, storms, scattered alerts over 1000 pods in 30 namespaces), batches of ${BATCH}; SQLite (WAL) in a temporary directory.`,
      '',
      '| measurement | alerts/s | vs. store only |',
      '|---|---:|---:|',
      `| store only (batched inserts, no correlation): the baseline | ${fmt(base)} | 1.00 |`,
      `| correlated: recorder + correlator + store, in process (${fmt(corr.incidents)} incidents made) | ${fmt(corr.rate)} | ${ratio.toFixed(2)} |`,
      `| end to end: \`tiercel serve\`, ${CONCURRENCY} agents POSTing, counted when acknowledged (committed) | ${fmt(e2e.rate)} | ${(e2e.rate / base).toFixed(2)} |`,
      '',
      `End to end: request latency p50 ${e2e.p50.toFixed(1)} ms, p99 ${e2e.p99.toFixed(1)} ms (${BATCH} alerts a request); the analyzer's peak RSS ${fmt(e2e.rss / 1e6)} MB.`,
      '',
      `Goal ≥ 10,000 alerts/s with correlation on SQLite: ${Math.min(corr.rate, e2e.rate) >= 10_000 ? 'met' : 'NOT met'} ` +
        `(${fmt(corr.rate)} in process, ${fmt(e2e.rate)} end to end).`,
    ];
    const text = lines.join('\n');
    process.stdout.write(text + '\n');
    if (WRITE) {
      const readme = join(PACKAGE_ROOT, 'bench', 'README.md');
      const begin = '<!-- incident-ingest:begin -->';
      const end = '<!-- incident-ingest:end -->';
      const current = readFileSync(readme, 'utf8');
      const a = current.indexOf(begin);
      const b = current.indexOf(end);
      if (a < 0 || b < 0) throw new Error(`bench/README.md has no ${begin} ... ${end} section`);
      writeFileSync(readme, current.slice(0, a + begin.length) + '\n' + text + '\n' + current.slice(b));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
