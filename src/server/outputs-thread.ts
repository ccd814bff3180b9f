/**
 * The outputs, run on their own thread.
 *
 * The rule engine keeps the main thread busy under load, and an output that
 * does one write per alert needs an event-loop turn per write: on the main
 * thread, between evaluation slices, it would fall behind and drop. On a
 * worker thread the outputs render alerts (JSON/text) and do their I/O on
 * the machine's other core, at their own pace, as Falco's output thread does.
 *
 * `publish` never blocks: alerts are batched per evaluation slice (one
 * message per slice) and posted; at most {@link MAX_IN_FLIGHT} alerts may be
 * on their way at once, beyond which new alerts are dropped and counted
 * (reason `queue_full`), so a stuck outputs thread cannot grow memory. The
 * outputs' own metrics come back in batches every 100 ms and on flush/close.
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Alert } from '../engine/alert.js';
import type { OutputsConfig } from '../outputs/index.js';
import type { Outputs } from '../outputs/types.js';
import type { LogLevel } from '../config/schema.js';
import type { TiercelMetrics } from './base-metrics.js';
import type { FromWorker, MetricsDelta, OutputsWorkerData, ToWorker } from './outputs-worker.js';

/** Alerts posted to the outputs thread and not yet taken by it. */
export const MAX_IN_FLIGHT = 50_000;

/** The outputs could not start (a setting that cannot work); `key` is its config key. */
export class OutputsStartError extends Error {
  constructor(readonly key: string | undefined, message: string) {
    super(message);
    this.name = 'OutputsStartError';
  }
}

export interface OutputsThreadOptions {
  readonly config: OutputsConfig;
  readonly metrics: TiercelMetrics;
  readonly logger: Logger;
  readonly logLevel: LogLevel;
  readonly pretty: boolean;
}

function workerUrl(): URL {
  // dist/server/outputs-worker.js, or the .ts source when run through tsx.
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./outputs-worker${ext}`, import.meta.url);
}

class ThreadedOutputs implements Outputs {
  names: readonly string[] = [];
  private worker: Worker | undefined;
  private batch: Alert[] = [];
  private inFlight = 0;
  private dropBurst = 0;
  private flushId = 0;
  private readonly flushes = new Map<number, () => void>();
  private closed: Promise<void> | undefined;
  private closedResolve: (() => void) | undefined;
  private restarts = 0;

  constructor(private readonly options: OutputsThreadOptions) {}

  /** Starts (or restarts) the worker; resolves when its outputs are ready. */
  start(): Promise<void> {
    const o = this.options;
    const data: OutputsWorkerData = { config: o.config, logLevel: o.logLevel, pretty: o.pretty };
    // A small young generation: the thread renders and writes alerts, whose garbage dies at once.
    const worker = new Worker(workerUrl(), { workerData: data, stdout: false, stderr: false, resourceLimits: { maxYoungGenerationSizeMb: 6 } });
    return new Promise<void>((resolve, reject) => {
      let started = false;
      worker.on('message', (m: FromWorker) => {
        if (started) {
          this.onMessage(m);
        } else if (m.type === 'ready') {
          started = true;
          this.worker = worker;
          this.names = m.names;
          this.inFlight = 0;
          resolve();
        } else if (m.type === 'failed') {
          reject(new OutputsStartError(m.key, m.message));
        }
      });
      worker.on('error', (err) => {
        if (!started) reject(err);
        else o.logger.error({ err }, 'the outputs thread failed');
      });
      worker.on('exit', (code) => {
        if (!started) {
          reject(new Error(`the outputs thread exited (${code}) while starting`));
          return;
        }
        this.onExit(worker, code);
      });
    });
  }

  publish(alert: Alert): void {
    const metrics = this.options.metrics;
    if (!this.worker || this.closed) {
      for (const n of this.names) metrics.dropped(n, this.closed ? 'shutdown' : 'outputs_restarting');
      return;
    }
    if (this.inFlight + this.batch.length >= MAX_IN_FLIGHT) {
      for (const n of this.names) metrics.dropped(n, 'queue_full');
      if (this.dropBurst++ === 0) this.options.logger.warn({ inFlight: this.inFlight }, 'outputs thread is behind: dropping alerts');
      return;
    }
    if (this.dropBurst > 0) {
      this.options.logger.warn({ dropped: this.dropBurst }, `outputs thread caught up after dropping ${this.dropBurst} alerts`);
      this.dropBurst = 0;
    }
    if (this.batch.length === 0) queueMicrotask(this.send);
    this.batch.push(alert);
  }

  private readonly send = (): void => {
    const alerts = this.batch;
    if (alerts.length === 0 || !this.worker) return;
    this.batch = [];
    this.inFlight += alerts.length;
    this.worker.postMessage({ type: 'alerts', alerts } satisfies ToWorker);
  };

  private onMessage(m: FromWorker): void {
    switch (m.type) {
      case 'ack':
        this.inFlight -= m.n;
        break;
      case 'metrics':
        this.applyMetrics(m);
        break;
      case 'stdout':
        process.stdout.write(m.chunk);
        break;
      case 'flushed':
        this.flushes.get(m.id)?.();
        this.flushes.delete(m.id);
        break;
      case 'closed':
        this.closedResolve?.();
        break;
      default:
        break;
    }
  }

  private onExit(worker: Worker, code: number): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    for (const resolve of this.flushes.values()) resolve();
    this.flushes.clear();
    if (this.closed) {
      this.closedResolve?.();
      return;
    }
    // Not asked to stop: alerts in its queues are lost (counted), and a new thread takes over.
    for (const n of this.names) this.options.metrics.dropped(n, 'outputs_restarting');
    this.restarts++;
    const delay = Math.min(30_000, 250 * 2 ** Math.min(this.restarts, 7));
    this.options.logger.error({ code, restartInMs: delay }, 'the outputs thread stopped unexpectedly; restarting it');
    setTimeout(() => {
      if (this.closed) return;
      this.start().catch((err: unknown) => this.options.logger.error({ err }, 'cannot restart the outputs thread'));
    }, delay).unref();
  }

  private applyMetrics(d: MetricsDelta): void {
    const m = this.options.metrics;
    for (const [o, n] of d.delivered) m.outputDelivered.labels(o).inc(n);
    for (const [o, r, n] of d.dropped) m.outputDropped.labels(o, r).inc(n);
    for (const [o, n] of d.failed) m.outputErrors.labels(o).inc(n);
    for (const [o, n] of d.depth) m.outputQueueDepth.labels(o).set(n);
  }

  flush(): Promise<void> {
    const worker = this.worker;
    if (!worker) return Promise.resolve();
    this.send();
    const id = ++this.flushId;
    return new Promise((resolve) => {
      this.flushes.set(id, resolve);
      worker.postMessage({ type: 'flush', id } satisfies ToWorker);
    });
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      const worker = this.worker;
      if (!worker) return;
      this.send();
      const done = new Promise<void>((resolve) => (this.closedResolve = resolve));
      worker.postMessage({ type: 'close' } satisfies ToWorker);
      await done;
      await worker.terminate();
    })();
    return this.closed;
  }
}

/**
 * Starts the outputs thread; resolves once every output is set up. Rejects
 * with {@link OutputsStartError} when an output cannot work.
 */
export async function startOutputsThread(options: OutputsThreadOptions): Promise<Outputs> {
  const outputs = new ThreadedOutputs(options);
  await outputs.start();
  return outputs;
}
