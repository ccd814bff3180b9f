/**
 * The contract between detection and delivery.
 *
 * Detection hands every alert to `Outputs.publish`, which never blocks and
 * never throws: each configured output (stdout, file, syslog, http, program)
 * has its own bounded queue and worker, so a slow or dead output only fills
 * (and drops from) its own queue. Option names follow Falco's falco.yaml.
 */
import type { Alert } from '../engine/alert.js';
import type { Priority } from '../engine/priority.js';

/** Counters the outputs report into; the server implements them with prom-client. */
export interface OutputMetrics {
  /** One alert delivered by an output. */
  delivered(output: string): void;
  /** One alert dropped before delivery (queue full, output disabled after errors, shutdown). */
  dropped(output: string, reason: string): void;
  /** One delivery attempt failed (it may be retried). */
  failed(output: string): void;
  /** Current queue depth of an output. */
  queueDepth(output: string, depth: number): void;
}

/** Options shared by all outputs (Falco's top-level keys). */
export interface CommonOutputOptions {
  /** `json_output`: alerts as Falco JSON instead of text lines (default false). */
  readonly jsonOutput: boolean;
  /** `json_include_output_property` (default true). */
  readonly jsonIncludeOutputProperty: boolean;
  /** `json_include_tags_property` (default true). */
  readonly jsonIncludeTagsProperty: boolean;
  /** `json_include_message_property` (default false). */
  readonly jsonIncludeMessageProperty: boolean;
  /** `time_format_iso_8601` (default false). */
  readonly timeFormatIso8601: boolean;
  /** `buffered_outputs` (default false): let file/stdout buffer instead of writing per alert. */
  readonly bufferedOutputs: boolean;
  /** `output_timeout` in ms (default 2000): a delivery taking longer counts as failed. */
  readonly outputTimeoutMs: number;
  /** `outputs_queue.capacity` (default 0 = Tiercel's default bound): alerts queued per output. */
  readonly queueCapacity: number;
}

/** The running set of outputs. */
export interface Outputs {
  /** Queues an alert for every output whose minimum priority it meets. Never blocks, never throws. */
  publish(alert: Alert): void;
  /** Resolves once everything queued so far has been delivered or dropped. */
  flush(): Promise<void>;
  /** Flushes (bounded by the output timeout), then releases files, sockets and child processes. */
  close(): Promise<void>;
  /** Names of the enabled outputs. */
  readonly names: readonly string[];
}

export type { Alert, Priority };
