/**
 * The store on its own thread (src/store/thread.ts), as `tiercel serve` runs
 * SQLite: the whole conformance suite through the thread, plus what the
 * thread adds — errors keep their kind, an unopenable store says why, calls
 * after close fail cleanly.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { openStoreThread } from '../../src/store/thread.js';
import { StoreQueryError } from '../../src/store/types.js';
import { storeConformance } from './conformance.js';
import { sqliteHarness } from './sqlite-harness.js';
import { alert } from './fixtures.js';

const { harness, root } = sqliteHarness('tiercel-store-thread-', (path) => openStoreThread(`sqlite:${path}`));

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
