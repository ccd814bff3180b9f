/**
 * The field registry: the only way the engine knows what a field is.
 *
 * Each event source registers a table of field definitions (name, type,
 * list-ness, argument kind, description) together with a `bind` function that
 * turns a field reference such as `ka.uri.param[command]` into an extractor
 * closure once, at rule-compile time. Evaluating a rule then never parses a
 * field name or an argument again.
 */
import type { EngineEvent } from './event.js';
import { GENERIC_FIELDS } from './generic-fields.js';

/**
 * Field value types, after libsinsp's `ppm_param_type` families. The type
 * decides which operators a field accepts and how literals on the right-hand
 * side are parsed (once, at compile time).
 */
export type FieldType =
  /** PT_CHARBUF: text. Every `ka.*` and `jevt.*` field is a string. */
  | 'string'
  /** PT_FSPATH: text that is a filesystem path (string semantics). */
  | 'path'
  /** Signed integers (int8..int64, fd, pid, errno). Runtime value: number. */
  | 'int'
  /** Unsigned integers, flags and modes. Runtime value: number. */
  | 'uint'
  /** Runtime value: boolean; literals `true`/`false` (also 1/0). */
  | 'bool'
  /** IPv4 or IPv6 address. Runtime value: canonical text. */
  | 'ipaddr'
  /** A network in CIDR form. Runtime value: canonical text. */
  | 'ipnet'
  /** TCP/UDP port. Runtime value: number. */
  | 'port'
  /** Absolute time, nanoseconds since the epoch. Runtime value: bigint. */
  | 'abstime'
  /** Relative time in nanoseconds. Runtime value: bigint. */
  | 'reltime'
  /** Raw bytes. Runtime value: Uint8Array. */
  | 'bytes';

/** A single extracted value. Its JS type follows the field's {@link FieldType}. */
export type Scalar = string | number | bigint | boolean | Uint8Array;

/**
 * What an extractor returns: `undefined` when the field is not available for
 * this event (never an exception), a scalar for plain fields, and an array for
 * list fields. An empty array counts as "not available", as in libsinsp.
 */
export type FieldValue = Scalar | readonly Scalar[] | undefined;

/** Extracts one field from one event. Must not throw. */
export type Extractor<E extends EngineEvent = EngineEvent> = (evt: E) => FieldValue;

/**
 * How a field takes an argument in brackets:
 * - `none`: no argument allowed;
 * - `index`: optional non-negative index (`ka.req.pod.containers.image[0]`);
 * - `index-required`: index is mandatory (`evt.arg[1]`-style);
 * - `key`: a mandatory free-form key (`ka.uri.param[command]`, `jevt.value[/a/b]`);
 * - `key-optional`: a key that may be omitted (`proc.env` / `proc.env[HOME]`).
 */
export type ArgKind = 'none' | 'index' | 'index-required' | 'key' | 'key-optional';

/** Thrown by {@link FieldDef.bind} and {@link FieldDef.parseLiteral} when the input is invalid. */
export class FieldError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FieldError';
  }
}

/** One field, as a source registers it. */
export interface FieldDef<E extends EngineEvent = EngineEvent> {
  /** Full name, e.g. `ka.user.name`. */
  readonly name: string;
  readonly type: FieldType;
  /** True when the field yields several values (only `in`, `intersects`, `exists` apply). */
  readonly isList: boolean;
  readonly arg: ArgKind;
  /** One-line description, shown by `tiercel fields`. */
  readonly desc: string;
  /** Hidden from listings but still usable (deprecated aliases). */
  readonly deprecated?: boolean;
  /**
   * Returns the extractor for one use of the field. Called once per field
   * reference at compile time, with the bracket argument if one was written
   * (already validated against {@link arg}). Throws {@link FieldError} for an
   * argument it cannot accept.
   */
  bind(arg: string | undefined): Extractor<E>;
  /**
   * For fields that stand for several values compared one by one: Falco's
   * `fd.ip`, `fd.port`, `fd.net` (either endpoint) and `proc.aname` without
   * an index (any ancestor). The extractor then returns the candidates as an
   * array (a plain value when there is just one); a comparison is true when
   * some candidate satisfies it, except that with `notEqualNeedsAll` a `!=`
   * needs every candidate to differ (`fd.ip != x`: neither endpoint is x).
   * Unlike list fields, every operator applies.
   */
  readonly anyOf?: { readonly notEqualNeedsAll: boolean };
  /**
   * Optional: parses and validates a right-hand-side literal compared with
   * this field (e.g. syscall `evt.type` checks event names). Throws
   * {@link FieldError} with a user-facing message when the literal is invalid.
   */
  parseLiteral?(text: string): Scalar;
}

/** An event source: a name and its fields. */
export interface SourceDefinition<E extends EngineEvent = EngineEvent> {
  readonly name: string;
  /** One-line description, shown by `tiercel fields`. */
  readonly desc: string;
  readonly fields: readonly FieldDef<E>[];
  /**
   * Plugins this source stands in for, for `required_plugin_versions`
   * (e.g. k8s_audit provides `k8saudit` and `json`). Versions are semver text.
   */
  readonly provides?: readonly { readonly name: string; readonly version: string }[];
  /**
   * Rule indexing. Rules are indexed by the values of `field` their condition
   * can match (Falco indexes syscall rules by `evt.type`; Tiercel does the
   * same for any source), so an event is only checked against rules that can
   * match it; evaluation order stays the load order. `read` returns the
   * field's value for an event. `universe`, when the field's values are a
   * known finite set (event types), lets the engine tell which values the
   * enabled rules need (what a sensor must capture) and warn about rules that
   * match too many.
   */
  readonly index?: {
    readonly field: string;
    readonly universe?: readonly string[];
    read(evt: E): string | undefined;
  };
  /**
   * Keys that tie an event to others of the same story (audit ID, container,
   * pod, exec session...), attached to every alert the event raises so the
   * incident correlator and downstream tools can join them. Must be cheap:
   * it runs only for events that alert.
   */
  correlate?(evt: E): Readonly<Record<string, string>> | undefined;
  /**
   * Optional resolver for field names that are not in the table, for
   * families with open-ended names (e.g. `evt.arg.NAME`).
   */
  resolveDynamic?(name: string): FieldDef<E> | undefined;
}

/** The set of sources and fields the engine can compile against. */
export class FieldRegistry {
  private readonly sources = new Map<string, SourceDefinition<EngineEvent>>();
  private readonly byName = new Map<string, Map<string, FieldDef<EngineEvent>>>();
  private readonly lists = new Map<string, FieldDef<EngineEvent>[]>();

  /** Adds a source. Registering a name twice is a programming error. */
  register<E extends EngineEvent>(source: SourceDefinition<E>): this {
    if (this.sources.has(source.name)) {
      throw new Error(`source '${source.name}' is already registered`);
    }
    const table = new Map<string, FieldDef<EngineEvent>>();
    for (const field of source.fields) {
      if (table.has(field.name)) {
        throw new Error(`source '${source.name}' defines field '${field.name}' twice`);
      }
      table.set(field.name, field as unknown as FieldDef<EngineEvent>);
    }
    const all = [...table.values()];
    // Every source also gets Falco's generic evt.* fields, unless it defines them itself.
    for (const field of GENERIC_FIELDS) {
      if (!table.has(field.name)) {
        table.set(field.name, field as unknown as FieldDef<EngineEvent>);
        all.push(field as unknown as FieldDef<EngineEvent>);
      }
    }
    this.lists.set(source.name, all);
    this.sources.set(source.name, source as unknown as SourceDefinition<EngineEvent>);
    this.byName.set(source.name, table);
    return this;
  }

  hasSource(name: string): boolean {
    return this.sources.has(name);
  }

  source(name: string): SourceDefinition<EngineEvent> | undefined {
    return this.sources.get(name);
  }

  sourceNames(): string[] {
    return [...this.sources.keys()];
  }

  /** Looks a field up by its full name within one source. */
  lookup(source: string, name: string): FieldDef<EngineEvent> | undefined {
    const found = this.byName.get(source)?.get(name);
    if (found) return found;
    return this.sources.get(source)?.resolveDynamic?.(name);
  }

  /** Every field of one source, in registration order. */
  fields(source: string): readonly FieldDef<EngineEvent>[] {
    return this.lists.get(source) ?? [];
  }

  /**
   * True when `ref` (a field name, optionally with a bracket argument, as
   * written in exception `fields`) names a field of `source`.
   */
  hasFieldRef(source: string, ref: string): boolean {
    const m = /^([a-zA-Z]+[a-zA-Z0-9_]*(?:\.[a-zA-Z]+[a-zA-Z0-9_]*)+)(?:\[[^\]]*\])?$/.exec(ref.trim());
    return m !== null && this.lookup(source, m[1]!) !== undefined;
  }
}
