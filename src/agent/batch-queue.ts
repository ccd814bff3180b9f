/**
 * Between the sensor and the evaluation: batches arrive from the addon's
 * consumer thread as fast as the kernel fills the rings, and evaluating one
 * takes milliseconds. Evaluated straight from the addon's callback, a flood
 * of batches runs back to back and starves the event loop: no HTTP answers
 * (liveness probes fail), no signal handling (SIGTERM ignored for minutes).
 *
 * So callbacks only queue, and the queue is worked in slices of about
 * `sliceMs` from `setImmediate`, which runs after the event loop has polled
 * for I/O: probes, metrics scrapes and signals get their turn between
 * slices. The queue is bounded in bytes; past the bound whole batches are
 * dropped and counted (they show up in the drop alert and metrics like the
 * addon's own userspace drops).
 */
import { HDR } from '../syscall/record.js';

export interface BatchQueueOptions {
  /** Evaluates one batch (never throws). */
  readonly handle: (batch: ArrayBuffer) => void;
  /** Most bytes waiting; further batches are dropped. */
  readonly maxBytes: number;
  /** How long one slice of work may run before yielding to the event loop. */
  readonly sliceMs?: number;
}

/** Number of records in a batch of back-to-back records (for drop counts). */
export function countRecords(batch: ArrayBuffer): number {
  const view = new DataView(batch);
  let n = 0;
  for (let off = 0; off + HDR.SIZE <= view.byteLength; n++) {
    const len = view.getUint32(off + HDR.LEN, true);
    if (len < HDR.SIZE) return n + 1;
    off += len;
  }
  return n;
}

export class BatchQueue {
  private readonly queue: ArrayBuffer[] = [];
  private head = 0;
  private scheduled = false;
  private readonly sliceMs: number;
  queuedBytes = 0;
  /** Records dropped because the queue was full. */
  droppedRecords = 0;
  droppedBatches = 0;

  constructor(private readonly options: BatchQueueOptions) {
    this.sliceMs = options.sliceMs ?? 10;
  }

  get length(): number {
    return this.queue.length - this.head;
  }

  /** Queues a batch (the addon's callback); returns false when it was dropped. */
  push(batch: ArrayBuffer): boolean {
    if (this.queuedBytes + batch.byteLength > this.options.maxBytes && this.length > 0) {
      this.droppedBatches++;
      this.droppedRecords += countRecords(batch);
      return false;
    }
    this.queue.push(batch);
    this.queuedBytes += batch.byteLength;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.work);
    }
    return true;
  }

  private readonly work = (): void => {
    const deadline = performance.now() + this.sliceMs;
    do {
      const batch = this.take();
      if (!batch) break;
      this.options.handle(batch);
    } while (performance.now() < deadline);
    if (this.length > 0) setImmediate(this.work);
    else this.scheduled = false;
  };

  private take(): ArrayBuffer | undefined {
    if (this.head >= this.queue.length) return undefined;
    const batch = this.queue[this.head]!;
    this.queue[this.head++] = undefined as unknown as ArrayBuffer;
    this.queuedBytes -= batch.byteLength;
    // Compact now and then instead of shift() per batch.
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    return batch;
  }

  /**
   * Evaluates what is queued for at most `budgetMs` (at shutdown), then
   * discards the rest; returns the number of records discarded.
   */
  drain(budgetMs: number): number {
    const deadline = performance.now() + budgetMs;
    let batch: ArrayBuffer | undefined;
    while (performance.now() < deadline && (batch = this.take())) this.options.handle(batch);
    let discarded = 0;
    while ((batch = this.take())) discarded += countRecords(batch);
    return discarded;
  }
}
