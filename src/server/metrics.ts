/**
 * The analyzer's Prometheus metrics (served at `GET /metrics`), one registry
 * per server. The outputs report into it through {@link OutputMetrics}.
 *
 * Label values are bounded: rules and priorities come from the loaded rules,
 * outputs from the config, reasons and inputs from fixed lists in the code.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { OutputMetrics } from '../outputs/types.js';

type Inc = { inc(value?: number): void };

export class ServerMetrics implements OutputMetrics {
  readonly registry = new Registry();

  readonly eventsReceived: Counter<'input'>;
  readonly eventsAccepted: Counter<'input'>;
  readonly eventsRejected: Counter<'input' | 'reason'>;
  readonly eventsEvaluated: Counter;
  readonly evaluationErrors: Counter;
  readonly ruleEvaluation: Histogram;
  readonly alerts: Counter<'rule' | 'priority' | 'source'>;
  readonly eventQueueDepth: Gauge;
  readonly queueBytes: Gauge;
  readonly queueCapacity: Gauge;
  readonly requests: Counter<'code'>;
  readonly unauthorized: Counter<'reason'>;
  readonly requestDuration: Histogram;
  readonly outputDelivered: Counter<'output'>;
  readonly outputDropped: Counter<'output' | 'reason'>;
  readonly outputErrors: Counter<'output'>;
  readonly outputQueueDepth: Gauge<'output'>;
  readonly rulesReloads: Counter<'result'>;
  readonly rulesEnabled: Gauge;
  readonly rulesLastLoad: Gauge;
  readonly auditLogLines: Counter;
  readonly auditLogReopens: Counter<'reason'>;

  private readonly alertChildren = new Map<string, Inc>();

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });

    this.eventsReceived = new Counter({
      name: 'tiercel_audit_events_received_total',
      help: 'Audit events received (decoded or not), by input (webhook, audit_log)',
      labelNames: ['input'], registers,
    });
    this.eventsAccepted = new Counter({
      name: 'tiercel_audit_events_accepted_total',
      help: 'Audit events queued for evaluation, by input',
      labelNames: ['input'], registers,
    });
    this.eventsRejected = new Counter({
      name: 'tiercel_audit_events_rejected_total',
      help: 'Audit events not queued, by input and reason (invalid_event, duplicate, queue_full)',
      labelNames: ['input', 'reason'], registers,
    });
    this.eventsEvaluated = new Counter({
      name: 'tiercel_audit_events_evaluated_total',
      help: 'Audit events evaluated against the rules', registers,
    });
    this.evaluationErrors = new Counter({
      name: 'tiercel_evaluation_errors_total',
      help: 'Events whose evaluation failed unexpectedly (logged)', registers,
    });
    this.ruleEvaluation = new Histogram({
      name: 'tiercel_rule_evaluation_seconds',
      help: 'Time to evaluate one event against the enabled rules, alert formatting included',
      buckets: [1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 1e-2, 0.1],
      registers,
    });
    this.alerts = new Counter({
      name: 'tiercel_alerts_total',
      help: 'Alerts raised, by rule, priority and source',
      labelNames: ['rule', 'priority', 'source'], registers,
    });
    this.eventQueueDepth = new Gauge({
      name: 'tiercel_queue_depth',
      help: 'Audit events waiting for evaluation', registers,
    });
    this.queueBytes = new Gauge({
      name: 'tiercel_queue_bytes',
      help: 'JSON bytes of the audit events waiting for evaluation', registers,
    });
    this.queueCapacity = new Gauge({
      name: 'tiercel_queue_capacity',
      help: 'Events the queue holds before the webhook answers 429 (queue.capacity)', registers,
    });
    this.requests = new Counter({
      name: 'tiercel_webhook_requests_total',
      help: 'Webhook requests answered, by HTTP status code',
      labelNames: ['code'], registers,
    });
    this.unauthorized = new Counter({
      name: 'tiercel_webhook_unauthorized_total',
      help: 'Webhook requests refused with 401, by reason (no_credentials, bad_token, bad_client_cert)',
      labelNames: ['reason'], registers,
    });
    this.requestDuration = new Histogram({
      name: 'tiercel_webhook_request_duration_seconds',
      help: 'Time from a webhook request\'s arrival to its answer',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers,
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
    this.auditLogLines = new Counter({
      name: 'tiercel_audit_log_lines_total',
      help: 'Lines read from the tailed audit log', registers,
    });
    this.auditLogReopens = new Counter({
      name: 'tiercel_audit_log_reopens_total',
      help: 'Times the tailed audit log was reopened, by reason (rotated, truncated)',
      labelNames: ['reason'], registers,
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

  private readonly deliveredChildren = new Map<string, Inc>();

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
