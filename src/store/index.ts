/**
 * Opens the store a spec names (see spec.ts). Errors say which store and
 * what went wrong, never with the password.
 */
import { parseStoreSpec } from './spec.js';
import type { Store } from './types.js';

export type { Store } from './types.js';
export { StoreQueryError } from './types.js';
export { parseStoreSpec, redactUrl } from './spec.js';

export interface OpenStoreOptions {
  /** Where the default SQLite file goes (`<dataDir>/tiercel.db`); ./data when absent. */
  readonly dataDir?: string;
}

export async function openStore(spec: string | undefined, options: OpenStoreOptions = {}): Promise<Store> {
  const parsed = parseStoreSpec(spec, options.dataDir);
  if (parsed.engine === 'postgres') {
    // Loaded on demand: an embedded (SQLite) analyzer never loads pg, and the reverse.
    const { PostgresStore } = await import('./postgres.js');
    return PostgresStore.open(parsed.url);
  }
  const { SqliteStore } = await import('./sqlite.js');
  return SqliteStore.open(parsed.path);
}
