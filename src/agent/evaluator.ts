/**
 * Turns the sensor's batches into alerts: split the batch into records,
 * update the state with each, evaluate the rules on the event, hand alerts to
 * the outputs. Runs on the main thread, one batch per call; everything here is
 * on the per-event path, so it allocates as little as it can and keeps
 * counters in plain arrays (see AgentMetrics).
 */
import type { Logger } from 'pino';
import type { Alert } from '../engine/alert.js';
import type { Ruleset } from '../engine/ruleset.js';
import { RecordError, splitRecords } from '../syscall/record.js';
import type { SyscallState } from '../syscall/state/index.js';
import { BurstLog } from '../server/burst-log.js';
import type { AgentMetrics } from './metrics.js';

export interface EvaluatorOptions {
  readonly state: SyscallState;
  readonly ruleset: Ruleset;
  readonly publish: (alert: Alert) => void;
  readonly metrics: AgentMetrics;
  readonly logger: Logger;
  /**
   * Sees every well-formed batch right after its evaluation (the capture
   * file: what the evaluation learned, such as a container's users, is
   * written before the batch).
   */
  readonly tap?: (bytes: Buffer) => void;
}

export class BatchEvaluator {
  ruleset: Ruleset;
  events = 0;
  alerts = 0;
  private readonly errorLog: BurstLog;
  private readonly badBatchLog: BurstLog;

  constructor(private readonly options: EvaluatorOptions) {
    this.ruleset = options.ruleset;
    this.errorLog = new BurstLog(options.logger, 'rule evaluation failed on an event');
    this.badBatchLog = new BurstLog(options.logger, 'malformed record from the sensor; rest of the batch skipped');
  }

  /** Evaluates one batch of back-to-back wire records. Never throws. */
  handle(batch: ArrayBuffer): void {
    const { state, metrics, publish } = this.options;
    const bytes = Buffer.from(batch);
    const started = process.hrtime.bigint();
    let records;
    try {
      records = splitRecords(bytes).records;
    } catch (e) {
      if (!(e instanceof RecordError)) throw e;
      metrics.badRecords.inc();
      this.badBatchLog.report({ err: e.message });
      return;
    }
    const ruleset = this.ruleset;
    for (let i = 0; i < records.length; i++) {
      const rec = records[i]!;
      metrics.countEvent(rec.type);
      let alerts: readonly Alert[];
      try {
        alerts = ruleset.process(state.apply(rec));
      } catch (e) {
        // A bug in a field or the state must cost one event, not the agent.
        metrics.evaluationErrors.inc();
        this.errorLog.report({ err: (e as Error).stack ?? String(e), type: rec.typeName, tid: rec.tid });
        continue;
      }
      for (let j = 0; j < alerts.length; j++) {
        const a = alerts[j]!;
        metrics.alert(a.rule, a.priority, a.source);
        publish(a);
      }
      this.alerts += alerts.length;
    }
    this.events += records.length;
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    metrics.batches.inc();
    metrics.batchEvaluation.observe(seconds);
    metrics.evaluationSeconds.inc(seconds);
    this.options.tap?.(bytes);
  }
}
