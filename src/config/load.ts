/**
 * Building the config tree `tiercel serve` runs with, in order of precedence
 * (lowest first):
 *
 * 1. Tiercel's embedded defaults (stdout output on, everything else off);
 * 2. the config file (`--config`), merged over them key by key;
 * 3. `--option key=value` settings (Falco's `-o`), in the order given;
 * 4. dedicated command-line flags (`--listen`, `-r`, `--rule-matching`, ...).
 *
 * `${VAR}` in any string value is replaced with the environment variable, as
 * Falco does (`$${VAR}` keeps a literal `${VAR}`), so secrets can stay out of
 * the file.
 */
import { readFileSync } from 'node:fs';
import { YAMLParseError, parse } from 'yaml';
import { ConfigError, joinKey } from './errors.js';
import { type Raw, isMap } from './read.js';
import { type TiercelConfig, validateConfig } from './schema.js';

/** Embedded defaults: what a fresh `tiercel serve` runs with, before any file. */
export const EMBEDDED_DEFAULTS: Readonly<Raw> = Object.freeze({
  stdout_output: { enabled: true },
  // Falco enables syslog by default; Tiercel does not: containers rarely have /dev/log.
  syslog_output: { enabled: false },
});

/** Reads and parses a YAML config file. Throws {@link ConfigError}. */
export function readConfigFile(path: string): Raw {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError('', `cannot read the config file: ${(e as Error).message}`, path);
  }
  return parseConfigText(text, path);
}

/** Parses YAML config text; an empty document is an empty config. */
export function parseConfigText(text: string, file?: string): Raw {
  let doc: unknown;
  try {
    doc = parse(text, { uniqueKeys: true, maxAliasCount: 100 });
  } catch (e) {
    if (e instanceof YAMLParseError) {
      const pos = e.linePos?.[0];
      const where = pos ? `line ${pos.line}, column ${pos.col}` : '';
      throw new ConfigError(where, `invalid YAML: ${e.message.split('\n')[0]}`, file);
    }
    throw new ConfigError('', `invalid YAML: ${(e as Error).message}`, file);
  }
  if (doc === undefined || doc === null) return {};
  if (!isMap(doc)) throw new ConfigError('', 'the config file must be a YAML mapping (key: value lines)', file);
  return doc;
}

/** Deep merge: mappings merge key by key, anything else in `over` replaces. Inputs are not modified. */
export function mergeConfig(base: Readonly<Raw>, over: Readonly<Raw>): Raw {
  const out: Raw = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isMap(b) && isMap(v) ? mergeConfig(b, v) : v;
  }
  return out;
}

/**
 * Replaces `${VAR}` in every string value (recursively) with the environment
 * variable's value; `$${...}` is an escaped literal. Unset variables become
 * empty strings (as in Falco) and are reported through `warn`.
 */
export function expandEnv(value: unknown, env: NodeJS.ProcessEnv, warn: (msg: string) => void, key = ''): unknown {
  if (typeof value === 'string') {
    if (!value.includes('${')) return value;
    return value.replace(/\$?\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (m, name: string) => {
      if (m.startsWith('$$')) return m.slice(1);
      const v = env[name];
      if (v === undefined) warn(`${key || 'config'}: environment variable ${name} is not set (expanded to an empty string)`);
      return v ?? '';
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => expandEnv(v, env, warn, joinKey(key, i)));
  if (isMap(value)) {
    const out: Raw = {};
    for (const [k, v] of Object.entries(value)) out[k] = expandEnv(v, env, warn, joinKey(key, k));
    return out;
  }
  return value;
}

/** Splits `a.b[0].c` into `['a', 'b', 0, 'c']`; undefined when malformed. */
export function parseKeyPath(path: string): (string | number)[] | undefined {
  const parts: (string | number)[] = [];
  const re = /([A-Za-z0-9_-]+)|\[(\d+)\]|(\.)/gy;
  let expectName = true;
  let m: RegExpExecArray | null;
  let last = 0;
  while ((m = re.exec(path)) !== null) {
    last = re.lastIndex;
    if (m[1] !== undefined) {
      if (!expectName) return undefined;
      parts.push(m[1]);
      expectName = false;
    } else if (m[2] !== undefined) {
      if (expectName) return undefined;
      parts.push(Number(m[2]));
    } else {
      if (expectName) return undefined;
      expectName = true;
    }
  }
  if (last !== path.length || expectName || parts.length === 0) return undefined;
  return parts;
}

/** Sets one key path in a config tree (creating mappings and lists on the way). Returns a new tree. */
export function setKeyPath(raw: Readonly<Raw>, path: readonly (string | number)[], value: unknown): Raw {
  const root: Raw = structuredClone(raw) as Raw;
  let node: Raw | unknown[] = root;
  for (let i = 0; i < path.length; i++) {
    const k = path[i]!;
    const last = i === path.length - 1;
    const nextIsIndex = !last && typeof path[i + 1] === 'number';
    const container = node as Record<string | number, unknown>;
    if (last) {
      container[k] = value;
      break;
    }
    let child = container[k];
    if (nextIsIndex ? !Array.isArray(child) : !isMap(child)) {
      child = nextIsIndex ? [] : {};
      container[k] = child;
    }
    node = child as Raw | unknown[];
  }
  return root;
}

/** Applies one `--option key=value` (value read as YAML: `true`, `5`, `[a, b]`). Throws {@link ConfigError}. */
export function applyOption(raw: Readonly<Raw>, option: string): Raw {
  const eq = option.indexOf('=');
  if (eq <= 0) throw new ConfigError('', `--option expects key=value, got "${option}"`);
  const keyText = option.slice(0, eq).trim();
  const path = parseKeyPath(keyText);
  if (!path) throw new ConfigError('', `--option: "${keyText}" is not a key path (e.g. file_output.enabled or rules_files[0])`);
  const valueText = option.slice(eq + 1);
  let value: unknown;
  try {
    value = valueText === '' ? '' : parse(valueText);
  } catch {
    value = valueText;
  }
  return setKeyPath(raw, path, value);
}

export interface BuildConfigOptions {
  /** Path of the config file (`--config`), if any. */
  readonly file?: string;
  /** `--option key=value` settings, in order. */
  readonly options?: readonly string[];
  /** Settings from dedicated flags, as key paths → values; applied last. */
  readonly flags?: ReadonlyArray<readonly [string, unknown]>;
  readonly env?: NodeJS.ProcessEnv;
  /** Default rules when rules_files is not set: `serve` runs the k8s_audit rules, `agent` the syscall rules. */
  readonly defaultRulesSource?: 'k8s_audit' | 'syscall';
}

/**
 * Reads, merges and validates the configuration. Throws {@link ConfigError}
 * naming the key and the problem.
 */
export function buildConfig(opts: BuildConfigOptions): TiercelConfig {
  const env = opts.env ?? process.env;
  const warnings: string[] = [];
  let raw: Raw = { ...EMBEDDED_DEFAULTS };
  if (opts.file !== undefined) {
    const fileRaw = expandEnv(readConfigFile(opts.file), env, (w) => warnings.push(w)) as Raw;
    raw = mergeConfig(raw, fileRaw);
  }
  for (const o of opts.options ?? []) raw = applyOption(raw, o);
  for (const [key, value] of opts.flags ?? []) raw = setKeyPath(raw, parseKeyPath(key)!, value);
  const config = validateConfig(raw, {
    ...(opts.file !== undefined ? { file: opts.file } : {}),
    ...(opts.defaultRulesSource !== undefined ? { defaultRulesSource: opts.defaultRulesSource } : {}),
    env,
  });
  return warnings.length ? { ...config, warnings: [...warnings, ...config.warnings] } : config;
}
