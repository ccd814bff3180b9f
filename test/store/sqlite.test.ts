/**
 * The conformance suite on SQLite, plus what only the embedded engine has:
 * the file under ./data, WAL, and durability across kill -9.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openStore } from '../../src/store/index.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { storeConformance, type StoreHarness } from './conformance.js';
import { alert } from './fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'tiercel-store-sqlite-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));
let n = 0;
let current = '';

const harness: StoreHarness = {
  async fresh() {
    current = join(root, `db-${++n}`, 'tiercel.db');
    return SqliteStore.open(current);
  },
  async reopen() {
    return SqliteStore.open(current);
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

storeConformance('sqlite', harness);

describe('sqlite store', () => {
  test('openStore: default file under <dataDir>, sqlite: prefix, plain path; WAL', async () => {
    const dataDir = join(root, 'data-default', 'nested');
    const s = await openStore(undefined, { dataDir });
    assert.equal(s.engine, 'sqlite');
    assert.equal(s.location, join(dataDir, 'tiercel.db'));
    await s.write({ alerts: [alert()], incidents: [], links: [] });
    await s.close();
    assert.ok(existsSync(join(dataDir, 'tiercel.db')));
    const db = new Database(join(dataDir, 'tiercel.db'), { readonly: true });
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();
    const p = await openStore(`sqlite:${join(root, 'prefixed.db')}`);
    assert.equal(p.location, join(root, 'prefixed.db'));
    await p.close();
    const plain = await openStore(join(root, 'plain', 'x.db'));
    assert.equal(plain.engine, 'sqlite');
    await plain.close();
  });

  test('openStore: bad specs and unopenable files say what and where', async () => {
    await assert.rejects(openStore('   '), /empty store location/);
    await assert.rejects(openStore('mysql://u:secret@h/db'), (e: Error) => {
      assert.match(e.message, /unsupported store URL scheme/);
      assert.doesNotMatch(e.message, /secret/);
      return true;
    });
    await assert.rejects(openStore('sqlite:'), /needs a path/);
    // A directory where the file should be.
    await assert.rejects(openStore(root), (e: Error) => {
      assert.match(e.message, new RegExp(`store sqlite:${root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      return true;
    });
    // Not a database.
    const junk = join(root, 'junk.db');
    (await import('node:fs')).writeFileSync(junk, 'this is not sqlite '.repeat(100));
    await assert.rejects(openStore(junk), /store sqlite:.*junk\.db/);
  });

  test('a committed write survives kill -9 of the process that wrote it', async () => {
    const file = join(root, 'crash', 'tiercel.db');
    const script = new URL('./fixtures/write-then-hang.ts', import.meta.url).pathname;
    const child = spawn(process.execPath, ['--import', 'tsx', script, file, '500'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const acked = await new Promise<string[]>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\nREADY\n')) resolve(out.split('\n').filter((l) => l.startsWith('ACK ')).map((l) => l.slice(4)));
      });
      child.on('exit', (code) => reject(new Error(`writer exited with ${code} before writing`)));
    });
    assert.equal(acked.length, 5);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    assert.equal(child.signalCode, 'SIGKILL');
    // The WAL was not checkpointed: the data is only there if the commit reached the WAL file.
    assert.ok(existsSync(`${file}-wal`));
    const store = SqliteStore.open(file);
    try {
      assert.equal(await store.countAlerts(), 500);
      assert.deepEqual(await store.knownAlertIds(acked), new Set(acked));
      const t = await store.getAlert(acked[0]!);
      assert.equal(t?.time, 1_732_791_234_123_456_789n);
    } finally {
      await store.close();
    }
  });
});
