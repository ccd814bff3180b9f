/**
 * `tiercel.yaml`: what `tiercel serve` is configured with, and its validation.
 *
 * Keys are Falco's (falco.yaml) where the concept is the same — `rules_files`,
 * `rule_matching`, `priority`, `rules`, `watch_config_files`, `log_level` and
 * every output key (`json_output`, `stdout_output`, `file_output`, ...), which
 * the outputs module parses. Tiercel's own keys cover the rest: `webhook`
 * (listen address, TLS, authentication, input limits), `queue`, `dedup`,
 * `audit_log`, `log_format`, `watch_interval_ms`, and the incident store's
 * `data_dir`, `store`, `incidents`, `api` (incidents.ts).
 *
 * Unknown top-level keys are reported as warnings (a falco.yaml has many keys
 * Tiercel has no use for); unknown keys inside Tiercel's own sections are
 * errors, because a typo there (say `client_ca_fle`) would silently weaken
 * the webhook.
 */
import { accessSync, constants } from 'node:fs';
import { type Priority, parsePriority } from '../engine/priority.js';
import type { RuleMatching, RuleSelection } from '../engine/ruleset.js';
import { DEFAULT_RULES } from '../paths.js';
import { type AgentConfig, readAgentConfig } from './agent.js';
import { type IncidentsConfig, readIncidentsConfig } from './incidents.js';
import { type OutputsConfig, parseOutputsConfig } from '../outputs/index.js';
import { ConfigError, configErrors, joinKey } from './errors.js';
import { MapReader, type Raw, describeValue, isMap } from './read.js';

/** Where the webhook server listens. An empty host means every interface. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export interface WebhookTlsConfig {
  readonly certFile: string;
  readonly keyFile: string;
  /** Client certificates signed by this CA authenticate the apiserver. */
  readonly clientCaFile: string | undefined;
}

export interface WebhookAuthConfig {
  /** The bearer token clients must present (read from {@link bearerTokenEnv}). */
  readonly bearerToken: string | undefined;
  /** Name of the environment variable the token came from. */
  readonly bearerTokenEnv: string | undefined;
  /** When non-empty, a client certificate must carry one of these subject CNs. */
  readonly allowedCommonNames: readonly string[];
}

export interface WebhookConfig {
  /** Serve `POST /k8s-audit` (health and metrics are served either way). */
  readonly enabled: boolean;
  readonly listen: ListenAddress;
  readonly tls: WebhookTlsConfig | undefined;
  readonly auth: WebhookAuthConfig;
  /** Largest request body accepted, after decompression. */
  readonly maxBodyBytes: number;
  /** Deepest JSON nesting accepted (objects and arrays). */
  readonly maxNestingDepth: number;
}

export interface QueueConfig {
  /** Events waiting for evaluation; above this the webhook answers 429. */
  readonly capacity: number;
  /** JSON bytes waiting for evaluation; a second bound on the same queue. */
  readonly maxBytes: number;
}

export interface AuditLogConfig {
  readonly path: string;
  /** Where reading starts the first time the file is opened. */
  readonly startAt: 'end' | 'beginning';
  readonly pollIntervalMs: number;
  readonly maxLineBytes: number;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface TiercelConfig {
  /** The config file, when there is one. */
  readonly file: string | undefined;
  readonly rulesFiles: readonly string[];
  readonly ruleMatching: RuleMatching;
  /** Falco `priority`: rules less severe are not loaded. */
  readonly minPriority: Priority;
  /** Falco `rules:` selection list, then the command line's. */
  readonly selections: readonly RuleSelection[];
  readonly watchConfigFiles: boolean;
  readonly watchIntervalMs: number;
  readonly webhook: WebhookConfig;
  readonly queue: QueueConfig;
  /** How many auditID+stage pairs are remembered to drop retried events; 0 disables. */
  readonly dedupCapacity: number;
  readonly auditLog: AuditLogConfig | undefined;
  readonly logLevel: LogLevel;
  readonly logFormat: 'auto' | 'json' | 'pretty';
  /** The outputs' settings (Falco's keys, parsed by the outputs module). */
  readonly outputs: OutputsConfig;
  /** `tiercel agent` settings (agent, webserver, syscall_event_drops keys). */
  readonly agent: AgentConfig;
  /** The incident store, correlation and query API (`data_dir`, `store`, `incidents`, `api`). */
  readonly incidents: IncidentsConfig;
  /** The merged YAML tree the config was built from (outputs keys included). */
  readonly raw: Raw;
  /** Non-fatal problems (unknown keys, deprecated keys). */
  readonly warnings: readonly string[];
}

/** Falco's default webhook port for the k8saudit plugin (`http://:9765/k8s-audit`). */
export const DEFAULT_PORT = 9765;
/** Falco's k8saudit `webhookMaxBatchSize`: 12 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 12 * 1024 * 1024;
/** The nesting limit of fastjson, the parser of Falco's k8saudit plugin. */
export const DEFAULT_MAX_NESTING_DEPTH = 300;
/** As many events as the apiserver's own webhook buffer (`--audit-webhook-batch-buffer-size`). */
export const DEFAULT_QUEUE_CAPACITY = 10_000;
export const DEFAULT_QUEUE_MAX_BYTES = 64 * 1024 * 1024;
export const DEFAULT_DEDUP_CAPACITY = 100_000;

/** Top-level keys the outputs module reads (Falco's names). */
export const OUTPUT_KEYS = [
  'json_output', 'json_include_output_property', 'json_include_tags_property',
  'json_include_message_property', 'json_include_output_fields_property', 'time_format_iso_8601',
  'buffered_outputs', 'output_timeout', 'outputs_queue',
  'stdout_output', 'file_output', 'syslog_output', 'http_output', 'program_output',
] as const;

/** Falco keys Tiercel accepts and ignores without a warning (they configure what Tiercel does differently). */
const IGNORED_FALCO_KEYS = new Set([
  'plugins', 'load_plugins', 'config_files', 'log_stderr', 'log_syslog', 'engine', 'metrics',
  'libs_logger', 'buffer_format_base64', 'syscall_event_timeouts',
  'falco_libs', 'container_engines', 'append_output', 'static_fields', 'outputs', 'grpc', 'grpc_output',
]);

const LOG_LEVELS: Record<string, LogLevel> = {
  // Falco's names (syslog severities)...
  emergency: 'fatal', alert: 'fatal', critical: 'fatal', error: 'error', warning: 'warn', notice: 'info',
  info: 'info', debug: 'debug',
  // ...and pino's.
  fatal: 'fatal', warn: 'warn', trace: 'trace', silent: 'silent',
};

/** Parses `HOST:PORT`, `[v6]:PORT` or `:PORT`; undefined when malformed. */
export function parseListen(text: string): ListenAddress | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(text.trim());
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  return { host: m[1] ?? m[2] ?? '', port };
}

/** `127.0.0.1:9765`, `[::1]:9765`, `:9765`. */
export function formatListen(addr: ListenAddress): string {
  return `${addr.host.includes(':') ? `[${addr.host}]` : addr.host}:${addr.port}`;
}

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

function readable(r: MapReader, name: string): string | undefined {
  const path = r.optionalString(name);
  if (path === undefined) return undefined;
  try {
    accessSync(path, constants.R_OK);
  } catch (e) {
    throw r.error(name, `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return path;
}

function readSelections(value: unknown, file: string | undefined): RuleSelection[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new ConfigError('rules', `expected a list of enable/disable items, got ${describeValue(value)}`, file);
  return value.map((item, i) => {
    const key = joinKey('rules', i);
    if (!isMap(item) || Object.keys(item).length !== 1 || !('enable' in item || 'disable' in item)) {
      throw new ConfigError(key, 'expected {enable: {rule|tag: ...}} or {disable: {rule|tag: ...}}', file);
    }
    const action = 'enable' in item ? 'enable' : 'disable';
    const r = MapReader.of(item[action], joinKey(key, action), file);
    const rule = r.optionalString('rule');
    const tag = r.optionalString('tag');
    r.rejectUnknown();
    if (rule === undefined && tag === undefined) throw new ConfigError(joinKey(key, action), 'needs a rule or a tag', file);
    return { action, ...(rule !== undefined ? { rule } : {}), ...(tag !== undefined ? { tag } : {}) } as RuleSelection;
  });
}

function readWebhook(r: MapReader, env: NodeJS.ProcessEnv): WebhookConfig {
  const enabled = r.bool('enabled', true);
  const listenText = r.string('listen', `127.0.0.1:${DEFAULT_PORT}`);
  const listen = parseListen(listenText);
  if (!listen) throw r.error('listen', `expected HOST:PORT (e.g. 127.0.0.1:${DEFAULT_PORT}, [::1]:${DEFAULT_PORT} or :${DEFAULT_PORT}), got "${listenText}"`);

  const t = r.map('tls');
  const certFile = readable(t, 'cert_file');
  const keyFile = readable(t, 'key_file');
  const clientCaFile = readable(t, 'client_ca_file');
  t.rejectUnknown();
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw t.error(certFile === undefined ? 'cert_file' : 'key_file', 'cert_file and key_file must be set together');
  }
  if (clientCaFile !== undefined && certFile === undefined) {
    throw t.error('client_ca_file', 'client certificates need TLS: set cert_file and key_file too');
  }
  const tls = certFile !== undefined && keyFile !== undefined ? { certFile, keyFile, clientCaFile } : undefined;

  const a = r.map('auth');
  const secret = a.envSecret('bearer_token_env', env);
  const bearerTokenEnv = secret?.variable;
  const bearerToken = secret?.value;
  const allowedCommonNames = a.stringList('allowed_common_names') ?? [];
  a.rejectUnknown();
  if (allowedCommonNames.length && clientCaFile === undefined) {
    throw a.error('allowed_common_names', 'needs webhook.tls.client_ca_file (client certificates)');
  }

  const maxBodyBytes = r.bytes('max_body_bytes', DEFAULT_MAX_BODY_BYTES, 1024, 1024 ** 3);
  const maxNestingDepth = r.int('max_nesting_depth', DEFAULT_MAX_NESTING_DEPTH, 8, 100_000);
  r.rejectUnknown();
  return {
    enabled, listen, tls,
    auth: { bearerToken, bearerTokenEnv, allowedCommonNames },
    maxBodyBytes, maxNestingDepth,
  };
}

function readAuditLog(r: MapReader): AuditLogConfig | undefined {
  const path = r.optionalString('path');
  const startAt = r.oneOf('start_at', ['end', 'beginning'] as const, 'end');
  const pollIntervalMs = r.int('poll_interval_ms', 250, 10, 60_000);
  const maxLineBytes = r.bytes('max_line_bytes', 16 * 1024 * 1024, 1024, 1024 ** 3);
  r.rejectUnknown();
  return path === undefined ? undefined : { path, startAt, pollIntervalMs, maxLineBytes };
}

export interface ValidateOptions {
  /** The config file, for messages. */
  readonly file?: string;
  /** Whose default rules apply when no rules_files is set: the analyzer's (k8s_audit) or the agent's (syscall). */
  readonly defaultRulesSource?: 'k8s_audit' | 'syscall';
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Validates a merged config tree (see `load.ts`) and returns the typed
 * config. Output keys are left in `raw` for the outputs module. Throws
 * {@link ConfigError}.
 */
export function validateConfig(raw: Raw, options: ValidateOptions = {}): TiercelConfig {
  const file = options.file;
  const env = options.env ?? process.env;
  const top = new MapReader(raw, '', file);
  const warnings: string[] = [];

  let rulesFiles = top.stringList('rules_files');
  const legacy = top.stringList('rules_file');
  if (legacy !== undefined) {
    if (rulesFiles === undefined) {
      rulesFiles = legacy;
      warnings.push('rules_file is deprecated (as in Falco): use rules_files');
    } else {
      warnings.push('rules_file is ignored because rules_files is set');
    }
  }
  if (rulesFiles === undefined) rulesFiles = [DEFAULT_RULES[options.defaultRulesSource ?? 'k8s_audit']!];
  if (rulesFiles.length === 0) throw top.error('rules_files', 'no rules files: list at least one file or directory');

  const ruleMatching = top.oneOf('rule_matching', ['first', 'all'] as const, 'first');
  const priorityText = top.string('priority', 'debug');
  const minPriority = parsePriority(priorityText);
  if (!minPriority) {
    throw top.error('priority', `expected emergency, alert, critical, error, warning, notice, informational (info) or debug, got "${priorityText}"`);
  }
  const selections = readSelections(top.get('rules'), file);
  const watchConfigFiles = top.bool('watch_config_files', true);
  const watchIntervalMs = top.int('watch_interval_ms', 1000, 50, 3_600_000);

  const webhook = readWebhook(top.map('webhook'), env);
  const q = top.map('queue');
  const queue = {
    capacity: q.int('capacity', DEFAULT_QUEUE_CAPACITY, 1, 10_000_000),
    maxBytes: q.bytes('max_bytes', DEFAULT_QUEUE_MAX_BYTES, 1024),
  };
  q.rejectUnknown();
  const d = top.map('dedup');
  const dedupCapacity = d.int('capacity', DEFAULT_DEDUP_CAPACITY, 0, 100_000_000);
  d.rejectUnknown();
  const auditLog = readAuditLog(top.map('audit_log'));

  const levelText = top.string('log_level', 'info').toLowerCase();
  const logLevel = LOG_LEVELS[levelText];
  if (!logLevel) throw top.error('log_level', `expected one of ${Object.keys(LOG_LEVELS).join(', ')}, got "${levelText}"`);
  const logFormat = top.oneOf('log_format', ['auto', 'json', 'pretty'] as const, 'auto');

  const webserver = top.map('webserver');
  const agent = readAgentConfig(top.map('agent'), webserver, top.map('syscall_event_drops'), top.map('base_syscalls'), env, warnings);
  for (const k of webserver.unread()) webserver.get(k);
  const incidents = readIncidentsConfig(top, env);

  for (const k of OUTPUT_KEYS) top.get(k);
  const parsedOutputs = parseOutputsConfig(raw, '');
  if (!parsedOutputs.config) throw configErrors(parsedOutputs.errors, file);
  const outputs = parsedOutputs.config;
  for (const k of top.unread()) {
    if (!IGNORED_FALCO_KEYS.has(k)) warnings.push(`${k}: unknown key, ignored`);
  }

  return {
    file, rulesFiles, ruleMatching, minPriority, selections, watchConfigFiles, watchIntervalMs,
    webhook, queue, dedupCapacity, auditLog, logLevel, logFormat, outputs, agent, incidents, raw, warnings,
  };
}
