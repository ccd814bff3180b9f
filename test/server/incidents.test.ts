/**
 * The analyzer's incident side, black-box and in process: `tiercel serve`
 * with its store, alerts from the audit pipeline and from agents (POST
 * /api/v1/alerts) joined into incidents, a resolved incident closed to new
 * evidence, the recorder's acknowledgement, duplicate and back-pressure rules
 * on a real SQLite store.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import pino from 'pino';
import { IngestRejected } from '../../src/api/ingest-types.js';
import { parseAlertJson } from '../../src/incidents/alert-json.js';
import { Correlator } from '../../src/incidents/correlator.js';
import type { StoredAlert, WriteBatch } from '../../src/incidents/model.js';
import { IncidentRecorder } from '../../src/server/incident-recorder.js';
import { openStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/types.js';
import { type ServeProcess, startServe, tempDir } from './helpers.js';

function shellAlert(pod: string, ns = 'shop', n = 0): Record<string, unknown> {
  return {
    id: randomUUID(),
    time: new Date(Date.now() + n).toISOString(),
    rule: 'Terminal Shell in Container',
    priority: 'Notice',
    source: 'syscall',
    tags: ['container', 'shell', 'mitre_execution'],
    output: `Interactive shell opened in a container | pod=${pod} n=${n}`,
    output_fields: { 'proc.name': 'sh', 'k8s.pod.name': pod, 'k8s.ns.name': ns, 'container.id': 'abcdef012345', 'proc.exepath': '/bin/sh' },
    hostname: 'node-1',
    correlation: { containerId: 'abcdef012345', namespace: ns, pod, podUid: '4b8e3d1a-0c1f-4e0c-9b7e-2f5a0d6c9e11', pid: String(100 + n) },
  };
}

interface Listed { items: { id: string; rules: string[]; status: string; alert_count: number }[] }

describe('tiercel serve with incidents', () => {
  let server: ServeProcess | undefined;
  const dir = tempDir('tiercel-incidents-');
  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('generates a 0600 token, joins agents\' alerts, and opens a new incident after one is resolved', async () => {
    server = await startServe(['--data-dir', dir]);
    const token = readFileSync(join(dir, 'api-token'), 'utf8').trim();
    const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const api = `${server.url}/api/v1`;

    // No token, no data.
    assert.equal((await fetch(`${api}/incidents`)).status, 401);

    const post = async (alerts: unknown[]): Promise<{ accepted: number; duplicates: number }> => {
      const res = await fetch(`${api}/alerts`, { method: 'POST', headers: auth, body: JSON.stringify(alerts) });
      assert.equal(res.status, 200, await res.clone().text());
      return (await res.json()) as { accepted: number; duplicates: number };
    };
    const list = async (): Promise<Listed['items']> =>
      ((await (await fetch(`${api}/incidents?namespace=shop`, { headers: auth })).json()) as Listed).items;

    const first = [shellAlert('web-1', 'shop', 1), shellAlert('web-1', 'shop', 2)];
    assert.deepEqual(await post(first), { accepted: 2, duplicates: 0 });
    // The agent's retry of the same batch changes nothing.
    assert.deepEqual(await post(first), { accepted: 0, duplicates: 2 });
    let incidents = await list();
    assert.equal(incidents.length, 1);
    assert.equal(incidents[0]!.alert_count, 2);

    const resolved = await fetch(`${api}/incidents/${incidents[0]!.id}/resolve`, { method: 'POST', headers: auth, body: JSON.stringify({ note: 'test done' }) });
    assert.equal(resolved.status, 200, await resolved.text());
    await post([shellAlert('web-1', 'shop', 3)]);
    incidents = await list();
    assert.equal(incidents.length, 2, 'evidence after a resolution opens a new incident');
    assert.deepEqual(incidents.map((i) => i.status).sort(), ['open', 'resolved']);

    // Bad alerts are refused whole, naming where.
    const bad = await fetch(`${api}/alerts`, { method: 'POST', headers: auth, body: JSON.stringify([shellAlert('web-2'), { ...shellAlert('web-2'), priority: 'Dire' }]) });
    assert.equal(bad.status, 400);
    const body = (await bad.json()) as { path?: string; message: string };
    assert.match(`${body.path} ${body.message}`, /\[1\].*priority/);
  });

  it('stores the audit pipeline\'s alerts: the bundled sample makes incidents, exec requests attributed', async () => {
    const d = tempDir('tiercel-incidents-sample-');
    const s = await startServe(['--data-dir', d]);
    try {
      const sample = readFileSync(join(import.meta.dirname, '..', '..', 'samples', 'audit', 'cluster-day.jsonl'), 'utf8').trim().split('\n');
      const res = await fetch(s.webhook, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[${sample.join(',')}]}`,
      });
      assert.equal(res.status, 200);
      const token = readFileSync(join(d, 'api-token'), 'utf8').trim();
      let items: Listed['items'] = [];
      for (let i = 0; i < 100 && items.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 50));
        const r = await fetch(`${s.url}/api/v1/incidents?rule=${encodeURIComponent('Attach/Exec Into Pod')}`, { headers: { authorization: `Bearer ${token}` } });
        items = ((await r.json()) as Listed).items;
      }
      assert.ok(items.length >= 1, 'the sample\'s exec requests are in incidents');
    } finally {
      await s.stop();
      rmSync(d, { recursive: true, force: true });
    }
  });
});

describe('IncidentRecorder on a real SQLite store', () => {
  const dirs: string[] = [];
  const newStore = async (): Promise<Store> => {
    const d = mkdtempSync(join(tmpdir(), 'tiercel-recorder-'));
    dirs.push(d);
    return openStore(`sqlite:${join(d, 'x.db')}`);
  };
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const evidence = (n: number): StoredAlert[] => Array.from({ length: n }, (_, i) => parseAlertJson(shellAlert(`pod-${i % 3}`, 'ns', i), Date.now()));

  it('resolves an ingest only once committed, and counts retried ids as duplicates', async () => {
    const store = await newStore();
    const recorder = new IncidentRecorder({ store, correlator: new Correlator(), logger: pino({ level: 'silent' }), capacity: 1000 });
    const batch = evidence(10);
    assert.deepEqual(await recorder.ingest(batch), { accepted: 10, duplicates: 0 });
    assert.equal(await store.countAlerts(), 10);
    const again = await recorder.ingest([...batch.slice(0, 4), ...evidence(2)]);
    assert.deepEqual(again, { accepted: 2, duplicates: 4 });
    await recorder.close();
    await store.close();
  });

  it('answers 429 when the queue cannot take a batch, and 503 when the store fails', async () => {
    const store = await newStore();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    // A store whose first write waits: the queue fills behind it.
    const slow: Store = new Proxy(store, {
      get(target, prop, receiver) {
        if (prop === 'write') {
          return async (b: WriteBatch) => {
            await gate;
            return target.write(b);
          };
        }
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const recorder = new IncidentRecorder({ store: slow, correlator: new Correlator(), logger: pino({ level: 'silent' }), capacity: 15, batchMax: 5 });
    const first = recorder.ingest(evidence(5));
    const second = recorder.ingest(evidence(10));
    await assert.rejects(recorder.ingest(evidence(10)), (e: unknown) => e instanceof IngestRejected && e.status === 429 && e.retryAfterSeconds !== undefined);
    release();
    assert.deepEqual(await first, { accepted: 5, duplicates: 0 });
    assert.deepEqual(await second, { accepted: 10, duplicates: 0 });

    await store.close(); // every write now fails
    await assert.rejects(recorder.ingest(evidence(3)), (e: unknown) => e instanceof IngestRejected && e.status === 503);
    await recorder.close();
  });

  it('records the pipeline\'s evidence without waiting, and drops (counted) when full', async () => {
    const store = await newStore();
    const dropped: string[] = [];
    const recorder = new IncidentRecorder({
      store, correlator: new Correlator(), logger: pino({ level: 'silent' }), capacity: 3,
      metrics: { committed: () => undefined, dropped: (reason, n) => dropped.push(`${reason}:${n}`), queueDepth: () => undefined, batchSeconds: () => undefined },
    });
    const ev = evidence(5);
    const taken = ev.map((e) => recorder.record(e));
    // Unawaited evidence lingers for company before its commit: three fit, two find the queue full.
    assert.deepEqual(taken, [true, true, true, false, false]);
    assert.deepEqual(dropped, ['queue_full:1', 'queue_full:1']);
    await recorder.flush();
    assert.equal(await store.countAlerts(), 3);
    // And the linger ends on its own: a later record is committed without a flush.
    assert.equal(recorder.record(parseAlertJson(shellAlert('pod-9', 'ns', 99), Date.now())), true);
    for (let i = 0; i < 100 && (await store.countAlerts()) < 4; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(await store.countAlerts(), 4);
    await recorder.close();
    await store.close();
  });
});
