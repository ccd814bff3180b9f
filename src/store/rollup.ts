/**
 * Per-minute counts of alerts (kind `alert`) by priority, source, rule,
 * namespace, hostname and tag: the `alert_rollup` table, kept by write()
 * (alerts actually inserted) and retention (alerts deleted), both engines.
 * Stats over a day read ~1440 rows per breakdown value instead of every
 * alert of the day; only the partial minutes at the range's edges (and the
 * series when its buckets do not fall on whole minutes) still read alerts.
 */
import type { Codec, Row } from './rows.js';

export const MINUTE_NS = 60_000_000_000n;

export type RollupDim = 'priority' | 'source' | 'rule' | 'namespace' | 'hostname' | 'tag';

/** The minute an event time falls in (floor, also before 1970). */
export function minuteOf(t: bigint): bigint {
  const q = t / MINUTE_NS;
  return t < 0n && q * MINUTE_NS !== t ? q - 1n : q;
}

/** The same floor in SQL, for backfills (`time` an int64 column). */
export const MINUTE_SQL = `(time - ((time % ${MINUTE_NS}) + ${MINUTE_NS}) % ${MINUTE_NS}) / ${MINUTE_NS}`;

/** What the rollup needs of an alert, its texts as the engine stores them. */
export interface RollupInput {
  readonly kind: string;
  readonly time: bigint;
  readonly priority: string;
  readonly source: string;
  readonly rule: string;
  readonly namespace?: string | null | undefined;
  readonly hostname: string;
  readonly tags: readonly string[];
}

export interface RollupRow {
  readonly dim: RollupDim;
  readonly minute: bigint;
  readonly key: string;
  readonly n: number;
}

/** Changes to the rollup of one transaction, summed per row. */
export class RollupDelta {
  private readonly rows = new Map<string, { dim: RollupDim; minute: bigint; key: string; n: number }>();

  /** `sign` 1: an alert stored; −1: one deleted. Context events are not counted. */
  add(a: RollupInput, sign: 1 | -1): void {
    if (a.kind !== 'alert') return;
    const m = minuteOf(a.time);
    this.bump('priority', m, a.priority, sign);
    this.bump('source', m, a.source, sign);
    this.bump('rule', m, a.rule, sign);
    if (a.namespace !== undefined && a.namespace !== null) this.bump('namespace', m, a.namespace, sign);
    this.bump('hostname', m, a.hostname, sign);
    for (const t of a.tags) this.bump('tag', m, t, sign);
  }

  /** Sorted (dim, minute, key): concurrent PostgreSQL writers lock rows in one order, so they never deadlock. */
  list(): RollupRow[] {
    return [...this.rows.values()].filter((r) => r.n !== 0).sort((a, b) =>
      a.dim !== b.dim ? (a.dim < b.dim ? -1 : 1) : a.minute !== b.minute ? (a.minute < b.minute ? -1 : 1) : a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  }

  private bump(dim: RollupDim, minute: bigint, key: string, n: number): void {
    const k = `${dim}\u0000${minute}\u0000${key}`;
    const r = this.rows.get(k);
    if (r) r.n += n;
    else this.rows.set(k, { dim, minute, key, n });
  }
}

/** Columns retention's delete returns for the rollup (see RETENTION_CHUNK). */
export function rollupInputOfRow(r: Row, c: Codec): RollupInput {
  return {
    kind: r.kind as string,
    time: c.big(r.time),
    priority: r.priority as string,
    source: r.source as string,
    rule: r.rule as string,
    namespace: r.namespace as string | null,
    hostname: r.hostname as string,
    tags: c.json(r.tags) as string[],
  };
}

/** Adds `n` (negative after retention) to a row. Params: dim, minute, key, n. */
export const ROLLUP_UPSERT = 'INSERT INTO alert_rollup (dim, minute, key, n) VALUES (?, ?, ?, ?) ' +
  'ON CONFLICT (dim, minute, key) DO UPDATE SET n = alert_rollup.n + excluded.n';
/** A row retention brought to zero. Params: dim, minute, key. */
export const ROLLUP_DELETE_EMPTY = 'DELETE FROM alert_rollup WHERE dim = ? AND minute = ? AND key = ? AND n <= 0';

/** The rollup of the alerts already stored (the migration that adds the table). */
export function rollupBackfillSql(tagsFrom: string): string {
  const dim = (name: RollupDim, col: string, extra = ''): string =>
    `SELECT '${name}', ${MINUTE_SQL} AS m, ${col}, count(*) FROM alerts WHERE kind = 'alert'${extra} GROUP BY m, ${col}`;
  return `INSERT INTO alert_rollup (dim, minute, key, n)
    ${dim('priority', 'priority')}
    UNION ALL ${dim('source', 'source')}
    UNION ALL ${dim('rule', 'rule')}
    UNION ALL ${dim('namespace', 'namespace', ' AND namespace IS NOT NULL')}
    UNION ALL ${dim('hostname', 'hostname')}
    UNION ALL SELECT 'tag', ${MINUTE_SQL} AS m, tag.value, count(*) FROM alerts, ${tagsFrom} WHERE kind = 'alert' GROUP BY m, tag.value`;
}
