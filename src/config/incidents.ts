/**
 * The analyzer's incident settings: where the store is, how long evidence is
 * kept, how correlation windows are sized, and who may use the query API.
 *
 * ```yaml
 * data_dir: ./data                 # the SQLite store and the generated API token
 * store:
 *   url: postgres://tiercel@db/tiercel   # or sqlite:PATH; default: SQLite in data_dir
 *   url_env: TIERCEL_STORE_URL     # the URL from an environment variable (it holds a password)
 *   retention: { max_age: 30d, max_alerts: 10000000, interval: 10m }
 * incidents:
 *   enabled: true
 *   window: 30m                    # how far apart evidence of one story may be
 *   queue_capacity: 100000         # evidence waiting to be committed
 * api:
 *   tokens:
 *     - { name: ui, token_env: TIERCEL_UI_TOKEN, scopes: [read, write] }
 *     - { name: agents, token_env: TIERCEL_AGENT_TOKEN, scopes: [ingest] }
 * ```
 *
 * With no tokens configured the analyzer generates one with every scope and
 * keeps it in `<data_dir>/api-token` (mode 0600), so the API is never open
 * and there is no default password.
 */
import { ConfigError, joinKey } from './errors.js';
import { MapReader, describeValue, isMap } from './read.js';

export type ApiScope = 'read' | 'write' | 'ingest';
export const API_SCOPES: readonly ApiScope[] = ['read', 'write', 'ingest'];

export interface ApiTokenConfig {
  readonly name: string;
  readonly token: string;
  readonly scopes: readonly ApiScope[];
}

export interface IncidentsConfig {
  readonly dataDir: string;
  /** undefined: SQLite in dataDir; else a `postgres://` URL, `sqlite:PATH` or a path. */
  readonly storeUrl: string | undefined;
  readonly retention: { readonly maxAgeMs: number; readonly maxAlerts: number; readonly intervalMs: number };
  readonly enabled: boolean;
  readonly windowMs: number;
  readonly queueCapacity: number;
  /** Empty: a token is generated into dataDir. */
  readonly tokens: readonly ApiTokenConfig[];
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `30d`, `10m`, `1500ms`, or a number of ms; undefined when malformed. */
export function parseDurationMs(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$/.exec(v);
  return m ? Number(m[1]) * UNITS[m[2]!]! : undefined;
}

function duration(r: MapReader, name: string, dflt: number, min: number, max: number): number {
  const v = r.get(name);
  if (v === undefined || v === null) return dflt;
  const ms = parseDurationMs(v);
  if (ms === undefined) throw r.error(name, `expected a duration like 90s, 10m, 24h or 30d, got ${describeValue(v)}`);
  if (ms < min || ms > max) throw r.error(name, `must be between ${min} ms and ${max} ms, got ${ms} ms`);
  return ms;
}

function readTokens(value: unknown, path: string, file: string | undefined, env: NodeJS.ProcessEnv): ApiTokenConfig[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new ConfigError(path, `expected a list of tokens, got ${describeValue(value)}`, file);
  const names = new Set<string>();
  return value.map((item, i) => {
    const key = joinKey(path, i);
    if (!isMap(item)) throw new ConfigError(key, 'expected {name, token or token_env, scopes}', file);
    const r = MapReader.of(item, key, file);
    const name = r.optionalString('name');
    if (!name) throw r.error('name', 'every token needs a name (it appears in logs instead of the token)');
    if (names.has(name)) throw r.error('name', `"${name}" is used by another token`);
    names.add(name);
    const literal = r.optionalString('token');
    const viaEnv = r.envSecret('token_env', env)?.value;
    if ((literal === undefined) === (viaEnv === undefined)) throw r.error('token', 'set exactly one of token and token_env');
    const token = (literal ?? viaEnv)!;
    // A short token can be guessed; the generated ones have 256 bits.
    if (token.length < 16) throw r.error(literal !== undefined ? 'token' : 'token_env', 'a token needs at least 16 characters');
    const scopesRaw = r.stringList('scopes') ?? ['read'];
    const scopes: ApiScope[] = [];
    for (const s of scopesRaw) {
      if (!(API_SCOPES as readonly string[]).includes(s)) throw r.error('scopes', `"${s}" is not a scope (read, write, ingest)`);
      scopes.push(s as ApiScope);
    }
    r.rejectUnknown();
    return { name, token, scopes };
  });
}

/** Reads `data_dir`, `store`, `incidents` and `api` from the top-level reader. Throws ConfigError. */
export function readIncidentsConfig(top: MapReader, env: NodeJS.ProcessEnv): IncidentsConfig {
  const dataDir = top.string('data_dir', './data');
  if (dataDir.trim() === '') throw top.error('data_dir', 'must not be empty');

  const s = top.map('store');
  const literalUrl = s.optionalString('url');
  const envUrl = s.envSecret('url_env', env)?.value;
  if (literalUrl !== undefined && envUrl !== undefined) throw s.error('url', 'set url or url_env, not both');
  const storeUrl = literalUrl ?? envUrl;
  if (storeUrl !== undefined && /^[a-z][a-z0-9+.-]*:\/\//i.test(storeUrl) && !/^postgres(ql)?:\/\//i.test(storeUrl)) {
    throw s.error(literalUrl !== undefined ? 'url' : 'url_env', 'expected a postgres:// URL, sqlite:PATH or a file path');
  }
  const ret = s.map('retention');
  const retention = {
    maxAgeMs: duration(ret, 'max_age', 30 * UNITS.d!, UNITS.m!, 3650 * UNITS.d!),
    maxAlerts: ret.int('max_alerts', 10_000_000, 1000, Number.MAX_SAFE_INTEGER),
    intervalMs: duration(ret, 'interval', 10 * UNITS.m!, 1000, UNITS.d!),
  };
  ret.rejectUnknown();
  s.rejectUnknown();

  const inc = top.map('incidents');
  const enabled = inc.bool('enabled', true);
  const windowMs = duration(inc, 'window', 30 * UNITS.m!, 1000, 7 * UNITS.d!);
  const queueCapacity = inc.int('queue_capacity', 100_000, 100, 100_000_000);
  inc.rejectUnknown();

  const api = top.map('api');
  const tokens = readTokens(api.get('tokens'), api.key('tokens'), api.file, env);
  api.rejectUnknown();

  return { dataDir, storeUrl, retention, enabled, windowMs, queueCapacity, tokens };
}
