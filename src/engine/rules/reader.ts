/**
 * Stage 1 of rule loading: the reader.
 *
 * Turns one rules file (YAML text) into items and hands each to the
 * collector as soon as it is decoded, so that definitions and appends apply
 * in file order. Structural problems are LOAD_ERR_YAML_VALIDATE errors; the
 * file stops at its first error, as in Falco.
 */
import { parsePriority } from '../priority.js';
import { parseSemver } from '../version.js';
import {
  type Collector, type ExceptionEntry, type ExceptionInfo, type PluginRequirement, type RuleInfo,
  type RuleUpdate,
} from './collector.js';
import { type Context, LoadError, type LoadResult } from './load-result.js';
import { MappedText } from './mapped-text.js';
import {
  type ParsedYaml, type YamlNode, type YAMLMap, ScalarLocator, getPair, isMap, isNull, isScalar, isSeq,
  keysOf, nodeOffset, parseYaml, scalarText,
} from './yaml-source.js';

const RULE_KEYS = new Set([
  'rule', 'condition', 'output', 'desc', 'priority', 'source', 'enabled', 'tags', 'exceptions',
  'warn_evttypes', 'skip-if-unknown-filter', 'capture', 'capture_duration', 'override', 'append',
]);
const MACRO_KEYS = new Set(['macro', 'condition', 'override', 'append']);
const LIST_KEYS = new Set(['list', 'items', 'override', 'append']);
const RULE_APPENDABLE = ['condition', 'output', 'desc', 'tags', 'exceptions'];
const RULE_REPLACEABLE = [
  'condition', 'output', 'desc', 'priority', 'tags', 'exceptions', 'enabled', 'warn_evttypes',
  'skip-if-unknown-filter', 'capture', 'capture_duration',
];
const IDENTIFIER = /^[a-zA-Z]+[a-zA-Z0-9_]*$/;
const BARE_STRING = /^[^()"'\s=,]+$/;

function yamlError(message: string, ctx: Context): LoadError {
  return new LoadError('LOAD_ERR_YAML_VALIDATE', message, ctx);
}

/** yaml-cpp's bool conversion accepts these spellings. */
function parseBool(text: string): boolean | undefined {
  const t = text.toLowerCase();
  if (t === 'true' || t === 'yes' || t === 'on' || t === 'y') return true;
  if (t === 'false' || t === 'no' || t === 'off' || t === 'n') return false;
  return undefined;
}

export interface ReadOptions {
  readonly file: string;
  readonly text: string;
  readonly collector: Collector;
  readonly result: LoadResult;
}

/** Reads one file into the collector. Returns false when the file had an error. */
export function readRulesFile(options: ReadOptions): boolean {
  return new FileReader(options).read();
}

class FileReader {
  private readonly file: string;
  private readonly collector: Collector;
  private readonly result: LoadResult;
  private readonly yaml: ParsedYaml;

  constructor(options: ReadOptions) {
    this.file = options.file;
    this.collector = options.collector;
    this.result = options.result;
    this.yaml = parseYaml(options.text);
  }

  read(): boolean {
    const fileCtx: Context = { file: this.file, line: 0, col: 0, itemType: 'rules content', itemName: '' };
    if (this.yaml.error) {
      const { at, message } = this.yaml.error;
      this.result.error('LOAD_ERR_YAML_PARSE', message, { ...fileCtx, line: at.line, col: at.col });
      return false;
    }
    try {
      for (const doc of this.yaml.documents) {
        if (isNull(doc)) continue;
        const docCtx = this.ctx(doc, 'rules content', '');
        if (!isMap(doc) && !isSeq(doc)) throw yamlError('Rules content is not yaml', docCtx);
        if (!isSeq(doc)) throw yamlError('Rules content is not yaml array of objects', docCtx);
        for (const item of doc.items as (YamlNode | null)[]) {
          if (isNull(item)) continue;
          this.readItem(item!);
        }
      }
    } catch (e) {
      if (e instanceof LoadError) {
        this.result.error(e.code, e.message, e.ctx);
        return false;
      }
      throw e;
    }
    return true;
  }

  private ctx(node: YamlNode | null | undefined, itemType: string, itemName: string): Context {
    const at = this.yaml.locate(nodeOffset(node));
    return { file: this.file, line: at.line, col: at.col, itemType, itemName };
  }

  private readItem(item: YamlNode): void {
    if (!isMap(item)) {
      throw yamlError('Unexpected element type. Each element should be a yaml associative array.',
        this.ctx(item, 'rules content item', ''));
    }
    if (getPair(item, 'required_engine_version')) return this.readEngineVersion(item);
    if (getPair(item, 'required_plugin_versions')) return this.readPluginVersions(item);
    if (getPair(item, 'list')) return this.readList(item);
    if (getPair(item, 'macro')) return this.readMacro(item);
    if (getPair(item, 'rule')) return this.readRule(item);
    this.result.warning('LOAD_UNKNOWN_ITEM', 'Unknown top level item', this.ctx(item, 'rules content item', ''));
  }

  // ---- value decoding (Falco's decode_val) -----------------------------

  private value(map: YAMLMap, key: string, ctx: Context): YamlNode | undefined {
    const pair = getPair(map, key);
    return pair ? ((pair.value as YamlNode | null) ?? undefined) : undefined;
  }

  /** A required, non-empty scalar. */
  private str(map: YAMLMap, key: string, ctx: Context): string {
    const pair = getPair(map, key);
    if (!pair) throw yamlError(`Item has no mapping for key '${key}'`, ctx);
    const node = pair.value as YamlNode | null;
    if (isNull(node)) throw yamlError(`Mapping for key '${key}' is empty`, ctx);
    const vctx = this.ctx(node, ctx.itemType, ctx.itemName);
    if (!isScalar(node)) throw yamlError(`Value for key '${key}' is not a scalar value`, vctx);
    const text = scalarText(node!);
    if (text === '') throw yamlError(`Value for key '${key}' must be non-empty`, vctx);
    return text;
  }

  private optStr(map: YAMLMap, key: string, ctx: Context): string | undefined {
    return getPair(map, key) ? this.str(map, key, ctx) : undefined;
  }

  private bool(map: YAMLMap, key: string, ctx: Context): boolean {
    const text = this.str(map, key, ctx);
    const b = parseBool(text);
    if (b === undefined) {
      throw yamlError(`Can't decode YAML scalar value for key '${key}': expected true or false, got '${text}'`,
        this.ctx(this.value(map, key, ctx), ctx.itemType, ctx.itemName));
    }
    return b;
  }

  private optBool(map: YAMLMap, key: string, ctx: Context): boolean | undefined {
    return getPair(map, key) ? this.bool(map, key, ctx) : undefined;
  }

  /** A condition or output string, with its position map. */
  private mapped(map: YAMLMap, key: string, ctx: Context, trim = false): MappedText {
    let text = this.str(map, key, ctx);
    const node = this.value(map, key, ctx)!;
    const locator = new ScalarLocator(this.yaml, node, text);
    let shift = 0;
    if (trim) {
      const trimmed = text.trim();
      shift = text.indexOf(trimmed);
      text = trimmed;
    }
    const file = this.file;
    return new MappedText(text, (idx) => ({ file, ...locator.locate(idx + shift) }));
  }

  private sequenceOfScalars(map: YAMLMap, key: string, ctx: Context, optional: boolean): string[] | undefined {
    const pair = getPair(map, key);
    if (!pair) {
      if (optional) return undefined;
      throw yamlError(`Item has no mapping for key '${key}'`, ctx);
    }
    const node = pair.value as YamlNode | null;
    const vctx = this.ctx(node ?? pair.key as YamlNode, ctx.itemType, ctx.itemName);
    if (isNull(node) && optional) return [];
    if (!isSeq(node)) throw yamlError(`Value for key '${key}' is not a sequence`, vctx);
    return (node.items as (YamlNode | null)[]).map((v) => {
      if (!isScalar(v)) throw yamlError('sequence value is not scalar', this.ctx(v, ctx.itemType, ctx.itemName));
      return scalarText(v!);
    });
  }

  private warnUnknownKeys(map: YAMLMap, known: ReadonlySet<string>, ctx: Context): void {
    for (const key of keysOf(map)) {
      if (!known.has(key)) {
        const pair = getPair(map, key)!;
        this.result.warning('LOAD_UNKNOWN_KEY', `Unknown key '${key}'. The key will be ignored.`,
          this.ctx(pair.key as YamlNode, ctx.itemType, ctx.itemName));
      }
    }
  }

  /** Parses `override:`; returns the keys to append and to replace. */
  private overrides(map: YAMLMap, appendable: readonly string[], replaceable: readonly string[], ctx: Context):
    { append: Set<string>; replace: Set<string> } {
    const out = { append: new Set<string>(), replace: new Set<string>() };
    const node = this.value(map, 'override', ctx);
    if (node === undefined || isNull(node)) return out;
    if (!isMap(node)) throw yamlError("Value for key 'override' must be a mapping", this.ctx(node, ctx.itemType, ctx.itemName));
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? scalarText(pair.key) : String(pair.key);
      const opNode = pair.value as YamlNode | null;
      const op = isScalar(opNode) ? scalarText(opNode!) : '';
      const kctx = this.ctx(pair.key as YamlNode, ctx.itemType, ctx.itemName);
      if (op === 'append') {
        if (!appendable.includes(key)) throw yamlError(`Key '${key}' cannot be appended to, use 'replace' instead`, kctx);
        out.append.add(key);
      } else if (op === 'replace') {
        if (!replaceable.includes(key)) throw yamlError(`Key '${key}' cannot be replaced`, kctx);
        out.replace.add(key);
      } else {
        const allowed = [appendable.includes(key) ? 'append' : '', replaceable.includes(key) ? 'replace' : '']
          .filter(Boolean).join(' ');
        throw yamlError(`Invalid override operation for key '${key}': '${op}'. Allowed values are: ${allowed}`,
          this.ctx(opNode, ctx.itemType, ctx.itemName));
      }
    }
    return out;
  }

  // ---- items -----------------------------------------------------------

  private readEngineVersion(item: YAMLMap): void {
    const ctx = this.ctx(item, 'required_engine_version', '');
    const text = this.str(item, 'required_engine_version', ctx);
    let version;
    if (/^[0-9]+$/.test(text)) {
      // The integer form N means 0.N.0 (Falco's implicit engine version).
      version = { major: 0, minor: Number(text), patch: 0 };
    } else {
      version = parseSemver(text);
      if (!version) {
        throw yamlError(`Can't decode YAML scalar value: unable to parse engine version '${text}' as a semver string. ` +
          'Expected "x.y.z" semver format or an integer.', ctx);
      }
    }
    this.collector.defineEngineVersion(version, text, ctx);
  }

  private readPluginVersions(item: YAMLMap): void {
    const node = this.value(item, 'required_plugin_versions', this.ctx(item, 'required_plugin_versions', ''));
    const ctx = this.ctx(node ?? item, 'required_plugin_versions', '');
    if (!isSeq(node)) throw yamlError('Value of required_plugin_versions must be a sequence', ctx);
    for (const plugin of node.items as (YamlNode | null)[]) {
      const tmp = this.ctx(plugin, 'required_plugin_versions entry', '');
      if (!isMap(plugin)) throw yamlError('Plugin version must be a mapping', tmp);
      const name = this.str(plugin, 'name', tmp);
      const pctx = this.ctx(plugin, 'required_plugin_versions entry', name);
      const alternatives: PluginRequirement[] = [{ name, version: this.str(plugin, 'version', pctx) }];
      const alts = this.value(plugin, 'alternatives', pctx);
      if (alts !== undefined && !isNull(alts)) {
        if (!isSeq(alts)) throw yamlError('Value of plugin version alternatives must be a sequence', pctx);
        for (const alt of alts.items as (YamlNode | null)[]) {
          const actx = this.ctx(alt, 'required_plugin_versions alternative', '');
          if (!isMap(alt)) throw yamlError('Plugin version alternative must be a mapping', actx);
          const altName = this.str(alt, 'name', actx);
          alternatives.push({ name: altName, version: this.str(alt, 'version', { ...actx, itemName: altName }) });
        }
      }
      this.collector.definePluginRequirement(alternatives, pctx);
    }
  }

  private readList(item: YAMLMap): void {
    const name = this.str(item, 'list', this.ctx(item, 'list', ''));
    const ctx = this.ctx(item, 'list', name);
    if (!BARE_STRING.test(name)) {
      this.result.warning('LOAD_INVALID_LIST_NAME',
        `List name '${name}' contains invalid characters: list names must match [^()"'[:space:]=,]+ to be substituted in conditions`, ctx);
    }
    const items = this.sequenceOfScalars(item, 'items', ctx, false)!;
    const append = this.optBool(item, 'append', ctx) ?? false;
    if (append) this.result.warning('LOAD_DEPRECATED_ITEM', "The 'append' key is deprecated; use 'override: {items: append}'", ctx);
    const ov = this.overrides(item, ['items'], ['items'], ctx);
    if (append && (ov.append.size || ov.replace.size)) {
      throw yamlError("Keys 'override' and 'append: true' cannot be used together. Add an 'append' entry (e.g. 'items: append') under 'override' instead.", ctx);
    }
    this.warnUnknownKeys(item, LIST_KEYS, ctx);
    if (append || ov.append.has('items')) this.collector.appendList(name, items, ctx);
    else this.collector.defineList(name, items, ctx);
  }

  private readMacro(item: YAMLMap): void {
    const name = this.str(item, 'macro', this.ctx(item, 'macro', ''));
    const ctx = this.ctx(item, 'macro', name);
    if (!IDENTIFIER.test(name)) {
      this.result.warning('LOAD_INVALID_MACRO_NAME',
        `Macro name '${name}' is not an identifier ([a-zA-Z]+[a-zA-Z0-9_]*) and cannot be referenced from conditions`, ctx);
    }
    const cond = this.mapped(item, 'condition', ctx);
    const append = this.optBool(item, 'append', ctx) ?? false;
    if (append) this.result.warning('LOAD_DEPRECATED_ITEM', "The 'append' key is deprecated; use 'override: {condition: append}'", ctx);
    const ov = this.overrides(item, ['condition'], ['condition'], ctx);
    if (append && (ov.append.size || ov.replace.size)) {
      throw yamlError("Keys 'override' and 'append: true' cannot be used together. Add an 'append' entry (e.g. 'condition: append') under 'override' instead.", ctx);
    }
    this.warnUnknownKeys(item, MACRO_KEYS, ctx);
    if (append || ov.append.has('condition')) this.collector.appendMacro(name, cond, ctx);
    else this.collector.defineMacro(name, cond, ctx);
  }

  private readRule(item: YAMLMap): void {
    const name = this.str(item, 'rule', this.ctx(item, 'rule', ''));
    const ctx = this.ctx(item, 'rule', name);
    this.warnUnknownKeys(item, RULE_KEYS, ctx);
    const appendFlag = this.optBool(item, 'append', ctx) ?? false;
    if (appendFlag) {
      this.result.warning('LOAD_DEPRECATED_ITEM', "The 'append' key is deprecated; use 'override' with 'append' entries", ctx);
    }
    const ov = this.overrides(item, RULE_APPENDABLE, RULE_REPLACEABLE, ctx);
    const hasOverrides = ov.append.size > 0 || ov.replace.size > 0;
    if (appendFlag && hasOverrides) {
      throw yamlError("Keys 'override' and 'append: true' cannot be used together. Add an 'append' entry (e.g. 'condition: append') under 'override' instead.", ctx);
    }

    if (hasOverrides) return this.readRuleOverride(item, name, ctx, ov);

    if (appendFlag) {
      const update: RuleUpdate = { name, ctx };
      if (getPair(item, 'condition')) update.cond = this.mapped(item, 'condition', ctx);
      if (getPair(item, 'exceptions')) update.exceptions = this.exceptions(item, ctx, true);
      this.collector.appendRule(update);
      return;
    }

    if (!getPair(item, 'condition') && !getPair(item, 'output') && !getPair(item, 'desc') && !getPair(item, 'priority')) {
      const enabled = this.bool(item, 'enabled', ctx);
      this.result.warning('LOAD_DEPRECATED_ITEM',
        "The rule has only 'enabled': this form is deprecated; use 'override: {enabled: replace}'", ctx);
      this.collector.enableRule(name, enabled, ctx);
      return;
    }

    const cond = this.mapped(item, 'condition', ctx);
    const output = this.mapped(item, 'output', ctx, true);
    const desc = this.str(item, 'desc', ctx);
    const priority = this.priority(item, ctx);
    const info: RuleInfo = {
      name,
      cond,
      output,
      desc,
      priority,
      source: getPair(item, 'source') ? this.sourceName(item, ctx) : 'syscall',
      enabled: this.optBool(item, 'enabled', ctx) ?? true,
      warnEvttypes: this.optBool(item, 'warn_evttypes', ctx) ?? true,
      skipIfUnknownFilter: this.optBool(item, 'skip-if-unknown-filter', ctx) ?? false,
      tags: new Set(this.sequenceOfScalars(item, 'tags', ctx, true) ?? []),
      exceptions: this.exceptions(item, ctx, false),
      unknownSource: false,
      ctx,
      index: 0,
      visibility: 0,
    };
    this.collector.defineRule(info);
  }

  /** `source:` may be empty (Falco treats it as given-but-empty); default stays syscall otherwise. */
  private sourceName(item: YAMLMap, ctx: Context): string {
    const node = this.value(item, 'source', ctx);
    if (isNull(node)) return 'syscall';
    return scalarText(node!);
  }

  private priority(item: YAMLMap, ctx: Context) {
    const text = this.str(item, 'priority', ctx);
    const p = parsePriority(text);
    if (!p) {
      throw yamlError(`Invalid priority '${text}' (expected one of emergency, alert, critical, error, warning, notice, informational/info, debug)`,
        this.ctx(this.value(item, 'priority', ctx), 'rule', ctx.itemName));
    }
    return p;
  }

  private readRuleOverride(item: YAMLMap, name: string, ctx: Context, ov: { append: Set<string>; replace: Set<string> }): void {
    // Every overridable key present must be listed under override, and vice versa.
    const expected = new Set([...RULE_APPENDABLE, ...RULE_REPLACEABLE].filter((k) => getPair(item, k)));
    const take = (set: Set<string>, kind: string, key: string): boolean => {
      if (!set.has(key)) return false;
      if (!expected.has(key)) {
        throw yamlError(`An ${kind} override for '${key}' was specified but '${key}' is not defined`, ctx);
      }
      expected.delete(key);
      return true;
    };
    // The keys both operations can carry, read the same way for either.
    const readShared = (set: Set<string>, kind: string): RuleUpdate => {
      const u: RuleUpdate = { name, ctx };
      if (take(set, kind, 'condition')) u.cond = this.mapped(item, 'condition', ctx);
      if (take(set, kind, 'exceptions')) u.exceptions = this.exceptions(item, ctx, true);
      if (take(set, kind, 'output')) u.output = this.mapped(item, 'output', ctx, true);
      if (take(set, kind, 'desc')) u.desc = this.str(item, 'desc', ctx);
      if (take(set, kind, 'tags')) u.tags = new Set(this.sequenceOfScalars(item, 'tags', ctx, true));
      return u;
    };
    if (ov.append.size) this.collector.appendRule(readShared(ov.append, 'append'));
    if (ov.replace.size) {
      const u = readShared(ov.replace, 'replace');
      if (take(ov.replace, 'replace', 'priority')) u.priority = this.priority(item, ctx);
      if (take(ov.replace, 'replace', 'enabled')) u.enabled = this.bool(item, 'enabled', ctx);
      if (take(ov.replace, 'replace', 'warn_evttypes')) u.warnEvttypes = this.bool(item, 'warn_evttypes', ctx);
      if (take(ov.replace, 'replace', 'skip-if-unknown-filter')) {
        u.skipIfUnknownFilter = this.bool(item, 'skip-if-unknown-filter', ctx);
      }
      // capture settings are accepted for compatibility and have no effect in Tiercel.
      take(ov.replace, 'replace', 'capture');
      take(ov.replace, 'replace', 'capture_duration');
      this.collector.replaceRule(u);
    }
    for (const key of expected) {
      const pair = getPair(item, key)!;
      throw yamlError(`Unexpected key '${key}': no corresponding entry under 'override' is defined.`,
        this.ctx(pair.key as YamlNode, 'rule', name));
    }
  }

  private exceptions(item: YAMLMap, parent: Context, append: boolean): ExceptionInfo[] {
    const node = this.value(item, 'exceptions', parent);
    if (node === undefined || isNull(node)) return [];
    if (!isSeq(node)) throw yamlError('Rule exceptions must be a sequence', this.ctx(node, 'exceptions', ''));
    const out: ExceptionInfo[] = [];
    for (const exNode of node.items as (YamlNode | null)[]) {
      const tmp = this.ctx(exNode, 'exception', '');
      if (!isMap(exNode)) throw yamlError('Rule exception must be a mapping', tmp);
      const name = this.str(exNode, 'name', tmp);
      const ctx = this.ctx(exNode, 'exception', name);
      if (out.some((e) => e.name === name)) {
        this.result.warning('LOAD_EXCEPTION_NAME_NOT_UNIQUE', `Multiple definitions of exception '${name}' in the same rule`, ctx);
      }
      const fields = this.entry(exNode, 'fields', ctx, append);
      const comps = this.entry(exNode, 'comps', ctx, true);
      const values: ExceptionEntry[] = [];
      const valsNode = this.value(exNode, 'values', ctx);
      if (valsNode !== undefined) {
        if (!isSeq(valsNode)) throw yamlError('Rule exception values must be a sequence', this.ctx(valsNode, 'exception', name));
        for (const v of valsNode.items as (YamlNode | null)[]) values.push(this.entryOf(v, ctx));
      } else if (append) {
        this.result.warning('LOAD_APPEND_NO_VALUES', 'Overriding/appending exception with no values', ctx);
      }
      const ex: ExceptionInfo = { name, values, ctx };
      if (fields) (ex as { fields?: ExceptionEntry }).fields = fields;
      if (comps) ex.comps = comps;
      out.push(ex);
    }
    return out;
  }

  private entry(map: YAMLMap, key: string, ctx: Context, optional: boolean): ExceptionEntry | undefined {
    const pair = getPair(map, key);
    if (!pair) {
      if (optional) return undefined;
      throw yamlError(`Item has no mapping for key '${key}'`, ctx);
    }
    return this.entryOf(pair.value as YamlNode | null, ctx);
  }

  private entryOf(node: YamlNode | null, ctx: Context): ExceptionEntry {
    if (isSeq(node)) {
      return { isList: true, item: '', items: (node.items as (YamlNode | null)[]).map((v) => this.entryOf(v, ctx)) };
    }
    if (isScalar(node) && !isNull(node)) return { isList: false, item: scalarText(node), items: [] };
    if (isScalar(node) || node === null) throw yamlError('Value must be non-empty', this.ctx(node, ctx.itemType, ctx.itemName));
    throw yamlError('Exception values must be scalars or sequences', this.ctx(node, ctx.itemType, ctx.itemName));
  }
}
