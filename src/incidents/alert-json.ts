/**
 * Falco-schema JSON alerts as Falco, Falcosidekick and Tiercel agents POST
 * them, validated into {@link StoredAlert}s.
 *
 * Every value is attacker-controlled (a command line, a file name, a pod
 * name). Two kinds of bounds apply:
 * - the shape that rules and agents decide (field count, field names, tags,
 *   rule, source, hostname) is rejected when out of bounds, with the JSON
 *   path of the offending value;
 * - free text that the watched workload decides (the output line, field
 *   values) is truncated instead: an attacker must not be able to make the
 *   alert about their own attack rejected by making a command line long.
 */
import { PRIORITIES, parsePriority } from '../engine/priority.js';
import { parseRfc3339Nanos } from '../audit/time.js';
import { setOwn } from './field-values.js';
import { contentUuid, isUuid } from './ids.js';
import type { FieldValue, StoredAlert } from './model.js';
import { subjectOf } from './subject.js';

export const ALERT_JSON_LIMITS = {
  /** `output`, in UTF-16 code units; longer text is truncated. */
  outputChars: 64 * 1024,
  /** Entries of `output_fields`; more is rejected. */
  fields: 256,
  /** Length of a field name or correlation key; longer is rejected. */
  keyChars: 256,
  /** One string field value; longer is truncated. */
  valueChars: 16 * 1024,
  /** Elements of a list field value; more are dropped. */
  listItems: 256,
  ruleChars: 1024,
  sourceChars: 64,
  hostnameChars: 256,
  tags: 64,
  tagChars: 256,
  correlationKeys: 32,
  correlationValueChars: 4096,
} as const;

const TRUNCATED = '...[truncated]';

/** A posted alert that cannot be taken; `path` names the JSON value (`alerts[3].priority`). */
export class EvidenceInputError extends Error {
  readonly path: string;
  readonly reason: string;
  constructor(message: string, path: string) {
    super(path === '' ? message : `${path}: ${message}`);
    this.name = 'EvidenceInputError';
    this.path = path;
    this.reason = message;
  }
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/** `output_fields["proc.cmdline"]`, with the key quoted and clipped (it is attacker text). */
function member(path: string, key: string): string {
  const shown = key.length > 64 ? `${key.slice(0, 64)}...` : key;
  return `${path}[${JSON.stringify(shown)}]`;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : text.slice(0, max - TRUNCATED.length) + TRUNCATED;
}

function requiredString(obj: Record<string, unknown>, key: string, path: string, max: number): string {
  const v = obj[key];
  if (typeof v !== 'string') throw new EvidenceInputError(v === undefined ? 'is required' : `expected a string, got ${typeName(v)}`, join(path, key));
  if (v === '') throw new EvidenceInputError('must not be empty', join(path, key));
  if (v.length > max) throw new EvidenceInputError(`longer than ${max} characters`, join(path, key));
  return v;
}

function optionalString(obj: Record<string, unknown>, key: string, path: string, max: number): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new EvidenceInputError(`expected a string, got ${typeName(v)}`, join(path, key));
  if (v.length > max) throw new EvidenceInputError(`longer than ${max} characters`, join(path, key));
  return v;
}

function scalarValue(v: unknown, path: string): string | number | boolean {
  if (typeof v === 'string') return truncate(v, ALERT_JSON_LIMITS.valueChars);
  if (typeof v === 'number' || typeof v === 'boolean') return v;
  // A JSON parser that keeps big integers exact (ns times) hands over bigints.
  if (typeof v === 'bigint') return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  throw new EvidenceInputError(`expected a string, number, boolean, null or a list of them, got ${typeName(v)}`, path);
}

function fieldValue(v: unknown, path: string): FieldValue {
  if (v === null) return null;
  if (!Array.isArray(v)) return scalarValue(v, path);
  const n = Math.min(v.length, ALERT_JSON_LIMITS.listItems);
  const out: (string | number | boolean)[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = scalarValue(v[i], `${path}[${i}]`);
  return out;
}

function outputFields(v: unknown, path: string): Record<string, FieldValue> {
  const out: Record<string, FieldValue> = {};
  if (v === undefined || v === null) return out;
  if (!isRecord(v)) throw new EvidenceInputError(`expected an object, got ${typeName(v)}`, path);
  const keys = Object.keys(v);
  if (keys.length > ALERT_JSON_LIMITS.fields) throw new EvidenceInputError(`more than ${ALERT_JSON_LIMITS.fields} fields`, path);
  for (const key of keys) {
    if (key.length === 0 || key.length > ALERT_JSON_LIMITS.keyChars) {
      throw new EvidenceInputError(`field names must be 1 to ${ALERT_JSON_LIMITS.keyChars} characters`, member(path, key));
    }
    setOwn(out, key, fieldValue(v[key], member(path, key)));
  }
  return out;
}

function tags(v: unknown, path: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new EvidenceInputError(`expected a list of strings, got ${typeName(v)}`, path);
  if (v.length > ALERT_JSON_LIMITS.tags) throw new EvidenceInputError(`more than ${ALERT_JSON_LIMITS.tags} tags`, path);
  return v.map((t, i) => {
    if (typeof t !== 'string') throw new EvidenceInputError(`expected a string, got ${typeName(t)}`, `${path}[${i}]`);
    if (t.length > ALERT_JSON_LIMITS.tagChars) throw new EvidenceInputError(`longer than ${ALERT_JSON_LIMITS.tagChars} characters`, `${path}[${i}]`);
    return t;
  });
}

function correlation(v: unknown, path: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (v === undefined || v === null) return out;
  if (!isRecord(v)) throw new EvidenceInputError(`expected an object of strings, got ${typeName(v)}`, path);
  const keys = Object.keys(v);
  if (keys.length > ALERT_JSON_LIMITS.correlationKeys) {
    throw new EvidenceInputError(`more than ${ALERT_JSON_LIMITS.correlationKeys} keys`, path);
  }
  for (const key of keys) {
    if (key.length === 0 || key.length > 64) throw new EvidenceInputError('keys must be 1 to 64 characters', member(path, key));
    const value = v[key];
    if (typeof value !== 'string') throw new EvidenceInputError(`expected a string, got ${typeName(value)}`, member(path, key));
    setOwn(out, key, truncate(value, ALERT_JSON_LIMITS.correlationValueChars));
  }
  return out;
}

/** Canonical JSON of the fields (sorted keys), for the content id. */
function canonicalFields(fields: Record<string, FieldValue>): string {
  return JSON.stringify(Object.keys(fields).sort().map((k) => [k, fields[k]]));
}

/**
 * Validates one Falco-schema alert. `path` prefixes error paths when the
 * alert is part of a larger document (`alerts[3]`).
 *
 * Without Tiercel's `id`, the id is a hash of the content, so Falco's and
 * Falcosidekick's retries of one alert are recognized as such.
 */
export function parseAlertJson(value: unknown, receivedAt: number, path = ''): StoredAlert {
  if (!isRecord(value)) throw new EvidenceInputError(`expected an alert object, got ${typeName(value)}`, path);

  const timeText = requiredString(value, 'time', path, 64);
  const time = parseRfc3339Nanos(timeText);
  if (time === undefined) throw new EvidenceInputError('expected an RFC 3339 time such as 2024-05-25T13:44:05.478445995Z', join(path, 'time'));

  const rule = requiredString(value, 'rule', path, ALERT_JSON_LIMITS.ruleChars);
  const priorityText = requiredString(value, 'priority', path, 32);
  const priority = parsePriority(priorityText);
  if (priority === undefined) {
    throw new EvidenceInputError(`expected one of ${PRIORITIES[0]}..${PRIORITIES[PRIORITIES.length - 1]}`, join(path, 'priority'));
  }
  // Falco's default source; Falcosidekick's `syscalls` is the same thing misspelt.
  let source = optionalString(value, 'source', path, ALERT_JSON_LIMITS.sourceChars) ?? 'syscall';
  if (source === 'syscalls' || source === '') source = 'syscall';
  const hostname = optionalString(value, 'hostname', path, ALERT_JSON_LIMITS.hostnameChars) ?? '';
  const tagList = tags(value['tags'], join(path, 'tags'));
  const fields = outputFields(value['output_fields'], join(path, 'output_fields'));
  const keys = correlation(value['correlation'], join(path, 'correlation'));

  const outputValue = value['output'];
  if (outputValue !== undefined && outputValue !== null && typeof outputValue !== 'string') {
    throw new EvidenceInputError(`expected a string, got ${typeName(outputValue)}`, join(path, 'output'));
  }
  const message = typeof value['message'] === 'string' ? (value['message'] as string) : rule;
  const output = truncate(typeof outputValue === 'string' ? outputValue : message, ALERT_JSON_LIMITS.outputChars);

  const idValue = value['id'];
  let id: string;
  if (idValue === undefined || idValue === null) {
    id = contentUuid(timeText, rule, priority, source, hostname, output, tagList.join('\n'), canonicalFields(fields));
  } else if (typeof idValue === 'string' && isUuid(idValue)) {
    id = idValue.toLowerCase();
  } else {
    throw new EvidenceInputError('expected a UUID (8-4-4-4-12 hexadecimal digits)', join(path, 'id'));
  }

  return {
    id,
    kind: 'alert',
    time,
    rule,
    priority,
    source,
    tags: tagList,
    output,
    outputFields: fields,
    hostname,
    correlation: keys,
    ...subjectOf(source, rule, hostname, keys, fields),
    receivedAt,
  };
}
