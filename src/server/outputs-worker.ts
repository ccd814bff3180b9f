/**
 * The outputs' thread (see outputs-thread.ts): runs `createOutputs` from
 * src/outputs with the config it is given, publishes the alerts the main
 * thread posts, and reports the outputs' metrics back in batches.
 *
 * Messages in: `alerts` (a batch), `flush`, `close`.
 * Messages out: `ready` | `failed` (start-up), `ack` (alerts taken),
 * `metrics` (deltas), `stdout` (the stdout output's bytes, so they stay in
 * order with `closed`), `flushed`, `closed`.
 */
import { Writable } from 'node:stream';
import { parentPort, workerData } from 'node:worker_threads';
import type { Alert } from '../engine/alert.js';
import { OutputSetupError, type OutputsConfig, createOutputs } from '../outputs/index.js';
import type { OutputMetrics, Outputs } from '../outputs/types.js';
import { createLogger } from './logger.js';
import type { LogLevel } from '../config/schema.js';

export interface OutputsWorkerData {
  readonly config: OutputsConfig;
  readonly logLevel: LogLevel;
  readonly pretty: boolean;
}

export type ToWorker =
  | { readonly type: 'alerts'; readonly alerts: Alert[] }
  | { readonly type: 'flush'; readonly id: number }
  | { readonly type: 'close' };

export interface MetricsDelta {
  readonly delivered: [string, number][];
  readonly dropped: [string, string, number][];
  readonly failed: [string, number][];
  readonly depth: [string, number][];
}

export type FromWorker =
  | { readonly type: 'ready'; readonly names: string[] }
  | { readonly type: 'failed'; readonly key: string | undefined; readonly message: string }
  | { readonly type: 'ack'; readonly n: number }
  | ({ readonly type: 'metrics' } & MetricsDelta)
  | { readonly type: 'stdout'; readonly chunk: string }
  | { readonly type: 'flushed'; readonly id: number }
  | { readonly type: 'closed' };

/** Counts what the outputs report, for sending in batches. */
class BatchedMetrics implements OutputMetrics {
  private delivers = new Map<string, number>();
  private drops = new Map<string, number>();
  private fails = new Map<string, number>();
  private depths = new Map<string, number>();

  delivered(output: string): void {
    this.delivers.set(output, (this.delivers.get(output) ?? 0) + 1);
  }
  dropped(output: string, reason: string): void {
    const k = `${output}\u0000${reason}`;
    this.drops.set(k, (this.drops.get(k) ?? 0) + 1);
  }
  failed(output: string): void {
    this.fails.set(output, (this.fails.get(output) ?? 0) + 1);
  }
  queueDepth(output: string, depth: number): void {
    this.depths.set(output, depth);
  }

  take(): MetricsDelta | undefined {
    if (!this.delivers.size && !this.drops.size && !this.fails.size && !this.depths.size) return undefined;
    const delta: MetricsDelta = {
      delivered: [...this.delivers],
      dropped: [...this.drops].map(([k, n]) => {
        const [o, r] = k.split('\u0000') as [string, string];
        return [o, r, n];
      }),
      failed: [...this.fails],
      depth: [...this.depths],
    };
    this.delivers = new Map();
    this.drops = new Map();
    this.fails = new Map();
    this.depths = new Map();
    return delta;
  }
}

const port = parentPort!;
const data = workerData as OutputsWorkerData;
const send = (m: FromWorker): void => port.postMessage(m);
const metrics = new BatchedMetrics();
const logger = createLogger({ level: data.logLevel, format: data.pretty ? 'pretty' : 'json' }).child({ component: 'outputs' });

const sendMetrics = (): void => {
  const delta = metrics.take();
  if (delta) send({ type: 'metrics', ...delta });
};

// The stdout output writes here; the main thread writes the bytes to fd 1.
const stdout = new Writable({
  decodeStrings: false,
  write(chunk: string | Buffer, _enc, callback) {
    send({ type: 'stdout', chunk: typeof chunk === 'string' ? chunk : chunk.toString('utf8') });
    callback();
  },
});

async function main(): Promise<void> {
  let outputs: Outputs;
  try {
    outputs = await createOutputs(data.config, { logger, metrics, stdout });
  } catch (e) {
    send({ type: 'failed', key: e instanceof OutputSetupError ? e.key : undefined, message: (e as Error).message });
    port.close();
    return;
  }
  const timer = setInterval(sendMetrics, 100);
  send({ type: 'ready', names: [...outputs.names] });

  port.on('message', (m: ToWorker) => {
    if (m.type === 'alerts') {
      for (const a of m.alerts) outputs.publish(a);
      send({ type: 'ack', n: m.alerts.length });
    } else if (m.type === 'flush') {
      void outputs.flush().finally(() => {
        sendMetrics();
        send({ type: 'flushed', id: m.id });
      });
    } else if (m.type === 'close') {
      void outputs.close().finally(() => {
        clearInterval(timer);
        sendMetrics();
        send({ type: 'closed' });
        port.close();
      });
    }
  });
}

void main();
