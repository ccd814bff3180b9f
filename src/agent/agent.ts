/**
 * `tiercel agent` assembled: the node agent. Loads the syscall rules, starts
 * the outputs, opens the eBPF sensor with the syscalls the rules and the
 * state need, seeds the state from /proc, then evaluates every batch the
 * sensor delivers. Serves /healthz, /readyz and /metrics, watches the
 * sensor's drop counters, and reloads rules on SIGHUP or file change
 * (updating the in-kernel filter to the new rules).
 */
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { hostname as osHostname } from 'node:os';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { TiercelConfig } from '../config/schema.js';
import { formatListen } from '../config/schema.js';
import { getHostname } from '../engine/generic-fields.js';
import type { Ruleset } from '../engine/ruleset.js';
import type { Outputs } from '../outputs/index.js';
import type { Alert } from '../engine/alert.js';
import { AnalyzerForwarder } from './forwarder.js';
import { addFallbackHandlers, addHealthRoutes, baseApp, createServer, listen } from '../server/http.js';
import { OutputsStartError, startOutputsThread } from '../server/outputs-thread.js';
import { loadRuleset } from '../server/rules.js';
import { StartupError } from '../server/server.js';
import { PollingWatcher } from '../server/watch.js';
import { createRegistry } from '../sources.js';
import { CaptureWriter } from '../syscall/capture.js';
import { encodeAccounts } from '../syscall/capture-meta.js';
import { type BaseSyscalls, captureSet } from '../syscall/capture-set.js';
import { PSEUDO_EVENTS } from '../syscall/event-types.js';
import type { Sensor } from '../syscall/native/index.js';
import { WIRE_VERSION } from '../syscall/record.js';
import type { SyscallState } from '../syscall/state/index.js';
import { MetadataFileError, type MetadataProvider, StaticMetadataProvider } from '../syscall/state/metadata.js';
import type { HostSnapshot } from '../syscall/state/snapshot.js';
import { DropMonitor, dropAlert } from './drops.js';
import { BatchQueue } from './batch-queue.js';
import { BatchEvaluator } from './evaluator.js';
import { openLiveStream, sensorAddon } from './live.js';
import { AgentMetrics } from './metrics.js';

export interface AgentStartOptions {
  readonly config: TiercelConfig;
  readonly logger: Logger;
  /** Re-reads the configuration for reloads (absent without a config file). */
  readonly rebuildConfig?: () => TiercelConfig;
  readonly prettyLogs?: boolean;
  /** Called when a `syscall_event_drops` action is `exit`. Default: process.exit(1). */
  readonly exit?: (code: number) => void;
}

/** Event types the sensor records for a ruleset: what the rules can match plus what the state needs. */
export function interestingEventTypes(ruleset: Ruleset, base: BaseSyscalls = {}): number[] {
  return [...captureSet(ruleset, base).syscallIds, PSEUDO_EVENTS.procexit];
}

/**
 * Bytes of batches waiting for evaluation before whole batches are dropped:
 * about 0.7 s of the benchmark's 570k events/s (the rings behind it hold as
 * much again), far beyond a collection pause, then counted drops rather than
 * memory. It was 64 MiB: under a flood the rules could not keep up with, the
 * queue sat full and was most of the agent's memory growth (bench/README.md,
 * sensor overhead (d)), buying seconds of delay, not fewer drops.
 */
const MAX_QUEUED_BYTES = 16 * 1024 * 1024;

/**
 * How often, and after how long without an event, processes are checked
 * against /proc: one whose exit record was dropped would otherwise stay in
 * the state table (ThreadTable.markVanished).
 */
const VANISHED_CHECK_MS = 10_000;

/** Settings a reload applies (rules and the in-kernel filter they imply); the rest needs a restart. */
const RELOADABLE_KEYS = new Set([
  'rules_files', 'rules_file', 'rule_matching', 'priority', 'rules', 'base_syscalls', 'watch_config_files', 'watch_interval_ms',
]);

function changedKeys(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k])).sort();
}

export class NodeAgent {
  readonly metrics = new AgentMetrics();
  private readonly registry = createRegistry();
  private sensor: Sensor | undefined;
  private outputs!: Outputs;
  private forwarder: AnalyzerForwarder | undefined;
  private evaluator!: BatchEvaluator;
  private state!: SyscallState;
  private capture: CaptureWriter | undefined;
  private kubernetes: { stop(): Promise<void> } | undefined;
  private cri: { stop(): Promise<void> } | undefined;
  private server: Server | undefined;
  private watcher: PollingWatcher | undefined;
  private statsTimer: NodeJS.Timeout | undefined;
  private lastVanishedCheck = Date.now();
  private drops!: DropMonitor;
  private batches: BatchQueue | undefined;
  private running = false;
  private stopping: Promise<void> | undefined;
  address: AddressInfo | undefined;
  enabledRules = 0;
  interesting: number[] = [];
  snapshotProcesses = 0;

  private constructor(
    private config: TiercelConfig,
    readonly logger: Logger,
    private readonly options: AgentStartOptions,
  ) {}

  /** Starts everything; throws {@link StartupError} with what to fix. */
  static async start(options: AgentStartOptions): Promise<NodeAgent> {
    const self = new NodeAgent(options.config, options.logger, options);
    try {
      await self.startAll();
    } catch (e) {
      await self.stop();
      throw e;
    }
    return self;
  }

  private async startAll(): Promise<void> {
    const { config, logger } = this;
    const agentCfg = config.agent;
    for (const w of config.warnings) logger.warn(`config: ${w}`);

    const rules = loadRuleset(config, this.registry);
    if (!rules.ok) throw new StartupError(`rules could not be loaded (${rules.errors.length} errors)`, rules.errors);
    for (const w of rules.warnings) logger.debug(`rules: ${w}`);
    const ruleset = rules.ruleset;
    if (!ruleset.sources().includes('syscall')) {
      logger.warn({ files: rules.files }, 'no enabled rule for the syscall source: the agent will only keep state (is rules_files the analyzer\'s?)');
    }
    this.noteRules(rules.files, ruleset.enabledRules.length, rules.loaded);

    sensorAddon(); // fail on a missing sensor or privilege before starting anything
    let metadata: MetadataProvider | undefined;
    if (agentCfg.metadataFile) {
      try {
        metadata = StaticMetadataProvider.fromFile(agentCfg.metadataFile);
      } catch (e) {
        if (e instanceof MetadataFileError) throw new StartupError(`agent.metadata_file: ${e.message}`);
        throw e;
      }
    }
    // Pods from the API (docs/agent.md, agent.kubernetes); the metadata file, when given, wins over them.
    const staticMetadata = metadata;
    // The runtime's CRI socket (agent.cri): after the API (its fallback), or alone without it.
    let cri: MetadataProvider | undefined;
    if (agentCfg.cri) {
      const { createCriMetadataProvider } = await import('../k8s/cri/index.js');
      this.metrics.criConnected.set(0);
      const provider = await createCriMetadataProvider({
        sockets: agentCfg.cri.sockets, hostRoot: agentCfg.hostRoot, refreshMs: agentCfg.cri.refreshMs, hooks: this.metrics.cri(),
      }, logger.child({ component: 'cri' }));
      this.cri = provider;
      cri = provider;
    }
    if (agentCfg.kubernetes) {
      const k8s = agentCfg.kubernetes;
      const { KubernetesConfigError, createKubernetesMetadataProvider } = await import('../k8s/index.js');
      try {
        const pods = await createKubernetesMetadataProvider({
          ...(k8s.kubeconfig ? { kubeconfig: k8s.kubeconfig } : {}),
          ...(k8s.nodeName ? { nodeName: k8s.nodeName } : {}),
          ...(staticMetadata ? { override: staticMetadata } : {}),
          ...(cri ? { fallback: cri } : {}),
          hooks: this.metrics.podWatcher(),
        }, logger.child({ component: 'kubernetes' }));
        this.kubernetes = pods;
        metadata = pods.provider;
      } catch (e) {
        if (!(e instanceof KubernetesConfigError)) throw e;
        if (k8s.required) throw new StartupError(`agent.kubernetes: ${e.message}`);
        logger.warn(`agent.kubernetes: ${e.message}: no pod metadata from the API`);
      }
    }
    // Without the API (off, or no usable configuration) the CRI serves alone, after the metadata file.
    if (cri && !this.kubernetes) {
      const { LayeredMetadataProvider } = await import('../k8s/pod-metadata-provider.js');
      metadata = staticMetadata ? new LayeredMetadataProvider([staticMetadata, cri]) : cri;
    }

    try {
      this.outputs = await startOutputsThread({
        config: config.outputs,
        metrics: this.metrics,
        logger: logger.child({ component: 'outputs' }),
        logLevel: config.logLevel,
        pretty: this.options.prettyLogs ?? false,
      });
    } catch (e) {
      if (e instanceof OutputsStartError) throw new StartupError(`invalid configuration: ${e.message}`);
      throw e;
    }

    if (agentCfg.analyzer) {
      this.forwarder = new AnalyzerForwarder(agentCfg.analyzer, logger.child({ component: 'analyzer' }), this.metrics.forwarder());
    }

    this.interesting = interestingEventTypes(ruleset, agentCfg.baseSyscalls);
    // Accounts the live state reads while capturing go into the capture too (capture-meta.ts).
    const accountsLearned = new Set<string | undefined>();
    const live = await openLiveStream({
      ...(agentCfg.captureFile ? { onAccountsChanged: (id: string | undefined) => accountsLearned.add(id) } : {}),
      interesting: this.interesting,
      ringBytes: agentCfg.ringBytes,
      cpusPerRing: agentCfg.cpusPerRing,
      syscallAttach: agentCfg.syscallAttach,
      hostRoot: agentCfg.hostRoot,
      maxProcesses: agentCfg.maxProcesses,
      logger,
      ...(metadata ? { metadata } : {}),
    });
    this.sensor = live.sensor;
    this.noteAttachment();
    this.state = live.state;
    const snapshot = live.snapshot;
    this.snapshotProcesses = snapshot.processes.length;

    if (agentCfg.captureFile) this.capture = this.openCapture(agentCfg.captureFile, snapshot, staticMetadata);
    const capture = this.capture;
    const users = live.state.users;
    const writeToCapture = (bytes: Buffer): void => {
      if (!capture) return;
      if (accountsLearned.size) {
        const ts = bytes.readBigUInt64LE(0);
        for (const id of accountsLearned) {
          const a = id === undefined ? users.snapshotHost() : users.snapshotContainer(id);
          if (a) for (const r of encodeAccounts(ts, id, a.users, a.groups)) capture.append(r, Number.MAX_SAFE_INTEGER);
        }
        accountsLearned.clear();
      }
      if (!capture.append(bytes)) this.metrics.captureDropped.inc(bytes.length);
    };
    this.evaluator = new BatchEvaluator({
      state: this.state,
      ruleset,
      publish: (a) => this.publish(a),
      metrics: this.metrics,
      logger,
      ...(capture ? { tap: writeToCapture } : {}),
    });

    this.drops = new DropMonitor(config.agent.drops);
    const evaluator = this.evaluator;
    const batches = (this.batches = new BatchQueue({ handle: (b) => evaluator.handle(b), maxBytes: MAX_QUEUED_BYTES }));
    this.sensor.start((batch) => batches.push(batch));
    this.running = true;
    this.statsTimer = setInterval(() => this.checkStats(), agentCfg.statsIntervalMs);
    this.statsTimer.unref();
    this.checkStats();

    if (agentCfg.listen) await this.startHttp();
    if (config.watchConfigFiles) {
      this.watcher = new PollingWatcher(() => this.watchedPaths(), config.watchIntervalMs, async () => {
        await this.reload('file change');
      });
      this.watcher.start();
    }
  }

  private openCapture(path: string, snapshot: HostSnapshot, metadata: MetadataProvider | undefined): CaptureWriter {
    const containers = metadata instanceof StaticMetadataProvider ? metadata.captureEntries() : undefined;
    const writer = CaptureWriter.toFile(path, {
      format: 'tiercel-capture', version: 1, wireVersion: WIRE_VERSION, arch: 'x86_64',
      writer: 'tiercel agent', host: snapshot, ...(containers ? { containers } : {}),
    });
    this.logger.info({ path }, 'writing every evaluated record to the capture file');
    return writer;
  }

  /** `http://127.0.0.1:8765`, or undefined when the web server is off. */
  get baseUrl(): string | undefined {
    if (!this.address) return undefined;
    let host = this.address.address;
    if (host === '0.0.0.0' || host === '') host = '127.0.0.1';
    if (host === '::') host = '::1';
    return `http://${host.includes(':') ? `[${host}]` : host}:${this.address.port}`;
  }

  get outputNames(): readonly string[] {
    return this.outputs.names;
  }

  get eventsEvaluated(): number {
    return this.evaluator?.events ?? 0;
  }

  private noteRules(files: readonly string[], enabled: number, loaded: number): void {
    this.enabledRules = enabled;
    this.metrics.rulesEnabled.set(enabled);
    this.metrics.rulesLastLoad.set(Date.now() / 1000);
    this.metrics.rulesReloads.labels('success').inc();
    this.logger.info({ files, rules: loaded, enabled }, `rules loaded: ${enabled} of ${loaded} enabled`);
  }

  /** Reads the sensor's counters: metrics, and the drop actions. */
  private checkStats(): void {
    const sensor = this.sensor;
    if (!sensor || !this.running) return;
    const stats = sensor.stats();
    const m = this.metrics;
    stats.rings.forEach((r, i) => {
      m.ringUsed.labels(String(i)).set(r.used);
      m.ringSize.labels(String(i)).set(r.size);
    });
    m.queuedBatches.set(stats.queuedBatches + (this.batches?.length ?? 0));
    const threads = this.state.threads;
    m.processes.set(threads.processCount);
    m.threads.set(threads.threadCount);
    m.unknownThreads.set(threads.stats.unknownThreads);
    m.evictedProcesses.set(threads.stats.evicted);
    this.checkVanished();
    m.vanishedProcesses.set(threads.stats.vanished);

    const decision = this.drops.observe(stats, Date.now(), this.batches?.droppedRecords ?? 0);
    if (!decision) return;
    const { delta } = decision;
    for (const [category, n] of Object.entries(delta.byCategory)) if (n > 0) m.drops.labels(category).inc(n);
    if (delta.userspace > 0) m.userspaceDrops.inc(delta.userspace);
    for (const action of decision.actions) {
      if (action === 'log') {
        this.logger.error({ drops: delta.drops, events: delta.events, byCategory: delta.byCategory, userspace: delta.userspace },
          `syscall event drop: ${delta.drops} events dropped in the last ${this.config.agent.statsIntervalMs} ms (rules may miss what happened)`);
      } else if (action === 'alert') {
        const alert = dropAlert(delta, this.config.agent.statsIntervalMs, getHostname() || osHostname());
        m.alert(alert.rule, alert.priority, alert.source);
        this.publish(alert);
      } else if (action === 'exit') {
        this.logger.fatal('syscall_event_drops.actions has exit: stopping after dropped events');
        void this.stop().finally(() => (this.options.exit ?? process.exit)(1));
      }
    }
  }

  /** Marks exited the idle processes /proc no longer has (their exit record was dropped). */
  private checkVanished(): void {
    const now = Date.now();
    if (now - this.lastVanishedCheck < VANISHED_CHECK_MS) return;
    this.lastVanishedCheck = now;
    const procRoot = join(this.config.agent.hostRoot, 'proc');
    const n = this.state.threads.markVanished(now - VANISHED_CHECK_MS, (pid) => existsSync(join(procRoot, String(pid))),
      BigInt(now) * 1_000_000n);
    if (n > 0) this.logger.debug({ processes: n }, 'state: processes gone from /proc without an exit record marked exited');
  }

  private async startHttp(): Promise<void> {
    const listenAt = this.config.agent.listen!;
    const app = baseApp();
    addHealthRoutes(app, {
      metrics: this.metrics,
      readiness: () => {
        const reasons: string[] = [];
        if (!this.running) reasons.push(this.stopping ? 'shutting down' : 'the sensor is not running');
        return reasons;
      },
    });
    addFallbackHandlers(app, (err) => this.logger.error({ err }, 'unexpected error while answering a request'));
    this.server = createServer(app, undefined);
    try {
      this.address = await listen(this.server, listenAt.host, listenAt.port);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      const what = err.code === 'EADDRINUSE' ? 'the address is already in use' : err.message;
      throw new StartupError(`webserver: cannot listen on ${formatListen(listenAt)}: ${what} (set webserver.listen_port, or --listen HOST:PORT)`);
    }
  }

  private watchedPaths(): string[] {
    const paths = [...this.config.rulesFiles];
    if (this.config.file) paths.push(this.config.file);
    return paths;
  }

  /** Reloads the configuration's rules; keeps the running ones when the new ones fail. */
  async reload(trigger: string): Promise<boolean> {
    if (!this.running) return false;
    let next = this.config;
    if (this.options.rebuildConfig) {
      try {
        next = this.options.rebuildConfig();
      } catch (e) {
        this.logger.error({ trigger }, `config reload failed, keeping the running configuration: ${(e as Error).message}`);
        return false;
      }
    }
    const rules = loadRuleset(next, this.registry);
    if (!rules.ok) {
      this.metrics.rulesReloads.labels('failure').inc();
      for (const e of rules.errors) this.logger.error({ trigger }, e);
      this.logger.error({ trigger }, `rules reload failed, keeping the running rules (${rules.errors.length} errors)`);
      return false;
    }
    const restart = changedKeys(this.config.raw, next.raw).filter((k) => !RELOADABLE_KEYS.has(k));
    if (restart.length) {
      this.logger.warn({ trigger, keys: restart }, `changed settings that apply only after a restart: ${restart.join(', ')}`);
    }
    const interesting = interestingEventTypes(rules.ruleset, next.agent.baseSyscalls);
    const before = this.sensor?.attachMode();
    try {
      this.sensor?.setInteresting(interesting);
    } catch (e) {
      // agent.syscall_attach: fexit, and a new rule needs a syscall without a fexit program.
      this.metrics.rulesReloads.labels('failure').inc();
      this.logger.error({ trigger }, `rules reload failed, keeping the running rules: ${(e as Error).message}`);
      return false;
    }
    this.config = next;
    this.evaluator.ruleset = rules.ruleset;
    this.interesting = interesting;
    this.noteAttachment(before);
    this.noteRules(rules.files, rules.ruleset.enabledRules.length, rules.loaded);
    return true;
  }

  /** Metrics for the sensor's attach mode, and a log line when it is new or changed (auto follows the rules' syscalls). */
  private noteAttachment(before?: 'fexit' | 'sys_exit'): void {
    if (!this.sensor) return;
    const a = this.sensor.attachment();
    this.metrics.noteAttachment(a.mode, a.fexitSyscalls.length);
    if (before === undefined || before === a.mode) return;
    if (a.mode === 'fexit') this.logger.info({ syscalls: a.fexitSyscalls.length }, 'syscalls now recorded by fexit programs');
    else this.logger.warn({ reason: a.fallbackReason }, `syscalls now recorded through sys_exit: ${a.fallbackReason}`);
  }

  /** Stops the sensor (no batch after this), flushes the outputs and the capture, closes the server. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.running = false;
      this.watcher?.stop();
      if (this.statsTimer) clearInterval(this.statsTimer);
      this.sensor?.stop();
      // What was queued is evaluated for at most 2 s (a SIGTERM must not wait for a backlog), the rest counted.
      const discarded = this.batches?.drain(2000) ?? 0;
      if (discarded > 0) this.logger.warn({ records: discarded }, 'stopping: records still queued were not evaluated');
      this.state?.flush();
      if (this.server) {
        const server = this.server;
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await closed;
      }
      await this.capture?.close();
      await this.kubernetes?.stop();
      await this.cri?.stop();
      await Promise.all([this.outputs?.close(), this.forwarder?.close()]);
    })();
    return this.stopping;
  }

  /** To the outputs, and to the analyzer for correlation when one is configured. */
  private publish(alert: Alert): void {
    this.outputs.publish(alert);
    this.forwarder?.publish(alert);
  }

  /** For the startup banner. */
  describe(): Record<string, unknown> {
    return {
      rules: this.enabledRules,
      eventTypes: this.interesting.length,
      ...(this.sensor ? { syscallAttach: this.sensor.attachMode() } : {}),
      processes: this.snapshotProcesses,
      outputs: this.outputs.names,
      ...(this.baseUrl ? { url: this.baseUrl } : {}),
      ...(this.config.agent.captureFile ? { capture: this.config.agent.captureFile } : {}),
      ...(this.config.agent.analyzer ? { analyzer: this.config.agent.analyzer.url.origin } : {}),
    };
  }
}
