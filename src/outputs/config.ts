/**
 * The outputs' part of the configuration file, in Falco's shape and with
 * Falco's key names and defaults (falco.yaml), plus a few Tiercel keys
 * (per-output `priority`, remote syslog, http `headers`/`timeout`/`retries`).
 * Every key is documented in docs/outputs.md.
 *
 * Parsing never throws: it returns every problem found, each naming the
 * exact key path (`http_output.url: must be an http(s) URL`). Unknown keys
 * inside the five output sections are errors (a typo must not silently
 * disable an option); other top-level keys belong to the rest of the
 * configuration and are ignored here.
 */
import { validateHeaderName, validateHeaderValue } from 'node:http';
import { PRIORITIES, type Priority, parsePriority } from '../engine/priority.js';
import { FACILITIES } from './syslog.js';
import type { CommonOutputOptions } from './types.js';

interface OutputBase {
  readonly enabled: boolean;
  /** Tiercel: minimum priority this output receives (default debug: all). */
  readonly priority: Priority;
}

export type StdoutOutputConfig = OutputBase;

export interface FileOutputConfig extends OutputBase {
  readonly filename: string;
  readonly keepAlive: boolean;
  /** Tiercel: create missing parent directories (default false). */
  readonly createDirs: boolean;
}

export interface SyslogOutputConfig extends OutputBase {
  /** Tiercel: remote host; empty = the local socket (Falco's only mode). */
  readonly host: string;
  readonly port: number;
  readonly protocol: 'udp' | 'tcp';
  /** Facility code 0..23 (default 1, `user`, as Falco). */
  readonly facility: number;
  /** Tiercel: the local socket (default /dev/log). */
  readonly socketPath: string;
  /** Tiercel: tag / APP-NAME (default `falco`, as Falco's libc syslog). */
  readonly tag: string;
}

export interface HttpOutputConfig extends OutputBase {
  readonly url: string;
  readonly userAgent: string;
  readonly insecure: boolean;
  readonly caCert: string;
  readonly caBundle: string;
  /** Empty unless set: Node's bundled trust store is used then. */
  readonly caPath: string;
  readonly mtls: boolean;
  readonly clientCert: string;
  readonly clientKey: string;
  readonly echo: boolean;
  readonly compressUploads: boolean;
  readonly keepAlive: boolean;
  readonly maxConsecutiveTimeouts: number;
  /** Tiercel: extra request headers. */
  readonly headers: Readonly<Record<string, string>>;
  /** Tiercel: deadline of one request in ms (default `output_timeout`). */
  readonly timeoutMs: number;
  /** Tiercel: retries after a failed request (default `max_consecutive_timeouts`). */
  readonly retries: number;
  /** Tiercel: first retry backoff in ms (default 500; doubles, with jitter, up to 30 s). */
  readonly retryBackoffMs: number;
}

export interface ProgramOutputConfig extends OutputBase {
  readonly program: string;
  readonly keepAlive: boolean;
}

export interface OutputsConfig {
  readonly common: CommonOutputOptions;
  /**
   * Falco `priority`: the minimum rule priority. Falco does not even load
   * rules below it (pass it to the Ruleset as `minPriority`); the outputs
   * apply it too, so nothing below it is delivered either way.
   */
  readonly priority: Priority;
  readonly stdout: StdoutOutputConfig;
  readonly file: FileOutputConfig;
  readonly syslog: SyslogOutputConfig;
  readonly http: HttpOutputConfig;
  readonly program: ProgramOutputConfig;
}

export interface ConfigError {
  readonly key: string;
  readonly message: string;
}

/** The http retry backoff cap, in ms. */
export const MAX_RETRY_BACKOFF_MS = 30_000;

const DEFAULT_OUTPUT_TIMEOUT_MS = 2000;

const SECTION_KEYS = {
  stdout_output: ['enabled', 'priority'],
  file_output: ['enabled', 'priority', 'filename', 'keep_alive', 'create_dirs'],
  syslog_output: ['enabled', 'priority', 'host', 'port', 'protocol', 'facility', 'socket_path', 'tag'],
  http_output: [
    'enabled', 'priority', 'url', 'user_agent', 'insecure', 'ca_cert', 'ca_bundle', 'ca_path', 'mtls',
    'client_cert', 'client_key', 'echo', 'compress_uploads', 'keep_alive', 'max_consecutive_timeouts',
    'headers', 'timeout', 'retries', 'retry_backoff',
  ],
  program_output: ['enabled', 'priority', 'program', 'keep_alive'],
} as const;

/** Header names the http output sets itself. */
const MANAGED_HEADERS = new Set(['content-length', 'content-encoding', 'transfer-encoding', 'connection']);

/**
 * Validates the outputs' keys of a Falco-shaped configuration. `raw` is the
 * mapping found at `keyPath` ('' for the file's top level); error keys are
 * prefixed with it. Returns `config` only when there are no errors.
 */
export function parseOutputsConfig(raw: unknown, keyPath: string): { config?: OutputsConfig; errors: ConfigError[] } {
  const errors: ConfigError[] = [];
  const root = new Section(raw ?? {}, keyPath, errors);
  if (!root.ok) return { errors };

  const outputTimeoutMs = root.int('output_timeout', DEFAULT_OUTPUT_TIMEOUT_MS, 1, 3_600_000, 'a positive integer (milliseconds)');
  const queue = root.section('outputs_queue', ['capacity']);
  const common: CommonOutputOptions = {
    jsonOutput: root.bool('json_output', false),
    jsonIncludeOutputProperty: root.bool('json_include_output_property', true),
    jsonIncludeTagsProperty: root.bool('json_include_tags_property', true),
    jsonIncludeMessageProperty: root.bool('json_include_message_property', false),
    timeFormatIso8601: root.bool('time_format_iso_8601', false),
    bufferedOutputs: root.bool('buffered_outputs', false),
    outputTimeoutMs,
    queueCapacity: queue.int('capacity', 0, 0, 100_000_000, 'a non-negative integer'),
  };
  const priority = root.priority('priority');

  const s = root.section('stdout_output', SECTION_KEYS.stdout_output);
  const stdout: StdoutOutputConfig = { enabled: s.bool('enabled', true), priority: s.priority('priority') };

  const f = root.section('file_output', SECTION_KEYS.file_output);
  const file: FileOutputConfig = {
    enabled: f.bool('enabled', false),
    priority: f.priority('priority'),
    filename: f.str('filename', './events.txt', { nonEmpty: true }),
    keepAlive: f.bool('keep_alive', false),
    createDirs: f.bool('create_dirs', false),
  };

  const y = root.section('syslog_output', SECTION_KEYS.syslog_output);
  const syslog: SyslogOutputConfig = {
    enabled: y.bool('enabled', true),
    priority: y.priority('priority'),
    host: y.str('host', ''),
    port: y.int('port', 514, 1, 65535, 'a port number (1-65535)'),
    protocol: y.oneOf('protocol', ['udp', 'tcp'] as const, 'udp'),
    facility: y.facility('facility'),
    socketPath: y.str('socket_path', '/dev/log', { nonEmpty: true }),
    tag: y.tag('tag', 'falco'),
  };

  const h = root.section('http_output', SECTION_KEYS.http_output);
  const httpEnabled = h.bool('enabled', false);
  const maxConsecutiveTimeouts = h.int('max_consecutive_timeouts', 5, 0, 255, 'an integer from 0 to 255');
  const http: HttpOutputConfig = {
    enabled: httpEnabled,
    priority: h.priority('priority'),
    url: h.url('url', httpEnabled),
    userAgent: h.str('user_agent', 'falcosecurity/falco'),
    insecure: h.bool('insecure', false),
    caCert: h.str('ca_cert', ''),
    caBundle: h.str('ca_bundle', ''),
    caPath: h.str('ca_path', ''),
    mtls: h.bool('mtls', false),
    clientCert: h.str('client_cert', '/etc/ssl/certs/client.crt', { nonEmpty: true }),
    clientKey: h.str('client_key', '/etc/ssl/certs/client.key', { nonEmpty: true }),
    echo: h.bool('echo', false),
    compressUploads: h.bool('compress_uploads', false),
    keepAlive: h.bool('keep_alive', false),
    maxConsecutiveTimeouts,
    headers: h.headers('headers'),
    timeoutMs: h.int('timeout', outputTimeoutMs, 1, 3_600_000, 'a positive integer (milliseconds)'),
    retries: h.int('retries', maxConsecutiveTimeouts, 0, 100, 'an integer from 0 to 100'),
    retryBackoffMs: h.int('retry_backoff', 500, 1, MAX_RETRY_BACKOFF_MS, `an integer from 1 to ${MAX_RETRY_BACKOFF_MS} (milliseconds)`),
  };

  const p = root.section('program_output', SECTION_KEYS.program_output);
  const programEnabled = p.bool('enabled', false);
  const program: ProgramOutputConfig = {
    enabled: programEnabled,
    priority: p.priority('priority'),
    program: p.str('program', '', programEnabled ? { nonEmpty: true, requiredBecause: 'program_output.enabled is true' } : {}),
    keepAlive: p.bool('keep_alive', false),
  };

  if (errors.length > 0) return { errors };
  return { config: { common, priority, stdout, file, syslog, http, program }, errors };
}

/** Falco's defaults: stdout and syslog enabled, everything else off. */
export function defaultOutputsConfig(): OutputsConfig {
  const { config } = parseOutputsConfig({}, '');
  if (!config) throw new Error('unreachable: defaults do not parse');
  return config;
}

/** Reads typed values from one mapping, recording errors under its key path. */
class Section {
  readonly ok: boolean;
  readonly #obj: Record<string, unknown>;
  readonly #path: string;
  readonly #errors: ConfigError[];

  constructor(raw: unknown, path: string, errors: ConfigError[], allowed?: readonly string[]) {
    this.#path = path;
    this.#errors = errors;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      this.ok = false;
      this.#obj = {};
      errors.push({ key: path || '(top level)', message: 'must be a mapping' });
      return;
    }
    this.ok = true;
    this.#obj = raw as Record<string, unknown>;
    if (allowed) {
      for (const k of Object.keys(this.#obj)) {
        if (!allowed.includes(k)) this.#error(k, `unknown key (known: ${allowed.join(', ')})`);
      }
    }
  }

  #key(k: string): string {
    return this.#path ? `${this.#path}.${k}` : k;
  }

  #error(k: string, message: string): void {
    this.#errors.push({ key: this.#key(k), message });
  }

  /** The value, or undefined when absent or null (YAML `key:` with nothing after it). */
  #get(k: string): unknown {
    const v = this.#obj[k];
    return v === null ? undefined : v;
  }

  section(k: string, allowed: readonly string[]): Section {
    const v = this.#get(k);
    return new Section(v ?? {}, this.#key(k), this.#errors, allowed);
  }

  bool(k: string, def: boolean): boolean {
    const v = this.#get(k);
    if (v === undefined) return def;
    if (typeof v === 'boolean') return v;
    // Falco (yaml-cpp) and `-o key=value` overrides also give booleans as text.
    if (typeof v === 'string' && /^(true|false)$/i.test(v.trim())) return v.trim().toLowerCase() === 'true';
    this.#error(k, 'must be true or false');
    return def;
  }

  int(k: string, def: number, min: number, max: number, what: string): number {
    const v = this.#get(k);
    if (v === undefined) return def;
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      this.#error(k, `must be ${what}`);
      return def;
    }
    return n;
  }

  str(k: string, def: string, opts: { nonEmpty?: boolean; requiredBecause?: string } = {}): string {
    const v = this.#get(k);
    if (v !== undefined && typeof v !== 'string') {
      this.#error(k, 'must be a string');
      return def;
    }
    if (v === undefined || v === '') {
      if (opts.requiredBecause) {
        this.#error(k, `required when ${opts.requiredBecause}`);
        return def;
      }
      if (v === '' && opts.nonEmpty) {
        this.#error(k, 'must not be empty');
        return def;
      }
      return v ?? def;
    }
    return v;
  }

  priority(k: string): Priority {
    const v = this.#get(k);
    if (v === undefined) return 'Debug';
    const p = typeof v === 'string' ? parsePriority(v) : undefined;
    if (!p) {
      this.#error(k, `must be one of ${PRIORITIES.map((x) => x.toLowerCase()).join(', ')} (or info)`);
      return 'Debug';
    }
    return p;
  }

  oneOf<T extends string>(k: string, choices: readonly T[], def: T): T {
    const v = this.#get(k);
    if (v === undefined) return def;
    const lower = typeof v === 'string' ? v.trim().toLowerCase() : undefined;
    const hit = choices.find((c) => c === lower);
    if (!hit) {
      this.#error(k, `must be one of ${choices.join(', ')}`);
      return def;
    }
    return hit;
  }

  facility(k: string): number {
    const v = this.#get(k);
    if (v === undefined) return FACILITIES.user as number;
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 23) return v;
    if (typeof v === 'string') {
      const code = FACILITIES[v.trim().toLowerCase()];
      if (code !== undefined) return code;
    }
    this.#error(k, `must be a facility name (${Object.keys(FACILITIES).join(', ')}) or a number from 0 to 23`);
    return FACILITIES.user as number;
  }

  tag(k: string, def: string): string {
    const v = this.str(k, def, { nonEmpty: true });
    if (!/^[\x21-\x7e]{1,48}$/.test(v)) {
      this.#error(k, 'must be 1 to 48 printable ASCII characters without spaces');
      return def;
    }
    return v;
  }

  url(k: string, required: boolean): string {
    const v = this.#get(k);
    if (v === undefined || v === '') {
      if (required) this.#error(k, 'must be an http(s) URL (required when http_output.enabled is true)');
      return '';
    }
    let ok = false;
    if (typeof v === 'string') {
      try {
        const u = new URL(v);
        ok = (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
      } catch {
        ok = false;
      }
    }
    if (!ok) {
      this.#error(k, 'must be an http(s) URL');
      return '';
    }
    return v as string;
  }

  headers(k: string): Record<string, string> {
    const v = this.#get(k);
    if (v === undefined) return {};
    if (typeof v !== 'object' || Array.isArray(v)) {
      this.#error(k, 'must be a mapping of header names to values');
      return {};
    }
    const out: Record<string, string> = {};
    for (const [name, raw] of Object.entries(v as Record<string, unknown>)) {
      const key = `${k}.${name}`;
      if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') {
        this.#error(key, 'must be a string');
        continue;
      }
      const value = String(raw);
      try {
        validateHeaderName(name);
      } catch {
        this.#error(key, 'is not a valid HTTP header name');
        continue;
      }
      if (MANAGED_HEADERS.has(name.toLowerCase())) {
        this.#error(key, 'is set by Tiercel and cannot be configured');
        continue;
      }
      try {
        validateHeaderValue(name, value);
      } catch {
        this.#error(key, 'must not contain control characters');
        continue;
      }
      out[name] = value;
    }
    return out;
  }
}
