/**
 * The outputs as detection sees them: publish never blocks, a dead or
 * hanging output does not hold up the others, drops and failures are
 * counted, close() is bounded, and priorities filter per output.
 */
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PRIORITIES } from '../../src/engine/priority.js';
import { createOutputs } from '../../src/outputs/index.js';
import { RecordingMetrics, fileLines, memoryLogger, memoryStream, outputsConfig, sampleAlert, tempDir, waitFor } from './helpers.js';

/** A loopback port with nothing listening (connection refused). */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** An HTTP server that reads requests and never answers. */
async function hangingReceiver(): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
  let requests = 0;
  const held: IncomingMessage[] = [];
  const server = createHttpServer((req) => {
    requests++;
    held.push(req);
    req.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests: () => requests,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

describe('outputs under faults', () => {
  it('keep delivering to the file while the HTTP receiver refuses connections', async () => {
    const dir = tempDir('refused');
    const filename = join(dir, 'events.txt');
    const metrics = new RecordingMetrics();
    const { logger, records } = memoryLogger();
    const outputs = await createOutputs(outputsConfig({
      file_output: { enabled: true, filename },
      http_output: { enabled: true, url: `http://127.0.0.1:${await deadPort()}/`, retries: 2, retry_backoff: 1 },
    }), { logger, metrics });
    for (let i = 0; i < 50; i++) outputs.publish(sampleAlert());
    assert.equal(metrics.deliveredCount('file'), 0, 'publish returned before any delivery: it does not wait');
    await outputs.close();
    assert.equal(fileLines(filename).length, 50);
    assert.equal(metrics.deliveredCount('file'), 50);
    assert.equal(metrics.deliveredCount('http'), 0);
    assert.equal(metrics.droppedCount('http'), 50, 'every http alert is accounted for as dropped');
    assert.ok(metrics.failedCount('http') >= 3, 'each attempt counts as a failure');
    const failures = records.filter((r) => r.output === 'http' && r.msg.includes('delivery failed'));
    assert.equal(failures.length, 1, 'failures are logged once per burst');
    assert.match(failures[0]!.msg, /ECONNREFUSED/);
  });

  it('keep delivering to the file while the HTTP receiver hangs; the full http queue drops and counts', async () => {
    const dir = tempDir('hang');
    const filename = join(dir, 'events.txt');
    const rx = await hangingReceiver();
    const metrics = new RecordingMetrics();
    const { logger, records } = memoryLogger();
    try {
      const outputs = await createOutputs(outputsConfig({
        output_timeout: 1000,
        outputs_queue: { capacity: 5 },
        file_output: { enabled: true, filename },
        http_output: { enabled: true, url: rx.url, timeout: 3_600_000, retries: 0 },
      }), { logger, metrics });
      // In batches the file queue can hold; the http worker stays stuck on its first alert.
      for (let batch = 1; batch <= 10; batch++) {
        for (let i = 0; i < 5; i++) outputs.publish(sampleAlert());
        await waitFor(() => fileLines(filename).length === batch * 5, `the file output to deliver batch ${batch}`);
      }
      assert.equal(metrics.droppedCount('file'), 0);
      assert.equal(metrics.deliveredCount('http'), 0);
      // One alert in the stuck request, five queued, the rest dropped.
      assert.equal(metrics.droppedCount('http', 'queue_full'), 44);
      assert.equal(records.filter((r) => r.msg.includes('queue full')).length, 1, 'the drop burst is logged once');
      await outputs.close();
      assert.equal(metrics.droppedCount('http', 'shutdown'), 6);
      assert.ok(rx.requests() <= 1, 'the stuck worker sent nothing else');
    } finally {
      await rx.close();
    }
  });

  it('fail each request to a hanging receiver at http_output.timeout, and count it', async () => {
    const rx = await hangingReceiver();
    const metrics = new RecordingMetrics();
    const { logger, records } = memoryLogger();
    try {
      const outputs = await createOutputs(outputsConfig({
        http_output: { enabled: true, url: rx.url, timeout: 100, retries: 1, retry_backoff: 1 },
      }), { logger, metrics });
      for (let i = 0; i < 2; i++) outputs.publish(sampleAlert());
      await outputs.flush();
      assert.equal(metrics.failedCount('http'), 4, 'two attempts per alert');
      assert.equal(metrics.droppedCount('http', 'failed'), 2);
      assert.ok(rx.requests() >= 1);
      assert.match(records.find((r) => r.msg.includes('delivery failed'))?.msg ?? '', /timed out after 100 ms/);
      await outputs.close();
    } finally {
      await rx.close();
    }
  });

  it('close() gives up on a hanging output after output_timeout and counts what it discards', async () => {
    const rx = await hangingReceiver();
    const metrics = new RecordingMetrics();
    try {
      const outputs = await createOutputs(outputsConfig({
        output_timeout: 300,
        http_output: { enabled: true, url: rx.url, timeout: 3_600_000, retries: 0 },
      }), { logger: memoryLogger().logger, metrics });
      for (let i = 0; i < 10; i++) outputs.publish(sampleAlert());
      await outputs.close();
      assert.equal(metrics.droppedCount('http', 'shutdown'), 10);
      outputs.publish(sampleAlert());
      assert.equal(metrics.droppedCount('http', 'shutdown'), 11, 'publish after close drops, never throws');
    } finally {
      await rx.close();
    }
  });

  it('filters by the global priority and each output\'s own minimum', async () => {
    const dir = tempDir('prio');
    const filename = join(dir, 'events.txt');
    const { stream, text } = memoryStream();
    const outputs = await createOutputs(outputsConfig({
      priority: 'notice',
      stdout_output: { enabled: true },
      file_output: { enabled: true, filename, priority: 'error' },
    }), { logger: memoryLogger().logger, metrics: new RecordingMetrics(), stdout: stream });
    for (const p of PRIORITIES) outputs.publish(sampleAlert({ priority: p, message: p }));
    await outputs.close();
    const seen = (lines: string[]): string[] => lines.map((l) => l.split(' ').at(-1) as string);
    assert.deepEqual(seen(text().split('\n').filter(Boolean)), ['Emergency', 'Alert', 'Critical', 'Error', 'Warning', 'Notice']);
    assert.deepEqual(seen(fileLines(filename)), ['Emergency', 'Alert', 'Critical', 'Error']);
  });

  it('publish never throws, even for a malformed alert', async () => {
    const metrics = new RecordingMetrics();
    const { stream } = memoryStream();
    const outputs = await createOutputs(outputsConfig({ stdout_output: { enabled: true } }), { logger: memoryLogger().logger, metrics, stdout: stream });
    const bad = { ...sampleAlert(), time: 'not a bigint' } as unknown as Parameters<typeof outputs.publish>[0];
    outputs.publish(bad);
    outputs.publish(sampleAlert());
    await outputs.close();
    assert.equal(metrics.deliveredCount('stdout') + metrics.failedCount('stdout'), 2);
  });

  it('flush() resolves with nothing queued and with no outputs at all', async () => {
    const outputs = await createOutputs(outputsConfig({}), { logger: memoryLogger().logger, metrics: new RecordingMetrics() });
    assert.deepEqual(outputs.names, []);
    outputs.publish(sampleAlert());
    await outputs.flush();
    await outputs.close();
    await outputs.close();
  });
});
