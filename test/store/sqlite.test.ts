/**
 * The conformance suite on SQLite, plus what only the embedded engine has:
 * the file under ./data, WAL, and durability across kill -9.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { openStore } from '../../src/store/index.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { SQLITE_MIGRATIONS } from '../../src/store/sqlite-schema.js';
import { ALERT_ORDER, alertWhere } from '../../src/store/filters.js';
import { ALERT_SELECT } from '../../src/store/rows.js';
import { migrateSqlite } from '../../src/store/sqlite-migrate.js';
import { storeConformance } from './conformance.js';
import { sqliteHarness } from './sqlite-harness.js';
import { alert, incident, link } from './fixtures.js';

const { harness, root } = sqliteHarness('tiercel-store-sqlite-', async (path) => SqliteStore.open(path));

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

  test('migration 2 folds the links of a version-1 store into its alerts', async () => {
    const file = join(root, 'v1', 'tiercel.db');
    (await import('node:fs')).mkdirSync(dirname(file), { recursive: true });
    const db = new Database(file);
    migrateSqlite(db, file, SQLITE_MIGRATIONS.filter((m) => m.version === 1));
    const a = alert({ incidentId: 'I' });
    const loose = alert();
    delete (loose as { incidentId?: string }).incidentId;
    const bare = alert({ incidentId: 'I' });
    const insert = db.prepare(`INSERT INTO alerts (id, kind, time, rule, priority, priority_rank, source, tags, output, output_fields,
      hostname, correlation, namespace, pod, pod_uid, container_id, user_name, dedup_key, incident_id, received_at, search)
      VALUES (?, 'alert', ?, 'R', 'Notice', 5, 'syscall', '[]', 'o', '{}', 'h', '{}', NULL, NULL, NULL, NULL, NULL, 'd', ?, 1, 'o')`);
    for (const x of [a, loose, bare]) insert.run(x.id, x.time, x.incidentId ?? null);
    const insertLink = db.prepare('INSERT INTO links (alert_id, incident_id, link_key, confidence, linked_to, detail) VALUES (?, ?, ?, ?, ?, ?)');
    insertLink.run(a.id, 'I', 'audit_id', 'exact', 'x', 'audit id 5b1c');
    insertLink.run(loose.id, 'I', 'pod_uid', 'probable', null, null);
    db.close();
    const store = SqliteStore.open(file);
    try {
      assert.deepEqual(await store.incidentLinks('I'), [
        link('I', a.id, { key: 'audit_id', linkedTo: 'x', detail: 'audit id 5b1c' }),
        { incidentId: 'I', alertId: loose.id, key: 'pod_uid', confidence: 'probable' },
      ]);
      assert.equal((await store.getAlert(loose.id))?.incidentId, 'I', 'a link of loose evidence attaches it');
      assert.equal((await store.getAlert(bare.id))?.incidentId, 'I');
      assert.equal((await store.incidentTimeline('I')).length, 1);
    } finally {
      await store.close();
    }
    const check = new Database(file, { readonly: true });
    assert.equal((check.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'links'").get() as { n: number }).n, 0);
    check.close();
  });

  test('a text search walks the (kind, time, seq, search) index, not the alert rows', async () => {
    // Migration 4: without this index a search no other filter narrows reads
    // every alert row of the range (~1.4 KB each) to test ~0.3 KB of text.
    const file = join(root, 'plan', 'tiercel.db');
    const store = SqliteStore.open(file);
    await store.write({ alerts: Array.from({ length: 50 }, () => alert()), incidents: [], links: [] });
    await store.close();
    const db = new Database(file, { readonly: true });
    try {
      const plan = (q: Parameters<typeof alertWhere>[0]): string => {
        const w = alertWhere(q);
        const rows = db.prepare(`EXPLAIN QUERY PLAN SELECT ${ALERT_SELECT} FROM alerts ${w.sql()} ${ALERT_ORDER} LIMIT ?`)
          .all(...w.params, 101) as { detail: string }[];
        return rows.map((r) => r.detail).join('; ');
      };
      for (const q of [{ text: 'web-1' }, { text: 'web-1', from: 1n, to: 2n ** 62n }]) {
        const p = plan(q);
        assert.match(p, /USING INDEX alerts_kind_time_search/, p);
        assert.doesNotMatch(p, /TEMP B-TREE/, `newest first straight from the index: ${p}`);
      }
      const names = db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'alerts'").all() as { name: string }[];
      assert.ok(!names.some((n) => n.name === 'alerts_kind_time'), 'the (kind, time) index is replaced, not kept beside it');
    } finally {
      db.close();
    }
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
