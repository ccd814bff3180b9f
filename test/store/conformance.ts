/**
 * The store conformance suite: every engine (test/store/sqlite.test.ts,
 * test/store/postgres.test.ts) must pass it unchanged. Only the public Store
 * interface is used, plus `exec` of the harness to fake a newer schema.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Incident, StoredAlert } from '../../src/incidents/model.js';
import { StoreQueryError, type Store } from '../../src/store/types.js';
import { SEC, T0, alert, incident, link } from './fixtures.js';

export interface StoreHarness {
  /** A store over an empty database. */
  fresh(): Promise<Store>;
  /** Another store over the database of the last fresh() (a restart: migrations run again). */
  reopen(): Promise<Store>;
  /** Runs SQL on that database directly (test-only). */
  exec(sql: string): Promise<void>;
  /** Whether text with U+0000 round-trips exactly (PostgreSQL cannot store it in text). */
  readonly storesNul: boolean;
}

const ids = (items: readonly { id: string }[]): string[] => items.map((x) => x.id);

export function storeConformance(name: string, harness: StoreHarness, options: { skip?: string } = {}): void {
  describe(`store conformance: ${name}`, { skip: options.skip }, () => {
    async function withStore(fn: (store: Store) => Promise<void>): Promise<void> {
      const store = await harness.fresh();
      try {
        await fn(store);
      } finally {
        await store.close();
      }
    }

    test('an alert round-trips exactly, ns times as bigint included', () => withStore(async (store) => {
      const a = alert({ time: 1_732_791_234_123_456_789n, incidentId: 'inc-1' });
      const bare = alert({ namespace: undefined, pod: undefined, podUid: undefined, containerId: undefined, user: undefined });
      delete (bare as { namespace?: string }).namespace;
      delete (bare as { pod?: string }).pod;
      delete (bare as { podUid?: string }).podUid;
      delete (bare as { containerId?: string }).containerId;
      delete (bare as { user?: string }).user;
      delete (bare as { incidentId?: string }).incidentId;
      const late = alert({ time: 9_223_372_036_854_775_000n });
      await store.write({ alerts: [a, bare, late], incidents: [incident({ id: 'inc-1' })], links: [link('inc-1', a.id)] });
      assert.deepEqual(await store.getAlert(a.id), a);
      assert.deepEqual(await store.getAlert(bare.id), bare);
      const got = await store.getAlert(late.id);
      assert.equal(got?.time, 9_223_372_036_854_775_000n);
      assert.equal(typeof got?.time, 'bigint');
      assert.equal(await store.getAlert('nope'), undefined);
      assert.equal(await store.countAlerts(), 3);
    }));

    test('an incident and its links round-trip', () => withStore(async (store) => {
      const a = alert({ incidentId: 'inc-1' });
      const b = alert({ incidentId: 'inc-1' });
      const inc = incident({ id: 'inc-1', statusNote: undefined, firstSeen: a.time, lastSeen: 1_732_791_299_999_999_999n });
      delete (inc as { statusNote?: string }).statusNote;
      await store.write({
        alerts: [a, b], incidents: [inc],
        links: [link('inc-1', a.id, { key: 'first' }), link('inc-1', b.id, { key: 'audit_id', linkedTo: a.id, detail: 'audit id 5b1c' })],
      });
      assert.deepEqual(await store.getIncident('inc-1'), inc);
      const noActor = incident({ id: 'inc-2', target: {} });
      delete (noActor as { actor?: unknown }).actor;
      await store.write({ alerts: [], incidents: [noActor], links: [] });
      assert.deepEqual(await store.getIncident('inc-2'), noActor);
      assert.deepEqual(await store.incidentLinks('inc-1'), [
        link('inc-1', a.id, { key: 'first' }),
        link('inc-1', b.id, { key: 'audit_id', linkedTo: a.id, detail: 'audit id 5b1c' }),
      ]);
      assert.equal(await store.getIncident('missing'), undefined);
      assert.deepEqual(await store.incidentLinks('missing'), []);
    }));

    test('a retried batch changes nothing: alerts and their links skipped, first write wins', () => withStore(async (store) => {
      const a = alert({ incidentId: 'inc-1' });
      const batch = { alerts: [a], incidents: [incident({ id: 'inc-1' })], links: [link('inc-1', a.id)] };
      await store.write(batch);
      await store.write(batch);
      await store.write(batch);
      assert.equal(await store.countAlerts(), 1);
      assert.deepEqual(await store.getAlert(a.id), a);
      // Same id, other content (a confused producer): ignored, and so is its link.
      const changed = { ...a, output: 'changed', incidentId: 'inc-2' };
      await store.write({ alerts: [changed], incidents: [incident({ id: 'inc-2' })], links: [link('inc-2', a.id)] });
      assert.equal((await store.getAlert(a.id))?.output, a.output);
      assert.deepEqual(await store.incidentLinks('inc-2'), []);
      assert.deepEqual(await store.incidentLinks('inc-1'), [link('inc-1', a.id)]);
      assert.deepEqual(await store.knownAlertIds([a.id, 'other', '']), new Set([a.id]));
      assert.deepEqual(await store.knownAlertIds([]), new Set());
      await assert.rejects(store.knownAlertIds(Array.from({ length: 5001 }, (_, i) => `x${i}`)), StoreQueryError);
    }));

    test('a batch is one transaction: a failing batch leaves nothing behind', () => withStore(async (store) => {
      const good = alert();
      const bad = { ...alert(), priority: 'Bogus' } as unknown as StoredAlert;
      await assert.rejects(store.write({ alerts: [good, bad], incidents: [], links: [] }));
      assert.equal(await store.getAlert(good.id), undefined);
      assert.equal(await store.countAlerts(), 0);
    }));

    test('an upsert keeps the stored status and note; an older summary does not roll back a newer one', () => withStore(async (store) => {
      await store.write({ alerts: [], incidents: [incident({ id: 'inc-1', updatedAt: 1000 })], links: [] });
      const acked = await store.setIncidentStatus('inc-1', 'acknowledged', 'bob: looking into it');
      assert.equal(acked?.status, 'acknowledged');
      assert.equal(acked?.statusNote, 'bob: looking into it');
      await store.write({
        alerts: [],
        incidents: [incident({ id: 'inc-1', title: 'new title', alertCount: 5, rules: ['A', 'B'], updatedAt: 2000, createdAt: 999_999 })],
        links: [],
      });
      let got = await store.getIncident('inc-1');
      assert.equal(got?.status, 'acknowledged');
      assert.equal(got?.statusNote, 'bob: looking into it');
      assert.equal(got?.title, 'new title');
      assert.equal(got?.alertCount, 5);
      assert.equal(got?.createdAt, 1_732_791_235_000, 'createdAt is the first write\'s');
      // A retried older batch: ignored.
      await store.write({ alerts: [], incidents: [incident({ id: 'inc-1', title: 'old title', rules: ['A'], updatedAt: 1500 })], links: [] });
      got = await store.getIncident('inc-1');
      assert.equal(got?.title, 'new title');
      assert.deepEqual(ids((await store.listIncidents({ rule: 'B' })).items), ['inc-1']);
      assert.equal(await store.setIncidentStatus('missing', 'resolved'), undefined);
      const resolved = await store.setIncidentStatus('inc-1', 'resolved');
      assert.equal(resolved?.status, 'resolved');
      assert.equal(resolved?.statusNote, undefined);
    }));

    test('a merge moves evidence and links into the surviving incident and deletes the other', () => withStore(async (store) => {
      const a1 = alert({ incidentId: 'A', rule: 'Rule A' });
      const b1 = alert({ incidentId: 'B', rule: 'Rule B' });
      const b2 = alert({ incidentId: 'B', rule: 'Rule B' });
      await store.write({
        alerts: [a1, b1, b2],
        incidents: [incident({ id: 'A', rules: ['Rule A'] }), incident({ id: 'B', rules: ['Rule B'] })],
        links: [link('A', a1.id, { key: 'first' }), link('B', b1.id, { key: 'first' }), link('B', b2.id)],
      });
      const exec = alert({ incidentId: 'A', kind: 'context', rule: 'exec' });
      await store.write({
        alerts: [exec],
        incidents: [incident({ id: 'A', rules: ['Rule A', 'Rule B'], alertCount: 3, updatedAt: 2_000_000_000_000 })],
        links: [link('A', exec.id, { key: 'audit_id' })],
        merges: [{ from: 'B', into: 'A' }],
      });
      assert.equal(await store.getIncident('B'), undefined);
      assert.deepEqual(await store.incidentLinks('B'), []);
      const links = await store.incidentLinks('A');
      assert.deepEqual(new Set(links.map((l) => l.alertId)), new Set([a1.id, b1.id, b2.id, exec.id]));
      assert.ok(links.every((l) => l.incidentId === 'A'));
      assert.deepEqual(new Set(ids((await store.listAlerts({ incidentId: 'A', kind: 'any' })).items)), new Set([a1.id, b1.id, b2.id, exec.id]));
      assert.equal((await store.getAlert(b2.id))?.incidentId, 'A');
      assert.deepEqual(ids((await store.listIncidents({ rule: 'Rule B' })).items), ['A']);
      assert.deepEqual(ids((await store.listIncidents({})).items), ['A']);
    }));

    test('a link for evidence stored earlier attaches it to the incident', () => withStore(async (store) => {
      const ctx = alert({ kind: 'context' });
      delete (ctx as { incidentId?: string }).incidentId;
      await store.write({ alerts: [ctx], incidents: [], links: [] });
      await store.write({ alerts: [], incidents: [incident({ id: 'I' })], links: [link('I', ctx.id, { key: 'audit_id' })] });
      assert.equal((await store.getAlert(ctx.id))?.incidentId, 'I');
    }));

    test('alert filters, each and combined', () => withStore(async (store) => {
      const base = T0;
      const rows: StoredAlert[] = [
        alert({ id: 'x1', time: base + 1n, namespace: 'prod', pod: 'web-1', user: 'alice', rule: 'R1', priority: 'Critical', source: 'syscall', hostname: 'n1', incidentId: 'I1' }),
        alert({ id: 'x2', time: base + 2n, namespace: 'prod', pod: 'web-2', user: 'bob', rule: 'R2', priority: 'Warning', source: 'k8s_audit', hostname: 'n2' }),
        alert({ id: 'x3', time: base + 3n, namespace: 'dev', pod: 'web-1', user: 'alice', rule: 'R1', priority: 'Debug', source: 'syscall', hostname: 'n1', incidentId: 'I1' }),
        alert({ id: 'x4', time: base + 4n, namespace: 'dev', pod: 'db-0', user: 'carol', rule: 'R3', priority: 'Emergency', source: 'syscall', hostname: 'n3' }),
        alert({ id: 'c1', time: base + 5n, kind: 'context', namespace: 'prod', pod: 'web-1', rule: 'exec', priority: 'Informational', source: 'k8s_audit', hostname: 'n1', incidentId: 'I1' }),
      ];
      await store.write({ alerts: rows.map((r) => ({ ...r, output: `out ${r.id}` })), incidents: [], links: [] });
      const q = async (query: Parameters<Store['listAlerts']>[0]): Promise<string[]> => ids((await store.listAlerts(query)).items);
      assert.deepEqual(await q({}), ['x4', 'x3', 'x2', 'x1'], 'newest first, context events only when asked');
      assert.deepEqual(await q({ kind: 'any' }), ['c1', 'x4', 'x3', 'x2', 'x1']);
      assert.deepEqual(await q({ kind: 'context' }), ['c1']);
      assert.deepEqual(await q({ namespace: 'prod' }), ['x2', 'x1']);
      assert.deepEqual(await q({ pod: 'web-1' }), ['x3', 'x1']);
      assert.deepEqual(await q({ user: 'alice' }), ['x3', 'x1']);
      assert.deepEqual(await q({ rule: 'R1' }), ['x3', 'x1']);
      assert.deepEqual(await q({ source: 'k8s_audit' }), ['x2']);
      assert.deepEqual(await q({ hostname: 'n1' }), ['x3', 'x1']);
      assert.deepEqual(await q({ incidentId: 'I1' }), ['x3', 'x1']);
      assert.deepEqual(await q({ incidentId: 'I1', kind: 'any' }), ['c1', 'x3', 'x1']);
      assert.deepEqual(await q({ minPriority: 'Warning' }), ['x4', 'x2', 'x1']);
      assert.deepEqual(await q({ minPriority: 'Emergency' }), ['x4']);
      assert.deepEqual(await q({ minPriority: 'Debug' }), ['x4', 'x3', 'x2', 'x1']);
      assert.deepEqual(await q({ from: base + 2n, to: base + 3n }), ['x3', 'x2'], 'inclusive range');
      assert.deepEqual(await q({ from: base + 4n }), ['x4']);
      assert.deepEqual(await q({ to: base + 1n }), ['x1']);
      assert.deepEqual(await q({ namespace: 'dev', user: 'alice', rule: 'R1', minPriority: 'Debug', from: base, to: base + 10n }), ['x3']);
      assert.deepEqual(await q({ namespace: 'prod', pod: 'web-1', hostname: 'n1', source: 'syscall' }), ['x1']);
      assert.deepEqual(await q({ namespace: 'nope' }), []);
      assert.deepEqual(await q({ text: 'OUT X3' }), ['x3'], 'output');
      assert.deepEqual(await q({ text: 'out', namespace: 'dev', minPriority: 'Emergency' }), ['x4']);
      assert.deepEqual(await q({ text: 'n3' }), ['x4'], 'hostname is searched');
      assert.deepEqual(await q({ text: 'r2' }), ['x2'], 'rule is searched, case-insensitively');
      await assert.rejects(store.listAlerts({ from: base + 2n, to: base + 1n }), StoreQueryError);
      await assert.rejects(store.listAlerts({ minPriority: 'Loud' as never }), StoreQueryError);
    }));

    test('incident filters, each and combined', () => withStore(async (store) => {
      const incs: Incident[] = [
        incident({ id: 'i1', firstSeen: T0, lastSeen: T0 + 10n, severity: 'Critical', status: 'open', rules: ['R1', 'R2'],
          actor: { kind: 'user', name: 'alice', confidence: 'exact' }, target: { namespace: 'prod', pod: 'web-1' }, title: 'Shell in web-1' }),
        incident({ id: 'i2', firstSeen: T0 + 20n, lastSeen: T0 + 30n, severity: 'Warning', status: 'open', rules: ['R2'],
          actor: { kind: 'serviceaccount', name: 'system:serviceaccount:prod:builder', confidence: 'probable' }, target: { namespace: 'prod', pod: 'build-7' }, title: 'Secret read then egress' }),
        incident({ id: 'i3', firstSeen: T0 + 40n, lastSeen: T0 + 50n, severity: 'Debug', status: 'open', rules: ['R3'],
          actor: { kind: 'user', name: 'bob', confidence: 'ambiguous' }, target: { namespace: 'dev', pod: 'web-1', node: 'node-9' }, title: 'Privileged pod wrote /etc' }),
      ];
      await store.write({ alerts: [], incidents: incs, links: [] });
      await store.setIncidentStatus('i2', 'acknowledged', 'x');
      const q = async (query: Parameters<Store['listIncidents']>[0]): Promise<string[]> => ids((await store.listIncidents(query)).items);
      assert.deepEqual(await q({}), ['i3', 'i2', 'i1'], 'by lastSeen, newest first');
      assert.deepEqual(await q({ namespace: 'prod' }), ['i2', 'i1']);
      assert.deepEqual(await q({ pod: 'web-1' }), ['i3', 'i1']);
      assert.deepEqual(await q({ user: 'alice' }), ['i1']);
      assert.deepEqual(await q({ user: 'system:serviceaccount:prod:builder' }), ['i2']);
      assert.deepEqual(await q({ minPriority: 'Warning' }), ['i2', 'i1']);
      assert.deepEqual(await q({ rule: 'R2' }), ['i2', 'i1']);
      assert.deepEqual(await q({ rule: 'R' }), [], 'rule is an exact name');
      assert.deepEqual(await q({ status: 'acknowledged' }), ['i2']);
      assert.deepEqual(await q({ status: 'open' }), ['i3', 'i1']);
      assert.deepEqual(await q({ from: T0 + 5n, to: T0 + 25n }), ['i2', 'i1'], 'overlapping the range');
      assert.deepEqual(await q({ from: T0 + 31n, to: T0 + 39n }), []);
      assert.deepEqual(await q({ from: T0 + 50n }), ['i3']);
      assert.deepEqual(await q({ text: 'SECRET' }), ['i2'], 'title');
      assert.deepEqual(await q({ text: 'builder' }), ['i2'], 'actor');
      assert.deepEqual(await q({ text: 'node-9' }), ['i3'], 'target');
      assert.deepEqual(await q({ text: 'web-1', namespace: 'prod', rule: 'R1', minPriority: 'Critical', status: 'open', user: 'alice' }), ['i1']);
    }));

    test('cursor pagination walks many pages without duplicates or gaps, even with equal times and inserts between pages', () => withStore(async (store) => {
      const all: StoredAlert[] = [];
      for (let i = 0; i < 1234; i++) all.push(alert({ time: T0 + BigInt(Math.floor(i / 7)), namespace: i % 3 ? 'prod' : 'dev' }));
      for (let i = 0; i < all.length; i += 300) await store.write({ alerts: all.slice(i, i + 300), incidents: [], links: [] });
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      let lastTime: bigint | undefined;
      do {
        const p = await store.listAlerts({ limit: 50, ...(cursor ? { cursor } : {}) });
        for (const a of p.items) {
          if (lastTime !== undefined) assert.ok(a.time <= lastTime, 'newest first');
          lastTime = a.time;
        }
        seen.push(...ids(p.items));
        cursor = p.next;
        pages++;
        // Newer alerts arriving between pages do not disturb the walk.
        if (pages === 3) await store.write({ alerts: [alert({ time: T0 + 10_000n }), alert({ time: T0 + 50n })], incidents: [], links: [] });
      } while (cursor);
      assert.equal(pages, 25);
      assert.equal(seen.length, 1234 + 1, 'the alert inserted behind the cursor shows up once; the newer one is ahead of it');
      assert.equal(new Set(seen).size, seen.length, 'no duplicates');
      for (const a of all) assert.ok(seen.includes(a.id), 'no gaps');
      // Filtered pagination.
      const dev: string[] = [];
      cursor = undefined;
      do {
        const p = await store.listAlerts({ namespace: 'dev', limit: 100, ...(cursor ? { cursor } : {}) });
        dev.push(...ids(p.items));
        cursor = p.next;
      } while (cursor);
      assert.deepEqual(new Set(dev), new Set(all.filter((a) => a.namespace === 'dev').map((a) => a.id)));
      assert.equal(dev.length, new Set(dev).size);
      // A full last page has no `next` when nothing follows.
      const exact = await store.listAlerts({ namespace: 'nope', limit: 1 });
      assert.deepEqual(exact, { items: [] });
    }));

    test('minPriority pages (one query per priority, merged) walk without duplicates or gaps', () => withStore(async (store) => {
      const prios = ['Emergency', 'Critical', 'Warning', 'Notice', 'Debug'] as const;
      const all = Array.from({ length: 300 }, (_, i) => alert({ time: T0 + BigInt(Math.floor(i / 4)), priority: prios[(i * 7) % prios.length]! }));
      await store.write({ alerts: all, incidents: [], links: [] });
      const want = all.filter((a) => ['Emergency', 'Critical', 'Warning'].includes(a.priority))
        .sort((a, b) => (a.time === b.time ? 0 : a.time < b.time ? 1 : -1));
      const seen: StoredAlert[] = [];
      let cursor: string | undefined;
      do {
        const p = await store.listAlerts({ minPriority: 'Warning', limit: 7, ...(cursor ? { cursor } : {}) });
        seen.push(...p.items);
        cursor = p.next;
      } while (cursor);
      assert.equal(seen.length, want.length);
      assert.deepEqual(new Set(ids(seen)), new Set(ids(want)));
      assert.deepEqual(seen.map((a) => a.time), want.map((a) => a.time), 'newest first across priorities');
    }));

    test('incident pagination', () => withStore(async (store) => {
      const incs = Array.from({ length: 57 }, (_, i) => incident({ id: `inc-${String(i).padStart(3, '0')}`, lastSeen: T0 + BigInt(i % 5) }));
      await store.write({ alerts: [], incidents: incs, links: [] });
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const p = await store.listIncidents({ limit: 10, ...(cursor ? { cursor } : {}) });
        seen.push(...ids(p.items));
        cursor = p.next;
      } while (cursor);
      assert.equal(seen.length, 57);
      assert.equal(new Set(seen).size, 57);
    }));

    test('malformed cursors and limits are StoreQueryErrors', () => withStore(async (store) => {
      await store.write({ alerts: [alert(), alert()], incidents: [incident({ id: 'i' })], links: [] });
      const next = (await store.listAlerts({ limit: 1 })).next;
      assert.ok(next);
      for (const cursor of ['', '!!!', 'abc', Buffer.from('12.x').toString('base64url'), Buffer.from('x.1').toString('base64url'),
        `${next}=`, `${next}A`, Buffer.from("1.1'; DROP TABLE alerts; --").toString('base64url'), 'a'.repeat(5000)]) {
        await assert.rejects(store.listAlerts({ cursor }), StoreQueryError, `alert cursor ${JSON.stringify(cursor.slice(0, 40))}`);
      }
      await assert.rejects(store.listIncidents({ cursor: '%%%' }), StoreQueryError);
      for (const limit of [0, -1, 1001, 1.5, Number.NaN]) {
        await assert.rejects(store.listAlerts({ limit }), StoreQueryError, `limit ${limit}`);
        await assert.rejects(store.listIncidents({ limit }), StoreQueryError);
      }
      assert.equal((await store.listAlerts({ limit: 1000 })).items.length, 2);
      assert.equal(await store.countAlerts(), 2);
    }));

    test('text search is literal and case-insensitive: %, _, \\, quotes, SQL, unicode', () => withStore(async (store) => {
      const texts: Record<string, string> = {
        pct: 'disk at 100% on /var',
        under: 'file a_b.txt opened',
        plain: 'file axb.txt opened and 100 percent done',
        sql: "user=x'; DROP TABLE alerts; -- was here",
        dq: 'cmd="curl -o /tmp/x" ran',
        bs: 'path C:\\Windows\\evil.exe written',
        uni: 'Ünïcødé Σίσυφος 日本語 pod',
        dots: 'contacted evil.example.com:4444',
      };
      await store.write({ alerts: Object.entries(texts).map(([id, output]) => alert({ id, output, rule: 'R', hostname: 'h' })), incidents: [], links: [] });
      await store.write({ alerts: [], incidents: [incident({ id: 'pct', title: '100% sure' }), incident({ id: 'plain', title: '100 sure' })], links: [] });
      const q = async (text: string): Promise<string[]> => ids((await store.listAlerts({ text })).items).sort();
      assert.deepEqual(await q('100%'), ['pct']);
      assert.deepEqual(await q('%'), ['pct']);
      assert.deepEqual(await q('a_b'), ['under']);
      assert.deepEqual(await q('_'), ['under']);
      assert.deepEqual(await q("'; drop table alerts; --"), ['sql']);
      assert.deepEqual(await q("'"), ['sql']);
      assert.deepEqual(await q('"curl'), ['dq']);
      assert.deepEqual(await q('C:\\WINDOWS\\'), ['bs']);
      assert.deepEqual(await q('\\'), ['bs']);
      assert.deepEqual(await q('\\%'), []);
      assert.deepEqual(await q('ünïcødé σίσυφος'), ['uni'], 'Unicode case-insensitive');
      assert.deepEqual(await q('日本語'), ['uni']);
      assert.deepEqual(await q('EVIL.EXAMPLE.COM:4444'), ['dots']);
      assert.deepEqual(await q('evil-example'), []);
      assert.deepEqual(await q('x.txt'), [], 'the dot is a dot');
      assert.deepEqual(await q('nothing like this'), []);
      assert.equal((await q('')).length, Object.keys(texts).length, 'empty text: no filter');
      assert.equal(await store.countAlerts(), Object.keys(texts).length, 'the table is still there');
      assert.deepEqual(ids((await store.listIncidents({ text: '100%' })).items), ['pct']);
    }));

    test('text with U+0000 and lone surrogates does not break a write', () => withStore(async (store) => {
      const a = alert({ output: 'nul\u0000byte', pod: 'p\u0000d', outputFields: { 'proc.cmdline': 'a\u0000b', 'k\u0000': 1 } });
      const b = alert({ output: 'lone \ud800 surrogate' });
      await store.write({ alerts: [a, b], incidents: [incident({ id: 'n', title: 't\u0000' })], links: [] });
      const got = await store.getAlert(a.id);
      if (harness.storesNul) assert.deepEqual(got, a);
      else {
        assert.ok(got && got.output.startsWith('nul') && got.output.endsWith('byte'));
        assert.ok(!got.output.includes('\u0000'));
      }
      assert.ok((await store.getAlert(b.id))?.output.startsWith('lone '));
      assert.equal((await store.listAlerts({ text: 'byte' })).items.length, 1);
    }));

    test('timeline: oldest first, storms collapsed by dedupKey with count, last time and the first alert\'s link', () => withStore(async (store) => {
      const exec = alert({ id: 'exec', kind: 'context', time: T0, dedupKey: 'exec', incidentId: 'I' });
      const storm = Array.from({ length: 40 }, (_, i) => alert({ id: `s${i}`, time: T0 + SEC + BigInt(i) * SEC, dedupKey: 'storm', incidentId: 'I' }));
      const dl = alert({ id: 'dl', time: T0 + 5n * SEC, dedupKey: 'download', incidentId: 'I' });
      const other = alert({ id: 'other', time: T0 + 2n * SEC, dedupKey: 'storm', incidentId: 'J' });
      await store.write({
        alerts: [...storm.slice(20), dl, exec, ...storm.slice(0, 20), other],
        incidents: [incident({ id: 'I' }), incident({ id: 'J' })],
        links: [link('I', 'exec', { key: 'first' }), link('I', 's0', { key: 'audit_id', linkedTo: 'exec' }), link('I', 's1', { key: 'storm' }), link('I', 'dl', { key: 'exec_session' })],
      });
      const tl = await store.incidentTimeline('I');
      assert.deepEqual(tl.map((e) => [e.dedupKey, e.first.id, e.count, e.lastTime]), [
        ['exec', 'exec', 1, T0],
        ['storm', 's0', 40, T0 + 40n * SEC],
        ['download', 'dl', 1, T0 + 5n * SEC],
      ]);
      assert.deepEqual(tl[1]?.link, link('I', 's0', { key: 'audit_id', linkedTo: 'exec' }));
      assert.deepEqual(tl[1]?.first, storm[0]);
      assert.equal((await store.incidentTimeline('I', 2)).length, 2);
      assert.deepEqual(await store.incidentTimeline('nope'), []);
      assert.equal((await store.listAlerts({ incidentId: 'I', limit: 1000 })).items.length, 41, 'the raw alerts stay queryable');
    }));

    test('active incidents: not resolved, seen since', () => withStore(async (store) => {
      await store.write({
        alerts: [],
        incidents: [incident({ id: 'old', lastSeen: T0 }), incident({ id: 'new', lastSeen: T0 + 100n }), incident({ id: 'done', lastSeen: T0 + 100n })],
        links: [],
      });
      await store.setIncidentStatus('done', 'resolved');
      assert.deepEqual(ids(await store.activeIncidents(T0 + 1n)), ['new']);
      assert.deepEqual(new Set(ids(await store.activeIncidents(0n))), new Set(['old', 'new']));
    }));

    test('stats: counts, top-N, tags, every bucket present (empty ones too), incidents by status', () => withStore(async (store) => {
      const min = 60n * SEC;
      const from = T0;
      const rows = [
        alert({ time: from, priority: 'Critical', rule: 'R1', namespace: 'prod', hostname: 'n1', source: 'syscall', tags: ['a', 'b'] }),
        alert({ time: from + 10n, priority: 'Critical', rule: 'R1', namespace: 'prod', hostname: 'n1', source: 'syscall', tags: ['a'] }),
        alert({ time: from + 3n * min, priority: 'Warning', rule: 'R2', namespace: 'dev', hostname: 'n2', source: 'k8s_audit', tags: [] }),
        alert({ time: from + 3n * min + 1n, priority: 'Warning', rule: 'R1', hostname: 'n1', source: 'k8s_audit', tags: ['b', 'c'] }),
        alert({ time: from + 5n * min - 1n, priority: 'Notice', rule: 'R3', namespace: 'prod', hostname: 'n3', source: 'syscall', tags: ['a'] }),
        // Outside the range, and a context event: not counted.
        alert({ time: from - 1n, priority: 'Emergency', rule: 'R9' }),
        alert({ time: from + 5n * min, priority: 'Emergency', rule: 'R9' }),
        alert({ time: from + 10n, kind: 'context', priority: 'Emergency', rule: 'R9' }),
      ];
      delete (rows[3] as { namespace?: string }).namespace;
      await store.write({
        alerts: rows,
        incidents: [incident({ id: 'i1', firstSeen: from, lastSeen: from + 1n }), incident({ id: 'i2', firstSeen: from, lastSeen: from + 1n }),
          incident({ id: 'i3', firstSeen: from - 100n, lastSeen: from - 50n })],
        links: [],
      });
      await store.setIncidentStatus('i2', 'resolved');
      const s = await store.stats({ from, to: from + 5n * min - 1n, bucketMs: 60_000, top: 2 });
      assert.equal(s.total, 5);
      assert.equal(s.byPriority.Critical, 2);
      assert.equal(s.byPriority.Warning, 2);
      assert.equal(s.byPriority.Notice, 1);
      assert.equal(s.byPriority.Emergency, 0);
      assert.deepEqual(s.byRule, [{ key: 'R1', count: 3 }, { key: 'R2', count: 1 }]);
      assert.deepEqual(s.bySource, { syscall: 3, k8s_audit: 2 });
      assert.deepEqual(s.byNamespace, [{ key: 'prod', count: 3 }, { key: 'dev', count: 1 }]);
      assert.deepEqual(s.byHostname, [{ key: 'n1', count: 3 }, { key: 'n2', count: 1 }]);
      assert.deepEqual(s.byTag, [{ key: 'a', count: 3 }, { key: 'b', count: 2 }]);
      assert.deepEqual(s.series.map((b) => b.start), [0n, 1n, 2n, 3n, 4n].map((i) => from + i * min));
      assert.deepEqual(s.series.map((b) => Object.values(b.byPriority).reduce((x, y) => x + y, 0)), [2, 0, 0, 2, 1]);
      assert.equal(s.series[0]?.byPriority.Critical, 2);
      assert.equal(s.series[1]?.byPriority.Critical, 0);
      assert.equal(s.series[3]?.byPriority.Warning, 2);
      assert.deepEqual(s.incidents, { open: 1, acknowledged: 0, resolved: 1 });
      const empty = await store.stats({ from: 0n, to: 10n * SEC - 1n, bucketMs: 1000 });
      assert.equal(empty.total, 0);
      assert.equal(empty.series.length, 10);
      assert.ok(empty.series.every((b) => Object.values(b.byPriority).every((n) => n === 0)));
      assert.deepEqual(empty.byRule, []);
      await assert.rejects(store.stats({ from, to: from - 1n, bucketMs: 60_000 }), StoreQueryError);
      await assert.rejects(store.stats({ from, to: from + 1n, bucketMs: 10 }), StoreQueryError);
      await assert.rejects(store.stats({ from: 0n, to: 3_600_000n * SEC, bucketMs: 1000 }), StoreQueryError, 'too many buckets');
    }));

    test('stats over whole minutes (the per-minute rollup) equal counting the alerts: retries once, retention subtracted', () => withStore(async (store) => {
      const min = 60n * SEC;
      const base = (T0 / min + 1n) * min;
      const prios = ['Critical', 'Warning', 'Warning', 'Notice', 'Error'] as const;
      const rows = Array.from({ length: 300 }, (_, i) => alert({
        time: base + BigInt(i) * (min / 47n), priority: prios[i % prios.length]!, rule: `R${(i * 7) % 5}`, source: i % 3 ? 'syscall' : 'k8s_audit',
        namespace: i % 4 ? `ns${i % 3}` : undefined, hostname: `n${i % 6}`, tags: i % 2 ? ['a'] : ['a', 'b', `t${i % 7}`],
      }));
      const ctx = alert({ kind: 'context', time: base + 5n * SEC });
      await store.write({ alerts: [...rows.slice(0, 150), ctx], incidents: [], links: [] });
      await store.write({ alerts: rows.slice(0, 200), incidents: [], links: [] });
      await store.write({ alerts: rows.slice(100), incidents: [], links: [] });
      const expected = (kept: readonly StoredAlert[], from: bigint, to: bigint, bucketMs: number): unknown => {
        const width = BigInt(bucketMs) * 1_000_000n;
        const inRange = kept.filter((a) => a.time >= from && a.time <= to);
        const count = (keys: (string | undefined)[]): Map<string, number> => {
          const m = new Map<string, number>();
          for (const k of keys) if (k !== undefined) m.set(k, (m.get(k) ?? 0) + 1);
          return m;
        };
        const top = (m: Map<string, number>): { key: string; count: number }[] => [...m].map(([key, count]) => ({ key, count }))
          .sort((x, y) => (x.count !== y.count ? y.count - x.count : x.key < y.key ? -1 : 1)).slice(0, 10);
        const series = new Map<bigint, Map<string, number>>();
        for (const a of inRange) {
          const b = (a.time - from) / width;
          const m = series.get(b) ?? new Map<string, number>();
          m.set(a.priority, (m.get(a.priority) ?? 0) + 1);
          series.set(b, m);
        }
        return {
          total: inRange.length,
          byRule: top(count(inRange.map((a) => a.rule))),
          bySource: Object.fromEntries(count(inRange.map((a) => a.source))),
          byNamespace: top(count(inRange.map((a) => a.namespace))),
          byHostname: top(count(inRange.map((a) => a.hostname))),
          byTag: top(count(inRange.flatMap((a) => a.tags))),
          series: [...series].sort((x, y) => (x[0] < y[0] ? -1 : 1)).map(([b, m]) => [b, Object.fromEntries([...m].sort())]),
        };
      };
      const got = async (from: bigint, to: bigint, bucketMs: number): Promise<unknown> => {
        const s = await store.stats({ from, to, bucketMs });
        return {
          total: s.total, byRule: s.byRule, bySource: s.bySource, byNamespace: s.byNamespace, byHostname: s.byHostname, byTag: s.byTag,
          series: s.series.map((b, i) => [BigInt(i), Object.fromEntries(Object.entries(b.byPriority).filter(([, n]) => n > 0).sort())])
            .filter(([, m]) => Object.keys(m as object).length > 0),
        };
      };
      const ranges: [bigint, bigint, number][] = [
        [base, base + 7n * min - 1n, 60_000], // whole minutes, minute buckets: all from the rollup
        [base, base + 3n * min + 17n * SEC, 120_000], // a partial minute at the end
        [base + 7n * SEC, base + 6n * min + 1n, 60_000], // partial at both ends, buckets across minutes
        [base + min + SEC, base + min + 50n * SEC, 1000], // inside one minute
        [base - 10n * min, base + 10n * min, 300_000],
      ];
      for (const [from, to, bucketMs] of ranges) {
        assert.deepEqual(await got(from, to, bucketMs), expected(rows, from, to, bucketMs), `stats ${from - base}..${to - base} / ${bucketMs} ms`);
      }
      await store.applyRetention({ maxAlerts: 120 });
      for (const [from, to, bucketMs] of ranges) {
        assert.deepEqual(await got(from, to, bucketMs), expected(rows.slice(180), from, to, bucketMs), `after retention, ${from - base}..${to - base}`);
      }
      await store.applyRetention({ maxAlerts: 0 });
      assert.equal((await store.stats({ from: base - min, to: base + 10n * min, bucketMs: 60_000 })).total, 0);
    }));

    test('retention by age deletes old evidence, its links, and incidents left empty', () => withStore(async (store) => {
      const nowNs = BigInt(Date.now()) * 1_000_000n;
      const day = 86_400n * SEC;
      const old1 = alert({ time: nowNs - 10n * day, incidentId: 'gone' });
      const old2 = alert({ time: nowNs - 9n * day, incidentId: 'half' });
      const oldCtx = alert({ time: nowNs - 9n * day, kind: 'context', incidentId: 'gone' });
      const fresh = alert({ time: nowNs - 3600n * SEC, incidentId: 'half' });
      const loose = alert({ time: nowNs - 8n * day });
      await store.write({
        alerts: [old1, old2, oldCtx, fresh, loose],
        incidents: [incident({ id: 'gone' }), incident({ id: 'half', rules: ['Terminal shell in container'] })],
        links: [link('gone', old1.id), link('gone', oldCtx.id), link('half', old2.id), link('half', fresh.id)],
      });
      assert.deepEqual(await store.applyRetention({}), { deletedAlerts: 0, deletedIncidents: 0 });
      const r = await store.applyRetention({ maxAgeMs: 86_400_000 });
      assert.deepEqual(r, { deletedAlerts: 3, deletedIncidents: 1 });
      assert.equal(await store.countAlerts(), 1);
      assert.equal(await store.getIncident('gone'), undefined);
      assert.deepEqual(await store.incidentLinks('gone'), []);
      assert.deepEqual((await store.incidentLinks('half')).map((l) => l.alertId), [fresh.id]);
      assert.equal(await store.getAlert(oldCtx.id), undefined, 'context events age out too');
      assert.deepEqual(await store.applyRetention({ maxAgeMs: 86_400_000 }), { deletedAlerts: 0, deletedIncidents: 0 });
      await assert.rejects(store.applyRetention({ maxAgeMs: -1 }), StoreQueryError);
    }));

    test('retention by count keeps the newest alerts, across many chunks', () => withStore(async (store) => {
      const rows = Array.from({ length: 4500 }, (_, i) => alert({ time: T0 + BigInt(i), incidentId: i < 4000 ? 'early' : 'late' }));
      for (let i = 0; i < rows.length; i += 500) {
        await store.write({ alerts: rows.slice(i, i + 500), incidents: [incident({ id: 'early' }), incident({ id: 'late' })], links: [] });
      }
      assert.deepEqual(await store.applyRetention({ maxAlerts: 5000 }), { deletedAlerts: 0, deletedIncidents: 0 });
      const r = await store.applyRetention({ maxAlerts: 300 });
      assert.deepEqual(r, { deletedAlerts: 4200, deletedIncidents: 1 });
      assert.equal(await store.countAlerts(), 300);
      const kept = (await store.listAlerts({ limit: 1000 })).items;
      assert.deepEqual(ids(kept), ids(rows.slice(4200).reverse()));
      assert.equal(await store.getIncident('early'), undefined);
      assert.ok(await store.getIncident('late'));
      assert.deepEqual(await store.applyRetention({ maxAlerts: 0 }), { deletedAlerts: 300, deletedIncidents: 1 });
      assert.equal(await store.countAlerts(), 0);
    }));

    test('migrations: re-running them on restart changes nothing; a newer schema is refused clearly', async () => {
      const store = await harness.fresh();
      const a = alert();
      await store.write({ alerts: [a], incidents: [incident({ id: 'i' })], links: [] });
      await store.close();
      for (let i = 0; i < 2; i++) {
        const again = await harness.reopen();
        assert.deepEqual(await again.getAlert(a.id), a);
        assert.ok(await again.getIncident('i'));
        await again.close();
      }
      await harness.exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'from the future', 0)");
      await assert.rejects(harness.reopen(), (e: Error) => {
        assert.match(e.message, /version 999, newer than this Tiercel knows/);
        return true;
      });
    });
  });
}
