/**
 * Output field values as the store keeps them: JSON values only. The engine
 * gives times in ns as bigints; a bigint that a JSON number holds exactly
 * becomes a number, a larger one (every `evt.time`) becomes its decimal
 * text, so that no digit is ever lost.
 */
import type { OutputValue } from '../engine/output/format.js';
import type { FieldValue } from './model.js';

function scalar(v: string | number | bigint | boolean): string | number | boolean {
  if (typeof v !== 'bigint') return v;
  return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v.toString();
}

export function jsonSafeValue(v: OutputValue): FieldValue {
  if (v === null) return null;
  if (Array.isArray(v)) return v.map(scalar);
  return scalar(v);
}

/**
 * Sets an own enumerable property, also for the key `__proto__` (which plain
 * assignment would turn into a prototype change: field names come from rules
 * files and, through the API, from anyone holding a token).
 */
export function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

export function jsonSafeFields(fields: Readonly<Record<string, OutputValue>>): Record<string, FieldValue> {
  const out: Record<string, FieldValue> = {};
  for (const key of Object.keys(fields)) setOwn(out, key, jsonSafeValue(fields[key]!));
  return out;
}

/** A field as a usable string: absent, null, empty and Falco's `<NA>` are all "unknown". */
export function fieldText(v: FieldValue | undefined): string | undefined {
  if (v === undefined || v === null || Array.isArray(v)) return undefined;
  const s = typeof v === 'string' ? v : String(v);
  return s === '' || s === '<NA>' || s === 'N/A' ? undefined : s;
}
