/**
 * The PostgreSQL schema, as migrations (see migrations.ts): the SQLite schema
 * in PostgreSQL types (bigint times, jsonb for JSON). `seq` is an identity
 * column that breaks ties between equal times; the indexes end with it so
 * `x = ? ORDER BY time DESC, seq DESC LIMIT n` is an index scan.
 */
import type { PoolClient } from 'pg';
import type { Migration } from './migrations.js';
import { rollupBackfillSql } from './rollup.js';

export const POSTGRES_MIGRATIONS: readonly Migration<PoolClient>[] = [
  {
    version: 1,
    name: 'alerts, incidents, links',
    up: `
      CREATE TABLE alerts (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id text NOT NULL UNIQUE,
        kind text NOT NULL,
        time bigint NOT NULL,
        rule text NOT NULL,
        priority text NOT NULL,
        priority_rank smallint NOT NULL,
        source text NOT NULL,
        tags jsonb NOT NULL,
        output text NOT NULL,
        output_fields jsonb NOT NULL,
        hostname text NOT NULL,
        correlation jsonb NOT NULL,
        namespace text,
        pod text,
        pod_uid text,
        container_id text,
        user_name text,
        dedup_key text NOT NULL,
        incident_id text,
        received_at bigint NOT NULL,
        search text NOT NULL
      );
      CREATE INDEX alerts_time ON alerts (time, seq);
      CREATE INDEX alerts_kind_time ON alerts (kind, time, seq);
      CREATE INDEX alerts_namespace_time ON alerts (namespace, time, seq);
      CREATE INDEX alerts_pod_time ON alerts (pod, time, seq);
      CREATE INDEX alerts_user_time ON alerts (user_name, time, seq);
      CREATE INDEX alerts_rule_time ON alerts (rule, time, seq);
      CREATE INDEX alerts_priority_time ON alerts (priority_rank, time, seq);
      CREATE INDEX alerts_incident_time ON alerts (incident_id, time, seq) WHERE incident_id IS NOT NULL;

      CREATE TABLE incidents (
        id text PRIMARY KEY,
        title text NOT NULL,
        severity text NOT NULL,
        severity_rank smallint NOT NULL,
        status text NOT NULL,
        status_note text,
        actor_kind text,
        actor_name text,
        actor_confidence text,
        target_namespace text,
        target_pod text,
        target_pod_uid text,
        target_container text,
        target_node text,
        first_seen bigint NOT NULL,
        last_seen bigint NOT NULL,
        alert_count integer NOT NULL,
        rules jsonb NOT NULL,
        tactics jsonb NOT NULL,
        corr_keys jsonb NOT NULL,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL,
        search text NOT NULL
      );
      CREATE INDEX incidents_last_seen ON incidents (last_seen, id);
      CREATE INDEX incidents_status ON incidents (status, last_seen);
      CREATE INDEX incidents_actor ON incidents (actor_name, last_seen);
      CREATE INDEX incidents_namespace ON incidents (target_namespace, last_seen);

      CREATE TABLE incident_rules (
        incident_id text NOT NULL,
        rule text NOT NULL,
        PRIMARY KEY (incident_id, rule)
      );
      CREATE INDEX incident_rules_rule ON incident_rules (rule, incident_id);

      CREATE TABLE links (
        alert_id text NOT NULL,
        incident_id text NOT NULL,
        link_key text NOT NULL,
        confidence text NOT NULL,
        linked_to text,
        detail text,
        PRIMARY KEY (alert_id, incident_id)
      );
      CREATE INDEX links_incident ON links (incident_id);
    `,
  },
  {
    version: 2,
    name: 'links folded into alerts',
    // As in SQLite: an alert is in at most one incident, its link is four columns of its row.
    up: `
      ALTER TABLE alerts ADD COLUMN link_key text, ADD COLUMN link_confidence text, ADD COLUMN linked_to text, ADD COLUMN link_detail text;
      UPDATE alerts SET incident_id = links.incident_id, link_key = links.link_key, link_confidence = links.confidence,
        linked_to = links.linked_to, link_detail = links.detail
      FROM links WHERE links.alert_id = alerts.id AND (alerts.incident_id IS NULL OR alerts.incident_id = links.incident_id);
      DROP TABLE links;
    `,
  },
  {
    version: 3,
    name: 'per-minute alert rollup for stats',
    up: `
      CREATE TABLE alert_rollup (
        dim text NOT NULL,
        minute bigint NOT NULL,
        key text NOT NULL,
        n bigint NOT NULL,
        PRIMARY KEY (dim, minute, key)
      );
      ${rollupBackfillSql('jsonb_array_elements_text(alerts.tags) AS tag(value)')};
    `,
  },
];

/**
 * Trigram indexes make `search LIKE '%…%'` an index lookup instead of a scan.
 * They need the pg_trgm extension: created when the role may (it is a
 * trusted extension since PostgreSQL 13, so a database owner may); without it
 * text search still works, by scanning. Run at every open (cheap when done),
 * so an extension an administrator adds later is picked up.
 */
export async function ensureTrigramIndexes(client: PoolClient): Promise<boolean> {
  await client.query('BEGIN');
  try {
    await client.query('SAVEPOINT trgm');
    try {
      await client.query('CREATE EXTENSION IF NOT EXISTS pg_trgm');
    } catch {
      await client.query('ROLLBACK TO SAVEPOINT trgm');
    }
    const res = await client.query<{ schema: string }>(
      `SELECT n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'`,
    );
    const schema = res.rows[0]?.schema;
    if (schema !== undefined) {
      const ops = `${quoteIdent(schema)}.gin_trgm_ops`;
      await client.query(`CREATE INDEX IF NOT EXISTS alerts_search_trgm ON alerts USING gin (search ${ops})`);
      await client.query(`CREATE INDEX IF NOT EXISTS incidents_search_trgm ON incidents USING gin (search ${ops})`);
    }
    await client.query('COMMIT');
    return schema !== undefined;
  } catch (e) {
    await client.query('ROLLBACK');
    throw e;
  }
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
