/**
 * The enabled rules of each source, and evaluation.
 *
 * Rules run in load order. With `rule_matching: first` (Falco's default)
 * evaluation stops at the first match; with `all` every matching rule alerts.
 * Sources that declare an index field (event type for syscalls, target
 * resource for audit events) get their rules indexed by the values they can
 * match, so an event is checked only against rules that could match it; the
 * candidate list for each value keeps load order, so indexing never changes
 * which rule matches first.
 */
import type { Alert } from './alert.js';
import type { EngineEvent } from './event.js';
import type { FieldRegistry } from './fields.js';
import { getHostname, type NumberedEvent } from './generic-fields.js';
import { type Priority, atLeast } from './priority.js';
import type { CompiledRule } from './rules/compiler.js';

export type RuleMatching = 'first' | 'all';

/** One step of rule selection, applied in order (Falco's `rules:` config). */
export interface RuleSelection {
  readonly action: 'enable' | 'disable';
  /** Rule name, with `*` wildcards. */
  readonly rule?: string;
  readonly tag?: string;
}

export interface RulesetOptions {
  readonly ruleMatching?: RuleMatching;
  /** Rules less severe than this are not enabled (Falco `priority`). */
  readonly minPriority?: Priority;
  readonly selections?: readonly RuleSelection[];
}

interface SourceRules {
  /** For each index value, the rules that can match it, in load order. */
  readonly byValue: Map<string, CompiledRule[]>;
  /** Rules for events whose index value has no entry: the unrestricted ones. */
  readonly any: CompiledRule[];
  readonly indexValue?: (evt: EngineEvent) => string | undefined;
  readonly correlate?: (evt: EngineEvent) => Readonly<Record<string, string>> | undefined;
}

function wildcardToRegExp(pattern: string): RegExp {
  return new RegExp('^' + pattern.split('*').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
}

/** Decides which compiled rules are enabled. */
export function selectEnabled(rules: readonly CompiledRule[], options: RulesetOptions): CompiledRule[] {
  const enabled = new Map(rules.map((r) => [r, r.enabled]));
  for (const sel of options.selections ?? []) {
    const re = sel.rule !== undefined ? wildcardToRegExp(sel.rule) : undefined;
    for (const r of rules) {
      const byName = re ? re.test(r.name) : true;
      const byTag = sel.tag !== undefined ? r.tags.includes(sel.tag) : true;
      if (byName && byTag) enabled.set(r, sel.action === 'enable');
    }
  }
  return rules.filter((r) => enabled.get(r) && (!options.minPriority || atLeast(r.priority, options.minPriority)));
}

const NO_ALERTS: readonly Alert[] = Object.freeze([]);

export class Ruleset {
  private readonly bySource = new Map<string, SourceRules>();
  private readonly matching: RuleMatching;
  private eventCounter = 0;
  readonly enabledRules: readonly CompiledRule[];

  constructor(rules: readonly CompiledRule[], registry: FieldRegistry, options: RulesetOptions = {}) {
    this.matching = options.ruleMatching ?? 'first';
    this.enabledRules = selectEnabled(rules, options);
    const grouped = new Map<string, CompiledRule[]>();
    for (const rule of this.enabledRules) {
      let list = grouped.get(rule.source);
      if (!list) grouped.set(rule.source, (list = []));
      list.push(rule);
    }
    for (const [source, list] of grouped) {
      const def = registry.source(source);
      const index = def?.index;
      const correlate = def?.correlate ? (evt: EngineEvent) => def.correlate!(evt) : undefined;
      const any = list.filter((r) => !index || !r.indexValues);
      const byValue = new Map<string, CompiledRule[]>();
      if (index) {
        const values = new Set<string>();
        for (const r of list) for (const v of r.indexValues ?? []) values.add(v);
        for (const v of values) {
          byValue.set(v, list.filter((r) => !r.indexValues || r.indexValues.has(v)));
        }
      }
      this.bySource.set(source, {
        byValue,
        any,
        ...(index ? { indexValue: (evt: EngineEvent) => index.read(evt) } : {}),
        ...(correlate ? { correlate } : {}),
      });
    }
  }

  /** Sources that have at least one enabled rule. */
  sources(): string[] {
    return [...this.bySource.keys()];
  }

  /**
   * Values of the source's index field that the enabled rules need (for the
   * syscall source: the event types a sensor must capture). `undefined` when
   * some rule needs every event.
   */
  requiredIndexValues(source: string): Set<string> | undefined {
    const entry = this.bySource.get(source);
    if (!entry) return new Set();
    if (entry.any.length > 0) return undefined;
    return new Set(entry.byValue.keys());
  }

  /** Evaluates one event; returns the alerts it raises (none most of the time). */
  process(evt: EngineEvent): readonly Alert[] {
    const numbered = evt as NumberedEvent;
    if (numbered.num === undefined) numbered.num = ++this.eventCounter;
    const entry = this.bySource.get(evt.source);
    if (!entry) return NO_ALERTS;
    let rules = entry.any;
    if (entry.indexValue) {
      const v = entry.indexValue(evt);
      if (v !== undefined) rules = entry.byValue.get(v) ?? entry.any;
    }
    // Most events match nothing: no array is allocated for them.
    let alerts: Alert[] | undefined;
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]!;
      if (!rule.predicate(evt)) continue;
      (alerts ??= []).push(makeAlert(rule, evt, entry.correlate));
      if (this.matching === 'first') break;
    }
    return alerts ?? NO_ALERTS;
  }
}

/** Builds the alert for a rule that matched an event. */
export function makeAlert(
  rule: CompiledRule,
  evt: EngineEvent,
  correlate?: (evt: EngineEvent) => Readonly<Record<string, string>> | undefined,
): Alert {
  const { text, values: fields } = rule.output.renderWithValues(evt);
  if (rule.exceptionValues) {
    const extra = rule.exceptionValues.values(evt);
    for (const k of Object.keys(extra)) if (!(k in fields)) fields[k] = extra[k]!;
  }
  const time = evt.time;
  fields['evt.time'] = time;
  // One object shape for every alert (no spread of optional parts): alerts
  // are made on the hot path, and varying shapes make V8 take slow paths.
  return {
    time,
    rule: rule.name,
    priority: rule.priority,
    source: rule.source,
    tags: rule.tags,
    message: text,
    outputFields: fields,
    hostname: getHostname(),
    correlation: correlate?.(evt),
  };
}
