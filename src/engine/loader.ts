/**
 * Loads rules files through the three stages (reader → collector →
 * compiler) and returns the compiled rules with every finding.
 *
 * Files load in order into one namespace, so later files may append to or
 * override earlier definitions. A file stops at its first read/collect error
 * (as in Falco); other files still load, and compilation reports every rule
 * error rather than only the first. A bad file never throws.
 */
import { readFileSync } from 'node:fs';
import { ALL_OPERATORS } from './condition/ast.js';
import type { FieldRegistry } from './fields.js';
import { Collector, type RuleInfo } from './rules/collector.js';
import { type CompileOutput, type CompiledRule, RulesCompiler } from './rules/compiler.js';
import { type Finding, LoadResult } from './rules/load-result.js';
import { readRulesFile } from './rules/reader.js';

export interface RulesFile {
  /** Name used in findings (usually the path). */
  readonly name: string;
  /** Content; read from `name` on disk when absent. */
  readonly text?: string;
}

export interface LoadedRules {
  readonly ok: boolean;
  readonly findings: readonly Finding[];
  readonly rules: readonly CompiledRule[];
  /** Rules whose source is not available (listed, never run). */
  readonly skippedRules: readonly RuleInfo[];
  readonly counts: { readonly rules: number; readonly macros: number; readonly lists: number };
  readonly compiled: CompileOutput;
}

const OPERATORS = new Set<string>(ALL_OPERATORS);

function isExceptionOperator(op: string): boolean {
  if (OPERATORS.has(op)) return true;
  // `<strop> oneof|anyof|allof` is accepted in exception comps too.
  const m = /^(\S+)\s+(oneof|anyof|allof)$/.exec(op);
  return m !== null && OPERATORS.has(m[1]!);
}

/** Loads rules files against the sources registered in `registry`. */
export function loadRules(files: readonly RulesFile[], registry: FieldRegistry): LoadedRules {
  const result = new LoadResult();
  const collector = new Collector({
    hasSource: (name) => registry.hasSource(name),
    hasField: (source, field) => registry.hasFieldRef(source, field),
    isOperator: isExceptionOperator,
    warn: (code, message, ctx) => result.warning(code, message, ctx),
  });
  for (const file of files) {
    let text = file.text;
    if (text === undefined) {
      try {
        text = readFileSync(file.name, 'utf8');
      } catch (e) {
        result.error('LOAD_ERR_FILE_READ', `Could not read rules file: ${(e as Error).message}`,
          { file: file.name, line: 0, col: 0, itemType: 'rules content', itemName: '' });
        continue;
      }
    }
    try {
      readRulesFile({ file: file.name, text, collector, result });
    } catch (e) {
      // Never let a bad file crash the process (the reader reports what it
      // knows; this is for what it did not foresee).
      result.error('LOAD_ERR_VALIDATE', `internal error while reading the file: ${(e as Error).message}`,
        { file: file.name, line: 0, col: 0, itemType: 'rules content', itemName: '' });
    }
  }
  const compiled = new RulesCompiler(registry, result).compile(collector);
  return {
    ok: result.ok,
    findings: result.findings,
    rules: compiled.rules,
    skippedRules: compiled.skippedRules,
    counts: {
      rules: collector.rules.values().length,
      macros: collector.macros.values().length,
      lists: collector.lists.values().length,
    },
    compiled,
  };
}
