/**
 * Alerts, and their rendering in Falco's text and JSON forms.
 *
 * The JSON form is Falco's schema (`time`, `rule`, `priority`, `source`,
 * `tags`, `output`, `output_fields`, `hostname`) so Falcosidekick and
 * everything behind it consume Tiercel's alerts unchanged.
 */
import { formatIso8601, formatTimeOfDay } from './generic-fields.js';
import type { OutputValue } from './output/format.js';
import type { Priority } from './priority.js';

export interface Alert {
  /** Event time, ns since the epoch. */
  readonly time: bigint;
  readonly rule: string;
  readonly priority: Priority;
  readonly source: string;
  readonly tags: readonly string[];
  /** The rule's output template rendered for the event (no time/priority prefix). */
  readonly message: string;
  /** Every field the output uses, plus exception fields; `evt.time` as ns. */
  readonly outputFields: Readonly<Record<string, OutputValue>>;
  readonly hostname: string;
  /** Correlation keys from the event's source (see SourceDefinition.correlate); Tiercel's own addition. */
  readonly correlation?: Readonly<Record<string, string>>;
}

export interface AlertFormatOptions {
  /** Falco `time_format_iso_8601`: ISO time instead of local HH:MM:SS in the text line. */
  readonly timeFormatIso8601?: boolean;
  /** Falco `json_include_output_property` (default true). */
  readonly includeOutput?: boolean;
  /** Falco `json_include_tags_property` (default true). */
  readonly includeTags?: boolean;
  /** Falco `json_include_message_property` (default false): the output without time and priority. */
  readonly includeMessage?: boolean;
}

/** Falco's text line: `<time>: <Priority> <message>`. */
export function alertText(alert: Alert, options: AlertFormatOptions = {}): string {
  const time = options.timeFormatIso8601 ? formatIso8601(alert.time) : formatTimeOfDay(alert.time);
  return `${time}: ${alert.priority} ${alert.message}`;
}

/**
 * Serializes to Falco's JSON (one line). BigInt values (times in ns) are
 * written as exact integers, which JSON.stringify cannot do by itself.
 */
export function alertJson(alert: Alert, options: AlertFormatOptions = {}): string {
  const obj: Record<string, unknown> = {
    time: formatIso8601(alert.time),
    rule: alert.rule,
    priority: alert.priority,
    source: alert.source,
  };
  if (options.includeTags !== false) obj.tags = alert.tags;
  if (options.includeOutput !== false) obj.output = alertText(alert, options);
  if (options.includeMessage) obj.message = alert.message;
  obj.output_fields = alert.outputFields;
  obj.hostname = alert.hostname;
  // Falco's schema has no such key; consumers that do not know it (Falcosidekick) ignore it.
  if (alert.correlation) obj.correlation = alert.correlation;
  return stringifyWithBigInt(obj);
}

/**
 * JSON.stringify with BigInt support: bigints become exact integer literals.
 * Written out by hand rather than with a replacer and placeholder, so that no
 * event text can ever be mistaken for a number.
 */
export function stringifyWithBigInt(value: unknown): string {
  if (typeof value === 'bigint') return value.toString();
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) return '[' + value.map(stringifyWithBigInt).join(',') + ']';
  if (typeof value === 'object') {
    const parts: string[] = [];
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (v === undefined) continue;
      parts.push(JSON.stringify(k) + ':' + stringifyWithBigInt(v));
    }
    return '{' + parts.join(',') + '}';
  }
  return 'null';
}
