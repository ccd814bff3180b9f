/**
 * Stage 2 of rule loading: the collector.
 *
 * Receives the items the reader decodes, in file order, and applies Falco's
 * definition semantics: redefinition replaces in place (keeping the item's
 * original position), `append` and `override` merge into an earlier
 * definition, and every definition or update moves the item's "visibility"
 * to the current position (macros may only reference macros defined before
 * their visibility; lists flatten lists defined before theirs).
 */
import { type Priority } from '../priority.js';
import { type Semver, ENGINE_VERSION, compareSemver, formatSemver, parseSemver, satisfies } from '../version.js';
import { type Context, LoadError } from './load-result.js';
import { MappedText } from './mapped-text.js';

/** A scalar or (nested) list value of an exception's fields/comps/values. */
export interface ExceptionEntry {
  readonly isList: boolean;
  readonly item: string;
  readonly items: readonly ExceptionEntry[];
}

export interface ExceptionInfo {
  readonly name: string;
  readonly fields?: ExceptionEntry;
  comps?: ExceptionEntry;
  values: ExceptionEntry[];
  readonly ctx: Context;
}

export interface ListInfo {
  readonly name: string;
  items: string[];
  ctx: Context;
  index: number;
  visibility: number;
}

export interface MacroInfo {
  readonly name: string;
  cond: MappedText;
  ctx: Context;
  index: number;
  visibility: number;
}

export interface RuleInfo {
  readonly name: string;
  cond: MappedText;
  output: MappedText;
  desc: string;
  priority: Priority;
  source: string;
  enabled: boolean;
  tags: Set<string>;
  exceptions: ExceptionInfo[];
  warnEvttypes: boolean;
  skipIfUnknownFilter: boolean;
  /** The source is not registered: the rule is kept but never compiled. */
  unknownSource: boolean;
  ctx: Context;
  index: number;
  visibility: number;
}

/** Fields of a rule that an append or replace override carries. */
export interface RuleUpdate {
  readonly name: string;
  readonly ctx: Context;
  cond?: MappedText;
  output?: MappedText;
  desc?: string;
  tags?: Set<string>;
  exceptions?: ExceptionInfo[];
  priority?: Priority;
  enabled?: boolean;
  warnEvttypes?: boolean;
  skipIfUnknownFilter?: boolean;
}

export interface PluginRequirement {
  readonly name: string;
  readonly version: string;
}

/** What the collector needs to know about the engine's sources. */
export interface SourceCatalog {
  hasSource(name: string): boolean;
  /** True when `field` is a known field of `source` (for exception validation). */
  hasField(source: string, field: string): boolean;
  /** Operators accepted in exception comps. */
  isOperator(op: string): boolean;
  warn(code: 'LOAD_UNKNOWN_SOURCE', message: string, ctx: Context): void;
}

function validationError(message: string, ctx: Context): LoadError {
  return new LoadError('LOAD_ERR_VALIDATE', message, ctx);
}

/** Insertion-ordered map with the item's position semantics. */
class Indexed<T extends { name: string; index: number; visibility: number }> {
  private readonly byName = new Map<string, T>();
  get(name: string): T | undefined {
    return this.byName.get(name);
  }
  /** Redefinition keeps the original index; visibility moves to `id`. */
  define(info: T, id: number): void {
    const prev = this.byName.get(info.name);
    if (prev) {
      info.index = prev.index;
      info.visibility = id;
      this.byName.set(info.name, info);
    } else {
      info.index = id;
      info.visibility = id;
      this.byName.set(info.name, info);
    }
  }
  /** Values in order of first definition. */
  values(): T[] {
    return [...this.byName.values()].sort((a, b) => a.index - b.index);
  }
}

export class Collector {
  private position = 0;
  readonly lists = new Indexed<ListInfo>();
  readonly macros = new Indexed<MacroInfo>();
  readonly rules = new Indexed<RuleInfo>();
  readonly pluginRequirements: { alternatives: PluginRequirement[]; ctx: Context }[] = [];
  requiredEngineVersion: Semver | undefined;
  /** The highest engine version each file requires. */
  readonly fileEngineVersions = new Map<string, Semver>();

  constructor(private readonly catalog: SourceCatalog) {}

  /** `written` is the version as the file wrote it (an integer N means 0.N.0). */
  defineEngineVersion(version: Semver, written: string, ctx: Context): void {
    const engine = parseSemver(ENGINE_VERSION)!;
    if (!satisfies(engine, version)) {
      const shown = written === formatSemver(version) ? written : `${written}`;
      throw validationError(`Rules require engine version ${shown}, but engine version is ${ENGINE_VERSION}`, ctx);
    }
    if (!this.requiredEngineVersion || compareSemver(this.requiredEngineVersion, version) < 0) {
      this.requiredEngineVersion = version;
    }
    const prev = this.fileEngineVersions.get(ctx.file);
    if (!prev || compareSemver(prev, version) < 0) this.fileEngineVersions.set(ctx.file, version);
  }

  definePluginRequirement(alternatives: PluginRequirement[], ctx: Context): void {
    const seen = new Set<string>();
    for (const req of alternatives) {
      if (!parseSemver(req.version)) {
        throw validationError(`Invalid required version '${req.version}' for plugin '${req.name}'`, ctx);
      }
      if (seen.has(req.name)) {
        throw validationError(`Defined multiple alternative version requirements for plugin '${req.name}'`, ctx);
      }
      seen.add(req.name);
    }
    this.pluginRequirements.push({ alternatives, ctx });
  }

  defineList(name: string, items: string[], ctx: Context): void {
    this.lists.define({ name, items, ctx, index: 0, visibility: 0 }, this.position++);
  }

  appendList(name: string, items: string[], ctx: Context): void {
    const prev = this.lists.get(name);
    if (!prev) throw validationError("List has 'append' key but no list by that name already exists", ctx);
    prev.items.push(...items);
    prev.visibility = this.position++;
  }

  defineMacro(name: string, cond: MappedText, ctx: Context): void {
    this.macros.define({ name, cond, ctx, index: 0, visibility: 0 }, this.position++);
  }

  appendMacro(name: string, cond: MappedText, ctx: Context): void {
    const prev = this.macros.get(name);
    if (!prev) throw validationError("Macro has 'append' key but no macro by that name already exists", ctx);
    prev.cond = MappedText.concat([prev.cond, MappedText.at(' ', prev.cond.locate(prev.cond.text.length)), cond]);
    prev.visibility = this.position++;
  }

  defineRule(info: RuleInfo): void {
    const prev = this.rules.get(info.name);
    if (prev && prev.source !== info.source) {
      throw validationError('Rule has been re-defined with a different source', info.ctx);
    }
    if (!this.catalog.hasSource(info.source)) {
      info.unknownSource = true;
      this.catalog.warn('LOAD_UNKNOWN_SOURCE', `Unknown source ${info.source}, skipping`, info.ctx);
    }
    for (const ex of info.exceptions) {
      if (!ex.fields) {
        throw validationError('Rule exception item must have fields property with a list of fields', ex.ctx);
      }
      this.validateException(info.unknownSource ? undefined : info.source, ex);
    }
    this.rules.define(info, this.position++);
  }

  appendRule(update: RuleUpdate): void {
    const prev = this.rules.get(update.name);
    if (!prev) throw validationError("Rule has 'append' key but no rule by that name already exists", update.ctx);
    if (!hasAnyValue(update)) {
      throw validationError('Appended rule must have exceptions or condition property', update.ctx);
    }
    const source = prev.unknownSource ? undefined : prev.source;
    const join = (a: MappedText, b: MappedText): MappedText =>
      MappedText.concat([a, MappedText.at(' ', a.locate(a.text.length)), b]);
    if (update.cond && update.cond.text !== '') prev.cond = join(prev.cond, update.cond);
    if (update.output && update.output.text !== '') prev.output = join(prev.output, update.output);
    if (update.desc) prev.desc = `${prev.desc} ${update.desc}`;
    if (update.tags) for (const t of update.tags) prev.tags.add(t);
    if (update.exceptions) {
      for (const ex of update.exceptions) {
        const existing = prev.exceptions.find((e) => e.name === ex.name);
        if (!existing) {
          if (!ex.fields) {
            throw validationError('Rule exception must have fields property with a list of fields', ex.ctx);
          }
          if (ex.values.length === 0) {
            throw validationError('Rule exception must have values property with a list of values', ex.ctx);
          }
          this.validateException(source, ex);
          prev.exceptions.push(ex);
        } else {
          if (ex.fields) {
            throw validationError('Can not append exception fields to existing exception, only values', ex.ctx);
          }
          if (ex.comps) {
            throw validationError('Can not append exception comps to existing exception, only values', ex.ctx);
          }
          existing.values.push(...ex.values);
        }
      }
    }
    prev.visibility = this.position++;
  }

  replaceRule(update: RuleUpdate): void {
    const prev = this.rules.get(update.name);
    if (!prev) throw validationError("An replace to a rule was requested but no rule by that name already exists", update.ctx);
    if (!hasAnyValue(update)) {
      throw validationError('The rule must have at least one field that can be replaced', update.ctx);
    }
    if (update.cond) prev.cond = update.cond;
    if (update.output) prev.output = update.output;
    if (update.desc !== undefined) prev.desc = update.desc;
    if (update.tags) prev.tags = update.tags;
    if (update.exceptions) {
      const source = prev.unknownSource ? undefined : prev.source;
      for (const ex of update.exceptions) {
        if (!ex.fields) {
          throw validationError('Rule exception must have fields property with a list of fields', ex.ctx);
        }
        this.validateException(source, ex);
      }
      prev.exceptions = update.exceptions;
    }
    if (update.priority) prev.priority = update.priority;
    if (update.enabled !== undefined) prev.enabled = update.enabled;
    if (update.warnEvttypes !== undefined) prev.warnEvttypes = update.warnEvttypes;
    if (update.skipIfUnknownFilter !== undefined) prev.skipIfUnknownFilter = update.skipIfUnknownFilter;
    prev.visibility = this.position++;
  }

  /** The legacy form `- rule: X` + `enabled: bool` toggles an existing rule. */
  enableRule(name: string, enabled: boolean, ctx: Context): void {
    const prev = this.rules.get(name);
    if (!prev) throw validationError("Rule has 'enabled' key but no rule by that name already exists", ctx);
    prev.enabled = enabled;
  }

  private validateException(source: string | undefined, ex: ExceptionInfo): void {
    const fields = ex.fields!;
    if (fields.isList) {
      if (!ex.comps) {
        ex.comps = { isList: true, item: '', items: fields.items.map(() => ({ isList: false, item: '=', items: [] })) };
      }
      if (!ex.comps.isList || ex.comps.items.length !== fields.items.length) {
        throw validationError('Fields and comps lists must have equal length', ex.ctx);
      }
      for (const c of ex.comps.items) {
        if (c.isList || !this.catalog.isOperator(c.item.trim())) {
          throw validationError(`'${c.item}' is not a supported comparison operator`, ex.ctx);
        }
      }
      if (source) {
        for (const f of fields.items) {
          if (f.isList || !this.catalog.hasField(source, f.item)) {
            throw validationError(`'${f.item}' is not a supported filter field`, ex.ctx);
          }
        }
      }
      for (const v of ex.values) {
        if (!v.isList || v.items.length !== fields.items.length) {
          throw validationError('Fields and values lists must have equal length', ex.ctx);
        }
      }
    } else {
      if (!ex.comps) ex.comps = { isList: false, item: 'in', items: [] };
      if (ex.comps.isList) throw validationError('Fields and comps must both be strings', ex.ctx);
      const comp = ex.comps.item.trim();
      if (!['in', 'pmatch', 'intersects'].includes(comp) && !/ (oneof|anyof|allof)$/.test(comp)) {
        throw validationError('When fields is a single value, comps must be one of (in, pmatch, intersects)', ex.ctx);
      }
      if (source && !this.catalog.hasField(source, fields.item)) {
        throw validationError(`'${fields.item}' is not a supported filter field`, ex.ctx);
      }
      for (const v of ex.values) {
        if (v.isList) throw validationError('Expected values array to contain a list of strings', ex.ctx);
      }
    }
  }
}

function hasAnyValue(u: RuleUpdate): boolean {
  return u.cond !== undefined || u.output !== undefined || u.desc !== undefined || u.tags !== undefined ||
    u.exceptions !== undefined || u.priority !== undefined || u.enabled !== undefined ||
    u.warnEvttypes !== undefined || u.skipIfUnknownFilter !== undefined;
}
