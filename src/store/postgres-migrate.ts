/**
 * Applies the PostgreSQL migrations a database lacks, each once in its own
 * transaction. Analyzer replicas start together against one database: a
 * session advisory lock makes them take turns, so each migration runs once.
 */
import type { PoolClient } from 'pg';
import { MIGRATIONS_TABLE, checkNotNewer, ordered, type Migration } from './migrations.js';

/** An arbitrary constant naming Tiercel's migration lock among the database's advisory locks. */
const LOCK_KEY = 7_411_623_990_113;

/** Runs `fn` holding the migration lock (schema changes of concurrent openers would collide on the catalogs). */
export async function withMigrationLock<T>(client: PoolClient, fn: () => Promise<T>): Promise<T> {
  await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
  try {
    return await fn();
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]);
  }
}

/** Call with the migration lock held. */
export async function migratePostgres(client: PoolClient, location: string, list: readonly Migration<PoolClient>[]): Promise<number[]> {
  const migrations = ordered(list);
  await client.query(`CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
    version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)`);
  const res = await client.query<{ v: number | null }>(`SELECT max(version) AS v FROM ${MIGRATIONS_TABLE}`);
  const current = Number(res.rows[0]?.v ?? 0);
  checkNotNewer(location, current, migrations);
  const applied: number[] = [];
  for (const m of migrations) {
    if (m.version <= current) continue;
    await client.query('BEGIN');
    try {
      if (typeof m.up === 'string') await client.query(m.up);
      else await m.up(client);
      await client.query(`INSERT INTO ${MIGRATIONS_TABLE} (version, name, applied_at) VALUES ($1, $2, $3)`, [m.version, m.name, Date.now()]);
      await client.query('COMMIT');
    } catch (e) {
      await client.query('ROLLBACK');
      throw new Error(`store ${location}: migration ${m.version} (${m.name}) failed: ${(e as Error).message}`);
    }
    applied.push(m.version);
  }
  return applied;
}
