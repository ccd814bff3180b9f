/**
 * http_output against real receivers on loopback: plain HTTP, HTTPS with a
 * CA made at test time, mTLS enforced by the server, retries, gzip, and a
 * receiver that applies Falcosidekick's acceptance checks.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { PRIORITIES } from '../../src/engine/priority.js';
import { OutputSetupError, createOutputs } from '../../src/outputs/index.js';
import { RecordingMetrics, type TestPki, makePki, memoryLogger, memoryStream, outputsConfig, sampleAlert } from './helpers.js';

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  clientCn?: string;
}

type Handler = (req: Received, res: ServerResponse) => void;

interface Receiver {
  readonly url: string;
  readonly requests: Received[];
  connections: number;
  handler: Handler;
  close(): Promise<void>;
}

async function startReceiver(tls?: { pki: TestPki; requireClientCert: boolean }): Promise<Receiver> {
  const requests: Received[] = [];
  const receiver: Receiver = {
    url: '',
    requests,
    connections: 0,
    handler: (_req, res) => res.end(),
    close: async () => {},
  };
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      const peer = (req.socket as TLSSocket).getPeerCertificate?.();
      const r: Received = {
        method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks),
        ...(peer?.subject ? { clientCn: String(peer.subject.CN) } : {}),
      };
      requests.push(r);
      receiver.handler(r, res);
    });
  };
  const server: Server = tls
    ? createHttpsServer({
      key: readText(tls.pki.serverKey), cert: readText(tls.pki.serverCert), ca: readText(tls.pki.caCert),
      requestCert: tls.requireClientCert, rejectUnauthorized: tls.requireClientCert,
    }, listener)
    : createHttpServer(listener);
  server.on(tls ? 'secureConnection' : 'connection', () => receiver.connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(receiver, {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}/`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  });
}

function readText(path: string): string {
  return readFileSync(path, 'utf8');
}

const FALCO_PRIORITIES = new Set<string>(PRIORITIES);
/** RFC 3339 with nanoseconds, UTC, as Falco writes `time`. */
const RFC3339_NANO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$/;

/**
 * What Falcosidekick's handler and FalcoPayload.Check() require, plus the
 * field types it decodes into (types/types.go): reasons to reject, or [].
 */
function falcosidekickProblems(req: Received): string[] {
  const problems: string[] = [];
  if (req.method !== 'POST') problems.push(`method ${req.method}`);
  let p: Record<string, unknown>;
  try {
    p = JSON.parse(req.body.toString('utf8')) as Record<string, unknown>;
  } catch {
    return [...problems, 'body is not JSON'];
  }
  if (typeof p !== 'object' || p === null || Array.isArray(p)) return [...problems, 'body is not one JSON object'];
  if (typeof p.output !== 'string' || p.output === '') problems.push('output');
  if (typeof p.priority !== 'string' || !FALCO_PRIORITIES.has(p.priority)) problems.push(`priority ${String(p.priority)}`);
  if (typeof p.rule !== 'string' || p.rule === '') problems.push('rule');
  if (typeof p.time !== 'string' || !RFC3339_NANO.test(p.time) || Number.isNaN(Date.parse(p.time))) problems.push(`time ${String(p.time)}`);
  const fields = p.output_fields;
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields) || Object.keys(fields).length === 0) problems.push('output_fields');
  if (typeof p.source !== 'string' || p.source === '') problems.push('source');
  if (!Array.isArray(p.tags) || !p.tags.every((t) => typeof t === 'string')) problems.push('tags');
  if (typeof p.hostname !== 'string') problems.push('hostname');
  return problems;
}

function sidekickHandler(req: Received, res: ServerResponse): void {
  const problems = falcosidekickProblems(req);
  res.statusCode = problems.length ? 400 : 200;
  res.end(problems.length ? `Bad Request: ${problems.join(', ')}\n` : '');
}

describe('http output', () => {
  let pki: TestPki;
  before(() => {
    pki = makePki();
  });

  it('POSTs each alert as Falco JSON with Falco headers, one alert per request', async () => {
    const rx = await startReceiver();
    try {
      const metrics = new RecordingMetrics();
      const outputs = await createOutputs(outputsConfig({
        http_output: { enabled: true, url: `${rx.url}alerts?x=1`, headers: { Authorization: 'Bearer t0ken' } },
      }), { logger: memoryLogger().logger, metrics });
      assert.deepEqual(outputs.names, ['http']);
      for (let i = 0; i < 3; i++) outputs.publish(sampleAlert({ rule: `rule ${i}` }));
      await outputs.close();
      assert.equal(rx.requests.length, 3);
      for (const [i, r] of rx.requests.entries()) {
        assert.equal(r.method, 'POST');
        assert.equal(r.url, '/alerts?x=1');
        assert.equal(r.headers['content-type'], 'application/json');
        assert.equal(r.headers['user-agent'], 'falcosecurity/falco');
        assert.equal(r.headers.authorization, 'Bearer t0ken');
        assert.equal(r.headers['content-length'], String(r.body.length));
        const body = JSON.parse(r.body.toString('utf8')) as Record<string, unknown>;
        assert.equal(body.rule, `rule ${i}`);
      }
      assert.equal(metrics.deliveredCount('http'), 3);
    } finally {
      await rx.close();
    }
  });

  it('sends what Falcosidekick accepts, for every priority, even with json_output off', async () => {
    const rx = await startReceiver();
    rx.handler = sidekickHandler;
    try {
      const metrics = new RecordingMetrics();
      const outputs = await createOutputs(outputsConfig({ http_output: { enabled: true, url: rx.url } }), { logger: memoryLogger().logger, metrics });
      for (const p of PRIORITIES) outputs.publish(sampleAlert({ priority: p, source: 'k8s_audit' }));
      await outputs.close();
      assert.equal(rx.requests.length, PRIORITIES.length);
      for (const r of rx.requests) assert.deepEqual(falcosidekickProblems(r), []);
      assert.equal(metrics.deliveredCount('http'), PRIORITIES.length);
      const body = JSON.parse(rx.requests[0]!.body.toString('utf8')) as Record<string, unknown>;
      assert.equal(body.time, '2023-05-25T13:44:05.478445995Z');
      assert.deepEqual(Object.keys(body).sort(), ['hostname', 'output', 'output_fields', 'priority', 'rule', 'source', 'tags', 'time']);
      assert.match(rx.requests[0]!.body.toString('utf8'), /"evt.time":1685022245478445995/, 'nanosecond times stay exact integers');
    } finally {
      await rx.close();
    }
  });

  it('does not retry an alert the receiver rejects (400), and counts it', async () => {
    const rx = await startReceiver();
    rx.handler = sidekickHandler;
    try {
      const metrics = new RecordingMetrics();
      const { logger, records } = memoryLogger();
      const outputs = await createOutputs(outputsConfig({ http_output: { enabled: true, url: rx.url, retry_backoff: 1 } }), { logger, metrics });
      outputs.publish(sampleAlert({ outputFields: {} }));
      await outputs.close();
      assert.equal(rx.requests.length, 1);
      assert.equal(metrics.failedCount('http'), 1);
      assert.equal(metrics.droppedCount('http', 'failed'), 1);
      assert.ok(records.some((r) => /HTTP 400: Bad Request: output_fields/.test(r.msg)));
    } finally {
      await rx.close();
    }
  });

  it('retries 503s with backoff until the receiver accepts', async () => {
    const rx = await startReceiver();
    let n = 0;
    rx.handler = (_r, res) => {
      res.statusCode = ++n <= 2 ? 503 : 200;
      res.end();
    };
    try {
      const metrics = new RecordingMetrics();
      const outputs = await createOutputs(outputsConfig({ http_output: { enabled: true, url: rx.url, retries: 3, retry_backoff: 5 } }), {
        logger: memoryLogger().logger, metrics,
      });
      outputs.publish(sampleAlert());
      await outputs.close();
      assert.equal(rx.requests.length, 3);
      assert.equal(metrics.failedCount('http'), 2);
      assert.equal(metrics.deliveredCount('http'), 1);
      assert.equal(rx.requests[0]!.body.toString(), rx.requests[2]!.body.toString(), 'the same alert is retried');
    } finally {
      await rx.close();
    }
  });

  it('gzips the body with compress_uploads', async () => {
    const rx = await startReceiver();
    try {
      const outputs = await createOutputs(outputsConfig({ http_output: { enabled: true, url: rx.url, compress_uploads: true } }), {
        logger: memoryLogger().logger, metrics: new RecordingMetrics(),
      });
      outputs.publish(sampleAlert());
      await outputs.close();
      const r = rx.requests[0]!;
      assert.equal(r.headers['content-encoding'], 'gzip');
      assert.deepEqual(falcosidekickProblems({ ...r, body: gunzipSync(r.body) }), []);
    } finally {
      await rx.close();
    }
  });

  it('reuses one connection with keep_alive', async () => {
    const rx = await startReceiver();
    try {
      const outputs = await createOutputs(outputsConfig({ http_output: { enabled: true, url: rx.url, keep_alive: true } }), {
        logger: memoryLogger().logger, metrics: new RecordingMetrics(),
      });
      for (let i = 0; i < 5; i++) outputs.publish(sampleAlert());
      await outputs.close();
      assert.equal(rx.requests.length, 5);
      assert.equal(rx.connections, 1);
    } finally {
      await rx.close();
    }
  });

  it('writes the response body to stdout with echo', async () => {
    const rx = await startReceiver();
    rx.handler = (_r, res) => res.end('{"status":"ok"}');
    const { stream, text } = memoryStream();
    try {
      const outputs = await createOutputs(outputsConfig({ http_output: { enabled: true, url: rx.url, echo: true } }), {
        logger: memoryLogger().logger, metrics: new RecordingMetrics(), stdout: stream,
      });
      outputs.publish(sampleAlert());
      await outputs.close();
      assert.equal(text(), '{"status":"ok"}\n');
    } finally {
      await rx.close();
    }
  });

  describe('over TLS', () => {
    let rx: Receiver;
    before(async () => {
      rx = await startReceiver({ pki, requireClientCert: false });
    });
    after(() => rx.close());

    it('verifies the server against ca_cert', async () => {
      const metrics = new RecordingMetrics();
      const outputs = await createOutputs(outputsConfig({ http_output: { enabled: true, url: rx.url, ca_cert: pki.caCert } }), {
        logger: memoryLogger().logger, metrics,
      });
      outputs.publish(sampleAlert());
      await outputs.close();
      assert.equal(metrics.deliveredCount('http'), 1);
    });

    it('refuses a server its CA did not sign, without retrying', async () => {
      const before = rx.requests.length;
      const metrics = new RecordingMetrics();
      const { logger, records } = memoryLogger();
      const outputs = await createOutputs(outputsConfig({ http_output: { enabled: true, url: rx.url, ca_bundle: pki.otherCaCert, retry_backoff: 1 } }), {
        logger, metrics,
      });
      outputs.publish(sampleAlert());
      await outputs.close();
      assert.equal(metrics.deliveredCount('http'), 0);
      assert.equal(metrics.failedCount('http'), 1, 'a certificate error is not retried');
      assert.equal(rx.requests.length, before);
      assert.ok(records.some((r) => /certificate/i.test(r.msg)));
    });

    it('accepts any server with insecure', async () => {
      const metrics = new RecordingMetrics();
      const outputs = await createOutputs(outputsConfig({ http_output: { enabled: true, url: rx.url, ca_cert: pki.otherCaCert, insecure: true } }), {
        logger: memoryLogger().logger, metrics,
      });
      outputs.publish(sampleAlert());
      await outputs.close();
      assert.equal(metrics.deliveredCount('http'), 1);
    });

    it('trusts a ca_path directory of PEM files', async () => {
      const metrics = new RecordingMetrics();
      const outputs = await createOutputs(outputsConfig({ http_output: { enabled: true, url: rx.url, ca_path: pki.dir } }), {
        logger: memoryLogger().logger, metrics,
      });
      outputs.publish(sampleAlert());
      await outputs.close();
      assert.equal(metrics.deliveredCount('http'), 1);
    });

    it('refuses to start with an unreadable CA file, naming the key', async () => {
      await assert.rejects(
        createOutputs(outputsConfig({ http_output: { enabled: true, url: rx.url, ca_cert: '/nonexistent/ca.pem' } }), {
          logger: memoryLogger().logger, metrics: new RecordingMetrics(),
        }),
        (err: unknown) => err instanceof OutputSetupError && err.key === 'http_output.ca_cert',
      );
    });
  });

  describe('with mTLS enforced by the server', () => {
    let rx: Receiver;
    before(async () => {
      rx = await startReceiver({ pki, requireClientCert: true });
    });
    after(() => rx.close());

    it('is refused without a client certificate', async () => {
      const metrics = new RecordingMetrics();
      const outputs = await createOutputs(outputsConfig({ http_output: { enabled: true, url: rx.url, ca_cert: pki.caCert, retries: 0 } }), {
        logger: memoryLogger().logger, metrics,
      });
      outputs.publish(sampleAlert());
      await outputs.close();
      assert.equal(metrics.deliveredCount('http'), 0);
      assert.equal(metrics.failedCount('http'), 1);
      assert.equal(rx.requests.length, 0);
    });

    it('delivers with mtls, client_cert and client_key', async () => {
      const metrics = new RecordingMetrics();
      const outputs = await createOutputs(outputsConfig({
        http_output: { enabled: true, url: rx.url, ca_cert: pki.caCert, mtls: true, client_cert: pki.clientCert, client_key: pki.clientKey },
      }), { logger: memoryLogger().logger, metrics });
      outputs.publish(sampleAlert());
      await outputs.close();
      assert.equal(metrics.deliveredCount('http'), 1);
      assert.equal(rx.requests.at(-1)?.clientCn, 'tiercel-client');
    });

    it('ignores client_cert and client_key unless mtls is set (as Falco)', async () => {
      const metrics = new RecordingMetrics();
      const outputs = await createOutputs(outputsConfig({
        http_output: { enabled: true, url: rx.url, ca_cert: pki.caCert, client_cert: pki.clientCert, client_key: pki.clientKey, retries: 0 },
      }), { logger: memoryLogger().logger, metrics });
      outputs.publish(sampleAlert());
      await outputs.close();
      assert.equal(metrics.deliveredCount('http'), 0);
    });
  });
});
