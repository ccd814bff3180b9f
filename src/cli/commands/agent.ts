/**
 * `tiercel agent`: the node agent. Captures the node's syscalls with the eBPF
 * sensor, evaluates the syscall rules and delivers alerts to the outputs;
 * serves /healthz, /readyz and /metrics. Same configuration file and flags as
 * `tiercel serve`; without rules_files it runs Tiercel's syscall rules.
 */
import { Option, type Command } from 'commander';
import { NodeAgent } from '../../agent/agent.js';
import { ConfigError } from '../../config/errors.js';
import { buildConfig } from '../../config/load.js';
import { parseListen, type TiercelConfig } from '../../config/schema.js';
import { setHostname } from '../../engine/generic-fields.js';
import { tuneHeap } from '../heap.js';
import type { RuleSelection } from '../../engine/ruleset.js';
import { createLogger, isPretty } from '../../server/logger.js';
import { StartupError } from '../../server/server.js';
import { UsageError } from '../rules-options.js';

interface AgentOptions {
  config?: string;
  rules?: string[];
  ruleMatching?: 'first' | 'all';
  output?: 'text' | 'json';
  priority?: string;
  enableRule?: string[];
  disableRule?: string[];
  enableTag?: string[];
  disableTag?: string[];
  option?: string[];
  listen?: string;
  capture?: string;
  metadata?: string;
  logLevel?: string;
  logFormat?: 'auto' | 'json' | 'pretty';
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function registerAgentCommand(program: Command, setExit: (code: number) => void): void {
  program
    .command('agent')
    .description('run the node agent: eBPF syscall sensor, syscall rules, outputs, /healthz /readyz /metrics (root or CAP_BPF+CAP_PERFMON)')
    .option('-c, --config <file>', 'configuration file (the same as tiercel serve; agent, webserver and syscall_event_drops keys)')
    .option('-r, --rules <file>', 'rules file or directory (repeatable; replaces rules_files; default: rules/syscall_rules.yaml)', collect)
    .addOption(new Option('--rule-matching <mode>', "'first' (Falco's default) or 'all'").choices(['first', 'all']))
    .addOption(new Option('-o, --output <format>', 'alert format of the outputs (sets json_output)').choices(['text', 'json']))
    .option('--priority <level>', 'minimum priority of the rules to load (Falco priority)')
    .option('--enable-rule <pattern>', 'enable rules whose name matches (* wildcards; repeatable)', collect)
    .option('--disable-rule <pattern>', 'disable rules whose name matches (* wildcards; repeatable)', collect)
    .option('--enable-tag <tag>', 'enable rules with this tag (repeatable)', collect)
    .option('--disable-tag <tag>', 'disable rules with this tag (repeatable)', collect)
    .option('--option <key=value>', 'set any config key, as Falco -o (e.g. agent.ring_buffer_bytes=16MiB; repeatable)', collect)
    .option('--listen <host:port>', 'health and metrics address (webserver.*; default 127.0.0.1:8765; port 0 picks a free one)')
    .option('--capture <file>', 'also write every evaluated record to this capture file (replay it with tiercel replay --source syscall)')
    .option('--metadata <file>', 'container and pod metadata file (agent.metadata_file)')
    .option('--log-level <level>', 'log level (Falco log_level names or pino names)')
    .addOption(new Option('--log-format <format>', 'log format; auto = readable on a terminal, JSON otherwise').choices(['auto', 'json', 'pretty']))
    .action(async (opts: AgentOptions) => {
      setExit(await agent(opts));
    });
}

function flagSettings(opts: AgentOptions): [string, unknown][] {
  const s: [string, unknown][] = [];
  if (opts.rules?.length) s.push(['rules_files', opts.rules]);
  if (opts.ruleMatching !== undefined) s.push(['rule_matching', opts.ruleMatching]);
  if (opts.output !== undefined) s.push(['json_output', opts.output === 'json']);
  if (opts.priority !== undefined) s.push(['priority', opts.priority]);
  if (opts.listen !== undefined) {
    const l = parseListen(opts.listen);
    if (!l) throw new UsageError(`--listen: expected HOST:PORT (e.g. 127.0.0.1:8765), got "${opts.listen}"`);
    s.push(['webserver.listen_address', l.host || '0.0.0.0'], ['webserver.listen_port', l.port], ['webserver.enabled', true]);
  }
  if (opts.capture !== undefined) s.push(['agent.capture_file', opts.capture]);
  if (opts.metadata !== undefined) s.push(['agent.metadata_file', opts.metadata]);
  if (opts.logLevel !== undefined) s.push(['log_level', opts.logLevel]);
  if (opts.logFormat !== undefined) s.push(['log_format', opts.logFormat]);
  return s;
}

function flagSelections(opts: AgentOptions): RuleSelection[] {
  return [
    ...(opts.disableTag ?? []).map((tag) => ({ action: 'disable' as const, tag })),
    ...(opts.enableTag ?? []).map((tag) => ({ action: 'enable' as const, tag })),
    ...(opts.disableRule ?? []).map((rule) => ({ action: 'disable' as const, rule })),
    ...(opts.enableRule ?? []).map((rule) => ({ action: 'enable' as const, rule })),
  ];
}

async function agent(opts: AgentOptions): Promise<number> {
  // The kernel's name for the process (proc.name in rules) is "tiercel", as Falco's is "falco":
  // rules that trust the security agent (BPF loads, /proc reads) can name it.
  process.title = 'tiercel';
  const host = process.env['TIERCEL_HOSTNAME'] ?? process.env['FALCO_HOSTNAME'];
  if (host) setHostname(host);
  const heapError = tuneHeap(0);
  if (heapError) {
    process.stderr.write(`tiercel: ${heapError}\n`);
    return 1;
  }

  const selections = flagSelections(opts);
  const flags = flagSettings(opts);
  const build = (): TiercelConfig => {
    const c = buildConfig({
      ...(opts.config !== undefined ? { file: opts.config } : {}),
      options: opts.option ?? [],
      flags,
      defaultRulesSource: 'syscall',
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

  let running: NodeAgent;
  try {
    running = await NodeAgent.start({
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
  logger.info(running.describe(),
    `agent running: ${running.enabledRules} rules on ${running.interesting.length} event types; alerts to ${running.outputNames.join(', ') || 'no output'}` +
    (running.baseUrl ? `; health and metrics at ${running.baseUrl}` : ''));

  return new Promise<number>((resolve) => {
    let signals = 0;
    const onStop = (signal: NodeJS.Signals): void => {
      signals++;
      if (signals > 1) {
        logger.warn(`${signal} again: exiting without waiting`);
        process.exit(130);
      }
      logger.info({ signal }, 'stopping: detaching the sensor, flushing the outputs');
      running.stop().then(
        () => {
          logger.info({ events: running.eventsEvaluated }, 'stopped');
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
      void running.reload('SIGHUP');
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
