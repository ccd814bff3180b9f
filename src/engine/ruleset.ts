/**
 * The enabled rules of each source, and evaluation.
 *
 * Rules run in load order. For sources that index by event type, the rules
 * registered for the event's type run first, then the rules that apply to
 * every type (as Falco's evttype_index_ruleset does). With `rule_matching:
 * first` (Falco's default) evaluation stops at the first match; with `all`
 * every matching rule alerts.
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
  /** Rules by event type (indexed sources only). */
  readonly byType?: Map<string, CompiledRule[]>;
  /** Rules not tied to an event type, or every rule for other sources. */
  readonly any: CompiledRule[];
  readonly typeOf?: (evt: EngineEvent) => string;
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

export class Ruleset {
  private readonly bySource = new Map<string, SourceRules>();
  private readonly matching: RuleMatching;
  private eventCounter = 0;
  readonly enabledRules: readonly CompiledRule[];

  constructor(rules: readonly CompiledRule[], registry: FieldRegistry, options: RulesetOptions = {}) {
    this.matching = options.ruleMatching ?? 'first';
    this.enabledRules = selectEnabled(rules, options);
    for (const rule of this.enabledRules) {
      let entry = this.bySource.get(rule.source);
      if (!entry) {
        const types = registry.source(rule.source)?.eventTypes;
        entry = types
          ? { byType: new Map(), any: [], typeOf: (evt) => types.typeOf(evt) }
          : { any: [] };
        this.bySource.set(rule.source, entry);
      }
      const universe = registry.source(rule.source)?.eventTypes?.names.length ?? 0;
      if (entry.byType && rule.eventTypes && rule.eventTypes.size < universe) {
        for (const t of rule.eventTypes) {
          let list = entry.byType.get(t);
          if (!list) entry.byType.set(t, (list = []));
          list.push(rule);
        }
      } else {
        entry.any.push(rule);
      }
    }
  }

  /** Sources that have at least one enabled rule. */
  sources(): string[] {
    return [...this.bySource.keys()];
  }

  /**
   * Event types the enabled rules of an indexed source need: what a sensor
   * must capture. `undefined` when some rule applies to every type.
   */
  requiredEventTypes(source: string): Set<string> | undefined {
    const entry = this.bySource.get(source);
    if (!entry) return new Set();
    if (entry.any.length > 0) return undefined;
    return new Set(entry.byType?.keys() ?? []);
  }

  /** Evaluates one event; returns the alerts it raises (none most of the time). */
  process(evt: EngineEvent): Alert[] {
    const numbered = evt as NumberedEvent;
    if (numbered.num === undefined) numbered.num = ++this.eventCounter;
    const entry = this.bySource.get(evt.source);
    if (!entry) return [];
    const alerts: Alert[] = [];
    if (entry.byType && entry.typeOf) {
      const typed = entry.byType.get(entry.typeOf(evt));
      if (typed && this.run(typed, evt, alerts)) return alerts;
    }
    this.run(entry.any, evt, alerts);
    return alerts;
  }

  /** Returns true when evaluation should stop (first match found). */
  private run(rules: readonly CompiledRule[], evt: EngineEvent, alerts: Alert[]): boolean {
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]!;
      if (!rule.predicate(evt)) continue;
      alerts.push(makeAlert(rule, evt));
      if (this.matching === 'first') return true;
    }
    return false;
  }
}

/** Builds the alert for a rule that matched an event. */
export function makeAlert(rule: CompiledRule, evt: EngineEvent): Alert {
  const fields = rule.output.values(evt);
  if (rule.exceptionValues) {
    const extra = rule.exceptionValues.values(evt);
    for (const k of Object.keys(extra)) if (!(k in fields)) fields[k] = extra[k]!;
  }
  fields['evt.time'] = evt.time;
  return {
    time: evt.time,
    rule: rule.name,
    priority: rule.priority,
    source: rule.source,
    tags: rule.tags,
    message: rule.output.render(evt),
    outputFields: fields,
    hostname: getHostname(),
  };
}
