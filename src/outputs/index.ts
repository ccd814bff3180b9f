/**
 * The outputs: builds the enabled Falco outputs from an `OutputsConfig`,
 * each behind its own bounded queue (`queue.ts`), and implements the
 * `Outputs` contract of `types.ts`: `publish` never blocks and never throws.
 */
import { existsSync } from 'node:fs';
import type { Writable } from 'node:stream';
import type { Logger } from 'pino';
import type { Alert } from '../engine/alert.js';
import { type Priority, atLeast } from '../engine/priority.js';
import { type OutputsConfig, MAX_RETRY_BACKOFF_MS } from './config.js';
import { createFileSink } from './file.js';
import { createHttpSink } from './http.js';
import { type AlertFormat, RenderedAlert, type Sink, alertFormat } from './output.js';
import { createProgramSink } from './program.js';
import { NO_RETRY, OutputQueue, type RetryPolicy } from './queue.js';
import { createStdoutSink } from './stdout.js';
import { createSyslogSink } from './syslog.js';
import type { OutputMetrics, Outputs } from './types.js';

export {
  type ConfigError, type FileOutputConfig, type HttpOutputConfig, type OutputsConfig, type ProgramOutputConfig,
  type StdoutOutputConfig, type SyslogOutputConfig, defaultOutputsConfig, parseOutputsConfig,
} from './config.js';
export { OutputSetupError } from './output.js';
export type { OutputMetrics, Outputs } from './types.js';

export interface OutputDeps {
  readonly logger: Logger;
  readonly metrics: OutputMetrics;
  /** Where stdout_output (and http `echo`) write; process.stdout by default. */
  readonly stdout?: Writable;
  /** Where the program output's children write; inherited by default (as Falco's popen). */
  readonly programStdio?: 'inherit' | 'ignore';
}

interface Channel {
  readonly queue: OutputQueue;
  readonly minPriority: Priority;
}

/**
 * Starts the enabled outputs. Rejects with an `OutputSetupError` (its `key`
 * is the config key path) when an output cannot work at all: an unreadable CA
 * file, a missing directory for `file_output.filename`. A local syslog socket
 * that does not exist is not an error: Falco's libc syslog silently discards
 * alerts then; Tiercel leaves the syslog output out and logs a warning.
 */
export async function createOutputs(config: OutputsConfig, deps: OutputDeps): Promise<Outputs> {
  const { common } = config;
  const log = deps.logger;
  const channels: Channel[] = [];
  const add = (sink: Sink, minPriority: Priority, attemptTimeoutMs: number, retry: RetryPolicy): void => {
    const queue = new OutputQueue(sink, {
      capacity: common.queueCapacity,
      attemptTimeoutMs,
      retry,
      metrics: deps.metrics,
      logger: log.child({ output: sink.name }),
    });
    channels.push({ queue, minPriority });
  };

  try {
    if (config.stdout.enabled) {
      add(createStdoutSink({ buffered: common.bufferedOutputs, logger: log, ...(deps.stdout ? { stream: deps.stdout } : {}) }),
        config.stdout.priority, common.outputTimeoutMs, NO_RETRY);
    }
    if (config.file.enabled) {
      const f = config.file;
      add(await createFileSink({
        filename: f.filename, keepAlive: f.keepAlive, buffered: common.bufferedOutputs, createDirs: f.createDirs,
        logger: log, key: 'file_output.filename',
      }), f.priority, common.outputTimeoutMs, NO_RETRY);
    }
    if (config.syslog.enabled) {
      const y = config.syslog;
      if (y.host === '' && !existsSync(y.socketPath)) {
        log.warn({ socket: y.socketPath }, `syslog output: ${y.socketPath} does not exist; syslog output disabled (set syslog_output.host for remote syslog)`);
      } else {
        add(createSyslogSink({ ...y, logger: log }), y.priority, common.outputTimeoutMs, NO_RETRY);
      }
    }
    if (config.http.enabled) {
      const h = config.http;
      add(await createHttpSink({ ...h, key: 'http_output', ...(deps.stdout ? { echoStream: deps.stdout } : {}) }), h.priority, h.timeoutMs, {
        retries: h.retries, backoffMs: h.retryBackoffMs, maxBackoffMs: MAX_RETRY_BACKOFF_MS,
      });
    }
    if (config.program.enabled) {
      const p = config.program;
      add(createProgramSink({
        program: p.program, keepAlive: p.keepAlive, logger: log, closeGraceMs: common.outputTimeoutMs,
        ...(deps.programStdio ? { stdio: deps.programStdio } : {}),
      }), p.priority, common.outputTimeoutMs, NO_RETRY);
    }
  } catch (err) {
    await Promise.all(channels.map((c) => c.queue.close(0)));
    throw err;
  }
  return new OutputSet(channels, config.priority, alertFormat(common), common.outputTimeoutMs, log);
}

class OutputSet implements Outputs {
  readonly names: readonly string[];
  readonly #channels: readonly Channel[];
  readonly #minPriority: Priority;
  readonly #format: AlertFormat;
  readonly #closeGraceMs: number;
  readonly #log: Logger;
  #closed: Promise<void> | undefined;
  #publishErrorLogged = false;

  constructor(channels: readonly Channel[], minPriority: Priority, format: AlertFormat, closeGraceMs: number, log: Logger) {
    this.#channels = channels;
    this.names = channels.map((c) => c.queue.sink.name);
    this.#minPriority = minPriority;
    this.#format = format;
    this.#closeGraceMs = closeGraceMs;
    this.#log = log;
  }

  publish(alert: Alert): void {
    try {
      if (!atLeast(alert.priority, this.#minPriority)) return;
      const rendered = new RenderedAlert(alert, this.#format);
      for (const c of this.#channels) {
        if (atLeast(alert.priority, c.minPriority)) c.queue.push(rendered);
      }
    } catch (err) {
      // Not expected (push does not throw); but detection must never see an error from here.
      if (!this.#publishErrorLogged) {
        this.#publishErrorLogged = true;
        this.#log.error({ err }, 'outputs: publish failed');
      }
    }
  }

  async flush(): Promise<void> {
    await Promise.all(this.#channels.map((c) => c.queue.flush()));
  }

  close(): Promise<void> {
    this.#closed ??= Promise.all(this.#channels.map((c) => c.queue.close(this.#closeGraceMs))).then(() => {});
    return this.#closed;
  }
}
