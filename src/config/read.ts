/**
 * Typed reads from an untrusted YAML tree, each failing with a
 * {@link ConfigError} that names the key. Absent keys (and YAML `null`, as an
 * empty `key:` line parses) give the default.
 */
import { ConfigError, joinKey } from './errors.js';

export type Raw = Record<string, unknown>;

export function isMap(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `"${v.length > 60 ? v.slice(0, 60) + '...' : v}"`;
  return String(v);
}

/** A mapping in the config tree, read with its key path for messages. */
export class MapReader {
  private readonly seen = new Set<string>();

  constructor(
    readonly raw: Raw,
    readonly path: string,
    readonly file: string | undefined,
  ) {}

  static of(value: unknown, path: string, file: string | undefined): MapReader {
    if (value === undefined || value === null) return new MapReader({}, path, file);
    if (!isMap(value)) throw new ConfigError(path, `expected a mapping, got ${describe(value)}`, file);
    return new MapReader(value, path, file);
  }

  key(name: string): string {
    return joinKey(this.path, name);
  }

  error(name: string, problem: string): ConfigError {
    return new ConfigError(this.key(name), problem, this.file);
  }

  has(name: string): boolean {
    const v = this.raw[name];
    return v !== undefined && v !== null;
  }

  get(name: string): unknown {
    this.seen.add(name);
    return this.raw[name];
  }

  map(name: string): MapReader {
    return MapReader.of(this.get(name), this.key(name), this.file);
  }

  bool(name: string, dflt: boolean): boolean {
    const v = this.get(name);
    if (v === undefined || v === null) return dflt;
    if (typeof v === 'boolean') return v;
    throw this.error(name, `expected true or false, got ${describe(v)}`);
  }

  string(name: string, dflt: string): string {
    const v = this.get(name);
    if (v === undefined || v === null) return dflt;
    if (typeof v === 'string') return v;
    if (typeof v === 'number') return String(v);
    throw this.error(name, `expected a string, got ${describe(v)}`);
  }

  optionalString(name: string): string | undefined {
    const v = this.string(name, '');
    return v === '' ? undefined : v;
  }

  /**
   * A secret held in the environment variable this key names (`token_env:
   * TIERCEL_AGENT_TOKEN`): the variable's name and its trimmed value, or
   * undefined when the key is absent. A malformed name, or a variable unset or
   * empty, is an error naming the key.
   */
  envSecret(name: string, env: NodeJS.ProcessEnv): { readonly variable: string; readonly value: string } | undefined {
    const variable = this.optionalString(name);
    if (variable === undefined) return undefined;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(variable)) throw this.error(name, `expected the name of an environment variable, got "${variable}"`);
    const value = env[variable]?.trim();
    if (!value) throw this.error(name, `environment variable ${variable} is not set or empty`);
    return { variable, value };
  }

  int(name: string, dflt: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.get(name);
    if (v === undefined || v === null) return dflt;
    const n = typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isSafeInteger(n)) {
      throw this.error(name, `expected an integer, got ${describe(v)}`);
    }
    if (n < min || n > max) {
      throw this.error(name, `must be between ${min} and ${max === Number.MAX_SAFE_INTEGER ? 'any larger value' : max}, got ${n}`);
    }
    return n;
  }

  /** A finite number (integer or decimal) within [min, max]. */
  number(name: string, dflt: number, min: number, max: number): number {
    const v = this.get(name);
    if (v === undefined || v === null) return dflt;
    const n = typeof v === 'string' && /^\s*-?(\d+\.?\d*|\.\d+)\s*$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isFinite(n)) throw this.error(name, `expected a number, got ${describe(v)}`);
    if (n < min || n > max) throw this.error(name, `must be between ${min} and ${max}, got ${n}`);
    return n;
  }

  /** A size in bytes: an integer, or a string like `12MiB`, `512Ki`, `64MB`. */
  bytes(name: string, dflt: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.get(name);
    if (v === undefined || v === null) return dflt;
    let n: number | undefined;
    if (typeof v === 'number') n = v;
    else if (typeof v === 'string') n = parseBytes(v);
    if (n === undefined || !Number.isSafeInteger(n)) {
      throw this.error(name, `expected a size in bytes (e.g. 12582912 or 12MiB), got ${describe(v)}`);
    }
    if (n < min || n > max) throw this.error(name, `must be between ${min} and ${max} bytes, got ${n}`);
    return n;
  }

  oneOf<T extends string>(name: string, choices: readonly T[], dflt: T): T {
    const v = this.get(name);
    if (v === undefined || v === null) return dflt;
    if (typeof v === 'string' && (choices as readonly string[]).includes(v)) return v as T;
    throw this.error(name, `expected one of ${choices.join(', ')}, got ${describe(v)}`);
  }

  stringList(name: string): string[] | undefined {
    const v = this.get(name);
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return [v];
    if (!Array.isArray(v)) throw this.error(name, `expected a list of strings, got ${describe(v)}`);
    return v.map((item, i) => {
      if (typeof item !== 'string' || item === '') {
        throw new ConfigError(joinKey(this.key(name), i), `expected a non-empty string, got ${describe(item)}`, this.file);
      }
      return item;
    });
  }

  /** Keys present in the mapping that nothing read. */
  unread(): string[] {
    return Object.keys(this.raw).filter((k) => !this.seen.has(k));
  }

  /** Fails on the first key nothing read (for Tiercel's own sections, where a typo would silently change behaviour). */
  rejectUnknown(): void {
    const extra = this.unread();
    if (extra.length) {
      throw new ConfigError(this.key(extra[0]!), `unknown key (known: ${[...this.seen].sort().join(', ')})`, this.file);
    }
  }
}

const UNITS: Record<string, number> = {
  '': 1, b: 1,
  k: 1e3, kb: 1e3, ki: 1024, kib: 1024,
  m: 1e6, mb: 1e6, mi: 1024 ** 2, mib: 1024 ** 2,
  g: 1e9, gb: 1e9, gi: 1024 ** 3, gib: 1024 ** 3,
};

/** Parses `12582912`, `12MiB`, `12Mi`, `64MB`, `1.5G`; undefined when malformed. */
export function parseBytes(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m) return undefined;
  const unit = UNITS[m[2]!.toLowerCase()];
  if (unit === undefined) return undefined;
  return Math.round(Number(m[1]) * unit);
}

export { describe as describeValue };
