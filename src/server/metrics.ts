/**
 * The analyzer's Prometheus metrics (served at `GET /metrics`): the common
 * ones (base-metrics.ts) plus the audit inputs, the queue and the webhook.
 */
import { Counter, Gauge, Histogram } from 'prom-client';
import { TiercelMetrics } from './base-metrics.js';
import type { RecorderMetrics } from './incident-recorder.js';

/** Buckets of the request and batch duration histograms: 1 ms to 10 s. */
const SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];

export class ServerMetrics extends TiercelMetrics {
  readonly eventsReceived: Counter<'input'>;
  readonly eventsAccepted: Counter<'input'>;
  readonly eventsRejected: Counter<'input' | 'reason'>;
  readonly eventsEvaluated: Counter;
  readonly ruleEvaluation: Histogram;
  readonly eventQueueDepth: Gauge;
  readonly queueBytes: Gauge;
  readonly queueCapacity: Gauge;
  readonly requests: Counter<'code'>;
  readonly unauthorized: Counter<'reason'>;
  readonly requestDuration: Histogram;
  readonly auditLogLines: Counter;
  readonly auditLogReopens: Counter<'reason'>;
  readonly incidentEvidence: Counter<'outcome'>;
  readonly incidentQueueDepth: Gauge;
  readonly incidentBatchDuration: Histogram;
  readonly apiRequests: Counter<'route' | 'code'>;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    super(options);
    const registers = this.registers;

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
    this.ruleEvaluation = new Histogram({
      name: 'tiercel_rule_evaluation_seconds',
      help: 'Time to evaluate one event against the enabled rules, alert formatting included',
      buckets: [1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 1e-2, 0.1],
      registers,
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
      buckets: SECONDS_BUCKETS,
      registers,
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
    this.incidentEvidence = new Counter({
      name: 'tiercel_incident_evidence_total',
      help: 'Alerts and context events handed to the incident store, by outcome (committed, duplicate, dropped_queue_full, dropped_store_error)',
      labelNames: ['outcome'], registers,
    });
    this.incidentQueueDepth = new Gauge({
      name: 'tiercel_incident_queue_depth',
      help: 'Alerts and context events waiting to be correlated and committed', registers,
    });
    this.incidentBatchDuration = new Histogram({
      name: 'tiercel_incident_batch_duration_seconds',
      help: 'Time to correlate and commit one batch of evidence',
      buckets: SECONDS_BUCKETS,
      registers,
    });
    this.apiRequests = new Counter({
      name: 'tiercel_api_requests_total',
      help: 'Query API requests answered, by route and HTTP status code',
      labelNames: ['route', 'code'], registers,
    });
  }

  /** The incident recorder's view of these metrics. */
  recorder(): RecorderMetrics {
    return {
      committed: (count, duplicates) => {
        if (count) this.incidentEvidence.labels('committed').inc(count);
        if (duplicates) this.incidentEvidence.labels('duplicate').inc(duplicates);
      },
      dropped: (reason, count) => this.incidentEvidence.labels(`dropped_${reason}`).inc(count),
      queueDepth: (depth) => this.incidentQueueDepth.set(depth),
      batchSeconds: (s) => this.incidentBatchDuration.observe(s),
    };
  }
}
