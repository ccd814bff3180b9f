/**
 * `tiercel serve` assembled: rules, outputs, the evaluation pipeline, the
 * HTTP(S) server with the audit webhook, the optional audit-log tailer, and
 * hot reload of rules (and TLS certificates) when their files change.
 */
import type { Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { FileTailer } from '../audit/tail.js';
import { createWebhookHandler, rejectedCount, WEBHOOK_PATH } from '../audit/webhook.js';
import { createAuthenticator } from '../audit/webhook-auth.js';
import { WebhookInputError, decodeWebhookBody } from '../audit/webhook-body.js';
import type { TiercelConfig } from '../config/schema.js';
import { isLoopback } from '../config/schema.js';
import type { Outputs } from '../outputs/index.js';
import { OutputsStartError, startOutputsThread } from './outputs-thread.js';
import { createRegistry } from '../sources.js';
import { BurstLog } from './burst-log.js';
import { createApp, createServer, listen, tlsOptions } from './http.js';
import { ServerMetrics } from './metrics.js';
import { Pipeline } from './pipeline.js';
import { loadRuleset, type RulesSettings } from './rules.js';
import { PollingWatcher } from './watch.js';
import { type IncidentsRuntime, startIncidents } from './incidents.js';

/** Startup failed for a reason the operator must fix; `details` are printed line by line. */
export class StartupError extends Error {
  constructor(message: string, readonly details: readonly string[] = []) {
    super(message);
    this.name = 'StartupError';
  }
}

export interface StartOptions {
  readonly config: TiercelConfig;
  readonly logger: Logger;
  /** Re-reads the configuration, for hot reload (absent without a config file). */
  readonly rebuildConfig?: () => TiercelConfig;
  /** Whether logs are pretty-printed (the outputs thread logs the same way). */
  readonly prettyLogs?: boolean;
}

/** Keys whose changes a reload applies; others are reported as needing a restart. */
const RELOADABLE_KEYS = new Set([
  'rules_files', 'rules_file', 'rule_matching', 'priority', 'rules', 'log_level', 'watch_config_files', 'watch_interval_ms',
]);

function changedKeys(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k])).sort();
}

export class TiercelServer {
  private readonly registry = createRegistry();
  private closing = false;
  private stopping: Promise<void> | undefined;
  private readonly badInput = new Map<string, BurstLog>();
  private unauthorizedLog: BurstLog;
  private tailer: FileTailer | undefined;
  private watcher: PollingWatcher | undefined;
  private server: Server | HttpsServer | undefined;
  private pipeline!: Pipeline;
  private outputs!: Outputs;
  private incidents: IncidentsRuntime | undefined;
  address!: AddressInfo;
  rulesFilesLoaded: readonly string[] = [];
  enabledRules = 0;

  private constructor(
    private config: TiercelConfig,
    readonly logger: Logger,
    readonly metrics: ServerMetrics,
    private readonly rebuildConfig: (() => TiercelConfig) | undefined,
  ) {
    this.unauthorizedLog = new BurstLog(logger, 'webhook request refused: not authenticated');
  }

  /** Loads everything and starts listening. Throws {@link StartupError} (or a listen error). */
  static async start(options: StartOptions): Promise<TiercelServer> {
    const { config, logger } = options;
    const self = new TiercelServer(config, logger, new ServerMetrics(), options.rebuildConfig);
    for (const w of config.warnings) logger.warn(`config: ${w}`);

    const rules = loadRuleset(config, self.registry);
    if (!rules.ok) throw new StartupError(`rules could not be loaded (${rules.errors.length} errors)`, rules.errors);
    for (const w of rules.warnings) logger.debug(`rules: ${w}`);
    self.noteRules(rules.files, rules.ruleset.enabledRules.length, rules.loaded, rules.warnings.length);

    try {
      self.outputs = await startOutputsThread({
        config: config.outputs,
        metrics: self.metrics,
        logger: logger.child({ component: 'outputs' }),
        logLevel: config.logLevel,
        pretty: options.prettyLogs ?? false,
      });
    } catch (e) {
      if (e instanceof OutputsStartError) throw new StartupError(`invalid configuration: ${e.message}`);
      throw e;
    }
    if (config.incidents.enabled) {
      try {
        self.incidents = await startIncidents(config.incidents, logger, self.metrics);
      } catch (e) {
        await self.outputs.close();
        throw new StartupError(`incident store: ${(e as Error).message}`, [
          'set store.url (or --store) to a reachable store, or incidents.enabled: false to run without one',
        ]);
      }
    }
    const incidents = self.incidents;
    self.pipeline = new Pipeline({
      ...(incidents ? { observe: (evt, alerts) => incidents.observe(evt, alerts) } : {}),
      capacity: config.queue.capacity,
      maxBytes: config.queue.maxBytes,
      dedupCapacity: config.dedupCapacity,
      ruleset: rules.ruleset,
      outputs: self.outputs,
      metrics: self.metrics,
      logger,
    });

    try {
      await self.startHttp();
    } catch (e) {
      await self.outputs.close();
      await self.incidents?.stop();
      throw e;
    }
    if (config.auditLog) self.startTailer();
    if (config.watchConfigFiles) {
      self.watcher = new PollingWatcher(() => self.watchedPaths(), config.watchIntervalMs, async () => {
        await self.reload('file change');
      });
      self.watcher.start();
    }
    return self;
  }

  /** `http://127.0.0.1:9765` — where the server can be reached (a wildcard address becomes loopback). */
  get baseUrl(): string {
    const scheme = this.config.webhook.tls ? 'https' : 'http';
    let host = this.address.address;
    if (host === '0.0.0.0' || host === '') host = '127.0.0.1';
    if (host === '::') host = '::1';
    return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${this.address.port}`;
  }

  get webhookUrl(): string {
    return this.baseUrl + WEBHOOK_PATH;
  }

  /** The query API's base URL, when incidents are enabled. */
  get apiUrl(): string | undefined {
    return this.incidents ? this.baseUrl + '/api/v1' : undefined;
  }

  /** The generated API token's file, when no tokens were configured. */
  get apiTokenFile(): string | undefined {
    return this.incidents?.tokenFile;
  }

  get outputNames(): readonly string[] {
    return this.outputs.names;
  }

  get currentConfig(): TiercelConfig {
    return this.config;
  }

  private noteRules(files: readonly string[], enabled: number, loaded: number, warnings: number): void {
    this.rulesFilesLoaded = files;
    this.enabledRules = enabled;
    this.metrics.rulesEnabled.set(enabled);
    this.metrics.rulesLastLoad.set(Date.now() / 1000);
    this.metrics.rulesReloads.labels('success').inc();
    this.logger.info({ files, rules: loaded, enabled, warnings }, `rules loaded: ${enabled} of ${loaded} enabled`);
  }

  private badInputLog(code: string): BurstLog {
    let log = this.badInput.get(code);
    if (!log) {
      log = new BurstLog(this.logger, `bad audit input (${code})`);
      this.badInput.set(code, log);
    }
    return log;
  }

  private async startHttp(): Promise<void> {
    const { webhook } = this.config;
    const metrics = this.metrics;
    const authenticate = createAuthenticator({
      bearerToken: webhook.auth.bearerToken,
      clientCert: webhook.tls?.clientCaFile !== undefined,
      allowedCommonNames: webhook.auth.allowedCommonNames,
    });
    const handler = webhook.enabled
      ? createWebhookHandler({
          maxBodyBytes: webhook.maxBodyBytes,
          maxNestingDepth: webhook.maxNestingDepth,
          authenticate,
          offer: (events, bytes) => this.pipeline.offer(events, bytes, 'webhook'),
          queueFull: () => this.pipeline.full,
          retryAfterSeconds: () => 1,
          observer: {
            received: (n) => metrics.eventsReceived.labels('webhook').inc(n),
            invalidEvents: (n) => metrics.eventsRejected.labels('webhook', 'invalid_event').inc(n),
            answered: (status, seconds) => {
              metrics.requests.labels(String(status)).inc();
              metrics.requestDuration.observe(seconds);
            },
            unauthorized: (reason) => {
              metrics.unauthorized.labels(reason).inc();
              this.unauthorizedLog.report({ reason });
            },
            badInput: (code, details) => this.badInputLog(code).report(details),
          },
        })
      : undefined;
    const app = createApp({
      webhook: handler,
      metrics,
      readiness: () => {
        const reasons: string[] = [];
        if (this.closing) reasons.push('shutting down');
        if (this.pipeline.full) reasons.push('the evaluation queue is full');
        return reasons;
      },
      onError: (err) => this.logger.error({ err }, 'unexpected error while answering a request'),
      ...(this.incidents ? { api: this.incidents.router, ui: this.incidents.ui } : {}),
    });
    try {
      this.server = createServer(app, webhook.tls);
    } catch (e) {
      throw new StartupError(`webhook.tls: cannot use the certificate or key: ${(e as Error).message}`);
    }
    this.server.on('clientError', (err, socket) => {
      // Malformed HTTP, TLS handshake failures: answer if possible, never crash.
      if (socket.writable && !(err as NodeJS.ErrnoException).code?.startsWith('ERR_SSL')) {
        socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: application/json\r\n\r\n{"error":"bad_request","message":"malformed HTTP request"}');
      } else {
        socket.destroy();
      }
    });
    try {
      this.address = await listen(this.server, webhook.listen.host, webhook.listen.port);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      const what = err.code === 'EADDRINUSE' ? 'the address is already in use' : err.message;
      throw new StartupError(`webhook.listen: cannot listen on ${webhook.listen.host || '*'}:${webhook.listen.port}: ${what} (choose another with --listen HOST:PORT)`);
    }
    if (!authenticate && webhook.enabled && !isLoopback(this.address.address)) {
      this.logger.warn({ address: this.address.address },
        'the audit webhook accepts unauthenticated requests on a non-loopback address: configure webhook.tls.client_ca_file or webhook.auth.bearer_token_env');
    }
  }

  private startTailer(): void {
    const cfg = this.config.auditLog!;
    const metrics = this.metrics;
    const log = this.logger.child({ component: 'audit_log' });
    const badLine = new BurstLog(log, 'bad line in the audit log');
    const maxNestingDepth = this.config.webhook.maxNestingDepth;
    this.tailer = new FileTailer({
      path: cfg.path,
      startAt: cfg.startAt,
      pollIntervalMs: cfg.pollIntervalMs,
      maxLineBytes: cfg.maxLineBytes,
      onNotice: (kind, details) => {
        if (kind === 'rotated' || kind === 'truncated') metrics.auditLogReopens.labels(kind).inc();
        if (kind === 'line_too_long') {
          metrics.eventsRejected.labels('audit_log', 'invalid_event').inc();
          badLine.report({ ...details, problem: 'line too long' });
        } else if (kind === 'error') {
          log.error(details, 'cannot read the audit log; retrying');
        } else {
          log.info(details, `audit log ${kind}`);
        }
      },
      onLines: async (lines) => {
        const events = [];
        let bytes = 0;
        let invalid = 0;
        for (const line of lines) {
          metrics.auditLogLines.inc();
          if (line.length === 0 || (line.length < 4 && line.toString().trim() === '')) continue;
          bytes += line.length;
          try {
            const r = decodeWebhookBody(line, { maxNestingDepth });
            for (const e of r.events) events.push(e);
            if (r.problems) {
              invalid += rejectedCount(r);
              badLine.report({ problem: r.error });
            }
          } catch (e) {
            invalid++;
            badLine.report({ problem: e instanceof WebhookInputError ? e.message : String(e) });
          }
        }
        metrics.eventsReceived.labels('audit_log').inc(events.length + invalid);
        if (invalid) metrics.eventsRejected.labels('audit_log', 'invalid_event').inc(invalid);
        if (events.length === 0) return;
        for (;;) {
          await this.pipeline.waitForSpace(events.length);
          const r = this.pipeline.offer(events, bytes, 'audit_log');
          if (r.ok || r.reason === 'closed') return;
        }
      },
    });
    this.tailer.start();
  }

  private watchedPaths(): string[] {
    const c = this.config;
    const paths = [...c.rulesFiles];
    if (c.file) paths.push(c.file);
    if (c.webhook.tls) {
      paths.push(c.webhook.tls.certFile, c.webhook.tls.keyFile);
      if (c.webhook.tls.clientCaFile) paths.push(c.webhook.tls.clientCaFile);
    }
    return paths;
  }

  /**
   * Re-reads the config file (if any) and the rules, and the TLS files.
   * On any error the running configuration and rules stay, and the errors
   * are logged. Resolves to whether new rules are running.
   */
  async reload(trigger: string): Promise<boolean> {
    if (this.closing) return false;
    const log = this.logger;
    let next = this.config;
    if (this.rebuildConfig) {
      try {
        next = this.rebuildConfig();
      } catch (e) {
        this.metrics.rulesReloads.labels('failure').inc();
        log.error({ trigger, error: (e as Error).message }, `config reload failed, keeping the running configuration: ${(e as Error).message}`);
        return false;
      }
      const restart = changedKeys(this.config.raw, next.raw).filter((k) => !RELOADABLE_KEYS.has(k));
      if (restart.length) log.warn({ keys: restart }, `config changes that need a restart to apply: ${restart.join(', ')}`);
    }
    this.reloadTls();
    const settings: RulesSettings = next;
    const rules = loadRuleset(settings, this.registry);
    if (!rules.ok) {
      this.metrics.rulesReloads.labels('failure').inc();
      log.error({ trigger, files: rules.files, errors: rules.errors },
        `rules reload failed, keeping the running rules (${rules.errors.length} errors): ${rules.errors[0] ?? ''}`);
      return false;
    }
    this.pipeline.setRuleset(rules.ruleset);
    this.config = {
      ...this.config,
      rulesFiles: next.rulesFiles,
      ruleMatching: next.ruleMatching,
      minPriority: next.minPriority,
      selections: next.selections,
      logLevel: next.logLevel,
      raw: next.raw,
    };
    log.level = next.logLevel;
    this.noteRules(rules.files, rules.ruleset.enabledRules.length, rules.loaded, rules.warnings.length);
    return true;
  }

  private reloadTls(): void {
    const tls = this.config.webhook.tls;
    const server = this.server as HttpsServer | undefined;
    if (!tls || !server || typeof server.setSecureContext !== 'function') return;
    try {
      const { cert, key, ca } = tlsOptions(tls);
      server.setSecureContext({ cert, key, ...(ca ? { ca } : {}) });
    } catch (e) {
      this.logger.error({ error: (e as Error).message }, 'cannot reload the TLS certificate; keeping the running one');
    }
  }

  /**
   * Graceful stop: refuse new batches (503), stop listening and tailing,
   * evaluate everything already accepted, deliver it (bounded by the
   * outputs' timeout), close the outputs.
   */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    this.closing = true;
    this.watcher?.stop();
    this.pipeline.close();
    const closed = new Promise<void>((resolve) => {
      if (!this.server) return resolve();
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
    });
    const force = setTimeout(() => this.server?.closeAllConnections(), 5000);
    force.unref();
    await this.tailer?.stop();
    await this.pipeline.drain();
    this.logger.info({ evaluated: await this.counter('tiercel_audit_events_evaluated_total') }, 'all accepted events evaluated; closing outputs');
    await this.outputs.close();
    await this.incidents?.stop();
    await closed;
    clearTimeout(force);
  }

  private async counter(name: string): Promise<number> {
    const m = await this.metrics.registry.getSingleMetric(name)?.get();
    return m?.values.reduce((a, v) => a + v.value, 0) ?? 0;
  }
}
