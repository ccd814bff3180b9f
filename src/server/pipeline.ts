/**
 * From accepted audit events to alerts: a bounded in-memory queue, the
 * de-duplication of retried events, and the evaluation loop.
 *
 * Inputs (the webhook, the log tailer) {@link Pipeline.offer} decoded events.
 * The queue takes a batch whole or not at all, so the webhook can answer 200
 * only for batches it holds and 429 for the others, which the apiserver
 * retries: an accepted event is never dropped. The rule engine is synchronous,
 * so the loop evaluates in slices of a few milliseconds and yields to the
 * event loop between them, which keeps the HTTP server answering while a
 * backlog drains.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { AuditEvent } from '../audit/event.js';
import type { Alert } from '../engine/alert.js';
import type { Ruleset } from '../engine/ruleset.js';
import type { Outputs } from '../outputs/types.js';
import { Deduplicator } from './dedup.js';
import type { ServerMetrics } from './metrics.js';
import { BurstLog } from './burst-log.js';

export interface PipelineOptions {
  /** Events the queue holds (it always takes one batch when empty). */
  readonly capacity: number;
  /** JSON bytes the queue holds. */
  readonly maxBytes: number;
  /** auditID+stage pairs remembered for de-duplication; 0 disables it. */
  readonly dedupCapacity: number;
  readonly ruleset: Ruleset;
  readonly outputs: Outputs;
  readonly metrics: ServerMetrics;
  readonly logger: Logger;
  /** Longest evaluation slice before yielding to the event loop (default 2 ms). */
  readonly sliceMs?: number;
  /** Sees every evaluated event with its alerts (the incident store's feed); must not throw. */
  readonly observe?: (evt: AuditEvent, alerts: readonly Alert[]) => void;
}

/** What {@link Pipeline.offer} did with a batch. */
export type OfferResult =
  | { readonly ok: true; readonly accepted: number; readonly duplicates: number }
  | { readonly ok: false; readonly reason: 'queue_full' | 'closed' };

interface Batch {
  readonly events: AuditEvent[];
  readonly bytes: number;
  pos: number;
}

export class Pipeline {
  private ruleset: Ruleset;
  private readonly outputs: Outputs;
  private readonly metrics: ServerMetrics;
  private readonly dedup: Deduplicator;
  private readonly sliceMs: number;
  private readonly errors: BurstLog;
  private readonly observe: ((evt: AuditEvent, alerts: readonly Alert[]) => void) | undefined;
  private batches: Batch[] = [];
  private head = 0;
  private depthEvents = 0;
  private depthBytes = 0;
  private scheduled = false;
  private closed = false;
  private spaceWaiters: { n: number; resolve: () => void }[] = [];
  private drainWaiters: (() => void)[] = [];

  readonly capacity: number;
  readonly maxBytes: number;

  constructor(options: PipelineOptions) {
    this.capacity = options.capacity;
    this.maxBytes = options.maxBytes;
    this.ruleset = options.ruleset;
    this.outputs = options.outputs;
    this.metrics = options.metrics;
    this.dedup = new Deduplicator(options.dedupCapacity);
    this.sliceMs = options.sliceMs ?? 2;
    this.observe = options.observe;
    this.errors = new BurstLog(options.logger, 'evaluation failed for an event; it produced no alert');
    this.metrics.queueCapacity.set(this.capacity);
  }

  /** Events waiting for evaluation. */
  get depth(): number {
    return this.depthEvents;
  }

  /** True when the queue takes no more batches (what `/readyz` reports). */
  get full(): boolean {
    return this.depthEvents >= this.capacity || this.depthBytes >= this.maxBytes;
  }

  /** Replaces the rules; events already queued are evaluated with the new ones. */
  setRuleset(ruleset: Ruleset): void {
    this.ruleset = ruleset;
  }

  /**
   * Queues a batch whole, or refuses it whole when the queue cannot hold it
   * (a batch larger than the whole queue is taken when the queue is empty).
   * Events seen before (same auditID and stage) are dropped as duplicates.
   * `bytes` is the batch's size as received, for the byte bound.
   */
  offer(events: readonly AuditEvent[], bytes: number, input: string): OfferResult {
    if (this.closed) return { ok: false, reason: 'closed' };
    let fresh: AuditEvent[] = events as AuditEvent[];
    let keys: (string | undefined)[] | undefined;
    if (this.dedup.capacity > 0) {
      fresh = [];
      keys = [];
      let inBatch: Set<string> | undefined;
      for (const e of events) {
        const key = Deduplicator.key(e.obj);
        if (key !== undefined) {
          if (this.dedup.has(key) || inBatch?.has(key)) continue;
          (inBatch ??= new Set()).add(key);
        }
        fresh.push(e);
        keys.push(key);
      }
    }
    const duplicates = events.length - fresh.length;
    if (duplicates) this.metrics.eventsRejected.labels(input, 'duplicate').inc(duplicates);
    if (fresh.length === 0) return { ok: true, accepted: 0, duplicates };

    const share = events.length ? Math.ceil((bytes * fresh.length) / events.length) : bytes;
    if (this.depthEvents > 0 &&
        (this.depthEvents + fresh.length > this.capacity || this.depthBytes + share > this.maxBytes)) {
      this.metrics.eventsRejected.labels(input, 'queue_full').inc(fresh.length);
      return { ok: false, reason: 'queue_full' };
    }
    if (keys) for (const k of keys) if (k !== undefined) this.dedup.add(k);
    this.batches.push({ events: fresh, bytes: share, pos: 0 });
    this.depthEvents += fresh.length;
    this.depthBytes += share;
    this.metrics.eventsAccepted.labels(input).inc(fresh.length);
    this.updateGauges();
    this.schedule();
    return { ok: true, accepted: fresh.length, duplicates };
  }

  /** Resolves once the queue can take `n` more events (for inputs that can wait, like the log tailer). */
  waitForSpace(n: number): Promise<void> {
    if (this.closed || this.hasSpace(n)) return Promise.resolve();
    return new Promise((resolve) => this.spaceWaiters.push({ n, resolve }));
  }

  /** Resolves once every queued event has been evaluated. */
  drain(): Promise<void> {
    if (this.depthEvents === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Refuses further batches; what is queued is still evaluated (await {@link drain}). */
  close(): void {
    this.closed = true;
    for (const w of this.spaceWaiters.splice(0)) w.resolve();
  }

  private hasSpace(n: number): boolean {
    return this.depthEvents === 0 || (this.depthEvents + n <= this.capacity && this.depthBytes < this.maxBytes);
  }

  private schedule(): void {
    if (this.scheduled || this.depthEvents === 0) return;
    this.scheduled = true;
    setImmediate(this.runSlice);
  }

  private readonly runSlice = (): void => {
    this.scheduled = false;
    const deadline = performance.now() + this.sliceMs;
    let evaluated = 0;
    const ruleset = this.ruleset;
    const hist = this.metrics.ruleEvaluation;
    while (this.depthEvents > 0) {
      const batch = this.batches[this.head]!;
      const evt = batch.events[batch.pos]!;
      batch.pos++;
      this.depthEvents--;
      if (batch.pos === batch.events.length) {
        this.depthBytes -= batch.bytes;
        this.batches[this.head] = undefined as unknown as Batch;
        this.head++;
      }
      const t0 = performance.now();
      try {
        const alerts = ruleset.process(evt);
        for (let i = 0; i < alerts.length; i++) {
          const a = alerts[i]!;
          this.metrics.alert(a.rule, a.priority, a.source);
          this.outputs.publish(a);
        }
        this.observe?.(evt, alerts);
      } catch (e) {
        this.metrics.evaluationErrors.inc();
        this.errors.report({ err: e as Error, auditID: evt.obj['auditID'] });
      }
      const t1 = performance.now();
      hist.observe((t1 - t0) / 1000);
      evaluated++;
      if (t1 >= deadline) break;
    }
    if (this.head > 256 && this.head * 2 > this.batches.length) {
      this.batches = this.batches.slice(this.head);
      this.head = 0;
    }
    if (this.depthEvents === 0) {
      this.batches = [];
      this.head = 0;
      this.depthBytes = 0;
    }
    this.metrics.eventsEvaluated.inc(evaluated);
    this.updateGauges();
    if (this.spaceWaiters.length) {
      const waiting = this.spaceWaiters;
      this.spaceWaiters = [];
      for (const w of waiting) {
        if (this.hasSpace(w.n)) w.resolve();
        else this.spaceWaiters.push(w);
      }
    }
    if (this.depthEvents > 0) this.schedule();
    else for (const resolve of this.drainWaiters.splice(0)) resolve();
  };

  private updateGauges(): void {
    this.metrics.eventQueueDepth.set(this.depthEvents);
    this.metrics.queueBytes.set(this.depthBytes);
  }
}
