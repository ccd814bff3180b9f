/**
 * Options shared by commands that load rules: which files, which rules are
 * enabled, and how matching works.
 */
import { Option, type Command } from 'commander';
import { type LoadedRules, loadRules } from '../engine/loader.js';
import { type Priority, parsePriority } from '../engine/priority.js';
import type { RuleMatching, RuleSelection, RulesetOptions } from '../engine/ruleset.js';
import type { FieldRegistry } from '../engine/fields.js';
import { formatFinding } from '../engine/rules/load-result.js';
import { DEFAULT_RULES } from '../paths.js';

export interface RulesCliOptions {
  rules?: string[];
  ruleMatching?: RuleMatching;
  priority?: string;
  enableRule?: string[];
  disableRule?: string[];
  enableTag?: string[];
  disableTag?: string[];
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Adds -r and the rule selection options to a command. */
export function addRulesOptions(cmd: Command): Command {
  return cmd
    .option('-r, --rules <file>', 'rules file to load (repeatable; loads in the order given; default: Tiercel\'s rules)', collect)
    .addOption(new Option('--rule-matching <mode>', "'first': only the first matching rule alerts (Falco's default); 'all': every matching rule")
      .choices(['first', 'all']).default('first'))
    .option('--priority <level>', 'minimum priority of the rules to enable (e.g. warning)')
    .option('--enable-rule <pattern>', 'enable rules whose name matches (* wildcards; repeatable)', collect)
    .option('--disable-rule <pattern>', 'disable rules whose name matches (* wildcards; repeatable)', collect)
    .option('--enable-tag <tag>', 'enable rules with this tag (repeatable)', collect)
    .option('--disable-tag <tag>', 'disable rules with this tag (repeatable)', collect);
}

/** Thrown for bad command-line input; the message is printed as is. */
export class UsageError extends Error {}

/** Turns the CLI options into ruleset options. */
export function rulesetOptions(opts: RulesCliOptions): RulesetOptions {
  let minPriority: Priority | undefined;
  if (opts.priority !== undefined) {
    minPriority = parsePriority(opts.priority);
    if (!minPriority) throw new UsageError(`invalid --priority '${opts.priority}': expected emergency, alert, critical, error, warning, notice, info or debug`);
  }
  const selections: RuleSelection[] = [
    ...(opts.disableTag ?? []).map((tag) => ({ action: 'disable' as const, tag })),
    ...(opts.enableTag ?? []).map((tag) => ({ action: 'enable' as const, tag })),
    ...(opts.disableRule ?? []).map((rule) => ({ action: 'disable' as const, rule })),
    ...(opts.enableRule ?? []).map((rule) => ({ action: 'enable' as const, rule })),
  ];
  return { ruleMatching: opts.ruleMatching ?? 'first', ...(minPriority ? { minPriority } : {}), selections };
}

/** Rules files to load: the -r files, or Tiercel's defaults for the given sources. */
export function rulesFiles(opts: RulesCliOptions, sources: readonly string[]): string[] {
  if (opts.rules && opts.rules.length) return opts.rules;
  return sources.map((s) => DEFAULT_RULES[s]).filter((f): f is string => f !== undefined);
}

/**
 * Loads rules and prints errors to stderr. Returns undefined when loading
 * failed (the caller exits non-zero), as Falco refuses to run with a broken
 * ruleset.
 */
export function loadRulesOrReport(files: readonly string[], registry: FieldRegistry, verbose = false): LoadedRules | undefined {
  const loaded = loadRules(files.map((name) => ({ name })), registry);
  for (const f of loaded.findings) {
    if (f.severity === 'error' || verbose) process.stderr.write(formatFinding(f) + '\n');
  }
  if (!loaded.ok) {
    process.stderr.write(`tiercel: rules could not be loaded (${loaded.findings.filter((f) => f.severity === 'error').length} errors)\n`);
    return undefined;
  }
  return loaded;
}
