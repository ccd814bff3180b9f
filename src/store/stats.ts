/**
 * Stats: the SQL (shared by both engines but for the JSON array expansion)
 * and the assembly of grouped rows into {@link Stats}, with every time bucket
 * present so a chart is never blank or gappy.
 */
import { PRIORITIES } from '../engine/priority.js';
import { INCIDENT_STATUSES, type IncidentStatus } from '../incidents/model.js';
import { MINUTE_NS } from './rollup.js';
import { StoreQueryError, type Stats, type StatsQuery } from './types.js';

/** More buckets than this is a mistake of the caller (1 s buckets over a month), not a chart. */
export const MAX_BUCKETS = 10_000;
export const DEFAULT_TOP = 10;

export interface StatsPlan {
  readonly from: bigint;
  readonly to: bigint;
  /** Bucket width, ns. */
  readonly width: bigint;
  readonly buckets: number;
  readonly top: number;
}

export function planStats(q: StatsQuery): StatsPlan {
  if (typeof q.from !== 'bigint' || typeof q.to !== 'bigint') throw new StoreQueryError('stats: from and to must be bigint ns');
  if (q.from > q.to) throw new StoreQueryError('stats: from is after to');
  if (!Number.isInteger(q.bucketMs) || q.bucketMs < 1000) throw new StoreQueryError('stats: bucketMs must be an integer ≥ 1000');
  const top = q.top ?? DEFAULT_TOP;
  if (!Number.isInteger(top) || top < 1 || top > 1000) throw new StoreQueryError('stats: top must be an integer from 1 to 1000');
  const width = BigInt(q.bucketMs) * 1_000_000n;
  const buckets = (q.to - q.from) / width + 1n;
  if (buckets > BigInt(MAX_BUCKETS)) {
    throw new StoreQueryError(`stats: ${buckets} buckets; at most ${MAX_BUCKETS} (widen bucketMs or narrow the range)`);
  }
  return { from: q.from, to: q.to, width, buckets: Number(buckets), top };
}

const RANGE = `kind = 'alert' AND time >= ? AND time <= ?`;

/**
 * The statements, `?` placeholders. `tagsFrom` expands one alert's tags into
 * rows named `tag(value)`; `alerts` is how the alerts table is named in FROM
 * (SQLite pins the time index: left alone, its planner walks the whole
 * (rule, time) index to avoid sorting the groups, reading every alert).
 */
export function statsSql(tagsFrom: string, alerts = 'alerts'): {
  series: string; bySource: string; byRule: string; byNamespace: string; byHostname: string; byTag: string; incidents: string;
} {
  const top = (col: string): string =>
    `SELECT ${col} AS key, count(*) AS n FROM ${alerts} WHERE ${RANGE} AND ${col} IS NOT NULL ` +
    `GROUP BY ${col} ORDER BY n DESC, key LIMIT ?`;
  return {
    // Params: from, width, from, to.
    series: `SELECT (time - ?) / ? AS bucket, priority, count(*) AS n FROM ${alerts} WHERE ${RANGE} GROUP BY bucket, priority`,
    bySource: `SELECT source AS key, count(*) AS n FROM ${alerts} WHERE ${RANGE} GROUP BY source`,
    byRule: top('rule'),
    byNamespace: top('namespace'),
    byHostname: top('hostname'),
    byTag: `SELECT tag.value AS key, count(*) AS n FROM ${alerts}, ${tagsFrom} WHERE ${RANGE} ` +
      'GROUP BY tag.value ORDER BY n DESC, key LIMIT ?',
    // Incidents overlapping the range.
    incidents: 'SELECT status AS key, count(*) AS n FROM incidents WHERE last_seen >= ? AND first_seen <= ? GROUP BY status',
  };
}

export interface Counted {
  readonly key: unknown;
  readonly n: unknown;
}

export interface StatsRows {
  readonly series: readonly { readonly bucket: unknown; readonly priority: unknown; readonly n: unknown }[];
  readonly bySource: readonly Counted[];
  readonly byRule: readonly Counted[];
  readonly byNamespace: readonly Counted[];
  readonly byHostname: readonly Counted[];
  readonly byTag: readonly Counted[];
  readonly incidents: readonly Counted[];
}

export function assembleStats(plan: StatsPlan, rows: StatsRows): Stats {
  const zero = (): Record<string, number> => Object.fromEntries(PRIORITIES.map((p) => [p, 0]));
  const series = Array.from({ length: plan.buckets }, (_, i) => ({
    start: plan.from + BigInt(i) * plan.width,
    byPriority: zero(),
  }));
  const byPriority = zero();
  let total = 0;
  for (const r of rows.series) {
    const n = Number(r.n);
    const p = String(r.priority);
    const bucket = series[Number(r.bucket)];
    if (bucket) bucket.byPriority[p] = (bucket.byPriority[p] ?? 0) + n;
    byPriority[p] = (byPriority[p] ?? 0) + n;
    total += n;
  }
  const list = (rs: readonly Counted[]): { key: string; count: number }[] =>
    rs.map((r) => ({ key: String(r.key), count: Number(r.n) }));
  const incidents = Object.fromEntries(INCIDENT_STATUSES.map((s) => [s, 0])) as Record<IncidentStatus, number>;
  for (const r of rows.incidents) {
    const s = String(r.key) as IncidentStatus;
    if (s in incidents) incidents[s] = Number(r.n);
  }
  return {
    total,
    byPriority,
    byRule: list(rows.byRule),
    bySource: Object.fromEntries(rows.bySource.map((r) => [String(r.key), Number(r.n)])),
    byNamespace: list(rows.byNamespace),
    byHostname: list(rows.byHostname),
    byTag: list(rows.byTag),
    series,
    incidents,
  };
}

type Run = (sql: string, params: readonly unknown[]) => Promise<readonly Record<string, unknown>[]> | readonly Record<string, unknown>[];

/** LIMIT for the edges' breakdowns: all their groups (merged with the rollup's, then cut to top). */
const ALL_GROUPS = 1_000_000_000;

const ROLLUP_KEYS = 'SELECT key, sum(n) AS n FROM alert_rollup WHERE dim = ? AND minute >= ? AND minute < ? GROUP BY key';
const ROLLUP_SERIES = `SELECT minute, key AS priority, n FROM alert_rollup WHERE dim = 'priority' AND minute >= ? AND minute < ?`;

/**
 * Stats through the per-minute rollup (rollup.ts) for the whole minutes of
 * the range and the alerts themselves for the partial minutes at its edges.
 * The series comes from the rollup when every minute falls in one bucket
 * (buckets of whole minutes starting on a minute, as the API's relative
 * ranges do); otherwise it is counted from the alerts, in one scan.
 */
export async function computeStats(plan: StatsPlan, sql: ReturnType<typeof statsSql>, run: Run): Promise<Stats> {
  const range = [plan.from, plan.to];
  const m0 = ceilDiv(plan.from, MINUTE_NS);
  const m1 = floorDiv(plan.to + 1n, MINUTE_NS);
  if (m0 >= m1) {
    // No whole minute: the alerts of the range are few, count them.
    const [series, bySource, byRule, byNamespace, byHostname, byTag, incidents] = await Promise.all([
      run(sql.series, [plan.from, plan.width, ...range]),
      run(sql.bySource, range),
      run(sql.byRule, [...range, plan.top]),
      run(sql.byNamespace, [...range, plan.top]),
      run(sql.byHostname, [...range, plan.top]),
      run(sql.byTag, [...range, plan.top]),
      run(sql.incidents, range),
    ]);
    return assembleStats(plan, { series, bySource, byRule, byNamespace, byHostname, byTag, incidents } as never);
  }
  const edges: [bigint, bigint][] = [];
  if (plan.from < m0 * MINUTE_NS) edges.push([plan.from, m0 * MINUTE_NS - 1n]);
  if (m1 * MINUTE_NS <= plan.to) edges.push([m1 * MINUTE_NS, plan.to]);
  const seriesFromRollup = plan.width % MINUTE_NS === 0n && floorDiv(plan.from, MINUTE_NS) * MINUTE_NS === plan.from;
  const minutes = [m0, m1];

  const keyDims = [['source', sql.bySource, false], ['rule', sql.byRule, true], ['namespace', sql.byNamespace, true],
    ['hostname', sql.byHostname, true], ['tag', sql.byTag, true]] as const;
  const [seriesRows, incidents, ...parts] = await Promise.all([
    seriesFromRollup
      ? Promise.all([run(ROLLUP_SERIES, minutes), ...edges.map((e) => run(sql.series, [plan.from, plan.width, ...e]))])
      : Promise.all([run(sql.series, [plan.from, plan.width, ...range])]),
    run(sql.incidents, range),
    ...keyDims.map(([dim, text, limited]) => Promise.all([
      run(ROLLUP_KEYS, [dim, ...minutes]),
      ...edges.map((e) => run(text, limited ? [...e, ALL_GROUPS] : e)),
    ])),
  ]);
  const series: { bucket: unknown; priority: unknown; n: unknown }[] = [];
  if (seriesFromRollup) {
    const [rolled, ...edgeRows] = seriesRows;
    for (const r of rolled!) {
      series.push({ bucket: (BigInt(r.minute as string | number | bigint) * MINUTE_NS - plan.from) / plan.width, priority: r.priority, n: r.n });
    }
    for (const rows of edgeRows) series.push(...(rows as never[]));
  } else {
    series.push(...(seriesRows[0] as never[]));
  }
  const merged = parts.map((lists) => sumByKey(lists.flat()));
  const top = (c: Counted[]): Counted[] => c.slice(0, plan.top);
  return assembleStats(plan, {
    series,
    bySource: merged[0]!,
    byRule: top(merged[1]!),
    byNamespace: top(merged[2]!),
    byHostname: top(merged[3]!),
    byTag: top(merged[4]!),
    incidents: incidents as unknown as Counted[],
  });
}

/** Counts summed per key, largest first, then by key. */
function sumByKey(rows: readonly Record<string, unknown>[]): Counted[] {
  const sums = new Map<string, number>();
  for (const r of rows) sums.set(String(r.key), (sums.get(String(r.key)) ?? 0) + Number(r.n));
  return [...sums].filter(([, n]) => n > 0).map(([key, n]) => ({ key, n }))
    .sort((a, b) => (a.n !== b.n ? b.n - a.n : a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a < 0n && q * b !== a ? q - 1n : q;
}

function ceilDiv(a: bigint, b: bigint): bigint {
  return -floorDiv(-a, b);
}
