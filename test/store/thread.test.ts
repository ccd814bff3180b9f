/**
 * The store on its own thread (src/store/thread.ts), as `tiercel serve` runs
 * SQLite: the whole conformance suite through the thread, plus what the
 * thread adds — errors keep their kind, an unopenable store says why, calls
 * after close fail cleanly.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { openStoreThread } from '../../src/store/thread.js';
import { StoreQueryError } from '../../src/store/types.js';
import { storeConformance, type StoreHarness } from './conformance.js';
import { alert } from './fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'tiercel-store-thread-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));
let n = 0;
let current = '';

const harness: StoreHarness = {
  async fresh() {
    current = join(root, `db-${++n}`, 'tiercel.db');
    return openStoreThread(`sqlite:${current}`);
  },
  async reopen() {
    return openStoreThread(`sqlite:${current}`);
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

storeConformance('sqlite on a thread', harness);

describe('store thread', () => {
  test('a refused query is a StoreQueryError here too; a closed store refuses calls', async () => {
    const s = await openStoreThread(`sqlite:${join(root, 'errors.db')}`);
    await assert.rejects(s.listAlerts({ cursor: 'not a cursor' }), (e: unknown) => e instanceof StoreQueryError);
    await s.write({ alerts: [alert()], incidents: [], links: [] });
    assert.equal(await s.countAlerts(), 1);
    await s.close();
    await assert.rejects(s.countAlerts(), /store thread/);
  });

  test('a store that cannot be opened says why', async () => {
    await assert.rejects(openStoreThread(`sqlite:${root}`), /store sqlite:/);
  });
});
