/**
 * Allocation-light walks over untrusted parsed JSON, with the semantics of the
 * upstream plugins' fastjson helpers (`Value.Get`, `getValuesRecursive`,
 * `jsonValueAsString`). Nothing here throws on any JSON input.
 */
import { FieldError } from '../engine/fields.js';

type Rec = { readonly [key: string]: unknown };

/**
 * Upstream `jsonValueAsString`: a JSON string as its raw contents, any other
 * value as compact JSON text (`true`, `201`, `null`, `{"a":1}`). `undefined`
 * (absent) stays `undefined`, and so does a value the serializer cannot handle
 * (nesting deeper than its stack).
 */
export function renderJson(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v === undefined) return undefined;
  if (typeof v === 'boolean' || v === null) return v === null ? 'null' : v ? 'true' : 'false';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
  try {
    return JSON.stringify(v);
  } catch {
    return undefined;
  }
}

/**
 * Checks, once at module load, that a key used in a fixed field path can be
 * read with a plain property access on any JSON value: it must not name an
 * inherited property of objects, arrays, strings, numbers or booleans, and not
 * be an array index. Then `(v as any)?.[key]` is `undefined` on every
 * primitive and array, exactly like fastjson's `Get` on a non-object.
 */
export function fixedKey(key: string): string {
  if (
    key in Object.prototype ||
    key in Array.prototype ||
    key in String.prototype ||
    key in Number.prototype ||
    key in Boolean.prototype ||
    /^[+-]?\d+$/.test(key)
  ) {
    throw new Error(`internal: '${key}' cannot be used as a fixed JSON path key`);
  }
  return key;
}

/** Validates every key of a fixed path (see {@link fixedKey}). */
export function fixedPath(...keys: string[]): readonly string[] {
  for (const k of keys) if (k !== '') fixedKey(k);
  return keys;
}

/** Reads a fixed (pre-validated) key from any JSON value. */
export function getFixed(v: unknown, key: string): unknown {
  return v !== null && typeof v === 'object' ? (v as Rec)[key] : undefined;
}

/** A pre-parsed key for a path step whose key comes from a user (a JSON pointer token). */
export interface KeyStep {
  readonly key: string;
  /** The array index the key denotes, as Go's `strconv.Atoi` reads it, or -1. */
  readonly index: number;
  /** True when the key names an inherited property and needs an own-property check. */
  readonly guarded: boolean;
}

/** Prepares a user-supplied key once, at bind time. */
export function keyStep(key: string): KeyStep {
  return { key, index: atoiIndex(key), guarded: key in Object.prototype };
}

/**
 * fastjson `Value.Get(key)` for one step: object member (own properties only),
 * array element when the key is a decimal index, otherwise not found.
 */
export function stepKey(v: unknown, s: KeyStep): unknown {
  if (v === null || typeof v !== 'object') return undefined;
  if (Array.isArray(v)) return s.index >= 0 && s.index < v.length ? v[s.index] : undefined;
  if (s.guarded && !Object.hasOwn(v, s.key)) return undefined;
  return (v as Rec)[s.key];
}

/**
 * Go `strconv.Atoi` as fastjson uses it for array steps: optional sign,
 * decimal digits (leading zeros allowed), negative values rejected (but `-0`
 * is 0). Returns -1 when the key is not an index.
 */
function atoiIndex(key: string): number {
  const m = /^([+-]?)(\d{1,18})$/.exec(key);
  if (m === null) return -1;
  const n = Number(m[2]);
  if (m[1] === '-' && n !== 0) return -1;
  return Number.isSafeInteger(n) ? n : -1;
}

/** Fan-out over nested arrays stops here; deeper values count as missing. */
const MAX_FANOUT_NESTING = 64;

/**
 * Upstream `getValuesRecursive(v, index, keys...)`, starting at `keys[from]`.
 *
 * Before each key, an array in the way is either fanned out over (no index:
 * every element walks the rest of the path, and an element where the rest is
 * missing contributes one `undefined` "nil") or replaced by its element
 * `index` (out of range: not available). A key of `''` is fastjson's `Get()`:
 * the value itself. Found values (and nils) are pushed to `out`.
 *
 * Returns false when the path is not available at all (upstream's
 * `ErrExtractNotAvailable`), in which case nothing was pushed by this call.
 */
export function collectValues(
  v: unknown,
  keys: readonly string[],
  from: number,
  index: number,
  out: unknown[],
  nesting = 0,
): boolean {
  for (let i = from; i < keys.length; i++) {
    if (Array.isArray(v)) {
      if (index < 0) {
        if (nesting >= MAX_FANOUT_NESTING) return false;
        for (let j = 0; j < v.length; j++) {
          if (!collectValues(v[j], keys, i, index, out, nesting + 1)) out.push(undefined);
        }
        return true;
      }
      if (index >= v.length) return false;
      v = v[index];
    }
    const k = keys[i]!;
    if (k !== '') {
      v = v !== null && typeof v === 'object' ? (v as Rec)[k] : undefined;
      if (v === undefined) return false;
    }
  }
  out.push(v);
  return true;
}

/**
 * Upstream `arrayAsStringsSkipNil`: renders every value, dropping nils, in
 * place. Returns `undefined` for an empty result (an empty list is "not
 * available" to the engine).
 */
export function renderSkipNil(values: unknown[]): readonly string[] | undefined {
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const s = renderJson(values[i]);
    if (s !== undefined) values[n++] = s;
  }
  if (n === 0) return undefined;
  values.length = n;
  return values as string[];
}

/** Upstream `arrayAsStrings`: like {@link renderSkipNil} but any nil makes the whole list unavailable. */
export function renderAllOrNothing(values: unknown[]): readonly string[] | undefined {
  if (values.length === 0) return undefined;
  for (let i = 0; i < values.length; i++) {
    const s = renderJson(values[i]);
    if (s === undefined) return undefined;
    values[i] = s;
  }
  return values as string[];
}

/** Upstream `arrayAsStringsWithDefault`: nils become `fallback`. */
export function renderWithDefault(values: unknown[], fallback: string): readonly string[] | undefined {
  if (values.length === 0) return undefined;
  for (let i = 0; i < values.length; i++) {
    values[i] = renderJson(values[i]) ?? fallback;
  }
  return values as string[];
}

/**
 * A JSON array of strings as a string list without copying when every element
 * already is a string (the common case), else rendered element by element.
 * `undefined` when `v` is not an array or is empty.
 */
export function arrayAsStrings(v: unknown): readonly string[] | undefined {
  if (!Array.isArray(v) || v.length === 0) return undefined;
  let i = 0;
  while (i < v.length && typeof v[i] === 'string') i++;
  if (i === v.length) return v as string[];
  const out = new Array<string>(v.length);
  for (let j = 0; j < v.length; j++) {
    const s = renderJson(v[j]);
    // Only a value too deep to serialize fails; upstream would render it.
    if (s === undefined) return undefined;
    out[j] = s;
  }
  return out;
}

/**
 * Parses the optional index argument of a list field (`[0]`): all digits, no
 * leading zero, as libsinsp requires. `undefined` gives -1 ("every element").
 */
export function parseIndexArg(field: string, arg: string | undefined): number {
  if (arg === undefined) return -1;
  if (!/^(0|[1-9][0-9]*)$/.test(arg)) {
    throw new FieldError(
      `${field}[${arg}]: the argument must be a non-negative integer index without leading zeros`,
    );
  }
  const n = Number(arg);
  if (!Number.isSafeInteger(n)) throw new FieldError(`${field}[${arg}]: index out of range`);
  return n;
}

/** Requires the key argument of a field (`ka.uri.param[command]`). */
export function requireKeyArg(field: string, arg: string | undefined): string {
  if (arg === undefined || arg === '') {
    throw new FieldError(`${field} requires an argument, e.g. ${field}[name]`);
  }
  return arg;
}

/** Rejects an argument on a field that takes none. */
export function noArg(field: string, arg: string | undefined): void {
  if (arg !== undefined) throw new FieldError(`${field} does not take an argument (got [${arg}])`);
}
