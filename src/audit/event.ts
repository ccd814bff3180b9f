/**
 * The audit event as the engine sees it, and the decoder that turns a parsed
 * webhook body or log line into events.
 *
 * Framing follows the upstream k8saudit plugin (`source.go`): a payload is a
 * single `kind: Event`, a `kind: EventList` whose `items` are events, or a JSON
 * array of either; every audit event becomes one engine event, timed by its
 * `stageTimestamp`.
 */
import type { EngineEvent } from '../engine/event.js';
import { type EpochTime, parseRfc3339 } from './time.js';
import type { JsonObject } from './types.js';

/** The message upstream logs for a payload that is neither an Event, an EventList nor an array. */
export const NOT_RECOGNIZED = 'data not recognized as a k8s audit event';

/** Identifies one per-event cached computation; see {@link AuditEvent.memo}. */
export interface MemoKey<T> {
  readonly name: string;
  /** Index of the value in each event's cache. */
  readonly slot: number;
  /** Phantom member that ties the key to its value type. */
  readonly __type?: T;
}

let slotCount = 0;
const fieldKeys = new Map<string, MemoKey<unknown>>();
/** Distinct field references that get a per-event cache slot; more are evaluated uncached. */
const MAX_FIELD_KEYS = 4096;

/** Creates a key for {@link AuditEvent.memo}, with its own slot. Keys compare by slot. */
export function memoKey<T>(name: string): MemoKey<T> {
  return { name, slot: slotCount++ };
}

/**
 * The cache key for one field reference (field name and bracket argument),
 * shared by every bind of the same reference so that rules repeating a field
 * walk the event once. `undefined` once {@link MAX_FIELD_KEYS} are in use.
 */
export function fieldMemoKey(name: string, arg: string | undefined): MemoKey<unknown> | undefined {
  const id = arg === undefined ? name : `${name}[${arg}]`;
  let key = fieldKeys.get(id);
  if (key === undefined) {
    if (fieldKeys.size >= MAX_FIELD_KEYS) return undefined;
    key = memoKey(id);
    fieldKeys.set(id, key);
  }
  return key;
}

/** Stands for a cached `undefined`, which an unfilled slot cannot tell apart. */
const ABSENT: unique symbol = Symbol('absent');

/**
 * One Kubernetes audit event.
 *
 * `obj` is the parsed JSON exactly as received: attacker controlled, any
 * member may have any JSON type. Extractors read it, never write it.
 */
export class AuditEvent implements EngineEvent {
  readonly source = 'k8s_audit';
  // The time as parsed; the BigInt is made on first use (many events never need it).
  private epoch: EpochTime | undefined;
  private timeNs: bigint | undefined;
  readonly obj: JsonObject;
  /**
   * Whether `obj` has a top-level `auditID` key (of any type). Upstream makes
   * every `ka.*` field unavailable without one; it is computed once here.
   */
  readonly hasAuditID: boolean;
  private slots: unknown[] | undefined = undefined;
  private rawtimeText: string | undefined = undefined;
  private indented: string | null | undefined = undefined;

  /** Throws `TypeError` if `obj` is not a plain JSON object; use {@link decodeAuditPayload} for untrusted input. */
  constructor(obj: JsonObject, time: bigint | EpochTime) {
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
      throw new TypeError('an audit event must be a JSON object');
    }
    this.obj = obj;
    if (typeof time === 'bigint') this.timeNs = time;
    else this.epoch = time;
    this.hasAuditID = obj['auditID'] !== undefined;
  }

  /**
   * Returns the value cached under `key` for this event, computing it on first
   * use. Field extractors go through it (see `fieldMemoKey`), since the same
   * field is typically tested by many rules on one event; derived values such
   * as parsed query strings use it too.
   */
  memo<T>(key: MemoKey<T>, compute: (evt: AuditEvent) => T): T {
    let slots = this.slots;
    if (slots === undefined) {
      slots = new Array<unknown>(slotCount);
      this.slots = slots;
    }
    const cached = slots[key.slot];
    if (cached !== undefined) return (cached === ABSENT ? undefined : cached) as T;
    const value = compute(this);
    slots[key.slot] = value === undefined ? ABSENT : value;
    return value;
  }

  /** `stageTimestamp` (or `requestReceivedTimestamp`) in ns since the epoch. */
  get time(): bigint {
    if (this.timeNs === undefined) {
      const e = this.epoch!;
      this.timeNs = BigInt(e.seconds) * 1_000_000_000n + BigInt(e.nanos);
    }
    return this.timeNs;
  }

  /** The event time as decimal nanoseconds, as `json.rawtime` reports it. */
  get rawtime(): string {
    return (this.rawtimeText ??= this.time.toString());
  }

  /**
   * The event as JSON re-indented with two spaces (what `json.obj` reports),
   * or `undefined` if it cannot be serialized (e.g. nesting too deep for the
   * serializer's stack).
   */
  get indentedJson(): string | undefined {
    if (this.indented === undefined) {
      try {
        this.indented = JSON.stringify(this.obj, null, 2);
      } catch {
        this.indented = null;
      }
    }
    return this.indented ?? undefined;
  }
}

/** One part of a payload that could not be decoded. */
export interface DecodeProblem {
  /** Where in the payload: `''` for the whole of it, else e.g. `items[3]` or `[1].items[0]`. */
  readonly where: string;
  readonly message: string;
}

/** What {@link decodeAuditPayload} found. */
export interface DecodeResult {
  /** The events decoded, in payload order. */
  readonly events: AuditEvent[];
  /** One line saying what was rejected; absent when nothing was. */
  readonly error?: string;
  /** Every rejected part in payload order (at most {@link MAX_DECODE_PROBLEMS}); absent when none. */
  readonly problems?: readonly DecodeProblem[];
}

/** How many problems a {@link DecodeResult} lists; further ones are only counted in `error`. */
export const MAX_DECODE_PROBLEMS = 100;

/**
 * Arrays of arrays of events are legal upstream at any depth; this bound keeps
 * a hostile `[[[[...]]]]` from exhausting the stack.
 */
const MAX_ARRAY_NESTING = 32;

/**
 * Decodes a parsed webhook body or log line: a single Event, an EventList, or
 * a JSON array of either (nested arrays too). Never throws.
 *
 * Rejected parts do not stop the others: a bad item in an EventList is listed
 * in `problems` and its siblings are still decoded. Anything that is not an
 * event at all gives {@link NOT_RECOGNIZED}.
 */
export function decodeAuditPayload(value: unknown): DecodeResult {
  const events: AuditEvent[] = [];
  const state: DecodeState = { problems: [], rejected: 0 };
  decodeInto(value, '', 0, events, state);
  if (state.rejected === 0) return { events };
  const first = state.problems[0]!;
  const firstText = first.where === '' ? first.message : `${first.where}: ${first.message}`;
  const error =
    state.rejected === 1 ? firstText : `${state.rejected} parts rejected; first: ${firstText}`;
  return { events, error, problems: state.problems };
}

/**
 * Decodes one audit event object, as found in an EventList's `items` (its
 * `kind` is not checked, like upstream). Returns the event, or a message
 * saying why it was rejected. Never throws.
 */
export function decodeAuditEvent(value: unknown): AuditEvent | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return 'an audit event must be a JSON object';
  }
  const obj = value as JsonObject;
  const stage = obj['stageTimestamp'];
  let time = parseRfc3339(stage);
  if (time === undefined) {
    // Deviation: upstream drops an event without a valid stageTimestamp; the
    // request time is a close, always-present stand-in (it differs only by the
    // request's processing time).
    const received = obj['requestReceivedTimestamp'];
    time = parseRfc3339(received);
    if (time === undefined) {
      const id = obj['auditID'];
      const who = typeof id === 'string' ? `event ${clip(id)}: ` : '';
      return (
        `${who}cannot read the event time: stageTimestamp ${describeTime(stage)} and ` +
        `requestReceivedTimestamp ${describeTime(received)} (RFC 3339 expected)`
      );
    }
  }
  return new AuditEvent(obj, time);
}

interface DecodeState {
  problems: DecodeProblem[];
  rejected: number;
}

function reject(state: DecodeState, where: string, message: string): void {
  state.rejected++;
  if (state.problems.length < MAX_DECODE_PROBLEMS) state.problems.push({ where, message });
}

function decodeInto(
  value: unknown,
  where: string,
  depth: number,
  events: AuditEvent[],
  state: DecodeState,
): void {
  if (Array.isArray(value)) {
    // Deviation: upstream stops at the first unrecognized element of an array;
    // we report it and go on with its siblings.
    if (depth >= MAX_ARRAY_NESTING) {
      reject(state, where, `arrays nested more than ${MAX_ARRAY_NESTING} deep`);
      return;
    }
    for (let i = 0; i < value.length; i++) {
      decodeInto(value[i], `${where}[${i}]`, depth + 1, events, state);
    }
    return;
  }
  if (typeof value === 'object' && value !== null) {
    const kind = (value as JsonObject)['kind'];
    if (kind === 'EventList') {
      const items = (value as JsonObject)['items'];
      if (Array.isArray(items)) {
        const prefix = where === '' ? 'items' : `${where}.items`;
        for (let i = 0; i < items.length; i++) {
          const r = decodeAuditEvent(items[i]);
          if (typeof r === 'string') reject(state, `${prefix}[${i}]`, r);
          else events.push(r);
        }
        return;
      }
    } else if (kind === 'Event') {
      const r = decodeAuditEvent(value);
      if (typeof r === 'string') reject(state, where, r);
      else events.push(r);
      return;
    }
  }
  reject(state, where, NOT_RECOGNIZED);
}

function clip(text: string): string {
  return text.length > 64 ? `${text.slice(0, 64)}...` : text;
}

function describeTime(v: unknown): string {
  if (v === undefined) return 'is missing';
  if (typeof v !== 'string') return `is not a string`;
  return `"${clip(v)}" is invalid`;
}
