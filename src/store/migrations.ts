/**
 * Versioned schema migrations, the part both engines share. Each engine lists
 * its migrations (sqlite-schema.ts, postgres-schema.ts) and applies the ones
 * a database lacks, each once and in its own transaction, recording it in
 * `schema_migrations`. Versions only grow; a released migration is never
 * edited, a change is a new migration.
 */

export interface Migration<Db> {
  readonly version: number;
  readonly name: string;
  /** Runs inside the migration's transaction. */
  readonly up: string | ((db: Db) => void | Promise<void>);
}

export const MIGRATIONS_TABLE = 'schema_migrations';

/** Refuses a database that a newer Tiercel migrated: its schema may mean something this code does not know. */
export function checkNotNewer<Db>(location: string, applied: number, known: readonly Migration<Db>[]): void {
  const latest = latestVersion(known);
  if (applied > latest) {
    throw new Error(
      `store ${location}: its schema is at version ${applied}, newer than this Tiercel knows (${latest}); ` +
        'run a Tiercel at least as new as the one that wrote it (or point --store at another database)',
    );
  }
}

export function latestVersion<Db>(known: readonly Migration<Db>[]): number {
  return known.reduce((m, x) => Math.max(m, x.version), 0);
}

/** Migrations in order, checked for duplicate or unordered versions (a programming error). */
export function ordered<Db>(list: readonly Migration<Db>[]): readonly Migration<Db>[] {
  const sorted = [...list].sort((a, b) => a.version - b.version);
  sorted.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`store migrations: expected version ${i + 1}, found ${m.version} (${m.name})`);
  });
  return sorted;
}
