/**
 * Loading the analyzer's rules from `rules_files` (files and directories, as
 * Falco: a directory contributes its `.yaml`/`.yml` files in alphabetical
 * order) into a ruleset. A load with errors yields no ruleset, so a broken
 * edit can never replace working rules.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { FieldRegistry } from '../engine/fields.js';
import { loadRules } from '../engine/loader.js';
import type { Priority } from '../engine/priority.js';
import { formatFinding } from '../engine/rules/load-result.js';
import { type RuleMatching, type RuleSelection, Ruleset } from '../engine/ruleset.js';

export interface RulesSettings {
  readonly rulesFiles: readonly string[];
  readonly ruleMatching: RuleMatching;
  readonly minPriority: Priority;
  readonly selections: readonly RuleSelection[];
}

/** Expands directories to their rules files; other entries are kept (the loader reports missing files). */
export function expandRulesFiles(entries: readonly string[]): string[] {
  const out: string[] = [];
  for (const entry of entries) {
    let isDir = false;
    try {
      isDir = statSync(entry).isDirectory();
    } catch {
      // missing: left to the loader, which reports it with the file name
    }
    if (!isDir) {
      out.push(entry);
      continue;
    }
    const names = readdirSync(entry)
      .filter((n) => /\.ya?ml$/i.test(n))
      .filter((n) => {
        try {
          return statSync(join(entry, n)).isFile();
        } catch {
          return false;
        }
      })
      .sort();
    for (const n of names) out.push(join(entry, n));
  }
  return out;
}

export type RulesLoad =
  | {
      readonly ok: true;
      readonly ruleset: Ruleset;
      readonly files: readonly string[];
      readonly loaded: number;
      readonly warnings: readonly string[];
    }
  | { readonly ok: false; readonly files: readonly string[]; readonly errors: readonly string[]; readonly warnings: readonly string[] };

/** Loads and compiles the rules; never throws. */
export function loadRuleset(settings: RulesSettings, registry: FieldRegistry): RulesLoad {
  let files: string[];
  try {
    files = expandRulesFiles(settings.rulesFiles);
  } catch (e) {
    return { ok: false, files: [], errors: [`cannot list rules: ${(e as Error).message}`], warnings: [] };
  }
  if (files.length === 0) return { ok: false, files, errors: ['rules_files names no rules file (empty directories?)'], warnings: [] };
  const loaded = loadRules(files.map((name) => ({ name })), registry);
  const errors = loaded.findings.filter((f) => f.severity === 'error').map(formatFinding);
  const warnings = loaded.findings.filter((f) => f.severity === 'warning').map(formatFinding);
  if (!loaded.ok) return { ok: false, files, errors, warnings };
  try {
    const ruleset = new Ruleset(loaded.rules, registry, {
      ruleMatching: settings.ruleMatching,
      minPriority: settings.minPriority,
      selections: settings.selections,
    });
    return { ok: true, ruleset, files, loaded: loaded.rules.length, warnings };
  } catch (e) {
    return { ok: false, files, errors: [(e as Error).message], warnings };
  }
}
