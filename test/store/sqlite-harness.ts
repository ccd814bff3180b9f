/**
 * The conformance harness over SQLite files in a temporary directory, for
 * every way the project opens SQLite (the engine itself, the store thread).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Store } from '../../src/store/types.js';
import type { StoreHarness } from './conformance.js';

/** `open` opens a store over a file path; `root` is the temporary directory (removed at exit). */
export function sqliteHarness(prefix: string, open: (path: string) => Promise<Store>): { harness: StoreHarness; root: string } {
  const root = mkdtempSync(join(tmpdir(), prefix));
  process.on('exit', () => rmSync(root, { recursive: true, force: true }));
  let n = 0;
  let current = '';
  const harness: StoreHarness = {
    async fresh() {
      current = join(root, `db-${++n}`, 'tiercel.db');
      return open(current);
    },
    async reopen() {
      return open(current);
    },
    async exec(sql) {
      const db = new Database(current);
      try {
        db.exec(sql);
      } finally {
        db.close();
      }
    },
    storesNul: true,
  };
  return { harness, root };
}
