/**
 * Stats: the SQL (shared by both engines but for the JSON array expansion)
 * and the assembly of grouped rows into {@link Stats}, with every time bucket
 * present so a chart is never blank or gappy.
 */
import { PRIORITIES } from '../engine/priority.js';
import { INCIDENT_STATUSES, type IncidentStatus } from '../incidents/model.js';
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
