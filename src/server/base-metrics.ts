/**
 * Metrics every Tiercel process serves (the analyzer and the node agent):
 * one prom-client registry per process, alerts by rule, the outputs'
 * delivery counters (the outputs report through {@link OutputMetrics}) and
 * the loaded rules. Each process adds its own on top (ServerMetrics,
 * AgentMetrics).
 *
 * Label values are bounded: rules and priorities come from the loaded rules,
 * outputs from the config, reasons from fixed lists in the code.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { OutputMetrics } from '../outputs/types.js';

type Inc = { inc(value?: number): void };

export class TiercelMetrics implements OutputMetrics {
  readonly registry = new Registry();
  protected readonly registers = [this.registry];

  readonly evaluationErrors: Counter;
  readonly alerts: Counter<'rule' | 'priority' | 'source'>;
  readonly outputDelivered: Counter<'output'>;
  readonly outputDropped: Counter<'output' | 'reason'>;
  readonly outputErrors: Counter<'output'>;
  readonly outputQueueDepth: Gauge<'output'>;
  readonly rulesReloads: Counter<'result'>;
  readonly rulesEnabled: Gauge;
  readonly rulesLastLoad: Gauge;

  private readonly alertChildren = new Map<string, Inc>();
  private readonly deliveredChildren = new Map<string, Inc>();

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = this.registers;
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.evaluationErrors = new Counter({
      name: 'tiercel_evaluation_errors_total',
      help: 'Events whose evaluation failed unexpectedly (logged)', registers,
    });
    this.alerts = new Counter({
      name: 'tiercel_alerts_total',
      help: 'Alerts raised, by rule, priority and source',
      labelNames: ['rule', 'priority', 'source'], registers,
    });
    this.outputDelivered = new Counter({
      name: 'tiercel_output_delivered_total',
      help: 'Alerts delivered, by output', labelNames: ['output'], registers,
    });
    this.outputDropped = new Counter({
      name: 'tiercel_output_dropped_total',
      help: 'Alerts dropped before delivery, by output and reason',
      labelNames: ['output', 'reason'], registers,
    });
    this.outputErrors = new Counter({
      name: 'tiercel_output_errors_total',
      help: 'Failed delivery attempts (possibly retried), by output', labelNames: ['output'], registers,
    });
    this.outputQueueDepth = new Gauge({
      name: 'tiercel_output_queue_depth',
      help: 'Alerts waiting in an output\'s queue', labelNames: ['output'], registers,
    });
    this.rulesReloads = new Counter({
      name: 'tiercel_rules_reloads_total',
      help: 'Rules (re)loads, by result (success, failure); a failed reload keeps the previous rules',
      labelNames: ['result'], registers,
    });
    this.rulesEnabled = new Gauge({
      name: 'tiercel_rules_enabled',
      help: 'Rules enabled in the running ruleset', registers,
    });
    this.rulesLastLoad = new Gauge({
      name: 'tiercel_rules_last_load_timestamp_seconds',
      help: 'When the running ruleset was loaded', registers,
    });
  }

  /** Counts one alert (children cached: this runs once per alert). */
  alert(rule: string, priority: string, source: string): void {
    const key = `${rule}\u0000${priority}\u0000${source}`;
    let child = this.alertChildren.get(key);
    if (!child) {
      child = this.alerts.labels(rule, priority, source);
      this.alertChildren.set(key, child);
    }
    child.inc();
  }

  // OutputMetrics

  delivered(output: string): void {
    let child = this.deliveredChildren.get(output);
    if (!child) {
      child = this.outputDelivered.labels(output);
      this.deliveredChildren.set(output, child);
    }
    child.inc();
  }

  dropped(output: string, reason: string): void {
    this.outputDropped.labels(output, reason).inc();
  }

  failed(output: string): void {
    this.outputErrors.labels(output).inc();
  }

  queueDepth(output: string, depth: number): void {
    this.outputQueueDepth.labels(output).set(depth);
  }
}
