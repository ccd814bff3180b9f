/**
 * The queue between the sensor's callbacks and the evaluation: a flood of
 * batches must not starve the event loop (timers, I/O, signals run between
 * slices), and the queue is bounded, counting what it drops.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BatchQueue, countRecords } from '../../src/agent/batch-queue.js';
import { encodeRecord } from '../../src/syscall/record.js';

function batchOf(records: number): ArrayBuffer {
  const one = encodeRecord({ ts: 1n, tid: 1, tgid: 1, type: 'close', res: 0, params: { fd: 3 } });
  const buf = Buffer.concat(Array.from({ length: records }, () => one));
  const ab = new ArrayBuffer(buf.length);
  new Uint8Array(ab).set(buf);
  return ab;
}

function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // evaluation stand-in
  }
}

describe('batch queue', () => {
  it('counts the records of a batch', () => {
    assert.equal(countRecords(batchOf(7)), 7);
    assert.equal(countRecords(new ArrayBuffer(0)), 0);
  });

  it('lets timers and I/O run between batches while a backlog is worked off', async () => {
    const handled: number[] = [];
    const q = new BatchQueue({ handle: () => { busy(5); handled.push(performance.now()); }, maxBytes: 1 << 30, sliceMs: 10 });
    for (let i = 0; i < 100; i++) q.push(batchOf(10)); // 100 × 5 ms = 500 ms of work
    const ticks: number[] = [];
    const timer = setInterval(() => ticks.push(handled.length), 1);
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (q.length === 0) {
          clearInterval(check);
          resolve();
        }
      }, 5);
    });
    clearInterval(timer);
    assert.equal(handled.length, 100);
    // The 1 ms timer ran many times while batches were still waiting.
    const during = ticks.filter((n) => n < 100).length;
    assert.ok(during >= 10, `timer ran ${during} times during the backlog`);
  });

  it('drops whole batches past its byte bound and counts their records', () => {
    let handled = 0;
    const one = batchOf(10);
    const q = new BatchQueue({ handle: () => { handled++; }, maxBytes: one.byteLength * 3 });
    const accepted = [0, 1, 2, 3, 4].map(() => q.push(batchOf(10)));
    assert.deepEqual(accepted, [true, true, true, false, false]);
    assert.equal(q.droppedBatches, 2);
    assert.equal(q.droppedRecords, 20);
    assert.equal(q.drain(1000), 0);
    assert.equal(handled, 3);
  });

  it('drain evaluates within its budget and discards the rest, counted', () => {
    let handled = 0;
    const q = new BatchQueue({ handle: () => { busy(20); handled++; }, maxBytes: 1 << 30 });
    for (let i = 0; i < 20; i++) q.push(batchOf(5));
    const discarded = q.drain(50);
    assert.ok(handled >= 1 && handled < 20, `handled ${handled}`);
    assert.equal(discarded, (20 - handled) * 5);
    assert.equal(q.length, 0);
  });
});
