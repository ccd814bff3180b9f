/**
 * The shared store: PostgreSQL through node-postgres (a pool), for analyzer
 * replicas that share one database. Same schema and queries as SQLite (see
 * sql.ts, filters.ts), in PostgreSQL types; a batch is one transaction with
 * multi-row statements, so a write costs a handful of round trips.
 */
import pg from 'pg';
import type { Incident, IncidentLink, IncidentStatus, StoredAlert, TimelineEntry, WriteBatch } from '../incidents/model.js';
import { ALERT_ORDER, INCIDENT_ORDER, alertWhere, incidentWhere, mergeNewestFirst, priorityFanout } from './filters.js';
import { migratePostgres, withMigrationLock } from './postgres-migrate.js';
import { POSTGRES_MIGRATIONS, ensureTrigramIndexes } from './postgres-schema.js';
import { pageLimit, toDollar } from './query.js';
import {
  ALERT_COLUMNS, ALERT_SELECT, INCIDENT_COLUMNS, INCIDENT_UPSERT_SET,
  alertParams, incidentParams, linkParams, rowToAlert, rowToIncident, rowToLink, type Codec, type Row,
} from './rows.js';
import { ageCutoff, checkKnownIds, checkRetention, countCutoffOffset, linksByAlert, page, timelineEntry, timelineLimit } from './shared.js';
import { redactUrl } from './spec.js';
import * as S from './sql.js';
import { RollupDelta, ROLLUP_DELETE_EMPTY, ROLLUP_UPSERT, rollupInputOfRow, type RollupRow } from './rollup.js';
import { computeStats, planStats, statsSql } from './stats.js';
import type { AlertQuery, IncidentQuery, Page, RetentionPolicy, RetentionResult, Stats, StatsQuery, Store } from './types.js';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

const CODEC: Codec = {
  // node-postgres returns int8 (bigint, count(*)) as decimal text: exact.
  big: (v) => BigInt(v as string | number | bigint),
  num: (v) => Number(v),
  json: (v) => v,
  // PostgreSQL text cannot hold U+0000 and jsonb refuses unpaired surrogates:
  // both become U+FFFD rather than failing a whole batch on one hostile string.
  text: (s) => s.replaceAll('\u0000', '\uFFFD').replace(LONE_SURROGATE, '\uFFFD'),
  textIsIdentity: false,
};

/** Rows per multi-row INSERT (PostgreSQL allows 65535 parameters per statement). */
const ROWS_PER_STATEMENT = 500;
const RETENTION_CHUNK = 5000;

export interface PostgresStoreOptions {
  /** Pool size (default 10). */
  readonly maxConnections?: number;
}

export class PostgresStore implements Store {
  readonly engine = 'postgres' as const;
  readonly location: string;
  /** Whether text search has trigram indexes (pg_trgm); without them it scans. */
  readonly trigramSearch: boolean;
  private readonly pool: pg.Pool;

  private constructor(location: string, pool: pg.Pool, trigram: boolean) {
    this.location = location;
    this.pool = pool;
    this.trigramSearch = trigram;
  }

  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const location = redactUrl(url);
    const pool = new pg.Pool({ connectionString: url, max: options.maxConnections ?? 10, connectionTimeoutMillis: 10_000 });
    // An idle client losing its connection (server restart) must not crash the process: the pool replaces it.
    pool.on('error', () => {});
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (e) {
      await pool.end().catch(() => {});
      throw new Error(`store ${location}: cannot connect: ${describe(e, url)}`);
    }
    try {
      const trigram = await withMigrationLock(client, async () => {
        await migratePostgres(client, location, POSTGRES_MIGRATIONS);
        return ensureTrigramIndexes(client);
      });
      client.release();
      return new PostgresStore(location, pool, trigram);
    } catch (e) {
      client.release();
      await pool.end().catch(() => {});
      const message = describe(e, url);
      throw new Error(message.startsWith('store ') ? message : `store ${location}: ${message}`);
    }
  }

  private async query(sql: string, params: readonly unknown[] = [], client?: pg.PoolClient): Promise<Row[]> {
    const res = await (client ?? this.pool).query(toDollar(sql), params as unknown[]);
    return res.rows as Row[];
  }

  private async transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      client.release();
    }
  }

  async write(batch: WriteBatch): Promise<void> {
    await this.transaction(async (client) => {
      const links = linksByAlert(batch, CODEC.text);
      const inserted = new Set<string>();
      for (const chunk of chunks(batch.alerts, ROWS_PER_STATEMENT)) {
        const rows = await this.insertMany(client, 'alerts', ALERT_COLUMNS, chunk.map((a) => alertParams(a, CODEC, links.get(CODEC.text(a.id)))),
          'ON CONFLICT (id) DO NOTHING RETURNING id');
        for (const r of rows) inserted.add(r.id as string);
      }
      const rollup = new RollupDelta();
      for (const a of batch.alerts) {
        // Counted once, as stored: a retried alert (not inserted) is not counted again.
        if (!inserted.delete(CODEC.text(a.id))) continue;
        rollup.add({ ...a, priority: a.priority, source: CODEC.text(a.source), rule: CODEC.text(a.rule), hostname: CODEC.text(a.hostname),
          namespace: a.namespace === undefined ? undefined : CODEC.text(a.namespace), tags: a.tags.map(CODEC.text) }, 1);
      }
      await this.applyRollup(client, rollup.list());
      // Stored with their alerts, or skipped with them (a retry: the first write wins).
      for (const a of batch.alerts) links.delete(CODEC.text(a.id));

      // One statement cannot upsert a row twice: the last version of an incident in the batch wins.
      const incidents = [...new Map(batch.incidents.map((i) => [CODEC.text(i.id), i])).values()];
      for (const chunk of chunks(incidents, ROWS_PER_STATEMENT)) {
        const rows = await this.insertMany(client, 'incidents', INCIDENT_COLUMNS, chunk.map((i) => incidentParams(i, CODEC)),
          `ON CONFLICT (id) DO UPDATE SET ${INCIDENT_UPSERT_SET} WHERE excluded.updated_at >= incidents.updated_at RETURNING id`);
        const changed = new Set(rows.map((r) => r.id as string));
        const ids = chunk.map((i) => CODEC.text(i.id)).filter((id) => changed.has(id));
        if (ids.length === 0) continue;
        await client.query('DELETE FROM incident_rules WHERE incident_id = ANY($1::text[])', [ids]);
        const pairs = chunk.filter((i) => changed.has(CODEC.text(i.id)))
          .flatMap((i) => i.rules.map((r) => [CODEC.text(i.id), CODEC.text(r)] as const));
        if (pairs.length) {
          await client.query('INSERT INTO incident_rules (incident_id, rule) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING',
            [pairs.map((p) => p[0]), pairs.map((p) => p[1])]);
        }
      }

      // Links for evidence stored earlier: one UPDATE (see S.LINK_ADOPT).
      if (links.size) {
        const rows = [...links.values()].map((l) => linkParams(l, CODEC));
        const col = (i: number): unknown[] => rows.map((r) => r[i]);
        await client.query(
          'UPDATE alerts SET incident_id = l.inc, link_key = l.k, link_confidence = l.conf, linked_to = l.lt, link_detail = l.det ' +
            'FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS l(inc, k, conf, lt, det, aid) ' +
            'WHERE alerts.id = l.aid AND (alerts.incident_id IS NULL OR alerts.incident_id = l.inc)',
          [col(0), col(1), col(2), col(3), col(4), col(5)],
        );
      }

      for (const m of batch.merges ?? []) {
        if (m.from === m.into) continue;
        for (const step of S.MERGE_STEPS) await this.query(step.sql, step.params.map((p) => CODEC.text(m[p])), client);
      }
    });
  }

  /** Adds a transaction's rollup changes (rollup.ts); rows brought to zero by retention go. */
  private async applyRollup(client: pg.PoolClient, rows: readonly RollupRow[], dropEmpty = false): Promise<void> {
    if (rows.length === 0) return;
    const params = [rows.map((r) => r.dim), rows.map((r) => r.minute.toString()), rows.map((r) => r.key), rows.map((r) => r.n)];
    await client.query(
      'INSERT INTO alert_rollup (dim, minute, key, n) SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[]) ' +
        'ON CONFLICT (dim, minute, key) DO UPDATE SET n = alert_rollup.n + excluded.n',
      params,
    );
    if (dropEmpty) {
      await client.query(
        'DELETE FROM alert_rollup r USING unnest($1::text[], $2::bigint[], $3::text[]) AS d(dim, minute, key) ' +
          'WHERE r.dim = d.dim AND r.minute = d.minute AND r.key = d.key AND r.n <= 0',
        params.slice(0, 3),
      );
    }
  }

  private async insertMany(client: pg.PoolClient, table: string, columns: readonly string[], rows: unknown[][], suffix: string): Promise<Row[]> {
    if (rows.length === 0) return [];
    let n = 0;
    const values = rows.map((r) => `(${r.map(() => `$${++n}`).join(', ')})`).join(', ');
    const res = await client.query(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${values} ${suffix}`, rows.flat());
    return res.rows as Row[];
  }

  async getAlert(id: string): Promise<StoredAlert | undefined> {
    const rows = await this.query(`SELECT ${ALERT_SELECT} FROM alerts WHERE id = ?`, [CODEC.text(id)]);
    return rows[0] ? rowToAlert(rows[0], CODEC) : undefined;
  }

  async knownAlertIds(ids: readonly string[]): Promise<Set<string>> {
    checkKnownIds(ids);
    if (ids.length === 0) return new Set();
    // Compared as stored: an id with U+0000 was stored with U+FFFD; answer with the caller's spelling.
    const byStored = new Map(ids.map((id) => [CODEC.text(id), id]));
    const rows = await this.query('SELECT id FROM alerts WHERE id = ANY(?::text[])', [[...byStored.keys()]]);
    return new Set(rows.map((r) => byStored.get(r.id as string) ?? (r.id as string)));
  }

  async listAlerts(query: AlertQuery): Promise<Page<StoredAlert>> {
    const limit = pageLimit(query.limit);
    const run = (rank?: number): Promise<Row[]> => {
      const w = alertWhere(query, rank);
      return this.query(`SELECT ${ALERT_SELECT} FROM alerts ${w.sql()} ${ALERT_ORDER} LIMIT ?`, [...w.params.map(textParam), limit + 1]);
    };
    const ranks = priorityFanout(query);
    const rows = ranks ? mergeNewestFirst(await Promise.all(ranks.map(run)), limit + 1, CODEC.big) : await run();
    return page(rows, limit, (r) => rowToAlert(r, CODEC), (r) => ({ time: CODEC.big(r.time), tie: String(r.seq) }));
  }

  async getIncident(id: string): Promise<Incident | undefined> {
    const rows = await this.query('SELECT * FROM incidents WHERE id = ?', [CODEC.text(id)]);
    return rows[0] ? rowToIncident(rows[0], CODEC) : undefined;
  }

  async listIncidents(query: IncidentQuery): Promise<Page<Incident>> {
    const limit = pageLimit(query.limit);
    const w = incidentWhere(query);
    const rows = await this.query(`SELECT * FROM incidents ${w.sql()} ${INCIDENT_ORDER} LIMIT ?`, [...w.params.map(textParam), limit + 1]);
    return page(rows, limit, (r) => rowToIncident(r, CODEC), (r) => ({ time: CODEC.big(r.last_seen), tie: String(r.id) }));
  }

  async incidentTimeline(id: string, limit?: number): Promise<TimelineEntry[]> {
    const rows = await this.query(S.TIMELINE, [CODEC.text(id), timelineLimit(limit)]);
    return rows.map((r) => timelineEntry(r, CODEC));
  }

  async incidentLinks(id: string): Promise<IncidentLink[]> {
    const rows = await this.query(S.INCIDENT_LINKS, [CODEC.text(id)]);
    return rows.map(rowToLink);
  }

  async setIncidentStatus(id: string, status: IncidentStatus, note?: string): Promise<Incident | undefined> {
    const rows = await this.query('UPDATE incidents SET status = ?, status_note = ? WHERE id = ? RETURNING *',
      [status, note === undefined ? null : CODEC.text(note), CODEC.text(id)]);
    return rows[0] ? rowToIncident(rows[0], CODEC) : undefined;
  }

  async activeIncidents(since: bigint): Promise<Incident[]> {
    const rows = await this.query(`SELECT * FROM incidents WHERE status <> 'resolved' AND last_seen >= ? ORDER BY last_seen, id`, [since]);
    return rows.map((r) => rowToIncident(r, CODEC));
  }

  async stats(query: StatsQuery): Promise<Stats> {
    const sql = statsSql('jsonb_array_elements_text(alerts.tags) AS tag(value)');
    // Independent reads: computeStats runs them side by side on the pool.
    return computeStats(planStats(query), sql, (text, params) => this.query(text, params));
  }

  async applyRetention(policy: RetentionPolicy): Promise<RetentionResult> {
    checkRetention(policy);
    const result = { deletedAlerts: 0, deletedIncidents: 0 };
    if (policy.maxAgeMs !== undefined) await this.deleteThrough(ageCutoff(policy.maxAgeMs), result);
    if (policy.maxAlerts !== undefined) {
      const offset = countCutoffOffset(await this.countAlerts(), policy.maxAlerts);
      const cutoff = offset === undefined ? undefined : (await this.query(S.RETENTION_COUNT_CUTOFF, [offset]))[0];
      if (cutoff) await this.deleteThrough({ time: CODEC.big(cutoff.time), seq: CODEC.big(cutoff.seq) }, result);
    }
    return result;
  }

  /** Deletes all evidence up to (time, seq), one chunk per transaction. */
  private async deleteThrough(c: { time: bigint; seq: bigint }, result: { deletedAlerts: number; deletedIncidents: number }): Promise<void> {
    for (;;) {
      const n = await this.transaction(async (client) => {
        const rows = await this.query(S.RETENTION_CHUNK, [c.time, c.seq, RETENTION_CHUNK], client);
        if (rows.length === 0) return 0;
        result.deletedAlerts += rows.filter((r) => r.kind === 'alert').length;
        const rollup = new RollupDelta();
        for (const r of rows) rollup.add(rollupInputOfRow(r, CODEC), -1);
        await this.applyRollup(client, rollup.list(), true);
        const incidents = [...new Set(rows.map((r) => r.incident_id).filter((x): x is string => typeof x === 'string'))];
        if (incidents.length) {
          const gone = await client.query(
            'DELETE FROM incidents i WHERE i.id = ANY($1::text[]) AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.incident_id = i.id) RETURNING id',
            [incidents],
          );
          const ids = gone.rows.map((r: Row) => r.id as string);
          if (ids.length) await client.query('DELETE FROM incident_rules WHERE incident_id = ANY($1::text[])', [ids]);
          result.deletedIncidents += ids.length;
        }
        return rows.length;
      });
      if (n < RETENTION_CHUNK) return;
    }
  }

  async countAlerts(): Promise<number> {
    const rows = await this.query(S.COUNT_ALERTS);
    return Number(rows[0]?.n ?? 0);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** Filter values are compared with stored text, which went through the codec. */
function textParam(v: unknown): unknown {
  return typeof v === 'string' ? CODEC.text(v) : v;
}

function* chunks<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

/** An error's message, with the URL's password removed should a driver ever echo it. */
function describe(e: unknown, url: string): string {
  let message = e instanceof Error ? e.message : String(e);
  const code = (e as { code?: unknown })?.code;
  if (typeof code === 'string' && !message.includes(code)) message += ` (${code})`;
  try {
    const password = decodeURIComponent(new URL(url).password);
    if (password) message = message.split(password).join('***');
  } catch {
    // not a URL: nothing to hide
  }
  return message;
}
