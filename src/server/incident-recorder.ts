/**
 * From alerts to committed incidents: the one writer of the analyzer's store.
 *
 * Two kinds of producers hand it evidence. The audit pipeline calls
 * {@link IncidentRecorder.record} for its alerts and context events and moves
 * on (the webhook already answered the apiserver). Agents POST alert batches
 * to the API, which awaits {@link IncidentRecorder.ingest}: it resolves only
 * once the batch is committed, so an agent that got its 200 can forget the
 * batch — a crash of the analyzer after that loses nothing acknowledged.
 *
 * One loop drains the queue in batches: ids already stored are dropped (an
 * agent's retry after a crash must not open an empty incident), the
 * correlator joins the rest into incidents, and the store commits the result
 * in one transaction. Batching is what makes correlation cheap at ingest
 * rates: one transaction per thousand alerts, not per alert.
 */
import type { Logger } from 'pino';
import { IngestRejected, type IngestResult } from '../api/ingest-types.js';
import type { StoredAlert, WriteBatch } from '../incidents/model.js';
import type { Store } from '../store/types.js';
import { BurstLog } from './burst-log.js';

/** The correlator as the recorder uses it (src/incidents/correlator.ts). */
export interface EvidenceCorrelator {
  ingest(evidence: readonly StoredAlert[]): WriteBatch;
}

export interface RecorderMetrics {
  /** Evidence committed (new), and skipped as already stored. */
  committed(count: number, duplicates: number): void;
  /** Evidence dropped: the queue was full, or the store failed. */
  dropped(reason: 'queue_full' | 'store_error', count: number): void;
  queueDepth(depth: number): void;
  /** One batch: seconds from dequeue to commit. */
  batchSeconds(seconds: number): void;
}

export interface RecorderOptions {
  readonly store: Store;
  readonly correlator: EvidenceCorrelator;
  readonly logger: Logger;
  readonly metrics?: RecorderMetrics;
  /** Evidence waiting for its commit; above it record() drops and ingest() answers 429. */
  readonly capacity: number;
  /** Evidence per transaction (default 2000). */
  readonly batchMax?: number;
  /** How long evidence nobody awaits may wait for more to share its transaction (default 20 ms). */
  readonly lingerMs?: number;
  /** Called after each commit with the evidence it stored (incident ids set): live views subscribe here. Must not throw. */
  readonly onCommitted?: (evidence: readonly StoredAlert[]) => void;
}

interface Waiter {
  remaining: number;
  accepted: number;
  duplicates: number;
  failed: Error | undefined;
  resolve(result: IngestResult): void;
  reject(error: Error): void;
}

interface Item {
  readonly evidence: StoredAlert;
  readonly waiter: Waiter | undefined;
}

/** The store's limit for knownAlertIds per call. */
const KNOWN_IDS_CHUNK = 5000;

export class IncidentRecorder {
  private queue: Item[] = [];
  private head = 0;
  private running: Promise<void> | undefined;
  private closed = false;
  private readonly batchMax: number;
  private readonly lingerMs: number;
  private lingering: NodeJS.Timeout | undefined;
  /** Items in the queue that an ingest() awaits. */
  private waiting = 0;
  private readonly storeErrors: BurstLog;
  private readonly fullLog: BurstLog;

  constructor(private readonly options: RecorderOptions) {
    this.batchMax = options.batchMax ?? 2000;
    this.lingerMs = options.lingerMs ?? 20;
    this.storeErrors = new BurstLog(options.logger, 'the incident store refused a batch; its evidence was not stored');
    this.fullLog = new BurstLog(options.logger, 'incident queue full: evidence from the audit pipeline dropped');
  }

  /** Evidence waiting to be committed. */
  get depth(): number {
    return this.queue.length - this.head;
  }

  /** Queues evidence without waiting for its commit (the audit pipeline). False when dropped. */
  record(evidence: StoredAlert): boolean {
    if (this.closed || this.depth >= this.options.capacity) {
      this.options.metrics?.dropped('queue_full', 1);
      if (!this.closed) this.fullLog.report({ capacity: this.options.capacity });
      return false;
    }
    this.queue.push({ evidence, waiter: undefined });
    this.kick();
    return true;
  }

  /**
   * Queues a batch and resolves once it is committed. Refuses the whole batch
   * with 429 (retry later) when the queue cannot hold it, 503 when closing or
   * when the store failed.
   */
  ingest(batch: readonly StoredAlert[]): Promise<IngestResult> {
    if (this.closed) return Promise.reject(new IngestRejected(503, 'the analyzer is shutting down', { retryAfterSeconds: 5 }));
    if (batch.length === 0) return Promise.resolve({ accepted: 0, duplicates: 0 });
    // A batch larger than the whole queue is still taken when the queue is empty.
    if (this.depth > 0 && this.depth + batch.length > this.options.capacity) {
      this.options.metrics?.dropped('queue_full', batch.length);
      return Promise.reject(new IngestRejected(429, `incident queue full (${this.depth} waiting)`, { retryAfterSeconds: 1 }));
    }
    return new Promise<IngestResult>((resolve, reject) => {
      const waiter: Waiter = { remaining: batch.length, accepted: 0, duplicates: 0, failed: undefined, resolve, reject };
      for (const evidence of batch) this.queue.push({ evidence, waiter });
      this.waiting += batch.length;
      this.kick();
    });
  }

  /** Resolves once everything queued so far is committed (or failed). */
  async flush(): Promise<void> {
    if (this.lingering) {
      clearTimeout(this.lingering);
      this.lingering = undefined;
      this.kick(true);
    }
    while (this.running) await this.running;
  }

  /** Refuses new evidence and commits what is queued. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private kick(waited = false): void {
    this.options.metrics?.queueDepth(this.depth);
    if (this.running || this.lingering) return;
    // Evidence nobody waits for (the audit pipeline's, an alert at a time) lingers a
    // moment so that it is committed in one transaction with what follows, instead of
    // one transaction each; an agent's batch, awaited, goes at once.
    if (!waited && !this.waiting && this.depth < this.batchMax && this.lingerMs > 0) {
      this.lingering = setTimeout(() => {
        this.lingering = undefined;
        this.kick(true);
      }, this.lingerMs);
      return;
    }
    this.running = this.drain().finally(() => {
      this.running = undefined;
      // Evidence that arrived while the last batch was being committed.
      if (this.depth > 0) this.kick(true);
    });
  }

  private async drain(): Promise<void> {
    while (this.depth > 0) {
      const end = Math.min(this.queue.length, this.head + this.batchMax);
      const items = this.queue.slice(this.head, end);
      this.head = end;
      if (this.head === this.queue.length) {
        this.queue = [];
        this.head = 0;
      } else if (this.head > 50_000) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      this.options.metrics?.queueDepth(this.depth);
      await this.commit(items);
    }
  }

  private async commit(items: readonly Item[]): Promise<void> {
    const started = performance.now();
    const { store, correlator } = this.options;
    const fresh: Item[] = [];
    const duplicate: Item[] = [];
    let committed: readonly StoredAlert[] = [];
    try {
      const known = await this.knownIds(items);
      const inBatch = new Set<string>();
      for (const item of items) {
        const id = item.evidence.id;
        if (known.has(id) || inBatch.has(id)) duplicate.push(item);
        else {
          inBatch.add(id);
          fresh.push(item);
        }
      }
      if (fresh.length) {
        const batch = correlator.ingest(fresh.map((i) => i.evidence));
        await store.write(batch);
        committed = batch.alerts;
      }
    } catch (e) {
      const err = e as Error;
      this.options.metrics?.dropped('store_error', items.length);
      this.storeErrors.report({ err, evidence: items.length });
      for (const item of items) this.settle(item, 'failed', err);
      return;
    }
    if (committed.length && this.options.onCommitted) {
      try {
        this.options.onCommitted(committed);
      } catch (err) {
        this.options.logger.warn({ err }, 'a subscriber to committed evidence failed');
      }
    }
    for (const item of fresh) this.settle(item, 'accepted');
    for (const item of duplicate) this.settle(item, 'duplicate');
    this.options.metrics?.committed(fresh.length, duplicate.length);
    this.options.metrics?.batchSeconds((performance.now() - started) / 1000);
  }

  private async knownIds(items: readonly Item[]): Promise<Set<string>> {
    const ids = items.map((i) => i.evidence.id);
    if (ids.length <= KNOWN_IDS_CHUNK) return this.options.store.knownAlertIds(ids);
    const out = new Set<string>();
    for (let i = 0; i < ids.length; i += KNOWN_IDS_CHUNK) {
      for (const id of await this.options.store.knownAlertIds(ids.slice(i, i + KNOWN_IDS_CHUNK))) out.add(id);
    }
    return out;
  }

  private settle(item: Item, outcome: 'accepted' | 'duplicate' | 'failed', error?: Error): void {
    const w = item.waiter;
    if (!w) return;
    this.waiting--;
    if (outcome === 'accepted') w.accepted++;
    else if (outcome === 'duplicate') w.duplicates++;
    else w.failed ??= error;
    if (--w.remaining > 0) return;
    if (w.failed) w.reject(new IngestRejected(503, 'the incident store is unavailable; retry', { retryAfterSeconds: 2 }));
    else w.resolve({ accepted: w.accepted, duplicates: w.duplicates });
  }
}
