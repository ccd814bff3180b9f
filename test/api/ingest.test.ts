/**
 * POST /api/v1/alerts: agents (and Falco, Falcosidekick) posting alerts. The
 * ingest handler here is a real one in miniature: it validates Falco alert
 * objects, drops the ids the store already has, and writes the rest to the
 * real SQLite store; the router must answer only once that write resolved.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { parsePriority } from '../../src/engine/priority.js';
import type { StoredAlert } from '../../src/incidents/model.js';
import { type AlertIngestHandler, IngestRejected } from '../../src/api/ingest-types.js';
import type { AlertJson } from '../../src/api/serialize.js';
import { parseInstant } from '../../src/api/time.js';
import type { Store } from '../../src/store/types.js';
import { type LiveApi, type TempStore, bearer, startApi, tempStore } from './seed.js';

/** Falco's JSON alert → a stored alert; throws IngestRejected(400) naming the bad field. */
function toStored(value: unknown, index: number, token: string): StoredAlert {
  const where = (field: string): string => `[${index}].${field}`;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new IngestRejected(400, 'an alert must be a JSON object', { path: `[${index}]` });
  }
  const a = value as Record<string, unknown>;
  const text = (field: string): string => {
    const v = a[field];
    if (typeof v !== 'string' || v === '') throw new IngestRejected(400, `${field}: expected a non-empty string`, { path: where(field) });
    return v;
  };
  const priority = parsePriority(text('priority'));
  if (!priority) throw new IngestRejected(400, 'priority: not a Falco priority', { path: where('priority') });
  const time = parseInstant(text('time'));
  if (time === undefined) throw new IngestRejected(400, 'time: expected RFC 3339', { path: where('time') });
  const fields = (a['output_fields'] ?? {}) as Record<string, string>;
  const id = typeof a['uuid'] === 'string' ? a['uuid'] : createHash('sha256').update(JSON.stringify(a)).digest('hex').slice(0, 32);
  return {
    id, kind: 'alert', time, rule: text('rule'), priority, source: typeof a['source'] === 'string' ? a['source'] : 'syscall',
    tags: Array.isArray(a['tags']) ? (a['tags'] as string[]) : [], output: text('output'), outputFields: fields,
    hostname: typeof a['hostname'] === 'string' ? a['hostname'] : '', correlation: { ingested_by: token },
    ...(fields['k8s.ns.name'] ? { namespace: fields['k8s.ns.name'] } : {}),
    ...(fields['k8s.pod.name'] ? { pod: fields['k8s.pod.name'] } : {}),
    dedupKey: `${text('rule')}|${id}`, receivedAt: Date.now(),
  };
}

function storeIngest(store: Store): AlertIngestHandler {
  return async (alerts, context) => {
    const stored = alerts.map((a, i) => toStored(a, i, context.token));
    const unique = [...new Map(stored.map((s) => [s.id, s])).values()];
    const known = await store.knownAlertIds(unique.map((s) => s.id));
    const fresh = unique.filter((s) => !known.has(s.id));
    await store.write({ alerts: fresh, incidents: [], links: [] });
    return { accepted: fresh.length, duplicates: alerts.length - fresh.length };
  };
}

let n = 0;
function falcoAlert(over: Record<string, unknown> = {}): Record<string, unknown> {
  n++;
  return {
    uuid: `ing-${n}`,
    time: `2026-11-28T12:00:${String(n % 60).padStart(2, '0')}.123456789Z`,
    rule: 'Terminal shell in container',
    priority: 'Notice',
    output: `12:00:00.123456789: Notice A shell was spawned (pod=web-${n})`,
    output_fields: { 'k8s.ns.name': 'prod', 'k8s.pod.name': `web-${n}`, 'proc.cmdline': 'bash' },
    source: 'syscall',
    tags: ['shell'],
    hostname: 'node-1',
    ...over,
  };
}

let ts: TempStore;
let api: LiveApi;
/** What the ingest does next, set per test; by default the store ingest. */
let behaviour: AlertIngestHandler | undefined;

before(async () => {
  ts = await tempStore();
  const real = storeIngest(ts.store);
  api = await startApi({ store: ts.store, maxIngestBytes: 64 * 1024, ingest: (alerts, ctx) => (behaviour ?? real)(alerts, ctx) });
});
after(async () => {
  await api.close();
  await ts.cleanup();
});

async function postAlerts(body: string | Buffer, options: { token?: string | null; headers?: Record<string, string> } = {})
  : Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const token = options.token === undefined ? 'agent' : options.token;
  const res = await fetch(`${api.base}/alerts`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(token ? bearer(token) : {}), ...options.headers },
    body,
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: JSON.parse(text) as Record<string, unknown> };
}

describe('POST /alerts', () => {
  test('one Falco alert object; stored with the token\'s name', async () => {
    const a = falcoAlert();
    const r = await postAlerts(JSON.stringify(a));
    assert.deepEqual([r.status, r.body], [200, { accepted: 1, duplicates: 0 }]);
    const stored = (await (await fetch(`${api.base}/alerts/${a['uuid'] as string}`, { headers: bearer('reader') })).json()) as AlertJson;
    assert.equal(stored.time, a['time']);
    assert.equal(stored.pod, (a['output_fields'] as Record<string, string>)['k8s.pod.name']);
    assert.deepEqual(stored.correlation, { ingested_by: 'agent' });
  });

  test('an array, {alerts: [...]}, an empty batch; a retried batch is all duplicates', async () => {
    const batch = [falcoAlert(), falcoAlert(), falcoAlert()];
    assert.deepEqual((await postAlerts(JSON.stringify(batch))).body, { accepted: 3, duplicates: 0 });
    assert.deepEqual((await postAlerts(JSON.stringify(batch))).body, { accepted: 0, duplicates: 3 });
    const wrapped = { alerts: [falcoAlert(), falcoAlert()] };
    assert.deepEqual((await postAlerts(JSON.stringify(wrapped), { token: 'admin' })).body, { accepted: 2, duplicates: 0 });
    assert.deepEqual((await postAlerts('[]')).body, { accepted: 0, duplicates: 0 });
    assert.deepEqual((await postAlerts('{"alerts": []}')).body, { accepted: 0, duplicates: 0 });
  });

  test('gzip bodies (and a UTF-8 BOM)', async () => {
    const batch = [falcoAlert(), falcoAlert()];
    const r = await postAlerts(gzipSync(Buffer.from(`\ufeff${JSON.stringify(batch)}`)), { headers: { 'Content-Encoding': 'gzip' } });
    assert.deepEqual([r.status, r.body], [200, { accepted: 2, duplicates: 0 }]);
  });

  test('the answer waits for the ingest to resolve', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    let called = false;
    behaviour = async (alerts) => {
      called = true;
      await gate;
      return { accepted: alerts.length, duplicates: 0 };
    };
    try {
      let settled = false;
      const pending = postAlerts(JSON.stringify(falcoAlert())).then((r) => { settled = true; return r; });
      const deadline = Date.now() + 5000;
      while (!called && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.ok(called);
      await new Promise((r) => setTimeout(r, 150));
      assert.equal(settled, false, 'answered before the ingest resolved');
      release();
      assert.equal((await pending).status, 200);
    } finally {
      behaviour = undefined;
    }
  });

  test('IngestRejected: 429/503 with Retry-After, 400 with the path, 413', async () => {
    try {
      behaviour = async () => { throw new IngestRejected(429, 'the correlation queue is full', { retryAfterSeconds: 7 }); };
      const busy = await postAlerts(JSON.stringify(falcoAlert()));
      assert.equal(busy.status, 429);
      assert.equal(busy.headers.get('retry-after'), '7');
      assert.deepEqual(busy.body, { error: 'too_many_requests', message: 'the correlation queue is full' });
      behaviour = async () => { throw new IngestRejected(503, 'shutting down', { retryAfterSeconds: 1.2 }); };
      const down = await postAlerts(JSON.stringify(falcoAlert()));
      assert.deepEqual([down.status, down.headers.get('retry-after')], [503, '2']);
      behaviour = async () => { throw new IngestRejected(413, 'too many alerts in one batch'); };
      assert.equal((await postAlerts(JSON.stringify(falcoAlert()))).status, 413);
      behaviour = async () => { throw new Error('disk I/O error at /var/lib/secret.db'); };
      const failed = await postAlerts(JSON.stringify(falcoAlert()));
      assert.equal(failed.status, 503);
      assert.ok(!JSON.stringify(failed.body).includes('secret'), 'the cause stays in the log');
      assert.match(api.logs(), /alert ingestion failed/);
    } finally {
      behaviour = undefined;
    }
    const invalid = await postAlerts(JSON.stringify([falcoAlert(), falcoAlert({ priority: 'LOUD' })]));
    assert.equal(invalid.status, 400);
    assert.deepEqual(invalid.body, { error: 'invalid_alert', message: 'priority: not a Falco priority', path: '[1].priority' });
  });

  test('bodies that are not alert batches', async () => {
    const bad = async (body: string | Buffer, status: number, error: string, headers: Record<string, string> = {}): Promise<void> => {
      const r = await postAlerts(body, { headers });
      assert.equal(r.status, status, `${String(body).slice(0, 40)}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body['error'], error);
    };
    await bad('{"rule": ', 400, 'invalid_json');
    await bad('', 400, 'invalid_json');
    await bad('"an alert"', 400, 'bad_request');
    await bad('{"alerts": 5}', 400, 'bad_request');
    await bad('['.repeat(100) + ']'.repeat(100), 400, 'nesting_too_deep');
    await bad('rule=x', 415, 'unsupported_media_type', { 'Content-Type': 'application/x-www-form-urlencoded' });
    await bad(JSON.stringify(falcoAlert()), 415, 'unsupported_content_encoding', { 'Content-Encoding': 'br' });
    await bad(Buffer.from('not gzip'), 400, 'invalid_gzip', { 'Content-Encoding': 'gzip' });
    // Over the limit as sent, and a small gzip that expands past it.
    await bad(JSON.stringify({ alerts: [falcoAlert({ output: 'x'.repeat(70 * 1024) })] }), 413, 'body_too_large');
    const bomb = gzipSync(Buffer.from(JSON.stringify({ alerts: [falcoAlert({ output: ' '.repeat(1024 * 1024) })] })));
    assert.ok(bomb.length < 64 * 1024);
    await bad(bomb, 413, 'body_too_large', { 'Content-Encoding': 'gzip' });
  });

  test('the ingest scope is required; a read token cannot post', async () => {
    assert.equal((await postAlerts(JSON.stringify(falcoAlert()), { token: null })).status, 401);
    const r = await postAlerts(JSON.stringify(falcoAlert()), { token: 'writer' });
    assert.equal(r.status, 403);
    assert.equal(r.body['scope'], 'ingest');
  });

  test('without an ingest handler: 404', async () => {
    const plain = await startApi({ store: ts.store });
    try {
      const res = await fetch(`${plain.base}/alerts`, {
        method: 'POST', headers: { 'Content-Type': 'application/json', ...bearer('agent') }, body: JSON.stringify(falcoAlert()),
      });
      assert.equal(res.status, 404);
      assert.equal(((await res.json()) as { error: string }).error, 'not_found');
    } finally {
      await plain.close();
    }
  });
});
