/**
 * The small toolkit every `ka.*` table is written with: a field constructor
 * and the extractor shapes that recur (a scalar at a fixed path, a string list
 * at a fixed path, a fan-out over an array).
 */
import type { ArgKind, Extractor, FieldDef, FieldValue } from '../engine/fields.js';
import { type AuditEvent, type MemoKey, fieldMemoKey } from './event.js';
import {
  arrayAsStrings,
  collectValues,
  fixedPath,
  getFixed,
  noArg,
  parseIndexArg,
  renderJson,
  renderSkipNil,
} from './json-walk.js';
import type { JsonObject } from './types.js';

/** A field of the `k8s_audit` source. */
export type AuditField = FieldDef<AuditEvent>;
/** An extractor over audit events. */
export type AuditExtractor = Extractor<AuditEvent>;

interface FieldSpec {
  readonly name: string;
  readonly desc: string;
  readonly list?: boolean;
  readonly arg?: ArgKind;
  readonly deprecated?: boolean;
  /**
   * Whether values are cached per event. Default: list fields only. A scalar
   * at a fixed path costs less to walk again than to cache (measured: caching
   * every field made evaluation of small Metadata-level events 30% slower);
   * scalar fields with real work (parsing, serializing, scanning) opt in.
   */
  readonly cache?: boolean;
  /** Receives the argument already checked against `arg` when `arg` is `none`. */
  readonly bind: (arg: string | undefined) => AuditExtractor;
}

/** Builds a string-typed field definition. */
export function field(spec: FieldSpec): AuditField {
  const arg = spec.arg ?? 'none';
  const def: AuditField = {
    name: spec.name,
    type: 'string',
    isList: spec.list === true,
    arg,
    desc: spec.desc,
    bind(a: string | undefined): AuditExtractor {
      if (arg === 'none') noArg(spec.name, a);
      const extract = spec.bind(a);
      const key = (spec.cache ?? spec.list === true) ? fieldMemoKey(spec.name, a) : undefined;
      if (key === undefined) return extract;
      const typed = key as MemoKey<FieldValue>;
      return (e) => e.memo(typed, extract);
    },
  };
  return spec.deprecated === true ? { ...def, deprecated: true } : def;
}

/**
 * Upstream `extractFromKeys` for a scalar field: fastjson `Get(keys...)`, then
 * `jsonValueAsString`. Behind the `auditID` gate like every `ka.*` field.
 */
export function scalarAt(...keys: string[]): () => AuditExtractor {
  const p = fixedPath(...keys);
  const a = p[0]!;
  const b = p[1]!;
  const c = p[2]!;
  const d = p[3]!;
  switch (p.length) {
    case 1:
      return () => (e) => (e.hasAuditID ? renderJson(e.obj[a]) : undefined);
    case 2:
      return () => (e) => (e.hasAuditID ? renderJson(getFixed(e.obj[a], b)) : undefined);
    case 3:
      return () => (e) =>
        e.hasAuditID ? renderJson(getFixed(getFixed(e.obj[a], b), c)) : undefined;
    case 4:
      return () => (e) =>
        e.hasAuditID ? renderJson(getFixed(getFixed(getFixed(e.obj[a], b), c), d)) : undefined;
    default:
      throw new Error('internal: scalarAt supports paths of 1 to 4 keys');
  }
}

/** fastjson `Get(keys...)` over a fixed, pre-validated path. */
export function getPath(obj: JsonObject, keys: readonly string[]): unknown {
  let v: unknown = obj;
  for (let i = 0; i < keys.length && v !== undefined; i++) v = getFixed(v, keys[i]!);
  return v;
}

/**
 * Upstream `extractFromKeys` for a list field: the value at the path must be
 * an array (otherwise upstream fails with a wrong-type error, i.e. no value);
 * each element is rendered.
 */
export function listAt(...keys: string[]): () => AuditExtractor {
  const p = fixedPath(...keys);
  return () => (e) => (e.hasAuditID ? arrayAsStrings(getPath(e.obj, p)) : undefined);
}

/**
 * Upstream `getValuesRecursive` + `arrayAsStringsSkipNil` with the optional
 * index argument: the common shape of the per-container and per-volume lists.
 */
export function fanOutSkipNil(name: string, ...keys: string[]): (arg: string | undefined) => AuditExtractor {
  const p = fixedPath(...keys);
  return (arg) => {
    const index = parseIndexArg(name, arg);
    return (e) => {
      if (!e.hasAuditID) return undefined;
      const out: unknown[] = [];
      if (!collectValues(e.obj, p, 0, index, out)) return undefined;
      return renderSkipNil(out);
    };
  };
}

/**
 * Upstream `extractRulesField`: fan out over `requestObject.rules[*].<key>`
 * and flatten every value that is an array (others are skipped).
 */
export function flattenArraysAt(
  name: string,
  ...keys: string[]
): (arg: string | undefined) => AuditExtractor {
  const p = fixedPath(...keys);
  return (arg) => {
    const index = parseIndexArg(name, arg);
    return (e) => {
      if (!e.hasAuditID) return undefined;
      const found: unknown[] = [];
      if (!collectValues(e.obj, p, 0, index, found)) return undefined;
      let out: string[] | undefined;
      for (let i = 0; i < found.length; i++) {
        const v = found[i];
        if (!Array.isArray(v)) continue;
        for (let j = 0; j < v.length; j++) {
          const s = renderJson(v[j]);
          if (s !== undefined) (out ??= []).push(s);
        }
      }
      return out;
    };
  };
}
