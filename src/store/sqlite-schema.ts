/**
 * The SQLite schema, as migrations (see migrations.ts). STRICT tables so a
 * wrong type is an error rather than silently stored text. Times are 64-bit
 * integers (ns since the epoch for evidence, ms for bookkeeping); JSON is text.
 *
 * `alerts.seq` is the rowid: it breaks ties between equal times in the
 * newest-first order, and since every SQLite index already ends with the
 * rowid, an index on (x, time) serves `x = ? ORDER BY time DESC, seq DESC`
 * without sorting and without repeating the (long) alert id in every index.
 */
import type { Database } from 'better-sqlite3';
import type { Migration } from './migrations.js';
import { rollupBackfillSql } from './rollup.js';

export const SQLITE_MIGRATIONS: readonly Migration<Database>[] = [
  {
    version: 1,
    name: 'alerts, incidents, links',
    up: `
      CREATE TABLE alerts (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        time INTEGER NOT NULL,
        rule TEXT NOT NULL,
        priority TEXT NOT NULL,
        priority_rank INTEGER NOT NULL,
        source TEXT NOT NULL,
        tags TEXT NOT NULL,
        output TEXT NOT NULL,
        output_fields TEXT NOT NULL,
        hostname TEXT NOT NULL,
        correlation TEXT NOT NULL,
        namespace TEXT,
        pod TEXT,
        pod_uid TEXT,
        container_id TEXT,
        user_name TEXT,
        dedup_key TEXT NOT NULL,
        incident_id TEXT,
        received_at INTEGER NOT NULL,
        -- output, rule and hostname case-folded in JS (Unicode-aware, the same on both engines).
        search TEXT NOT NULL
      ) STRICT;
      CREATE INDEX alerts_time ON alerts (time);
      CREATE INDEX alerts_kind_time ON alerts (kind, time);
      CREATE INDEX alerts_namespace_time ON alerts (namespace, time);
      CREATE INDEX alerts_pod_time ON alerts (pod, time);
      CREATE INDEX alerts_user_time ON alerts (user_name, time);
      CREATE INDEX alerts_rule_time ON alerts (rule, time);
      CREATE INDEX alerts_priority_time ON alerts (priority_rank, time);
      CREATE INDEX alerts_incident_time ON alerts (incident_id, time) WHERE incident_id IS NOT NULL;

      CREATE TABLE incidents (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        severity TEXT NOT NULL,
        severity_rank INTEGER NOT NULL,
        status TEXT NOT NULL,
        status_note TEXT,
        actor_kind TEXT,
        actor_name TEXT,
        actor_confidence TEXT,
        target_namespace TEXT,
        target_pod TEXT,
        target_pod_uid TEXT,
        target_container TEXT,
        target_node TEXT,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        alert_count INTEGER NOT NULL,
        rules TEXT NOT NULL,
        tactics TEXT NOT NULL,
        corr_keys TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        search TEXT NOT NULL
      ) STRICT;
      CREATE INDEX incidents_last_seen ON incidents (last_seen, id);
      CREATE INDEX incidents_status ON incidents (status, last_seen);
      CREATE INDEX incidents_actor ON incidents (actor_name, last_seen);
      CREATE INDEX incidents_namespace ON incidents (target_namespace, last_seen);

      -- One row per distinct rule of an incident: the listing's rule filter.
      CREATE TABLE incident_rules (
        incident_id TEXT NOT NULL,
        rule TEXT NOT NULL,
        PRIMARY KEY (incident_id, rule)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX incident_rules_rule ON incident_rules (rule, incident_id);

      CREATE TABLE links (
        alert_id TEXT NOT NULL,
        incident_id TEXT NOT NULL,
        link_key TEXT NOT NULL,
        confidence TEXT NOT NULL,
        linked_to TEXT,
        detail TEXT,
        PRIMARY KEY (alert_id, incident_id)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX links_incident ON links (incident_id);
    `,
  },
  {
    version: 2,
    name: 'links folded into alerts',
    // An alert is in at most one incident: its link is four columns of its row
    // (one row written per alert instead of two, and a merge is one UPDATE).
    up: `
      ALTER TABLE alerts ADD COLUMN link_key TEXT;
      ALTER TABLE alerts ADD COLUMN link_confidence TEXT;
      ALTER TABLE alerts ADD COLUMN linked_to TEXT;
      ALTER TABLE alerts ADD COLUMN link_detail TEXT;
      UPDATE alerts SET incident_id = links.incident_id, link_key = links.link_key, link_confidence = links.confidence,
        linked_to = links.linked_to, link_detail = links.detail
      FROM links WHERE links.alert_id = alerts.id AND (alerts.incident_id IS NULL OR alerts.incident_id = links.incident_id);
      DROP TABLE links;
    `,
  },
  {
    version: 3,
    name: 'per-minute alert rollup for stats',
    // See rollup.ts. Keyed by dimension first: a breakdown reads only its own rows.
    up: `
      CREATE TABLE alert_rollup (
        dim TEXT NOT NULL,
        minute INTEGER NOT NULL,
        key TEXT NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (dim, minute, key)
      ) STRICT, WITHOUT ROWID;
      ${rollupBackfillSql('json_each(alerts.tags) AS tag')};
    `,
  },
  {
    version: 4,
    name: 'text search reads an index, not the alert rows',
    // A text search the index of no other filter narrows walks the range newest
    // first and tests every alert's search text. Read from the rows, that is
    // ~1.4 KB a row to get ~0.3 KB of text; from this index (which replaces
    // (kind, time), its prefix, so no write pays for one index more) the walk
    // reads only the text: a day of alerts with no match, 90 → 30-50 ms.
    // seq before search keeps the index in the listing's (time, seq) order.
    up: `
      CREATE INDEX alerts_kind_time_search ON alerts (kind, time, seq, search);
      DROP INDEX alerts_kind_time;
    `,
  },
];
