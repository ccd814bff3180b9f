/**
 * `tiercel rules validate` and `tiercel rules list`.
 */
import type { Command } from 'commander';
import { loadRules } from '../../engine/loader.js';
import { formatFinding } from '../../engine/rules/load-result.js';
import { Ruleset, selectEnabled } from '../../engine/ruleset.js';
import { captureSet } from '../../syscall/capture-set.js';
import { createRegistry } from '../../sources.js';
import { addRulesOptions, rulesFiles, rulesetOptions, type RulesCliOptions } from '../rules-options.js';

export function registerRulesCommands(program: Command, setExit: (code: number) => void): void {
  const rules = program.command('rules').description('check and inspect rules files');

  rules
    .command('validate')
    .description('check rules files (loaded in order, as one ruleset); exit status 0 when there are no errors')
    .argument('<file...>', 'rules files')
    .option('--json', 'print the findings as JSON')
    .action((files: string[], opts: { json?: boolean }) => {
      const registry = createRegistry();
      const loaded = loadRules(files.map((name) => ({ name })), registry);
      const errors = loaded.findings.filter((f) => f.severity === 'error');
      const warnings = loaded.findings.filter((f) => f.severity === 'warning');
      if (opts.json) {
        process.stdout.write(JSON.stringify({
          ok: loaded.ok,
          files,
          errors,
          warnings,
          counts: loaded.counts,
        }, null, 2) + '\n');
      } else {
        for (const f of loaded.findings) process.stdout.write(formatFinding(f) + '\n');
        const c = loaded.counts;
        process.stdout.write(
          `${loaded.ok ? 'Ok' : 'Invalid'}: ${errors.length} errors, ${warnings.length} warnings; ` +
          `${c.rules} rules, ${c.macros} macros, ${c.lists} lists` +
          (loaded.skippedRules.length ? ` (${loaded.skippedRules.length} rules of unavailable sources not compiled)` : '') +
          '\n');
      }
      setExit(loaded.ok ? 0 : 1);
    });

  addRulesOptions(
    rules
      .command('list')
      .description('list the rules of the loaded files (as falco --list-rules)')
      .option('--json', 'print as JSON'),
  ).action((opts: RulesCliOptions & { json?: boolean }) => {
    const registry = createRegistry();
    const files = rulesFiles(opts, registry.sourceNames());
    const loaded = loadRules(files.map((name) => ({ name })), registry);
    for (const f of loaded.findings) {
      if (f.severity === 'error') process.stderr.write(formatFinding(f) + '\n');
    }
    const enabled = new Set(selectEnabled(loaded.rules, rulesetOptions(opts)));
    const rows = [
      ...loaded.rules.map((r) => ({
        name: r.name, source: r.source, priority: r.priority, enabled: enabled.has(r), tags: r.tags, desc: r.desc,
      })),
      ...loaded.skippedRules.map((r) => ({
        name: r.name, source: r.source, priority: r.priority, enabled: false, tags: [...r.tags], desc: r.desc,
        note: `source ${r.source} is not available`,
      })),
    ];
    if (opts.json) {
      process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    } else {
      const width = Math.min(60, Math.max(4, ...rows.map((r) => r.name.length)));
      process.stdout.write(`${'Rule'.padEnd(width)}  ${'Source'.padEnd(10)}  ${'Priority'.padEnd(13)}  Enabled  Description\n`);
      for (const r of rows) {
        const desc = r.desc.replace(/\s+/g, ' ').trim();
        process.stdout.write(`${r.name.padEnd(width)}  ${r.source.padEnd(10)}  ${r.priority.padEnd(13)}  ` +
          `${(r.enabled ? 'yes' : 'no').padEnd(7)}  ${desc.length > 100 ? desc.slice(0, 97) + '...' : desc}\n`);
      }
    }
    setExit(loaded.ok ? 0 : 1);
  });

  addRulesOptions(
    rules
      .command('syscalls')
      .description('list the syscalls a sensor must capture for the enabled syscall rules (plus those the state needs)')
      .option('--json', 'print as JSON'),
  ).action((opts: RulesCliOptions & { json?: boolean }) => {
    const registry = createRegistry();
    const loaded = loadRules(rulesFiles(opts, ['syscall']).map((name) => ({ name })), registry);
    for (const f of loaded.findings) {
      if (f.severity === 'error') process.stderr.write(formatFinding(f) + '\n');
    }
    if (!loaded.ok) {
      setExit(1);
      return;
    }
    const set = captureSet(new Ruleset(loaded.rules, registry, rulesetOptions(opts)));
    if (opts.json) {
      process.stdout.write(JSON.stringify(set, null, 2) + '\n');
    } else {
      process.stdout.write(`${set.names.join(' ')}\n`);
      process.stderr.write(`${set.syscallIds.length} syscalls` +
        (set.everything ? ' (every syscall: an enabled rule does not restrict evt.type)' : '') + '\n');
    }
    setExit(0);
  });
}
