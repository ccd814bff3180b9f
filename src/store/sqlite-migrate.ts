/**
 * Applies the SQLite migrations a database lacks, each once in its own
 * IMMEDIATE transaction (the write lock is taken before reading the applied
 * versions, so two processes opening the same file at once do not both apply one).
 */
import type { Database } from 'better-sqlite3';
import { MIGRATIONS_TABLE, checkNotNewer, ordered, type Migration } from './migrations.js';

export function migrateSqlite(db: Database, location: string, list: readonly Migration<Database>[]): number[] {
  const migrations = ordered(list);
  db.exec(`CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`);
  const current = (): number => {
    const row = db.prepare(`SELECT max(version) AS v FROM ${MIGRATIONS_TABLE}`).get() as { v: number | bigint | null };
    return Number(row.v ?? 0);
  };
  checkNotNewer(location, current(), migrations);
  const applied: number[] = [];
  for (const m of migrations) {
    const apply = db.transaction(() => {
      if (current() >= m.version) return false;
      if (typeof m.up === 'string') db.exec(m.up);
      else void m.up(db);
      db.prepare(`INSERT INTO ${MIGRATIONS_TABLE} (version, name, applied_at) VALUES (?, ?, ?)`).run(m.version, m.name, Date.now());
      return true;
    });
    if (apply.immediate()) applied.push(m.version);
  }
  return applied;
}
