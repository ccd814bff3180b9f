/**
 * SQL texts both engines run as they are (PostgreSQL after `?` → `$n`):
 * upserts, merges, the timeline and retention. Only values travel as
 * parameters; nothing here is ever built from user text.
 */
import { ALERT_COLUMNS, ALERT_SELECT, INCIDENT_COLUMNS, INCIDENT_UPSERT_SET, LINK_FIELDS, LINK_SELECT, insertSql } from './rows.js';

/** A retried alert (same id) is ignored: the first write wins. */
export const ALERT_INSERT = `${insertSql('alerts', ALERT_COLUMNS)} ON CONFLICT (id) DO NOTHING`;

/**
 * The correlator's summary replaces the stored one unless the stored one is
 * newer (a retried batch arriving after a later write must not roll the
 * summary back). `updated_at` is the correlator's clock only: status changes
 * from the API do not touch it.
 */
export const INCIDENT_UPSERT = `${insertSql('incidents', INCIDENT_COLUMNS)} ON CONFLICT (id) DO UPDATE SET ${INCIDENT_UPSERT_SET} ` +
  'WHERE excluded.updated_at >= incidents.updated_at';

/**
 * A link for evidence stored earlier (not in this batch): attaches it when it
 * has no incident yet, or takes the new key and confidence when the
 * correlator re-judged it in the same incident. Evidence in another incident
 * stays there. Params: see {@link linkParams}.
 */
export const LINK_ADOPT = 'UPDATE alerts SET incident_id = ?, link_key = ?, link_confidence = ?, linked_to = ?, link_detail = ? ' +
  'WHERE id = ? AND (incident_id IS NULL OR incident_id = ?)';

export const RULE_DELETE = 'DELETE FROM incident_rules WHERE incident_id = ? AND rule = ?';
export const RULE_INSERT = 'INSERT INTO incident_rules (incident_id, rule) VALUES (?, ?) ON CONFLICT DO NOTHING';

/** Merging `from` into `into`: statements in order, with which of the two each `?` is. */
export const MERGE_STEPS: readonly { readonly sql: string; readonly params: readonly ('from' | 'into')[] }[] = [
  // Evidence moves with its links (they are columns of its rows).
  { sql: 'UPDATE alerts SET incident_id = ? WHERE incident_id = ?', params: ['into', 'from'] },
  {
    sql: 'INSERT INTO incident_rules (incident_id, rule) SELECT CAST(? AS TEXT), rule FROM incident_rules WHERE incident_id = ? ON CONFLICT DO NOTHING',
    params: ['into', 'from'],
  },
  { sql: 'DELETE FROM incident_rules WHERE incident_id = ?', params: ['from'] },
  { sql: 'DELETE FROM incidents WHERE id = ?', params: ['from'] },
];

/**
 * One row per dedupKey, oldest first: the group's first alert (by time, then
 * insertion), how many it has, its last time, and the first alert's link.
 * Params: incident, limit.
 */
export const TIMELINE = `
  SELECT t.*
  FROM (
    SELECT ${ALERT_SELECT}, ${LINK_FIELDS.join(', ')},
           row_number() OVER (PARTITION BY dedup_key ORDER BY time, seq) AS rn,
           count(*) OVER (PARTITION BY dedup_key) AS group_count,
           max(time) OVER (PARTITION BY dedup_key) AS group_last
    FROM alerts WHERE incident_id = ?
  ) t
  WHERE t.rn = 1
  ORDER BY t.time, t.seq
  LIMIT ?`;

/** An incident's links, in the order of its evidence. Params: incident. */
export const INCIDENT_LINKS =
  `SELECT ${LINK_SELECT} FROM alerts WHERE incident_id = ? AND link_key IS NOT NULL ORDER BY time, seq`;

/**
 * Retention deletes in chunks (short transactions: better-sqlite3 blocks the
 * event loop while it runs, and PostgreSQL readers should not wait on one
 * huge delete). Params: cutoff time, cutoff seq, chunk size. Deletes every
 * piece of evidence at or before (time, seq), returning what the rollup
 * (rollup.ts) counted of it.
 */
export const RETENTION_CHUNK = `
  DELETE FROM alerts WHERE seq IN (
    SELECT seq FROM alerts WHERE (time, seq) <= (?, ?) ORDER BY time, seq LIMIT ?
  ) RETURNING id, kind, incident_id, time, priority, source, rule, namespace, hostname, tags`;

/** The newest alert that must go for at most `max` to stay. Params: offset (count − max − 1). */
export const RETENTION_COUNT_CUTOFF =
  `SELECT time, seq FROM alerts WHERE kind = 'alert' ORDER BY time, seq LIMIT 1 OFFSET ?`;

export const COUNT_ALERTS = `SELECT count(*) AS n FROM alerts WHERE kind = 'alert'`;

/** Incidents a retention chunk emptied. Params: incident id, incident id. */
export const INCIDENT_DELETE_IF_EMPTY =
  'DELETE FROM incidents WHERE id = ? AND NOT EXISTS (SELECT 1 FROM alerts WHERE incident_id = ?)';
export const INCIDENT_RULES_DELETE = 'DELETE FROM incident_rules WHERE incident_id = ?';
