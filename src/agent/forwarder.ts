/**
 * Sends the agent's alerts to the analyzer (`POST /api/v1/alerts`), where
 * they are correlated with the audit trail into incidents.
 *
 * Detection never waits for the analyzer: {@link AnalyzerForwarder.publish}
 * only queues (bounded; the oldest alert goes when it is full, counted). One
 * request at a time carries up to `batchMax` alerts; each alert has an id
 * drawn when it was queued, so a batch retried after a timeout or an analyzer
 * crash is recognized and stored once. A batch leaves the queue only when the
 * analyzer answered 200, which it does only after committing it.
 */
import { randomUUID } from 'node:crypto';
import { Agent, request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import type { Logger } from 'pino';
import type { AnalyzerForwardConfig } from '../config/forward.js';
import { type Alert, alertJson } from '../engine/alert.js';
import { BurstLog } from '../server/burst-log.js';

export interface ForwarderMetrics {
  forwarded(count: number): void;
  dropped(reason: 'queue_full' | 'rejected' | 'shutdown', count: number): void;
  failed(): void;
  queueDepth(depth: number): void;
}

/** Serialized alerts waiting, oldest first. */
interface Pending {
  readonly json: string;
}

const MAX_BACKOFF_MS = 30_000;
const REQUEST_TIMEOUT_MS = 30_000;

export class AnalyzerForwarder {
  private queue: Pending[] = [];
  private sending = false;
  private closed = false;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly endpoint: URL;
  private readonly agent: Agent | undefined;
  private readonly failures: BurstLog;
  private readonly fullLog: BurstLog;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly config: AnalyzerForwardConfig,
    private readonly logger: Logger,
    private readonly metrics?: ForwarderMetrics,
  ) {
    this.endpoint = new URL('api/v1/alerts', config.url.href.endsWith('/') ? config.url : new URL(config.url.href + '/'));
    this.agent = this.endpoint.protocol === 'https:' ? new Agent({ keepAlive: true, ...(config.ca ? { ca: config.ca } : {}) }) : undefined;
    this.failures = new BurstLog(logger, 'cannot deliver alerts to the analyzer; retrying');
    this.fullLog = new BurstLog(logger, 'analyzer queue full: oldest alerts dropped');
  }

  /** Queues an alert for the analyzer. Never blocks, never throws. */
  publish(alert: Alert): void {
    if (this.closed) {
      this.metrics?.dropped('shutdown', 1);
      return;
    }
    // The id goes first so a reader of the raw body sees it at once.
    const json = `{"id":${JSON.stringify(randomUUID())},${alertJson(alert).slice(1)}`;
    if (this.queue.length >= this.config.queueCapacity) {
      this.queue.shift();
      this.metrics?.dropped('queue_full', 1);
      this.fullLog.report({ capacity: this.config.queueCapacity });
    }
    this.queue.push({ json });
    this.metrics?.queueDepth(this.queue.length);
    if (!this.timer) this.pump();
  }

  /** Alerts not yet acknowledged by the analyzer. */
  get depth(): number {
    return this.queue.length;
  }

  /** Tries for up to `timeoutMs` to deliver what is queued, then stops; the rest is counted as dropped. */
  async close(timeoutMs = 5000): Promise<void> {
    const idle = new Promise<void>((resolve) => {
      if (this.queue.length === 0 && !this.sending) resolve();
      else this.idleWaiters.push(resolve);
    });
    const deadline = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref());
    // A retry waiting on its backoff goes now: the analyzer may be back.
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.pump();
    }
    await Promise.race([idle, deadline]);
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.queue.length) {
      this.metrics?.dropped('shutdown', this.queue.length);
      this.logger.warn({ alerts: this.queue.length }, 'alerts not delivered to the analyzer before shutdown');
      this.queue = [];
    }
    this.agent?.destroy();
  }

  private pump(): void {
    if (this.sending || this.closed) return;
    if (this.queue.length === 0) {
      for (const w of this.idleWaiters.splice(0)) w();
      return;
    }
    this.sending = true;
    const batch = this.queue.slice(0, this.config.batchMax);
    const body = '[' + batch.map((p) => p.json).join(',') + ']';
    void this.post(body).then((outcome) => {
      this.sending = false;
      if (outcome.ok || outcome.permanent) {
        // The queue may have lost its oldest entries to overflow meanwhile: remove exactly what was sent.
        const sent = new Set(batch);
        this.queue = this.queue.filter((p) => !sent.has(p));
        this.metrics?.queueDepth(this.queue.length);
        if (outcome.ok) this.metrics?.forwarded(batch.length);
        else {
          this.metrics?.dropped('rejected', batch.length);
          this.logger.error({ status: outcome.status, body: outcome.detail }, 'the analyzer refused a batch of alerts; it is not retried');
        }
        this.attempt = 0;
        this.pump();
        return;
      }
      this.metrics?.failed();
      this.failures.report({ status: outcome.status, error: outcome.detail, queued: this.queue.length });
      this.attempt++;
      const base = Math.min(MAX_BACKOFF_MS, 250 * 2 ** Math.min(this.attempt, 10));
      const wait = outcome.retryAfterMs ?? base / 2 + Math.random() * (base / 2);
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, wait);
      this.timer.unref();
    });
  }

  private post(body: string): Promise<{ ok: boolean; permanent?: boolean; status?: number; detail?: string; retryAfterMs?: number }> {
    return new Promise((resolve) => {
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
      };
      if (this.config.token) headers['authorization'] = `Bearer ${this.config.token}`;
      const send = this.endpoint.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(this.endpoint, { method: 'POST', headers, timeout: REQUEST_TIMEOUT_MS, ...(this.agent ? { agent: this.agent } : {}) }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          if (text.length < 2000) text += d;
        });
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve({ ok: true, status });
          const retryAfter = Number(res.headers['retry-after']);
          // 400 and 413 will not change on a retry; 401/403 may (a token being rotated), so they are retried.
          resolve({
            ok: false, permanent: status === 400 || status === 413, status, detail: text.slice(0, 500),
            ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterMs: Math.min(retryAfter * 1000, MAX_BACKOFF_MS) } : {}),
          });
        });
        res.on('error', (e) => resolve({ ok: false, detail: e.message }));
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
      req.on('error', (e) => resolve({ ok: false, detail: e.message }));
      req.end(body);
    });
  }
}
