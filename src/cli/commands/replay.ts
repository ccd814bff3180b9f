/**
 * `tiercel replay`: evaluates recorded events offline, in file order, and
 * prints alerts as Falco would (text lines, or one JSON alert per line).
 * A summary goes to stderr: events read, bad input, alerts by rule.
 */
import { Option, type Command } from 'commander';
import { readAuditFile } from '../../audit/reader.js';
import type { EngineEvent } from '../../engine/event.js';
import { CaptureError } from '../../syscall/capture.js';
import { openCaptureReplay } from '../../syscall/replay.js';
import { alertJson, alertText } from '../../engine/alert.js';
import { Ruleset } from '../../engine/ruleset.js';
import { createRegistry } from '../../sources.js';
import {
  type RulesCliOptions, UsageError, addRulesOptions, loadRulesOrReport, rulesFiles, rulesetOptions,
} from '../rules-options.js';

interface ReplayOptions extends RulesCliOptions {
  source: string;
  output: 'text' | 'json';
  verbose?: boolean;
  timeFormatIso8601?: boolean;
  summary: boolean;
}

/** Bad-input messages printed before the rest are only counted. */
const MAX_PROBLEMS_SHOWN = 50;

export function registerReplayCommand(program: Command, setExit: (code: number) => void): void {
  addRulesOptions(
    program
      .command('replay')
      .description('evaluate recorded events: audit logs (JSON lines, EventList JSON, gzip; - for stdin) or syscall capture files')
      .argument('<file...>', 'input files, evaluated in order')
      .addOption(new Option('--source <name>', 'event source of the input').choices(['k8s_audit', 'syscall']).default('k8s_audit'))
      .addOption(new Option('-o, --output <format>', 'alert format').choices(['text', 'json']).default('text'))
      .option('--time-format-iso-8601', 'print ISO 8601 times in text alerts (Falco time_format_iso_8601)')
      .option('--no-summary', 'do not print the summary on stderr')
      .option('-v, --verbose', 'also print rule-loading warnings'),
  ).action(async (files: string[], opts: ReplayOptions) => {
    setExit(await replay(files, opts));
  });
}

async function replay(files: string[], opts: ReplayOptions): Promise<number> {
  const registry = createRegistry();
  const loaded = loadRulesOrReport(rulesFiles(opts, [opts.source]), registry, opts.verbose);
  if (!loaded) return 1;
  let ruleset: Ruleset;
  try {
    ruleset = new Ruleset(loaded.rules, registry, rulesetOptions(opts));
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`tiercel: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  if (!ruleset.sources().includes(opts.source)) {
    process.stderr.write(`tiercel: warning: no enabled rule for source ${opts.source}\n`);
  }

  const format = { timeFormatIso8601: opts.timeFormatIso8601 ?? false };
  const byRule = new Map<string, number>();
  let events = 0;
  let problems = 0;
  let ioErrors = 0;
  const out: string[] = [];
  const flush = (): void => {
    if (out.length) {
      process.stdout.write(out.join(''));
      out.length = 0;
    }
  };

  const evaluate = (evt: EngineEvent): void => {
    for (const alert of ruleset.process(evt)) {
      byRule.set(alert.rule, (byRule.get(alert.rule) ?? 0) + 1);
      out.push((opts.output === 'json' ? alertJson(alert, format) : alertText(alert, format)) + '\n');
      if (out.length >= 256) flush();
    }
  };

  for (const file of files) {
    try {
      if (opts.source === 'syscall') {
        const capture = await openCaptureReplay(file);
        events += await capture.run(evaluate);
      } else {
        for await (const item of readAuditFile(file)) {
          if (item.type === 'problem') {
            problems++;
            if (problems <= MAX_PROBLEMS_SHOWN) process.stderr.write(`${item.file}:${item.line}: ${item.message}\n`);
            continue;
          }
          events++;
          evaluate(item.event);
        }
      }
    } catch (e) {
      ioErrors++;
      const why = e instanceof CaptureError ? e.message : (e as Error).message;
      process.stderr.write(`tiercel: cannot read ${file}: ${why}\n`);
    }
    flush();
  }
  flush();

  if (opts.summary) {
    const total = [...byRule.values()].reduce((a, b) => a + b, 0);
    const lines = [
      `Events read: ${events}` + (problems ? `, bad input: ${problems}` + (problems > MAX_PROBLEMS_SHOWN ? ` (first ${MAX_PROBLEMS_SHOWN} shown)` : '') : ''),
      `Rules loaded: ${loaded.rules.length} (${ruleset.enabledRules.length} enabled, rule matching: ${opts.ruleMatching ?? 'first'})`,
      `Alerts: ${total}`,
      ...[...byRule.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([r, n]) => `  ${String(n).padStart(6)}  ${r}`),
    ];
    process.stderr.write(lines.join('\n') + '\n');
  }
  return ioErrors ? 1 : 0;
}
