/**
 * The per-output queue: never blocks, drops and counts when full, logs a
 * drop burst once, times out stuck deliveries, retries with backoff, and
 * accounts for every alert (delivered + dropped = pushed).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay } from '../../src/outputs/backoff.js';
import { DeliveryError, RenderedAlert, type Sink, alertFormat } from '../../src/outputs/output.js';
import { NO_RETRY, OutputQueue } from '../../src/outputs/queue.js';
import { defaultOutputsConfig } from '../../src/outputs/index.js';
import { RecordingMetrics, memoryLogger, sampleAlert, waitFor } from './helpers.js';

const FORMAT = alertFormat(defaultOutputsConfig().common);

function rendered(n: number): RenderedAlert {
  return new RenderedAlert(sampleAlert({ rule: `rule ${n}` }), FORMAT);
}

/** A sink whose deliveries wait until the test opens the gate. */
class GatedSink implements Sink {
  readonly name = 'http' as const;
  readonly delivered: string[] = [];
  open = false;
  #waiters: (() => void)[] = [];
  closed = false;

  async deliver(alert: RenderedAlert, signal: AbortSignal): Promise<void> {
    while (!this.open) {
      await new Promise<void>((resolve, reject) => {
        this.#waiters.push(resolve);
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
    }
    this.delivered.push(alert.alert.rule);
  }

  release(): void {
    this.open = true;
    for (const w of this.#waiters.splice(0)) w();
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

describe('OutputQueue', () => {
  it('drops when full, counts each drop, and logs the burst once with a summary on recovery', async () => {
    const sink = new GatedSink();
    const metrics = new RecordingMetrics();
    const { logger, records } = memoryLogger();
    const q = new OutputQueue(sink, { capacity: 3, attemptTimeoutMs: 60_000, retry: NO_RETRY, metrics, logger });

    // One alert is taken by the worker (stuck at the gate), three fill the queue.
    assert.equal(q.push(rendered(0)), true);
    await waitFor(() => q.depth === 0, 'the worker to take the first alert');
    for (let i = 1; i <= 3; i++) assert.equal(q.push(rendered(i)), true);
    for (let i = 4; i < 104; i++) assert.equal(q.push(rendered(i)), false);

    assert.equal(metrics.droppedCount('http', 'queue_full'), 100);
    assert.equal(metrics.depths.get('http'), 3);
    const full = records.filter((r) => r.msg.includes('queue full'));
    assert.equal(full.length, 1, 'one log line for the whole burst');

    sink.release();
    await q.flush();
    assert.deepEqual(sink.delivered, ['rule 0', 'rule 1', 'rule 2', 'rule 3']);
    assert.equal(q.push(rendered(200)), true);
    const summary = records.filter((r) => r.msg.includes('accepting alerts again'));
    assert.equal(summary.length, 1);
    assert.equal(summary[0]?.dropped, 100);
    await q.close(1000);
    assert.equal(metrics.deliveredCount('http'), 5);
    assert.equal(sink.closed, true);
  });

  it('never blocks push while the sink hangs, and fails the stuck delivery at the deadline', async () => {
    const sink = new GatedSink();
    const metrics = new RecordingMetrics();
    const { logger, records } = memoryLogger();
    const q = new OutputQueue(sink, { capacity: 10, attemptTimeoutMs: 50, retry: NO_RETRY, metrics, logger });
    for (let i = 0; i < 3; i++) q.push(rendered(i));
    await q.flush();
    assert.equal(metrics.failedCount('http'), 3);
    assert.equal(metrics.droppedCount('http', 'failed'), 3);
    assert.equal(metrics.deliveredCount('http'), 0);
    assert.equal(records.filter((r) => r.msg.includes('delivery failed')).length, 1, 'failures logged once per burst');
    assert.match(records.find((r) => r.msg.includes('delivery failed'))?.msg ?? '', /timed out after 50 ms/);
    sink.release();
    q.push(rendered(9));
    await q.flush();
    assert.equal(metrics.deliveredCount('http'), 1);
    assert.ok(records.some((r) => r.msg.includes('delivering again after 3 failed attempts')));
    await q.close(1000);
  });

  it('retries retryable failures with backoff, and not the others', async () => {
    let calls = 0;
    const failing: Sink = {
      name: 'http',
      async deliver(alert) {
        calls++;
        if (alert.alert.rule === 'permanent') throw new DeliveryError('HTTP 400', false);
        if (calls < 3) throw new DeliveryError('HTTP 503', true);
      },
      async close() {},
    };
    const metrics = new RecordingMetrics();
    const q = new OutputQueue(failing, {
      capacity: 10, attemptTimeoutMs: 1000, retry: { retries: 5, backoffMs: 1, maxBackoffMs: 4 }, metrics, logger: memoryLogger().logger,
    });
    q.push(rendered(1));
    await q.flush();
    assert.equal(calls, 3);
    assert.equal(metrics.failedCount('http'), 2);
    assert.equal(metrics.deliveredCount('http'), 1);

    calls = 0;
    q.push(new RenderedAlert(sampleAlert({ rule: 'permanent' }), FORMAT));
    await q.flush();
    assert.equal(calls, 1, 'a non-retryable failure is not retried');
    assert.equal(metrics.droppedCount('http', 'failed'), 1);
    await q.close(1000);
  });

  it('gives up after the configured retries', async () => {
    let calls = 0;
    const sink: Sink = {
      name: 'http',
      async deliver() {
        calls++;
        throw new DeliveryError('connection refused', true);
      },
      async close() {},
    };
    const metrics = new RecordingMetrics();
    const q = new OutputQueue(sink, {
      capacity: 10, attemptTimeoutMs: 1000, retry: { retries: 3, backoffMs: 1, maxBackoffMs: 2 }, metrics, logger: memoryLogger().logger,
    });
    q.push(rendered(1));
    await q.flush();
    assert.equal(calls, 4);
    assert.equal(metrics.failedCount('http'), 4);
    assert.equal(metrics.droppedCount('http', 'failed'), 1);
    await q.close(1000);
  });

  it('on close, waits for the queue to drain within the grace period, then drops what is left', async () => {
    const sink = new GatedSink();
    const metrics = new RecordingMetrics();
    const { logger, records } = memoryLogger();
    const q = new OutputQueue(sink, { capacity: 10, attemptTimeoutMs: 60_000, retry: NO_RETRY, metrics, logger });
    for (let i = 0; i < 5; i++) q.push(rendered(i));
    await q.close(20);
    assert.equal(metrics.droppedCount('http', 'shutdown'), 5);
    assert.equal(sink.closed, true);
    assert.ok(records.some((r) => r.msg.includes('discarding 5 queued alerts')));
    assert.equal(q.push(rendered(99)), false, 'a closed queue accepts nothing');
    assert.equal(metrics.droppedCount('http', 'shutdown'), 6);
  });

  it('survives a sink that throws synchronously', async () => {
    const sink: Sink = {
      name: 'file',
      deliver() {
        throw new Error('boom');
      },
      async close() {},
    };
    const metrics = new RecordingMetrics();
    const q = new OutputQueue(sink, { capacity: 10, attemptTimeoutMs: 1000, retry: NO_RETRY, metrics, logger: memoryLogger().logger });
    q.push(rendered(1));
    await q.flush();
    assert.equal(metrics.failedCount('file'), 1);
    await q.close(100);
  });
});

describe('backoffDelay', () => {
  it('doubles its ceiling per attempt up to the cap, and jitters within the upper half', () => {
    assert.equal(backoffDelay(0, 100, 10_000, () => 0), 50);
    assert.equal(backoffDelay(0, 100, 10_000, () => 1), 100);
    assert.equal(backoffDelay(3, 100, 10_000, () => 1), 800);
    assert.equal(backoffDelay(20, 100, 10_000, () => 1), 10_000);
    assert.equal(backoffDelay(20, 100, 10_000, () => 0), 5_000);
  });
});
