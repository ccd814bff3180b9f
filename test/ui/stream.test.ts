/**
 * GET /api/v1/alerts/stream: authentication, an alert posted to a real
 * `tiercel serve` arrives on the stream once committed, heartbeats, the
 * bound on a client that stops reading, and the end of streams at shutdown.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type AlertStream, createAlertStream } from '../../src/api/stream.js';
import { TOKENS, alert, bearer, startApi, tempStore, type LiveApi, type TempStore } from '../api/seed.js';
import { type UiServer, iso, startUiServe } from './helpers.js';

/** Reads an SSE response until `until` matches the text so far (or the timeout). */
async function readUntil(res: Response, until: RegExp, ms = 10_000): Promise<string> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  const deadline = Date.now() + ms;
  try {
    while (!until.test(text)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; got:\n${text}`);
      const r = await Promise.race([reader.read(), sleep(left).then(() => ({ done: true, value: undefined }))]);
      if (r.done) break;
      text += r.value;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return text;
}

/** Reads a response to its end; resolves 'ended', or the error's message. */
async function readToEnd(res: Response, ms = 20_000): Promise<string> {
  const reader = res.body!.getReader();
  const deadline = Date.now() + ms;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) return 'still open';
    const r = await Promise.race([reader.read(), sleep(left).then(() => ({ done: false, value: undefined }))]).catch((e: Error) => e);
    if (r instanceof Error) return r.message;
    if (r.done) return 'ended';
  }
}

describe('the stream on a real analyzer', () => {
  let server: UiServer;
  before(async () => {
    server = await startUiServe();
  });
  after(async () => {
    await server?.stop();
  });

  test('needs a token (401 without, with the WWW-Authenticate challenge)', async () => {
    const res = await fetch(`${server.url}/api/v1/alerts/stream`);
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
    await res.arrayBuffer();
  });

  test('an alert posted through the API arrives as an event once committed', async () => {
    const controller = new AbortController();
    const res = await fetch(`${server.url}/api/v1/alerts/stream`, { headers: { Authorization: `Bearer ${server.token}` }, signal: controller.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const id = randomUUID();
    const reading = readUntil(res, new RegExp(`data: .*${id}.*\\n\\n`));
    await sleep(100);
    await server.post([{ id, time: iso(BigInt(Date.now()) * 1_000_000n), rule: 'Streamed rule', priority: 'Warning', source: 'syscall',
      tags: ['x'], output: 'a <b>streamed</b> alert', output_fields: { 'k8s.ns.name': 'ns1', 'k8s.pod.name': 'p1' }, hostname: 'node-1', correlation: {} }]);
    const text = await reading;
    controller.abort();
    assert.match(text, /^retry: 3000\n\n/);
    const event = text.split('\n\n').find((b) => b.includes(id))!;
    assert.match(event, new RegExp(`^id: ${id}\nevent: alert\ndata: `));
    const data = JSON.parse(event.split('\ndata: ')[1]!) as { id: string; rule: string; namespace: string; output: string; incident_id: string | null };
    assert.equal(data.id, id);
    assert.equal(data.rule, 'Streamed rule');
    assert.equal(data.namespace, 'ns1');
    assert.equal(data.output, 'a <b>streamed</b> alert');
    assert.ok(data.incident_id, 'committed evidence carries its incident');
  });

  test('shutdown ends open streams and the server exits cleanly', async () => {
    const res = await fetch(`${server.url}/api/v1/alerts/stream`, { headers: { Authorization: `Bearer ${server.token}` } });
    assert.equal(res.status, 200);
    const ended = readToEnd(res);
    const code = await server.serve.stop();
    assert.equal(code, 0);
    assert.equal(await ended, 'ended');
  });
});

describe('the stream router', () => {
  let ts: TempStore;
  let api: LiveApi;
  let stream: AlertStream;
  const slow: number[] = [];
  before(async () => {
    ts = await tempStore();
    stream = createAlertStream({ maxBufferedBytes: 64 * 1024, heartbeatMs: 50, maxClients: 3, onSlowClient: (b) => slow.push(b) });
    api = await startApi({ store: ts.store, stream });
  });
  after(async () => {
    stream.close();
    await api.close();
    await ts.cleanup();
  });

  test('scopes: read is needed (an ingest-only token gets 403)', async () => {
    const res = await fetch(`${api.base}/alerts/stream`, { headers: bearer('agent') });
    assert.equal(res.status, 403);
    assert.equal(((await res.json()) as { scope: string }).scope, 'read');
    assert.ok(TOKENS.length > 0);
  });

  test('heartbeat comments keep an idle stream alive', async () => {
    const controller = new AbortController();
    const res = await fetch(`${api.base}/alerts/stream`, { headers: bearer('reader'), signal: controller.signal });
    const text = await readUntil(res, /: ping\n\n: ping\n\n/);
    controller.abort();
    assert.match(text, /: ping/);
  });

  test('a client that stops reading is disconnected; one that reads keeps its stream', async () => {
    // The slow client: a raw request whose response is never read (the socket is paused).
    const { port } = new URL(api.base);
    let slowClosed = false;
    let resumeSlow = (): void => undefined;
    const slowReq = request({ host: '127.0.0.1', port, path: '/api/v1/alerts/stream', headers: bearer('reader') });
    slowReq.on('response', (res) => {
      res.pause();
      res.socket.pause();
      res.on('close', () => (slowClosed = true));
      res.on('error', () => (slowClosed = true));
      resumeSlow = () => {
        res.socket.resume();
        res.resume();
      };
    });
    slowReq.on('error', () => (slowClosed = true));
    slowReq.end();
    // The fast client reads (and counts) everything.
    const controller = new AbortController();
    const fast = await fetch(`${api.base}/alerts/stream`, { headers: bearer('reader'), signal: controller.signal });
    let fastBytes = 0;
    const reader = fast.body!.getReader();
    const reading = (async () => {
      for (;;) {
        const r = await reader.read().catch(() => ({ done: true, value: undefined }));
        if (r.done) return;
        fastBytes += r.value.length;
      }
    })();
    while (stream.clients < 2) await sleep(10);

    const big = 'x'.repeat(1000);
    let sent = 0;
    for (let round = 0; round < 2000 && stream.slowDisconnects === 0; round++) {
      const batch = Array.from({ length: 50 }, (_, k) => alert({ id: `s-${round}-${k}`, time: BigInt(Date.now()) * 1_000_000n, output: big }));
      stream.publish(batch);
      sent += 50 * 1000;
      await sleep(2);
    }
    assert.equal(stream.slowDisconnects, 1, `sent ${sent} bytes`);
    assert.ok(slow[0]! > 64 * 1024);
    assert.equal(stream.clients, 1, 'the reading client is still connected');
    // Reading again, the slow client finds its stream cut.
    resumeSlow();
    while (!slowClosed) await sleep(10);
    const before = fastBytes;
    stream.publish([alert({ id: 'after', time: BigInt(Date.now()) * 1_000_000n })]);
    while (fastBytes === before) await sleep(10);
    controller.abort();
    await reading;
  });

  test('more clients than allowed get a 503; close() ends every stream', async () => {
    const open = await Promise.all([0, 1, 2].map(() => fetch(`${api.base}/alerts/stream`, { headers: bearer('reader') })));
    while (stream.clients < 3) await sleep(10);
    const refused = await fetch(`${api.base}/alerts/stream`, { headers: bearer('reader') });
    assert.equal(refused.status, 503);
    await refused.arrayBuffer();
    stream.close();
    for (const res of open) assert.equal(await readToEnd(res), 'ended');
    assert.equal(stream.clients, 0);
    const late = await fetch(`${api.base}/alerts/stream`, { headers: bearer('reader') });
    assert.equal(late.status, 503);
    await late.arrayBuffer();
  });
});
