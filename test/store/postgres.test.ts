/**
 * The conformance suite on PostgreSQL. It connects to TIERCEL_TEST_POSTGRES_URL
 * (default: the loopback server scripts/test-postgres.sh starts, which .ci/run
 * starts too) and works in a database of its own, created for this run and
 * dropped after it. Without a reachable server it skips, saying why (CI
 * counts a skip as a failure, so CI really runs it).
 */
import { after, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { openStore, redactUrl } from '../../src/store/index.js';
import { PostgresStore } from '../../src/store/postgres.js';
import { POSTGRES_MIGRATIONS } from '../../src/store/postgres-schema.js';
import type { Store } from '../../src/store/types.js';
import { storeConformance, type StoreHarness } from './conformance.js';
import { alert } from './fixtures.js';

const baseUrl = process.env.TIERCEL_TEST_POSTGRES_URL ?? 'postgres://tiercel:tiercel-test@127.0.0.1:55432/tiercel';
const dbName = `tiercel_test_${process.pid}_${Date.now()}`;

async function setUp(): Promise<{ url: string } | { skip: string }> {
  const admin = new pg.Client({ connectionString: baseUrl, connectionTimeoutMillis: 3000 });
  try {
    await admin.connect();
  } catch (e) {
    return {
      skip: `no PostgreSQL reachable at ${redactUrl(baseUrl)} (${(e as Error).message || String(e)}); ` +
        'start one with `eval "$(scripts/test-postgres.sh)"` or set TIERCEL_TEST_POSTGRES_URL',
    };
  }
  try {
    await admin.query(`CREATE DATABASE ${dbName}`);
  } finally {
    await admin.end();
  }
  const url = new URL(baseUrl);
  url.pathname = `/${dbName}`;
  return { url: url.toString() };
}

const env = await setUp();
const testUrl = 'url' in env ? env.url : '';

after(async () => {
  if (!testUrl) return;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
});

async function sql(text: string): Promise<void> {
  const c = new pg.Client({ connectionString: testUrl });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}

/** An empty database: the tables dropped, so the migrations run again from scratch. */
const reset = (): Promise<void> => sql('DROP TABLE IF EXISTS alerts, incidents, incident_rules, links, alert_rollup, schema_migrations');

const harness: StoreHarness = {
  async fresh() {
    await reset();
    return PostgresStore.open(testUrl);
  },
  reopen: () => PostgresStore.open(testUrl),
  exec: sql,
  storesNul: false,
};

const skip = 'skip' in env ? env.skip : undefined;
storeConformance('postgres', harness, skip ? { skip } : {});

describe('postgres store', skip ? { skip } : {}, () => {
  beforeEach(reset);

  test('openStore with a postgres:// or postgresql:// URL; location without the password', async () => {
    for (const scheme of ['postgres', 'postgresql']) {
      const url = testUrl.replace(/^postgres(ql)?:/, `${scheme}:`);
      const store: Store = await openStore(url);
      try {
        assert.equal(store.engine, 'postgres');
        assert.doesNotMatch(store.location, /tiercel-test/);
        assert.match(store.location, /\*\*\*/);
        await store.write({ alerts: [alert()], incidents: [], links: [] });
      } finally {
        await store.close();
      }
    }
  });

  test('pg_trgm is used for text search when the role may create it', async () => {
    const store = await PostgresStore.open(testUrl);
    try {
      assert.equal(store.trigramSearch, true);
    } finally {
      await store.close();
    }
  });

  test('an unreachable server or a wrong password: an error that names the place, never the password', async () => {
    const refused = 'postgres://tiercel:hunter2-secret@127.0.0.1:1/tiercel';
    await assert.rejects(openStore(refused), (e: Error) => {
      assert.match(e.message, /store postgres:\/\/tiercel:\*\*\*@127\.0\.0\.1:1\/tiercel: cannot connect/);
      assert.doesNotMatch(e.message, /hunter2/);
      return true;
    });
    const wrong = new URL(testUrl);
    wrong.password = 'hunter2-wrong';
    await assert.rejects(openStore(wrong.toString()), (e: Error) => {
      assert.match(e.message, /cannot connect: .*password authentication failed/);
      assert.doesNotMatch(e.message, /hunter2/);
      return true;
    });
    await assert.rejects(openStore('postgres://'), /no host|not a valid/);
  });

  test('replicas opening one database at once apply each migration once', async () => {
    const stores = await Promise.all([1, 2, 3].map(() => PostgresStore.open(testUrl)));
    try {
      const c = new pg.Client({ connectionString: testUrl });
      await c.connect();
      const res = await c.query('SELECT version FROM schema_migrations ORDER BY version');
      await c.end();
      assert.deepEqual(res.rows.map((r: { version: number }) => r.version), POSTGRES_MIGRATIONS.map((m) => m.version));
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });
});
