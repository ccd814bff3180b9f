/**
 * `tiercel serve`: the analyzer. Receives audit events from the apiserver's
 * webhook backend (and optionally tails its log backend), evaluates them with
 * the k8s_audit rules, and delivers alerts to the configured outputs.
 *
 * Settings come from embedded defaults, then `--config FILE`, then
 * `--option key=value`, then the dedicated flags below (see config/load.ts).
 */
import { Option, type Command } from 'commander';
import { ConfigError } from '../../config/errors.js';
import { buildConfig } from '../../config/load.js';
import type { TiercelConfig } from '../../config/schema.js';
import { setHostname } from '../../engine/generic-fields.js';
import { SERVE_GROWING_PERCENT, tuneHeap } from '../heap.js';
import type { RuleSelection } from '../../engine/ruleset.js';
import { SAMPLE_AUDIT_LOG } from '../../paths.js';
import { createLogger, isPretty, type Logger } from '../../server/logger.js';
import { StartupError, TiercelServer } from '../../server/server.js';

interface ServeOptions {
  config?: string;
  listen?: string;
  rules?: string[];
  ruleMatching?: 'first' | 'all';
  output?: 'text' | 'json';
  priority?: string;
  enableRule?: string[];
  disableRule?: string[];
  enableTag?: string[];
  disableTag?: string[];
  auditLog?: string;
  option?: string[];
  tlsCert?: string;
  tlsKey?: string;
  clientCa?: string;
  tokenEnv?: string;
  logLevel?: string;
  logFormat?: 'auto' | 'json' | 'pretty';
  dryRun?: boolean;
  store?: string;
  dataDir?: string;
  incidents?: boolean;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function registerServeCommand(program: Command, setExit: (code: number) => void): void {
  program
    .command('serve')
    .description('run the analyzer: audit webhook (POST /k8s-audit), k8s_audit rules, outputs, /healthz /readyz /metrics')
    .option('-c, --config <file>', 'configuration file (tiercel.yaml; Falco key names where they exist)')
    .option('--listen <host:port>', 'webhook listen address (default 127.0.0.1:9765; port 0 picks a free one)')
    .option('-r, --rules <file>', 'rules file or directory (repeatable; replaces rules_files)', collect)
    .addOption(new Option('--rule-matching <mode>', "'first' (Falco's default) or 'all'").choices(['first', 'all']))
    .addOption(new Option('-o, --output <format>', 'alert format of the outputs (sets json_output)').choices(['text', 'json']))
    .option('--priority <level>', 'minimum priority of the rules to load (Falco priority)')
    .option('--enable-rule <pattern>', 'enable rules whose name matches (* wildcards; repeatable)', collect)
    .option('--disable-rule <pattern>', 'disable rules whose name matches (* wildcards; repeatable)', collect)
    .option('--enable-tag <tag>', 'enable rules with this tag (repeatable)', collect)
    .option('--disable-tag <tag>', 'disable rules with this tag (repeatable)', collect)
    .option('--audit-log <file>', "also follow the apiserver's audit log file (log backend; rotation and truncation handled)")
    .option('--option <key=value>', 'set any config key, as Falco -o (e.g. file_output.enabled=true; repeatable)', collect)
    .option('--tls-cert <file>', 'serve HTTPS with this certificate (webhook.tls.cert_file)')
    .option('--tls-key <file>', 'private key of --tls-cert (webhook.tls.key_file)')
    .option('--client-ca <file>', 'authenticate clients by certificates signed by this CA (webhook.tls.client_ca_file)')
    .option('--token-env <name>', 'require the bearer token held in this environment variable (webhook.auth.bearer_token_env)')
    .option('--log-level <level>', 'log level (Falco log_level names or pino names)')
    .addOption(new Option('--log-format <format>', 'log format; auto = readable on a terminal, JSON otherwise').choices(['auto', 'json', 'pretty']))
    .option('--store <spec>', 'incident store: postgres://URL, sqlite:PATH or a file path (store.url; default SQLite in --data-dir)')
    .option('--data-dir <dir>', 'where the SQLite store and the generated API token live (data_dir; default ./data)')
    .option('--no-incidents', 'run without the incident store and query API (incidents.enabled: false)')
    .option('--dry-run', 'check the configuration and the rules, then exit')
    .action(async (opts: ServeOptions) => {
      setExit(await serve(opts));
    });
}

/** Dedicated flags as config key paths (applied over the file and --option). */
function flagSettings(opts: ServeOptions): [string, unknown][] {
  const s: [string, unknown][] = [];
  if (opts.listen !== undefined) s.push(['webhook.listen', opts.listen]);
  if (opts.rules?.length) s.push(['rules_files', opts.rules]);
  if (opts.ruleMatching !== undefined) s.push(['rule_matching', opts.ruleMatching]);
  if (opts.output !== undefined) s.push(['json_output', opts.output === 'json']);
  if (opts.priority !== undefined) s.push(['priority', opts.priority]);
  if (opts.auditLog !== undefined) s.push(['audit_log.path', opts.auditLog]);
  if (opts.tlsCert !== undefined) s.push(['webhook.tls.cert_file', opts.tlsCert]);
  if (opts.tlsKey !== undefined) s.push(['webhook.tls.key_file', opts.tlsKey]);
  if (opts.clientCa !== undefined) s.push(['webhook.tls.client_ca_file', opts.clientCa]);
  if (opts.tokenEnv !== undefined) s.push(['webhook.auth.bearer_token_env', opts.tokenEnv]);
  if (opts.logLevel !== undefined) s.push(['log_level', opts.logLevel]);
  if (opts.logFormat !== undefined) s.push(['log_format', opts.logFormat]);
  if (opts.store !== undefined) s.push(['store.url', opts.store]);
  if (opts.dataDir !== undefined) s.push(['data_dir', opts.dataDir]);
  if (opts.incidents === false) s.push(['incidents.enabled', false]);
  return s;
}

function flagSelections(opts: ServeOptions): RuleSelection[] {
  return [
    ...(opts.disableTag ?? []).map((tag) => ({ action: 'disable' as const, tag })),
    ...(opts.enableTag ?? []).map((tag) => ({ action: 'enable' as const, tag })),
    ...(opts.disableRule ?? []).map((rule) => ({ action: 'disable' as const, rule })),
    ...(opts.enableRule ?? []).map((rule) => ({ action: 'enable' as const, rule })),
  ];
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * A copy-paste command that posts the bundled sample audit events (JSON lines)
 * as one EventList. Needs only a POSIX shell, `paste` and `curl`.
 */
export function sampleCommand(server: TiercelServer): string {
  const c = server.currentConfig;
  const curl = ['curl', '-sS'];
  if (c.webhook.tls) {
    curl.push('--cacert', 'CA.crt');
    if (c.webhook.tls.clientCaFile) curl.push('--cert', 'CLIENT.crt', '--key', 'CLIENT.key');
  }
  if (c.webhook.auth.bearerTokenEnv) curl.push('-H', `"Authorization: Bearer $${c.webhook.auth.bearerTokenEnv}"`);
  curl.push('-H', "'Content-Type: application/json'", '--data-binary', '@-', server.webhookUrl);
  return `{ printf '{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":['; ` +
    `paste -s -d, ${shellQuote(SAMPLE_AUDIT_LOG)}; printf ']}'; } | ${curl.join(' ')}`;
}

function printBanner(server: TiercelServer, logger: Logger, pretty: boolean): void {
  const command = sampleCommand(server);
  const details = {
    url: server.baseUrl,
    webhook: server.webhookUrl,
    ...(server.apiUrl ? { api: server.apiUrl, ui: `${server.baseUrl}/` } : {}),
    ...(server.apiTokenFile ? { apiTokenFile: server.apiTokenFile } : {}),
    rules: server.enabledRules,
    outputs: server.outputNames,
  };
  const message = `listening on ${server.baseUrl} (audit webhook: POST ${server.webhookUrl})`;
  if (pretty) logger.info(message);
  else logger.info({ ...details, try: command }, message);
  if (pretty) {
    process.stderr.write(
      `\nTiercel is listening: POST audit EventLists to ${server.webhookUrl}\n` +
      `  health ${server.baseUrl}/healthz, readiness ${server.baseUrl}/readyz, metrics ${server.baseUrl}/metrics\n` +
      `  ${server.enabledRules} rules enabled; alerts go to: ${server.outputNames.join(', ') || 'no output'}` +
      `${server.apiUrl ? ' and the incident store' : ''}\n` +
      (server.apiUrl
        ? `  web UI: ${server.baseUrl}/   incidents: tiercel incidents list   (query API ${server.apiUrl})\n` +
          (server.apiTokenFile ? `  sign in with the token in ${server.apiTokenFile}\n` : '')
        : '') +
      '\n' +
      `Send it the bundled sample (a day in a small cluster, with an attack in it) from another terminal:\n\n` +
      `  ${command}\n\n`,
    );
  }
}

async function serve(opts: ServeOptions): Promise<number> {
  const host = process.env['TIERCEL_HOSTNAME'] ?? process.env['FALCO_HOSTNAME'];
  if (host) setHostname(host);
  const heapError = tuneHeap(SERVE_GROWING_PERCENT);
  if (heapError) {
    process.stderr.write(`tiercel: ${heapError}\n`);
    return 1;
  }

  const selections = flagSelections(opts);
  const build = (): TiercelConfig => {
    const c = buildConfig({
      ...(opts.config !== undefined ? { file: opts.config } : {}),
      options: opts.option ?? [],
      flags: flagSettings(opts),
    });
    return selections.length ? { ...c, selections: [...c.selections, ...selections] } : c;
  };

  let config: TiercelConfig;
  try {
    config = build();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`tiercel: invalid configuration: ${e.message}\n`);
      return 1;
    }
    throw e;
  }

  const logger = createLogger({ level: config.logLevel, format: config.logFormat });
  const pretty = isPretty({ level: config.logLevel, format: config.logFormat });

  if (opts.dryRun) {
    const { loadRuleset } = await import('../../server/rules.js');
    const { createRegistry } = await import('../../sources.js');
    for (const w of config.warnings) process.stderr.write(`tiercel: warning: config: ${w}\n`);
    const rules = loadRuleset(config, createRegistry());
    if (!rules.ok) {
      for (const e of rules.errors) process.stderr.write(e + '\n');
      process.stderr.write(`tiercel: rules could not be loaded (${rules.errors.length} errors)\n`);
      return 1;
    }
    process.stderr.write(`configuration ok: ${rules.ruleset.enabledRules.length} rules enabled from ${rules.files.length} files\n`);
    return 0;
  }

  let server: TiercelServer;
  try {
    server = await TiercelServer.start({
      config, logger, prettyLogs: pretty,
      ...(opts.config !== undefined ? { rebuildConfig: build } : {}),
    });
  } catch (e) {
    if (e instanceof StartupError) {
      for (const d of e.details) process.stderr.write(d + '\n');
      process.stderr.write(`tiercel: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  printBanner(server, logger, pretty);

  return new Promise<number>((resolve) => {
    let signals = 0;
    const onStop = (signal: NodeJS.Signals): void => {
      signals++;
      if (signals > 1) {
        logger.warn(`${signal} again: exiting without waiting`);
        process.exit(130);
      }
      logger.info({ signal }, 'stopping: evaluating what was accepted, then closing the outputs');
      server.stop().then(
        () => {
          logger.info('stopped');
          cleanup();
          resolve(0);
        },
        (err: unknown) => {
          logger.error({ err }, 'error while stopping');
          cleanup();
          resolve(1);
        },
      );
    };
    const onHup = (): void => {
      logger.info('SIGHUP: reloading the configuration and rules');
      void server.reload('SIGHUP');
    };
    const cleanup = (): void => {
      process.removeListener('SIGTERM', onStop);
      process.removeListener('SIGINT', onStop);
      process.removeListener('SIGHUP', onHup);
    };
    process.on('SIGTERM', onStop);
    process.on('SIGINT', onStop);
    process.on('SIGHUP', onHup);
  });
}
