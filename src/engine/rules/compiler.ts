/**
 * Stage 3 of rule loading: the compiler.
 *
 * Lists are flattened and substituted, macros parsed and expanded (with
 * Falco's visibility rules), exceptions turned into condition text, and each
 * rule's condition and output compiled against its source's fields. Unlike
 * Falco, which stops at the first failing rule, every rule is compiled and
 * every error reported; a rule with errors is simply not part of the result.
 */
import {
  type Expr, type Node, type Origin, type SourceLocation, print, walk,
} from '../condition/ast.js';
import { CompileError, type Predicate, compileCondition } from '../condition/compile.js';
import { restrictTo, valuesOf } from '../condition/value-sets.js';
import { ParseError, parseCondition } from '../condition/parser.js';
import type { FieldRegistry } from '../fields.js';
import { type CompiledFormat, FormatError, compileFormat } from '../output/format.js';
import type { Priority } from '../priority.js';
import { PROVIDED_PLUGINS, compareSemver, parseSemver, satisfies } from '../version.js';
import type { Collector, MacroInfo, RuleInfo } from './collector.js';
import { applyExceptions } from './exceptions.js';
import { type CompiledList, compileLists, substituteLists } from './lists.js';
import { type Context, LoadError, type LoadResult } from './load-result.js';
import { resolveMacros } from './macros.js';
import type { MappedText } from './mapped-text.js';

/** A rule ready to run. */
export interface CompiledRule {
  readonly name: string;
  readonly desc: string;
  readonly priority: Priority;
  readonly source: string;
  readonly tags: readonly string[];
  /** `enabled:` from the rules files (the ruleset may still disable it). */
  readonly enabled: boolean;
  readonly predicate: Predicate;
  readonly output: CompiledFormat;
  /** The output template as written (after appends). */
  readonly outputText: string;
  /** The fully expanded condition, printed canonically. */
  readonly condition: string;
  readonly exceptionFields: readonly string[];
  /** Extracts the exception fields, which Falco adds to output_fields. */
  readonly exceptionValues?: CompiledFormat;
  /**
   * The values of the source's index field under which the rule can match
   * (e.g. its event types); absent when the rule is not restricted and must
   * see every event.
   */
  readonly indexValues?: ReadonlySet<string>;
  /** Load order, for Falco's "first match in load order" evaluation. */
  readonly order: number;
  readonly ctx: Context;
}

export interface CompiledMacro {
  readonly name: string;
  readonly ast?: Expr;
  readonly used: boolean;
}

export interface CompileOutput {
  readonly rules: CompiledRule[];
  readonly macros: Map<string, CompiledMacro>;
  readonly lists: Map<string, CompiledList>;
  /** Rules whose source is not registered: kept for listing only. */
  readonly skippedRules: RuleInfo[];
}

/** Falco's warn_evttypes threshold: a rule matching more types than this runs on (nearly) every event. */
const TOO_MANY_EVTTYPES = 100;

function conditionError(code: 'LOAD_ERR_COMPILE_CONDITION' | 'LOAD_ERR_VALIDATE', message: string,
  where: SourceLocation | undefined, ctx: Context): LoadError {
  return new LoadError(code, message, where ? { ...ctx, ...where } : ctx);
}

function originOf(text: MappedText, ctx: Context): Origin {
  return { itemType: ctx.itemType, itemName: ctx.itemName, locate: (idx) => text.locate(idx) };
}

function nodeLocation(node: Node | undefined): SourceLocation | undefined {
  if (!node?.origin) return undefined;
  return node.origin.locate(node.pos.idx);
}

/**
 * Rules files requiring an engine version before this one were written for
 * Falco's pre-plugin JSON engine (Falco < 0.32), which accepted some string
 * operators on multi-valued k8s fields; their checks keep that meaning.
 */
const LEGACY_ENGINE_BEFORE = { major: 0, minor: 13, patch: 0 };

export class RulesCompiler {
  private legacyFiles = new Set<string>();

  constructor(
    private readonly registry: FieldRegistry,
    private readonly result: LoadResult,
  ) {}

  compile(collector: Collector): CompileOutput {
    this.legacyFiles = new Set([...collector.fileEngineVersions]
      .filter(([, v]) => compareSemver(v, LEGACY_ENGINE_BEFORE) < 0).map(([file]) => file));
    const lists = compileLists(collector.lists.values());
    const macros = this.compileMacros(collector.macros.values(), lists);
    const { rules, skipped } = this.compileRules(collector.rules.values(), lists, macros);
    this.checkPluginRequirements(collector);
    this.warnUnused(collector, lists, macros);
    return { rules, macros, lists, skippedRules: skipped };
  }

  // ---- macros ----------------------------------------------------------

  private compileMacros(infos: MacroInfo[], lists: Map<string, CompiledList>): Map<string, CompiledMacro & { ast?: Expr; used: boolean; broken?: boolean }> {
    const out = new Map<string, { name: string; ast?: Expr; used: boolean; broken?: boolean }>();
    for (const m of infos) {
      const text = substituteLists(m.cond, lists.values());
      try {
        out.set(m.name, { name: m.name, ast: parseCondition(text.text, { origin: originOf(text, m.ctx) }), used: false });
      } catch (e) {
        if (!(e instanceof ParseError)) throw e;
        this.report(conditionError('LOAD_ERR_COMPILE_CONDITION', e.message, text.locate(e.pos.idx), m.ctx));
        out.set(m.name, { name: m.name, used: false, broken: true });
      }
    }
    // Expand in definition order; a macro sees macros first defined before its visibility.
    const byName = new Map(infos.map((m) => [m.name, m]));
    for (const m of infos) {
      const entry = out.get(m.name)!;
      if (!entry.ast) continue;
      const visible = (name: string): Expr | undefined => {
        const info = byName.get(name);
        if (!info || info.index >= m.visibility) return undefined;
        return out.get(name)?.ast;
      };
      const { expr, resolution } = resolveMacros(entry.ast, visible);
      for (const name of resolution.used) out.get(name)!.used = true;
      if (resolution.error) {
        const brokenRef = resolution.error.message.startsWith('Undefined macro') &&
          out.get(/'([^']*)'/.exec(resolution.error.message)?.[1] ?? '')?.broken;
        if (!brokenRef) {
          this.report(conditionError('LOAD_ERR_VALIDATE', resolution.error.message,
            nodeLocation(resolution.error.node), m.ctx));
        }
        entry.broken = true;
        delete entry.ast;
        continue;
      }
      entry.ast = expr;
    }
    return out;
  }

  // ---- rules -------------------------------------------------------------

  private compileRules(
    infos: RuleInfo[],
    lists: Map<string, CompiledList>,
    macros: Map<string, CompiledMacro & { broken?: boolean }>,
  ): { rules: CompiledRule[]; skipped: RuleInfo[] } {
    const rules: CompiledRule[] = [];
    const skipped: RuleInfo[] = [];
    let order = 0;
    for (const r of infos) {
      try {
        const rule = this.compileRule(r, lists, macros, order);
        if (rule) {
          rules.push(rule);
          order++;
        } else if (r.unknownSource) {
          skipped.push(r);
        }
      } catch (e) {
        // A bad rules file must never crash the process: anything unexpected
        // becomes a finding on the rule that caused it.
        this.report(e instanceof LoadError ? e
          : new LoadError('LOAD_ERR_COMPILE_CONDITION', `internal error while compiling the rule: ${(e as Error).message}`, r.ctx));
      }
    }
    return { rules, skipped };
  }

  private compileRule(
    r: RuleInfo,
    lists: Map<string, CompiledList>,
    macros: Map<string, CompiledMacro & { broken?: boolean }>,
    order: number,
  ): CompiledRule | undefined {
    const exceptionFields = new Set<string>();
    const withExceptions = r.exceptions.length ? applyExceptions(r.cond, r.exceptions, exceptionFields) : r.cond;
    const text = substituteLists(withExceptions, lists.values());
    let ast: Expr;
    try {
      ast = parseCondition(text.text, { origin: originOf(text, r.ctx) });
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
      throw conditionError('LOAD_ERR_COMPILE_CONDITION', e.message, text.locate(e.pos.idx), r.ctx);
    }
    const { expr, resolution } = resolveMacros(ast, (name) => macros.get(name)?.ast);
    for (const name of resolution.used) {
      const m = macros.get(name);
      if (m) (m as { used: boolean }).used = true;
    }
    if (resolution.error) {
      const missing = /'([^']*)'/.exec(resolution.error.message)?.[1] ?? '';
      const message = macros.get(missing)?.broken
        ? `Macro '${missing}' used in filter has errors (see above)`
        : resolution.error.message;
      throw conditionError('LOAD_ERR_VALIDATE', message, nodeLocation(resolution.error.node), r.ctx);
    }
    // Rules of sources that are not available are checked for syntax and macros only.
    if (r.unknownSource) return undefined;
    this.warnConditionSmells(expr, r);

    let predicate: Predicate;
    try {
      const legacyFiles = this.legacyFiles;
      const compiled = compileCondition(expr, {
        registry: this.registry,
        source: r.source,
        isLegacy: (node) => legacyFiles.size > 0 && legacyFiles.has(nodeLocation(node)?.file ?? ''),
      });
      predicate = compiled.predicate;
      for (const w of compiled.warnings) {
        this.result.warning('LOAD_COMPILE_CONDITION', w.message, { ...r.ctx, ...(nodeLocation(w.node) ?? {}) });
      }
    } catch (e) {
      if (!(e instanceof CompileError)) throw e;
      const where = e.origin && e.pos ? e.origin.locate(e.pos.idx) : undefined;
      if (e.unknownField && r.skipIfUnknownFilter) {
        this.result.warning('LOAD_UNKNOWN_FILTER', e.message, where ? { ...r.ctx, ...where } : r.ctx);
        return undefined;
      }
      throw conditionError('LOAD_ERR_COMPILE_CONDITION', e.message, where, r.ctx);
    }

    let output: CompiledFormat;
    try {
      output = compileFormat(r.output.text, this.registry, r.source);
    } catch (e) {
      if (!(e instanceof FormatError)) throw e;
      const where = r.output.locate(e.offset);
      if (e.unknownField && r.skipIfUnknownFilter) {
        this.result.warning('LOAD_UNKNOWN_FILTER', e.message, { ...r.ctx, ...where });
        return undefined;
      }
      throw new LoadError('LOAD_ERR_COMPILE_OUTPUT', e.message, { ...r.ctx, ...where });
    }

    let exceptionValues: CompiledFormat | undefined;
    if (exceptionFields.size) {
      try {
        exceptionValues = compileFormat([...exceptionFields].map((f) => `%${f}`).join(' '), this.registry, r.source);
      } catch {
        // Exception fields were validated by the collector; a field that cannot
        // be rendered is simply left out of output_fields.
      }
    }

    const index = this.registry.source(r.source)?.index;
    let indexValues: Set<string> | undefined;
    if (index) {
      const set = valuesOf(expr, index.field);
      if (index.universe) {
        const concrete = restrictTo(set, index.universe);
        if (!set.absent && concrete.size < index.universe.length) indexValues = concrete;
        if (r.warnEvttypes && (set.absent || concrete.size > TOO_MANY_EVTTYPES)) {
          this.result.warning('LOAD_NO_EVTTYPE',
            `Rule matches too many ${index.field} values. This has a significant performance penalty.`, r.ctx);
        }
      } else if (set.finite && !set.absent) {
        indexValues = new Set(set.values);
      }
    }

    return {
      name: r.name,
      desc: r.desc,
      priority: r.priority,
      source: r.source,
      tags: [...r.tags].sort(),
      enabled: r.enabled,
      predicate,
      output,
      outputText: r.output.text,
      condition: print(expr),
      exceptionFields: [...exceptionFields],
      ...(exceptionValues ? { exceptionValues } : {}),
      ...(indexValues ? { indexValues } : {}),
      order,
      ctx: r.ctx,
    };
  }

  /** Non-fatal problems worth telling the author about (Falco's filter_warning_resolver). */
  private warnConditionSmells(expr: Expr, r: RuleInfo): void {
    walk(expr, (n) => {
      if (n.kind === 'binary' && n.right.kind === 'value' && n.right.value === '<NA>') {
        this.result.warning('LOAD_UNSAFE_NA_CHECK',
          'Comparing a field with <NA> is unsafe: <NA> is how outputs print a missing value, ' +
          "not a value fields have. Use 'exists' instead.", { ...r.ctx, ...(nodeLocation(n) ?? {}) });
      }
    });
  }

  // ---- whole-ruleset checks --------------------------------------------

  private checkPluginRequirements(collector: Collector): void {
    for (const req of collector.pluginRequirements) {
      const ok = req.alternatives.some((alt) => {
        const provided = PROVIDED_PLUGINS.find((p) => p.name === alt.name);
        const have = provided && parseSemver(provided.version);
        const want = parseSemver(alt.version);
        return have && want && satisfies(have, want);
      });
      if (ok) continue;
      const first = req.alternatives[0]!;
      const provided = PROVIDED_PLUGINS.find((p) => p.name === first.name);
      const message = provided
        ? `Plugin '${first.name}' version '${provided.version}' is not compatible with required plugin version '${first.version}'`
        : `Plugin '${first.name}' (version ${first.version}) is required, but Tiercel does not provide it ` +
          `(Tiercel provides: ${PROVIDED_PLUGINS.map((p) => `${p.name} ${p.version}`).join(', ')})`;
      this.result.error('LOAD_ERR_VALIDATE', message, req.ctx);
    }
  }

  private warnUnused(collector: Collector, lists: Map<string, CompiledList>, macros: Map<string, CompiledMacro>): void {
    for (const info of collector.macros.values()) {
      if (!macros.get(info.name)?.used) {
        this.result.warning('LOAD_UNUSED_MACRO', 'Macro not referred to by any other rule/macro', info.ctx);
      }
    }
    for (const info of collector.lists.values()) {
      if (!lists.get(info.name)?.used) {
        this.result.warning('LOAD_UNUSED_LIST', 'List not referred to by any other rule/macro', info.ctx);
      }
    }
  }

  private report(e: LoadError): void {
    this.result.error(e.code, e.message, e.ctx);
  }
}
