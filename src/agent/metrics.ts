/**
 * The node agent's Prometheus metrics: the common ones (alerts, outputs,
 * rules) plus the sensor's. Per-event work only bumps plain typed arrays
 * ({@link AgentMetrics.countEvent}); prom-client sees them when scraped, so a
 * million events a second cost a million array increments, not a million
 * label lookups.
 *
 * Label values are bounded: event types come from the fixed type table,
 * drop categories and CPUs from the addon.
 */
import { Counter, Gauge, Histogram } from 'prom-client';
import { TiercelMetrics } from '../server/base-metrics.js';
import { eventTypeName } from '../syscall/event-types.js';
import type { ForwarderMetrics } from './forwarder.js';
import type { PodWatcherHooks } from '../k8s/pod-watcher.js';
import type { CriHooks } from '../k8s/cri/provider.js';

/** Event type codes counted (syscalls below 512, pseudo events from 1024; see wire.h). */
const TYPE_SLOTS = 2048;

export class AgentMetrics extends TiercelMetrics {
  /** Events evaluated, by type code; read at scrape time. */
  readonly eventsByType = new Float64Array(TYPE_SLOTS);
  readonly events: Counter<'type'>;
  readonly drops: Counter<'category'>;
  readonly userspaceDrops: Counter;
  readonly ringUsed: Gauge<'ring'>;
  readonly ringSize: Gauge<'ring'>;
  readonly queuedBatches: Gauge;
  readonly syscallAttach: Gauge<'mode'>;
  readonly fexitPrograms: Gauge;
  readonly batches: Counter;
  readonly batchEvaluation: Histogram;
  readonly evaluationSeconds: Counter;
  readonly processes: Gauge;
  readonly threads: Gauge;
  readonly unknownThreads: Gauge;
  readonly evictedProcesses: Gauge;
  readonly vanishedProcesses: Gauge;
  readonly badRecords: Counter;
  readonly captureDropped: Counter;
  readonly analyzerAlerts: Counter<'outcome'>;
  readonly analyzerFailures: Counter;
  readonly analyzerQueue: Gauge;
  readonly podLists: Counter<'reason'>;
  readonly podWatchEnds: Counter<'reason'>;
  readonly podApiErrors: Counter<'phase'>;
  readonly podEvents: Counter<'type'>;
  readonly podsListed: Gauge;
  readonly criRequests: Counter<'method'>;
  readonly criErrors: Counter<'method'>;
  readonly criContainers: Gauge;
  readonly criConnected: Gauge;

  private readonly reported = new Float64Array(TYPE_SLOTS);

  constructor(options: { defaultMetrics?: boolean } = {}) {
    super(options);
    const registers = this.registers;
    const self = this;
    this.events = new Counter({
      name: 'tiercel_syscall_events_total',
      help: 'Syscall events evaluated, by event type (rate() gives events/s by type)',
      labelNames: ['type'], registers,
      collect() {
        for (let code = 0; code < TYPE_SLOTS; code++) {
          const delta = self.eventsByType[code]! - self.reported[code]!;
          if (delta > 0) {
            this.labels(eventTypeName(code)).inc(delta);
            self.reported[code] = self.eventsByType[code]!;
          }
        }
      },
    });
    this.drops = new Counter({
      name: 'tiercel_sensor_drops_total',
      help: 'Events the kernel side dropped (ring buffer full, oversized records), by Falco drop category',
      labelNames: ['category'], registers,
    });
    this.userspaceDrops = new Counter({
      name: 'tiercel_sensor_userspace_drops_total',
      help: 'Events discarded because rule evaluation fell behind the sensor (whole batches)', registers,
    });
    this.ringUsed = new Gauge({
      name: 'tiercel_sensor_ring_used_bytes',
      help: 'Bytes written to a ring buffer and not yet consumed, by ring', labelNames: ['ring'], registers,
    });
    this.ringSize = new Gauge({
      name: 'tiercel_sensor_ring_size_bytes',
      help: 'Size of each ring buffer', labelNames: ['ring'], registers,
    });
    this.queuedBatches = new Gauge({
      name: 'tiercel_sensor_queued_batches',
      help: 'Batches the sensor handed over that wait for evaluation', registers,
    });
    // An info metric: 1 for the mode in use (agent.syscall_attach; auto resolves to one of the two).
    this.syscallAttach = new Gauge({
      name: 'tiercel_sensor_syscall_attach_info',
      help: 'How the sensor records syscalls: mode="fexit" (a program per selected syscall) or mode="sys_exit" (the tracepoint every syscall pays for) is 1',
      labelNames: ['mode'], registers,
    });
    this.fexitPrograms = new Gauge({
      name: 'tiercel_sensor_fexit_programs',
      help: 'Syscalls with a fexit program attached (0 in sys_exit mode)', registers,
    });
    this.batches = new Counter({
      name: 'tiercel_sensor_batches_total',
      help: 'Batches of records evaluated', registers,
    });
    this.batchEvaluation = new Histogram({
      name: 'tiercel_batch_evaluation_seconds',
      help: 'Time to apply and evaluate one batch of records (state, rules, alert formatting)',
      buckets: [1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 1],
      registers,
    });
    this.evaluationSeconds = new Counter({
      name: 'tiercel_rule_evaluation_seconds_total',
      help: 'Time spent applying records and evaluating rules; divided by the events counter: time per event', registers,
    });
    this.processes = new Gauge({ name: 'tiercel_state_processes', help: 'Processes in the state table', registers });
    this.threads = new Gauge({ name: 'tiercel_state_threads', help: 'Threads in the state table', registers });
    this.unknownThreads = new Gauge({
      name: 'tiercel_state_unknown_threads_total',
      help: 'Events from threads the state had never seen (created on the fly)', registers,
    });
    this.evictedProcesses = new Gauge({
      name: 'tiercel_state_evicted_processes_total',
      help: 'Processes evicted because the table was full (agent.max_processes)', registers,
    });
    this.vanishedProcesses = new Gauge({
      name: 'tiercel_state_vanished_processes_total',
      help: 'Processes gone from /proc whose exit record was dropped, found by the periodic check and marked exited', registers,
    });
    this.badRecords = new Counter({
      name: 'tiercel_sensor_bad_batches_total',
      help: 'Batches with a malformed record (the rest of the batch is skipped; logged)', registers,
    });
    this.captureDropped = new Counter({
      name: 'tiercel_capture_dropped_bytes_total',
      help: 'Record bytes not written to the capture file because the disk fell behind', registers,
    });
    this.analyzerAlerts = new Counter({
      name: 'tiercel_analyzer_alerts_total',
      help: 'Alerts sent to the analyzer (agent.analyzer), by outcome (forwarded, dropped_queue_full, dropped_rejected, dropped_shutdown)',
      labelNames: ['outcome'], registers,
    });
    this.analyzerFailures = new Counter({
      name: 'tiercel_analyzer_request_failures_total',
      help: 'Requests to the analyzer that failed and will be retried', registers,
    });
    this.analyzerQueue = new Gauge({
      name: 'tiercel_analyzer_queue_depth',
      help: 'Alerts waiting for the analyzer to acknowledge them', registers,
    });
    this.podLists = new Counter({
      name: 'tiercel_k8s_pod_lists_total',
      help: 'Lists of the node\'s pods from the Kubernetes API, by reason (start, gone, error)',
      labelNames: ['reason'], registers,
    });
    this.podWatchEnds = new Counter({
      name: 'tiercel_k8s_pod_watch_restarts_total',
      help: 'Pod watches that ended and were re-opened, by reason',
      labelNames: ['reason'], registers,
    });
    this.podApiErrors = new Counter({
      name: 'tiercel_k8s_api_errors_total',
      help: 'Failed pod lists and watches (retried with backoff), by phase (list, watch)',
      labelNames: ['phase'], registers,
    });
    this.podEvents = new Counter({
      name: 'tiercel_k8s_pod_events_total',
      help: 'Pod watch events applied, by type (ADDED, MODIFIED, DELETED, BOOKMARK)',
      labelNames: ['type'], registers,
    });
    this.podsListed = new Gauge({
      name: 'tiercel_k8s_pods',
      help: 'Pods of this node in the last list from the Kubernetes API', registers,
    });
    // agent.cri; the method label is one of the four calls of src/k8s/cri/runtime-v1.proto.
    this.criRequests = new Counter({
      name: 'tiercel_cri_requests_total',
      help: 'Calls to the container runtime over the CRI socket, by method (Version, ListPodSandbox, ListContainers, ContainerStatus)',
      labelNames: ['method'], registers,
    });
    this.criErrors = new Counter({
      name: 'tiercel_cri_errors_total',
      help: 'CRI calls that failed (runtime down, refused, not a CRI runtime, deadline), by method', labelNames: ['method'], registers,
    });
    this.criContainers = new Gauge({
      name: 'tiercel_cri_containers',
      help: 'Containers and pod sandboxes the CRI metadata cache holds', registers,
    });
    this.criConnected = new Gauge({
      name: 'tiercel_cri_connected',
      help: '1 while the agent has a CRI runtime answering on its socket, else 0', registers,
    });
  }

  /** Records how the sensor attaches now (at start and after each reload). */
  noteAttachment(mode: 'fexit' | 'sys_exit', fexitPrograms: number): void {
    this.syscallAttach.labels('fexit').set(mode === 'fexit' ? 1 : 0);
    this.syscallAttach.labels('sys_exit').set(mode === 'sys_exit' ? 1 : 0);
    this.fexitPrograms.set(fexitPrograms);
  }

  /** The Kubernetes pod watcher's view of these metrics (agent.kubernetes). */
  podWatcher(): PodWatcherHooks {
    return {
      onRelist: (reason, pods) => {
        this.podLists.labels(reason).inc();
        this.podsListed.set(pods);
      },
      onWatchEnd: (reason) => this.podWatchEnds.labels(reason).inc(),
      onError: (_err, phase) => this.podApiErrors.labels(phase).inc(),
      onEvent: (type) => this.podEvents.labels(type).inc(),
    };
  }

  /** The CRI metadata provider's view of these metrics (agent.cri). */
  cri(): CriHooks {
    return {
      onConnected: () => this.criConnected.set(1),
      onDisconnected: () => this.criConnected.set(0),
      onRequest: (method) => this.criRequests.labels(method).inc(),
      onError: (method) => this.criErrors.labels(method).inc(),
      onCacheSize: (n) => this.criContainers.set(n),
    };
  }

  /** The analyzer forwarder's view of these metrics. */
  forwarder(): ForwarderMetrics {
    return {
      forwarded: (n) => this.analyzerAlerts.labels('forwarded').inc(n),
      dropped: (reason, n) => this.analyzerAlerts.labels(`dropped_${reason}`).inc(n),
      failed: () => this.analyzerFailures.inc(),
      queueDepth: (d) => this.analyzerQueue.set(d),
    };
  }

  countEvent(type: number): void {
    const slot = type & (TYPE_SLOTS - 1);
    this.eventsByType[slot] = this.eventsByType[slot]! + 1;
  }
}
