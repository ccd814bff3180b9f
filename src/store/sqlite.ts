/**
 * The embedded store: SQLite through better-sqlite3, one file (WAL) under
 * ./data by default.
 *
 * better-sqlite3 is synchronous: every call blocks the event loop while it
 * runs. Calls are kept short: writes are the correlator's batches (one
 * transaction each), listings are keyset pages served from indexes, retention
 * deletes in chunks and yields between them.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database, { type Statement } from 'better-sqlite3';
import type { Incident, IncidentLink, IncidentStatus, StoredAlert, TimelineEntry, WriteBatch } from '../incidents/model.js';
import { ALERT_ORDER, INCIDENT_ORDER, alertWhere, incidentWhere, mergeNewestFirst, priorityFanout } from './filters.js';
import { pageLimit } from './query.js';
import { ALERT_SELECT, alertParams, incidentParams, linkParams, rowToAlert, rowToIncident, rowToLink, type Codec, type Row } from './rows.js';
import { ageCutoff, checkKnownIds, checkRetention, countCutoffOffset, linksByAlert, page, timelineEntry, timelineLimit } from './shared.js';
import * as S from './sql.js';
import { SQLITE_MIGRATIONS } from './sqlite-schema.js';
import { migrateSqlite } from './sqlite-migrate.js';
import { RollupDelta, ROLLUP_DELETE_EMPTY, ROLLUP_UPSERT, rollupInputOfRow } from './rollup.js';
import { computeStats, planStats, statsSql } from './stats.js';
import type { AlertQuery, IncidentQuery, Page, RetentionPolicy, RetentionResult, Stats, StatsQuery, Store } from './types.js';

export interface SqliteStoreOptions {
  /**
   * `normal` (default): with WAL, a commit is written to the WAL file before
   * it returns, so it survives the process being killed (kill -9, OOM, a
   * crash): the OS has the data. It can be lost only if the machine itself
   * loses power or the kernel crashes before the OS flushes it. `full` also
   * fsyncs the WAL at every commit, surviving that too, at the cost of one
   * fsync per batch.
   */
  readonly synchronous?: 'normal' | 'full';
  /** How long a writer waits for another process's lock (the CLI reading while `serve` writes), ms. */
  readonly busyTimeoutMs?: number;
}

const CODEC: Codec = {
  big: (v) => (typeof v === 'bigint' ? v : BigInt(v as number)),
  num: (v) => Number(v),
  json: (v) => JSON.parse(v as string) as unknown,
  text: (s) => s,
  textIsIdentity: true,
};

/** Rows a retention transaction deletes at most (a few ms of blocking each). */
const RETENTION_CHUNK = 2000;

export class SqliteStore implements Store {
  readonly engine = 'sqlite' as const;
  readonly location: string;
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Statement>();

  private constructor(path: string, db: Database.Database) {
    this.location = path;
    this.db = db;
  }

  static open(path: string, options: SqliteStoreOptions = {}): SqliteStore {
    let db: Database.Database;
    try {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      db = new Database(path);
    } catch (e) {
      throw new Error(`store sqlite:${path}: cannot open: ${(e as Error).message}`);
    }
    try {
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (path !== ':memory:' && String(mode).toLowerCase() !== 'wal') {
        throw new Error(`could not switch to WAL (journal_mode is ${String(mode)})`);
      }
      db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5000))}`);
      // Bigger page cache than the 2 MB default: the indexes of a large store stay hot.
      db.pragma('cache_size = -65536');
      // Time columns are 64-bit ns: read every integer as bigint, numbers are converted back where they fit.
      db.defaultSafeIntegers(true);
      migrateSqlite(db, `sqlite:${path}`, SQLITE_MIGRATIONS);
      // Gives the query planner statistics: only for tables that changed a lot, and
      // sampling at most ~1000 rows per index so a large store still opens at once.
      db.pragma('analysis_limit = 1000');
      db.pragma('optimize = 0x10002');
    } catch (e) {
      db.close();
      throw e instanceof Error && e.message.startsWith('store ') ? e : new Error(`store sqlite:${path}: ${(e as Error).message}`);
    }
    return new SqliteStore(path, db);
  }

  private stmt(sql: string): Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      // Listings have one text per filter combination: a bounded cache is plenty.
      if (this.statements.size > 500) this.statements.clear();
      this.statements.set(sql, s);
    }
    return s;
  }

  async write(batch: WriteBatch): Promise<void> {
    this.writeSync(batch);
  }

  private writeSync(batch: WriteBatch): void {
    const insertAlert = this.stmt(S.ALERT_INSERT);
    const upsertIncident = this.stmt(S.INCIDENT_UPSERT);
    const storedRules = this.stmt('SELECT rules FROM incidents WHERE id = ?');
    const deleteRule = this.stmt(S.RULE_DELETE);
    const insertRule = this.stmt(S.RULE_INSERT);
    const adopt = this.stmt(S.LINK_ADOPT);
    const tx = this.db.transaction(() => {
      const links = linksByAlert(batch);
      const rollup = new RollupDelta();
      for (const a of batch.alerts) {
        if (insertAlert.run(...alertParams(a, CODEC, links.get(a.id))).changes > 0) rollup.add(a, 1);
        // Stored with its alert, or skipped with it (a retry: the first write wins).
        links.delete(a.id);
      }
      for (const i of batch.incidents) {
        const stored = storedRules.get(i.id) as Row | undefined;
        if (upsertIncident.run(...incidentParams(i, CODEC)).changes === 0) continue;
        // The rule rows follow the summary's list: only what changed is written
        // (most upserts add no rule; rewriting them all was a sixth of a batch).
        const before = new Set(stored ? (CODEC.json(stored.rules) as string[]) : []);
        const after = new Set(i.rules);
        for (const r of before) if (!after.has(r)) deleteRule.run(i.id, r);
        for (const r of after) if (!before.has(r)) insertRule.run(i.id, r);
      }
      for (const l of links.values()) adopt.run(...linkParams(l, CODEC));
      const addRollup = this.stmt(ROLLUP_UPSERT);
      for (const r of rollup.list()) addRollup.run(r.dim, r.minute, r.key, r.n);
      for (const m of batch.merges ?? []) {
        if (m.from === m.into) continue;
        for (const step of S.MERGE_STEPS) this.stmt(step.sql).run(...step.params.map((p) => m[p]));
      }
    });
    // IMMEDIATE: take the write lock up front, so two writing processes queue on busy_timeout instead of deadlocking.
    tx.immediate();
  }

  async getAlert(id: string): Promise<StoredAlert | undefined> {
    const row = this.stmt(`SELECT ${ALERT_SELECT} FROM alerts WHERE id = ?`).get(id) as Row | undefined;
    return row ? rowToAlert(row, CODEC) : undefined;
  }

  async knownAlertIds(ids: readonly string[]): Promise<Set<string>> {
    checkKnownIds(ids);
    if (ids.length === 0) return new Set();
    // One parameter (a JSON array) instead of one per id: no limit on variables to mind.
    const rows = this.stmt('SELECT id FROM alerts WHERE id IN (SELECT value FROM json_each(?))').all(JSON.stringify(ids)) as Row[];
    return new Set(rows.map((r) => r.id as string));
  }

  async listAlerts(query: AlertQuery): Promise<Page<StoredAlert>> {
    const limit = pageLimit(query.limit);
    const run = (rank?: number): Row[] => {
      const w = alertWhere(query, rank);
      return this.stmt(`SELECT ${ALERT_SELECT} FROM alerts ${w.sql()} ${ALERT_ORDER} LIMIT ?`).all(...w.params, limit + 1) as Row[];
    };
    const ranks = priorityFanout(query);
    const rows = ranks ? mergeNewestFirst(ranks.map(run), limit + 1, CODEC.big) : run();
    return page(rows, limit, (r) => rowToAlert(r, CODEC), (r) => ({ time: CODEC.big(r.time), tie: String(r.seq) }));
  }

  async getIncident(id: string): Promise<Incident | undefined> {
    const row = this.stmt('SELECT * FROM incidents WHERE id = ?').get(id) as Row | undefined;
    return row ? rowToIncident(row, CODEC) : undefined;
  }

  async listIncidents(query: IncidentQuery): Promise<Page<Incident>> {
    const limit = pageLimit(query.limit);
    const w = incidentWhere(query);
    const rows = this.stmt(`SELECT * FROM incidents ${w.sql()} ${INCIDENT_ORDER} LIMIT ?`).all(...w.params, limit + 1) as Row[];
    return page(rows, limit, (r) => rowToIncident(r, CODEC), (r) => ({ time: CODEC.big(r.last_seen), tie: String(r.id) }));
  }

  async incidentTimeline(id: string, limit?: number): Promise<TimelineEntry[]> {
    const rows = this.stmt(S.TIMELINE).all(id, timelineLimit(limit)) as Row[];
    return rows.map((r) => timelineEntry(r, CODEC));
  }

  async incidentLinks(id: string): Promise<IncidentLink[]> {
    const rows = this.stmt(S.INCIDENT_LINKS).all(id) as Row[];
    return rows.map(rowToLink);
  }

  async setIncidentStatus(id: string, status: IncidentStatus, note?: string): Promise<Incident | undefined> {
    const changed = this.stmt('UPDATE incidents SET status = ?, status_note = ? WHERE id = ?').run(status, note ?? null, id).changes;
    return changed ? this.getIncident(id) : undefined;
  }

  async activeIncidents(since: bigint): Promise<Incident[]> {
    const rows = this.stmt(`SELECT * FROM incidents WHERE status <> 'resolved' AND last_seen >= ? ORDER BY last_seen, id`)
      .all(since) as Row[];
    return rows.map((r) => rowToIncident(r, CODEC));
  }

  async stats(query: StatsQuery): Promise<Stats> {
    const sql = statsSql('json_each(alerts.tags) AS tag', 'alerts INDEXED BY alerts_kind_time_search');
    return computeStats(planStats(query), sql, (text, params) => this.stmt(text).all(...params) as Row[]);
  }

  async applyRetention(policy: RetentionPolicy): Promise<RetentionResult> {
    checkRetention(policy);
    const result = { deletedAlerts: 0, deletedIncidents: 0 };
    if (policy.maxAgeMs !== undefined) await this.deleteThrough(ageCutoff(policy.maxAgeMs), result);
    if (policy.maxAlerts !== undefined) {
      const offset = countCutoffOffset(this.countAlertsSync(), policy.maxAlerts);
      const cutoff = offset === undefined ? undefined : (this.stmt(S.RETENTION_COUNT_CUTOFF).get(offset) as Row | undefined);
      if (cutoff) await this.deleteThrough({ time: CODEC.big(cutoff.time), seq: CODEC.big(cutoff.seq) }, result);
    }
    return result;
  }

  /** Deletes all evidence up to (time, seq), a chunk per transaction, yielding to the event loop between chunks. */
  private async deleteThrough(c: { time: bigint; seq: bigint }, result: RetentionResult & { deletedAlerts: number; deletedIncidents: number }): Promise<void> {
    while (this.retentionChunk(c.time, c.seq, result) === RETENTION_CHUNK) {
      await new Promise((r) => setImmediate(r));
    }
  }

  private retentionChunk(time: bigint, seq: bigint, result: { deletedAlerts: number; deletedIncidents: number }): number {
    const tx = this.db.transaction(() => {
      const rows = this.stmt(S.RETENTION_CHUNK).all(time, seq, RETENTION_CHUNK) as Row[];
      const incidents = new Set<string>();
      const rollup = new RollupDelta();
      for (const r of rows) {
        rollup.add(rollupInputOfRow(r, CODEC), -1);
        if (r.kind === 'alert') result.deletedAlerts++;
        if (typeof r.incident_id === 'string') incidents.add(r.incident_id);
      }
      for (const id of incidents) {
        if (this.stmt(S.INCIDENT_DELETE_IF_EMPTY).run(id, id).changes === 0) continue;
        this.stmt(S.INCIDENT_RULES_DELETE).run(id);
        result.deletedIncidents++;
      }
      for (const r of rollup.list()) {
        this.stmt(ROLLUP_UPSERT).run(r.dim, r.minute, r.key, r.n);
        this.stmt(ROLLUP_DELETE_EMPTY).run(r.dim, r.minute, r.key);
      }
      return rows.length;
    });
    return tx.immediate();
  }

  private countAlertsSync(): number {
    return Number((this.stmt(S.COUNT_ALERTS).get() as Row).n);
  }

  async countAlerts(): Promise<number> {
    return this.countAlertsSync();
  }

  async close(): Promise<void> {
    if (!this.db.open) return;
    try {
      this.db.pragma('optimize');
    } finally {
      this.db.close();
    }
  }
}
