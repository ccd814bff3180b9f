/**
 * The agent's forwarder against a real HTTP server on loopback that plays the
 * analyzer: batching, the bearer token, retries with the same ids after
 * failures, no retry of a 400, the bounded queue, delivery at close.
 */
import assert from 'node:assert/strict';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import pino from 'pino';
import { AnalyzerForwarder, type ForwarderMetrics } from '../../src/agent/forwarder.js';
import type { Alert } from '../../src/engine/alert.js';

interface Posted {
  readonly auth: string | undefined;
  readonly alerts: { id: string; rule: string; output_fields: Record<string, unknown>; correlation?: Record<string, string> }[];
}

/** An analyzer stand-in: answers each request with the next scripted status (then 200). */
async function analyzer(script: number[] = []): Promise<{ server: Server; url: URL; posted: Posted[]; answered: number[] }> {
  const posted: Posted[] = [];
  const answered: number[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => (body += d));
    req.on('end', () => {
      const status = script.shift() ?? 200;
      answered.push(status);
      if (status === 200) posted.push({ auth: req.headers.authorization, alerts: JSON.parse(body) as Posted['alerts'] });
      res.writeHead(status, { 'content-type': 'application/json', ...(status === 429 ? { 'retry-after': '0.05' } : {}) });
      res.end(JSON.stringify(status === 200 ? { accepted: 1, duplicates: 0 } : { error: 'scripted' }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`), posted, answered };
}

function alert(n: number): Alert {
  return {
    time: 1_764_331_200_000_000_000n + BigInt(n),
    rule: 'Terminal Shell in Container',
    priority: 'Notice',
    source: 'syscall',
    tags: ['container', 'shell'],
    message: `shell ${n} opened <script>alert(1)</script>`,
    outputFields: { 'evt.time': 1_764_331_200_000_000_000n + BigInt(n), 'proc.name': 'sh', n },
    hostname: 'node-1',
    correlation: { containerId: 'abcdef012345', pid: String(n) },
  };
}

function counters(): ForwarderMetrics & { forwardedN: number; droppedN: Record<string, number>; failures: number } {
  const m = {
    forwardedN: 0, droppedN: {} as Record<string, number>, failures: 0,
    forwarded: (n: number) => void (m.forwardedN += n),
    dropped: (reason: string, n: number) => void (m.droppedN[reason] = (m.droppedN[reason] ?? 0) + n),
    failed: () => void m.failures++,
    queueDepth: () => undefined,
  };
  return m;
}

const logger = pino({ level: 'silent' });
const servers: Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('AnalyzerForwarder', () => {
  it('posts alerts in batches with the token, ids and correlation keys, ns times exact', async () => {
    const a = await analyzer();
    servers.push(a.server);
    const m = counters();
    const f = new AnalyzerForwarder({ url: a.url, token: 'agent-token-agent-token', ca: undefined, queueCapacity: 1000, batchMax: 3 }, logger, m);
    for (let i = 0; i < 7; i++) f.publish(alert(i));
    await until(() => m.forwardedN === 7, '7 forwarded');
    assert.ok(a.posted.every((p) => p.alerts.length <= 3));
    assert.equal(a.posted[0]!.auth, 'Bearer agent-token-agent-token');
    const all = a.posted.flatMap((p) => p.alerts);
    assert.deepEqual(all.map((x) => x.output_fields['n']), [0, 1, 2, 3, 4, 5, 6]);
    assert.equal(new Set(all.map((x) => x.id)).size, 7);
    assert.equal(all[0]!.correlation?.containerId, 'abcdef012345');
    await f.close();
  });

  it('retries a failed batch with the same ids until the analyzer acknowledges it', async () => {
    const a = await analyzer([503, 429, 500]);
    servers.push(a.server);
    const m = counters();
    const f = new AnalyzerForwarder({ url: a.url, token: undefined, ca: undefined, queueCapacity: 1000, batchMax: 10 }, logger, m);
    f.publish(alert(1));
    f.publish(alert(2));
    await until(() => m.forwardedN === 2, 'acknowledged after retries', 10_000);
    assert.deepEqual(a.answered, [503, 429, 500, 200]);
    assert.equal(m.failures, 3);
    assert.equal(a.posted.length, 1);
    await f.close();
  });

  it('does not retry a batch the analyzer refuses as invalid (400)', async () => {
    const a = await analyzer([400]);
    servers.push(a.server);
    const m = counters();
    const f = new AnalyzerForwarder({ url: a.url, token: undefined, ca: undefined, queueCapacity: 1000, batchMax: 10 }, logger, m);
    f.publish(alert(1));
    await until(() => m.droppedN['rejected'] === 1, 'the batch dropped');
    f.publish(alert(2));
    await until(() => m.forwardedN === 1, 'the next alert delivered');
    assert.deepEqual(a.answered, [400, 200]);
    await f.close();
  });

  it('keeps at most queue_capacity alerts while the analyzer is away, dropping the oldest', async () => {
    const m = counters();
    // Nothing listens on this port: every attempt fails.
    const probe = await analyzer();
    const url = probe.url;
    await new Promise((r) => probe.server.close(r));
    const f = new AnalyzerForwarder({ url, token: undefined, ca: undefined, queueCapacity: 10, batchMax: 5 }, logger, m);
    for (let i = 0; i < 25; i++) f.publish(alert(i));
    assert.equal(f.depth, 10);
    assert.equal(m.droppedN['queue_full'], 15);
    await f.close(200);
    assert.equal(m.droppedN['shutdown'], 10);
  });

  it('delivers what is queued when closed, without waiting out a backoff', async () => {
    const a = await analyzer([503]);
    servers.push(a.server);
    const m = counters();
    const f = new AnalyzerForwarder({ url: a.url, token: undefined, ca: undefined, queueCapacity: 100, batchMax: 50 }, logger, m);
    f.publish(alert(1));
    await until(() => m.failures === 1, 'the first attempt failed');
    const t0 = Date.now();
    await f.close(3000);
    assert.equal(m.forwardedN, 1);
    assert.ok(Date.now() - t0 < 2000, 'close did not wait for the backoff');
  });
});
