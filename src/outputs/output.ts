/**
 * The one interface every output implements (`Sink`), and the alert as the
 * outputs see it (`RenderedAlert`: rendered lazily, once per form, shared by
 * all outputs).
 *
 * A sink delivers one alert per call and knows nothing of queues, timeouts
 * or retries: `queue.ts` owns those, so every output gets the same
 * never-block behaviour.
 */
import { type Alert, type AlertFormatOptions, alertJson, alertText } from '../engine/alert.js';
import type { CommonOutputOptions } from './types.js';

/** The five Falco outputs, by the name used in metrics and logs. */
export const OUTPUT_NAMES = ['stdout', 'file', 'syslog', 'http', 'program'] as const;
export type OutputName = (typeof OUTPUT_NAMES)[number];

/** One output channel. */
export interface Sink {
  readonly name: OutputName;
  /**
   * Delivers one alert, once (the queue retries if asked to). Rejects on
   * failure, preferably with a `DeliveryError`. When `signal` aborts (output
   * timeout, shutdown) the sink must stop waiting and release what it holds
   * for this delivery; the queue moves on either way.
   */
  deliver(alert: RenderedAlert, signal: AbortSignal): Promise<void>;
  /** Writes out anything buffered (`buffered_outputs`). */
  flush?(): Promise<void>;
  /** Releases files, sockets and child processes. Never rejects. */
  close(): Promise<void>;
}

/** A failed delivery; `retryable` says whether trying again could help. */
export class DeliveryError extends Error {
  readonly retryable: boolean;
  constructor(message: string, retryable: boolean, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DeliveryError';
    this.retryable = retryable;
  }
}

/** A setting that makes an output unusable at start-up; `key` is its config key path. */
export class OutputSetupError extends Error {
  readonly key: string;
  constructor(key: string, message: string, options?: ErrorOptions) {
    super(`${key}: ${message}`, options);
    this.name = 'OutputSetupError';
    this.key = key;
  }
}

/** How alerts are rendered: Falco's `json_output` and `json_include_*` options. */
export interface AlertFormat {
  readonly json: boolean;
  readonly options: AlertFormatOptions;
}

export function alertFormat(common: CommonOutputOptions): AlertFormat {
  return {
    json: common.jsonOutput,
    options: {
      timeFormatIso8601: common.timeFormatIso8601,
      includeOutput: common.jsonIncludeOutputProperty,
      includeTags: common.jsonIncludeTagsProperty,
      includeMessage: common.jsonIncludeMessageProperty,
    },
  };
}

/** An alert with its renderings, computed on first use and shared by every output. */
export class RenderedAlert {
  readonly alert: Alert;
  readonly #format: AlertFormat;
  #text: string | undefined;
  #json: string | undefined;

  constructor(alert: Alert, format: AlertFormat) {
    this.alert = alert;
    this.#format = format;
  }

  /** Falco's text line, `<time>: <Priority> <message>`, unescaped. */
  get text(): string {
    return (this.#text ??= alertText(this.alert, this.#format.options));
  }

  /** Falco's JSON, one line (no raw control characters: JSON escapes them). */
  get json(): string {
    return (this.#json ??= alertJson(this.alert, this.#format.options));
  }

  /**
   * What the line-oriented outputs (stdout, file, syslog, program) write:
   * the JSON when `json_output` is set, else the text line with control
   * characters escaped, so that one alert is always exactly one line.
   */
  get line(): string {
    return this.#format.json ? this.json : escapeControl(this.text);
  }
}

const NAMED_ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
// C0 controls, DEL and C1 controls: none of them may reach a line-framed
// output raw (a newline would forge a second alert, ESC/CSI drive terminals).
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * Escapes control characters as `\n`, `\r`, `\t` or `\xHH`. Idempotent: the
 * result has no control characters left.
 */
export function escapeControl(text: string): string {
  return text.replace(CONTROL, (c) => NAMED_ESCAPES[c] ?? '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0'));
}
