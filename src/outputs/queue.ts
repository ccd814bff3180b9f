/**
 * A bounded queue and one worker per output, so that a slow or dead output
 * only fills (and drops from) its own queue.
 *
 * `push` never blocks: when the queue is full the alert is dropped and
 * counted, and the drop is logged once per burst (the first drop, then a
 * summary once the queue accepts alerts again). The worker delivers one alert
 * at a time; every attempt has a deadline (`output_timeout`) after which the
 * queue moves on, and failed attempts are retried with exponential backoff
 * and jitter when the output asks for retries (http).
 *
 * Accounting: every alert pushed is eventually counted once as `delivered`
 * or `dropped` (reasons `queue_full`, `failed`, `shutdown`); every failed
 * attempt is also counted as `failed`.
 */
import type { Logger } from 'pino';
import { backoffDelay, raceAbort, settlesWithin, sleep } from './backoff.js';
import { DeliveryError, type RenderedAlert, type Sink } from './output.js';
import type { OutputMetrics } from './types.js';

/** Used when `outputs_queue.capacity` is 0 (Falco: unbounded; Tiercel always bounds). */
export const DEFAULT_QUEUE_CAPACITY = 10_000;

export interface RetryPolicy {
  /** Further attempts after the first one fails (0 = no retry). */
  readonly retries: number;
  /** First backoff ceiling in ms; doubles per retry. */
  readonly backoffMs: number;
  /** Backoff ceiling cap in ms. */
  readonly maxBackoffMs: number;
}

export const NO_RETRY: RetryPolicy = { retries: 0, backoffMs: 0, maxBackoffMs: 0 };

export interface OutputQueueOptions {
  /** Alerts held at most; 0 means `DEFAULT_QUEUE_CAPACITY`. */
  readonly capacity: number;
  /** Deadline of one delivery attempt, in ms. */
  readonly attemptTimeoutMs: number;
  readonly retry: RetryPolicy;
  readonly metrics: OutputMetrics;
  readonly logger: Logger;
}

/** Drop reasons passed to `OutputMetrics.dropped`. */
export type DropReason = 'queue_full' | 'failed' | 'shutdown';

interface FlushWaiter {
  readonly target: number;
  readonly resolve: () => void;
}

export class OutputQueue {
  readonly sink: Sink;
  readonly capacity: number;
  readonly #options: OutputQueueOptions;
  readonly #log: Logger;

  // A ring buffer: `#items[#head .. #head + #size)` modulo capacity.
  readonly #items: (RenderedAlert | undefined)[];
  #head = 0;
  #size = 0;

  /** Alerts accepted by `push`, and alerts the worker is done with (delivered or dropped). */
  #accepted = 0;
  #settled = 0;
  #waiters: FlushWaiter[] = [];

  #wake: (() => void) | undefined;
  readonly #worker: Promise<void>;
  /** No more pushes; the worker stops once the queue is empty. */
  #closing = false;
  #closed: Promise<void> | undefined;
  /** Aborts the attempt or backoff in progress when shutdown gives up waiting. */
  readonly #shutdown = new AbortController();

  #dropBurst = 0;
  #failBurst = 0;

  constructor(sink: Sink, options: OutputQueueOptions) {
    this.sink = sink;
    this.#options = options;
    this.capacity = options.capacity > 0 ? options.capacity : DEFAULT_QUEUE_CAPACITY;
    this.#items = new Array<RenderedAlert | undefined>(this.capacity);
    this.#log = options.logger;
    this.#worker = this.#run();
  }

  /** Alerts waiting (not counting the one being delivered). */
  get depth(): number {
    return this.#size;
  }

  /** Queues an alert; returns false (and counts a drop) when full or closing. Never blocks or throws. */
  push(alert: RenderedAlert): boolean {
    const name = this.sink.name;
    if (this.#closing) {
      this.#options.metrics.dropped(name, 'shutdown');
      return false;
    }
    if (this.#size >= this.capacity) {
      this.#options.metrics.dropped(name, 'queue_full');
      if (this.#dropBurst++ === 0) {
        this.#log.warn({ capacity: this.capacity }, `${name} output: queue full, dropping alerts`);
      }
      return false;
    }
    if (this.#dropBurst > 0) {
      this.#log.warn({ dropped: this.#dropBurst }, `${name} output: queue accepting alerts again after dropping ${this.#dropBurst}`);
      this.#dropBurst = 0;
    }
    this.#items[(this.#head + this.#size) % this.capacity] = alert;
    this.#size++;
    this.#accepted++;
    this.#options.metrics.queueDepth(name, this.#size);
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
    return true;
  }

  /** Resolves once every alert accepted so far is delivered or dropped, and the sink's buffer is written. */
  async flush(): Promise<void> {
    const target = this.#accepted;
    if (this.#settled < target) {
      await new Promise<void>((resolve) => this.#waiters.push({ target, resolve }));
    }
    try {
      await this.sink.flush?.();
    } catch (err) {
      this.#log.error({ err }, `${this.sink.name} output: flush failed`);
    }
  }

  /**
   * Stops accepting alerts, waits up to `graceMs` for the queue to drain,
   * then abandons what is left (counted as dropped, reason `shutdown`) and
   * closes the sink.
   */
  close(graceMs: number): Promise<void> {
    this.#closed ??= this.#close(graceMs);
    return this.#closed;
  }

  async #close(graceMs: number): Promise<void> {
    this.#closing = true;
    const drained = await settlesWithin(this.flush(), graceMs);
    if (!drained) {
      const left = this.#size + (this.#settled < this.#accepted ? 1 : 0);
      this.#log.warn({ dropped: left }, `${this.sink.name} output: still blocked at shutdown, discarding ${left} queued alerts`);
      this.#shutdown.abort(new DeliveryError('shutting down', false));
      while (this.#size > 0) {
        this.#shift();
        this.#options.metrics.dropped(this.sink.name, 'shutdown');
        this.#settle();
      }
    }
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
    await this.#worker;
    this.#options.metrics.queueDepth(this.sink.name, 0);
    // Sinks do not reject on close, but one stuck in a write (a hung NFS
    // mount) must not hold shutdown forever either.
    const closing = this.sink.close().catch((err: unknown) => {
      this.#log.error({ err }, `${this.sink.name} output: close failed`);
    });
    if (!(await settlesWithin(closing, graceMs + 2000))) {
      this.#log.warn(`${this.sink.name} output: still closing at shutdown; giving up on it`);
    }
  }

  #shift(): RenderedAlert | undefined {
    const alert = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.capacity;
    this.#size--;
    return alert;
  }

  #settle(): void {
    this.#settled++;
    if (this.#waiters.length === 0) return;
    const still: FlushWaiter[] = [];
    for (const w of this.#waiters) {
      if (this.#settled >= w.target) w.resolve();
      else still.push(w);
    }
    this.#waiters = still;
  }

  async #run(): Promise<void> {
    for (;;) {
      if (this.#size === 0) {
        if (this.#closing) return;
        await new Promise<void>((resolve) => (this.#wake = resolve));
        continue;
      }
      const alert = this.#shift() as RenderedAlert;
      this.#options.metrics.queueDepth(this.sink.name, this.#size);
      await this.#deliver(alert);
      this.#settle();
    }
  }

  /** Delivers one alert with retries; never rejects. */
  async #deliver(alert: RenderedAlert): Promise<void> {
    const { metrics, retry } = this.#options;
    const name = this.sink.name;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#attempt(alert);
        metrics.delivered(name);
        if (this.#failBurst > 0) {
          this.#log.info({ failedAttempts: this.#failBurst }, `${name} output: delivering again after ${this.#failBurst} failed attempts`);
          this.#failBurst = 0;
        }
        return;
      } catch (err) {
        if (this.#shutdown.signal.aborted) {
          metrics.dropped(name, 'shutdown');
          return;
        }
        metrics.failed(name);
        if (this.#failBurst++ === 0) {
          this.#log.error({ err: errorSummary(err) }, `${name} output: delivery failed: ${errorMessage(err)}`);
        }
        const retryable = !(err instanceof DeliveryError) || err.retryable;
        if (!retryable || attempt >= retry.retries) {
          metrics.dropped(name, 'failed');
          return;
        }
        try {
          await sleep(backoffDelay(attempt, retry.backoffMs, retry.maxBackoffMs), this.#shutdown.signal);
        } catch {
          metrics.dropped(name, 'shutdown');
          return;
        }
      }
    }
  }

  async #attempt(alert: RenderedAlert): Promise<void> {
    const ms = this.#options.attemptTimeoutMs;
    const attempt = new AbortController();
    const onShutdown = (): void => attempt.abort(this.#shutdown.signal.reason);
    this.#shutdown.signal.addEventListener('abort', onShutdown, { once: true });
    const timer = setTimeout(() => attempt.abort(new DeliveryError(`timed out after ${ms} ms`, true)), ms);
    try {
      let delivery: Promise<void>;
      try {
        delivery = this.sink.deliver(alert, attempt.signal);
      } catch (err) {
        delivery = Promise.reject(err);
      }
      // A sink that ignores the signal must not hold the queue past the deadline.
      await raceAbort(delivery, attempt.signal);
    } finally {
      clearTimeout(timer);
      this.#shutdown.signal.removeEventListener('abort', onShutdown);
    }
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function errorSummary(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  const code = (err as NodeJS.ErrnoException).code;
  return { type: err.name, message: err.message, ...(code ? { code } : {}) };
}
