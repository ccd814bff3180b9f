import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type LoadedRules, loadRules } from '../../src/engine/loader.js';
import { Ruleset } from '../../src/engine/ruleset.js';
import { ev, testRegistry } from '../helpers/test-source.js';

const registry = testRegistry();

function load(...texts: string[]): LoadedRules {
  return loadRules(texts.map((text, i) => ({ name: `rules${i + 1}.yaml`, text })), registry);
}

function condition(loaded: LoadedRules, rule: string): string {
  const r = loaded.rules.find((x) => x.name === rule);
  assert.ok(r, `rule ${rule} compiled; findings: ${JSON.stringify(loaded.findings)}`);
  return r.condition;
}

function codes(loaded: LoadedRules): string[] {
  return loaded.findings.map((f) => f.code);
}

const rule = (name: string, cond: string, extra = '') => `
- rule: ${name}
  desc: d
  condition: ${cond}
  output: "out %t.str"
  priority: WARNING
  source: test
${extra}`;

describe('rules loader: lists and macros', () => {
  it('substitutes lists and flattens earlier lists into later ones', () => {
    const loaded = load(`
- list: a
  items: [x, "y z"]
- list: b
  items: [a, w]
- macro: m
  condition: t.str in (b)
${rule('r', 'm and t.other = q')}`);
    assert.deepEqual(codes(loaded), []);
    assert.equal(condition(loaded, 'r'), '(t.str in (x, "y z", w) and t.other = q)');
  });

  it('leaves an undefined list name inside parentheses as a literal', () => {
    const loaded = load(rule('r', 't.str in (not_a_list)'));
    assert.equal(condition(loaded, 'r'), 't.str in (not_a_list)');
  });

  it('removes a comma next to an empty list', () => {
    const loaded = load(`
- list: empty
  items: []
${rule('r', 't.str in (a, empty)')}`);
    assert.equal(condition(loaded, 'r'), 't.str in (a)');
  });

  it('appends to lists and macros (append: true and override)', () => {
    const loaded = load(`
- list: l
  items: [a]
- macro: m
  condition: t.str in (l)
${rule('r', 'm')}
`, `
- list: l
  items: [b]
  override:
    items: append
- macro: m
  condition: or t.other = x
  append: true
`);
    assert.deepEqual(codes(loaded), ['LOAD_DEPRECATED_ITEM']);
    assert.equal(condition(loaded, 'r'), '(t.str in (a, b) or t.other = x)');
  });

  it('lets a macro use only macros defined before it', () => {
    const loaded = load(`
- macro: first
  condition: second
- macro: second
  condition: t.str = x
${rule('r', 'first')}`);
    const err = loaded.findings.find((f) => f.severity === 'error');
    assert.ok(err);
    assert.equal(err.code, 'LOAD_ERR_VALIDATE');
    assert.equal(err.message, "Undefined macro 'second' used in filter.");
    assert.equal(err.itemType, 'macro');
    assert.equal(err.itemName, 'first');
    assert.equal(err.line, 3);
  });

  it('detects macro reference loops', () => {
    const loaded = load(`
- macro: macro_a
  condition: t.str = x
- macro: macro_b
  condition: macro_a
- macro: macro_a
  condition: macro_b
`);
    assert.ok(loaded.findings.some((f) => f.code === 'LOAD_ERR_VALIDATE' && /reference loop in macro/.test(f.message)));
  });

  it('warns about unused lists and macros', () => {
    const loaded = load(`
- list: unused_list
  items: [a]
- macro: unused_macro
  condition: t.str = x
`);
    assert.deepEqual(codes(loaded).sort(), ['LOAD_UNUSED_LIST', 'LOAD_UNUSED_MACRO']);
  });
});

describe('rules loader: rules', () => {
  it('redefines, appends and overrides rules', () => {
    const loaded = load(rule('r', 't.str = a', '  tags: [one]'), `
- rule: r
  condition: and t.other = b
  output: "(extra)"
  tags: [two]
  override:
    condition: append
    output: append
    tags: append
- rule: r
  priority: ERROR
  enabled: false
  override:
    priority: replace
    enabled: replace
`);
    assert.deepEqual(codes(loaded), []);
    const r = loaded.rules[0]!;
    assert.equal(r.condition, '(t.str = a and t.other = b)');
    assert.equal(r.outputText, 'out %t.str (extra)');
    assert.deepEqual(r.tags, ['one', 'two']);
    assert.equal(r.priority, 'Error');
    assert.equal(r.enabled, false);
  });

  it('requires override keys and item keys to match', () => {
    const missing = load(rule('r', 't.str = a'), `
- rule: r
  condition: and t.other = b
  desc: extra
  override:
    condition: append
`);
    assert.match(missing.findings.find((f) => f.severity === 'error')!.message,
      /Unexpected key 'desc': no corresponding entry under 'override' is defined/);
    const bad = load(rule('r', 't.str = a'), `
- rule: r
  priority: INFO
  override:
    priority: append
`);
    assert.match(bad.findings[0]!.message, /Key 'priority' cannot be appended to, use 'replace' instead/);
  });

  it('parses priorities case-insensitively with info, and rejects others', () => {
    const ok = load(rule('r', 't.str = a').replace('WARNING', 'info'));
    assert.equal(ok.rules[0]!.priority, 'Informational');
    const bad = load(rule('r', 't.str = a').replace('WARNING', 'WARN'));
    assert.equal(bad.findings[0]!.code, 'LOAD_ERR_YAML_VALIDATE');
    assert.match(bad.findings[0]!.message, /Invalid priority 'WARN'/);
  });

  it('toggles a rule with the legacy enabled-only form', () => {
    const loaded = load(rule('r', 't.str = a'), '- rule: r\n  enabled: false\n');
    assert.equal(loaded.rules[0]!.enabled, false);
    assert.deepEqual(codes(loaded), ['LOAD_DEPRECATED_ITEM']);
  });

  it('warns about unknown items and keys but keeps loading', () => {
    const loaded = load(`
- something: else
${rule('r', 't.str = a', '  color: blue')}`);
    assert.deepEqual(codes(loaded), ['LOAD_UNKNOWN_ITEM', 'LOAD_UNKNOWN_KEY']);
    assert.equal(loaded.ok, true);
    assert.equal(loaded.rules.length, 1);
  });

  it('skips rules of unknown sources with a warning', () => {
    const loaded = load(rule('r', 'ct.name = x').replace('source: test', 'source: aws_cloudtrail'));
    assert.deepEqual(codes(loaded), ['LOAD_UNKNOWN_SOURCE']);
    assert.equal(loaded.rules.length, 0);
    assert.equal(loaded.skippedRules.length, 1);
  });

  it('skips rules with unknown fields when skip-if-unknown-filter is set', () => {
    const loaded = load(rule('r', 't.nope = x', '  skip-if-unknown-filter: true'));
    assert.deepEqual(codes(loaded), ['LOAD_UNKNOWN_FILTER']);
    assert.equal(loaded.ok, true);
    const strict = load(rule('r', 't.nope = x'));
    assert.equal(strict.findings[0]!.code, 'LOAD_ERR_COMPILE_CONDITION');
    assert.match(strict.findings[0]!.message, /nonexistent field t.nope/);
  });

  it('rejects outputs with unknown fields, pointing at the token', () => {
    const loaded = load(`
- rule: r
  desc: d
  condition: t.str = a
  output: "value %t.str then %not_a_real_field"
  priority: WARNING
  source: test
`);
    const f = loaded.findings[0]!;
    assert.equal(f.code, 'LOAD_ERR_COMPILE_OUTPUT');
    assert.equal(f.message, 'invalid formatting token not_a_real_field');
    assert.equal(f.line, 5);
    assert.equal(f.col, 30);
  });

  it('points compile errors at the line and column inside a multi-line condition', () => {
    const loaded = load(`
- rule: r
  desc: d
  condition: >
    t.str = a and
    t.list = b
  output: x
  priority: WARNING
  source: test
`);
    const f = loaded.findings[0]!;
    assert.equal(f.code, 'LOAD_ERR_COMPILE_CONDITION');
    assert.equal(f.line, 6);
    assert.equal(f.col, 5);
    assert.match(f.message, /not supported for list fields/);
  });

  it('points errors inside macros at the macro text', () => {
    const loaded = load(`
- macro: m
  condition: t.str = a and t.nope = b
${rule('r', 'm')}`);
    const f = loaded.findings[0]!;
    assert.equal(f.code, 'LOAD_ERR_COMPILE_CONDITION');
    assert.equal(f.itemName, 'r');
    assert.equal(f.line, 3);
    assert.equal(f.col, 28);
  });

  it('reports every failing rule, not only the first', () => {
    const loaded = load(rule('a', 't.x = 1'), rule('b', 't.y = 1'), rule('c', 't.str = 1'));
    assert.equal(loaded.findings.filter((f) => f.severity === 'error').length, 2);
    assert.equal(loaded.rules.length, 1);
  });
});

describe('rules loader: exceptions', () => {
  it('builds exception clauses exactly as Falco does', () => {
    const loaded = load(`
- list: names
  items: [n1, n2]
${rule('r', 't.str = a', `  exceptions:
    - name: pairs
      fields: [t.str, t.other]
      comps: [in, startswith]
      values:
        - [x, /usr]
        - [[a, b], "c d"]
    - name: single
      fields: t.other
      values: [p, "q r"]
    - name: listref
      fields: [t.other]
      comps: [in]
      values:
        - [names]`)}`);
    assert.deepEqual(codes(loaded), []);
    assert.equal(condition(loaded, 'r'),
      '(t.str = a and not ((t.str in (x) and t.other startswith /usr) or (t.str in (a, b) and t.other startswith "c d")) ' +
      'and not t.other in (p, "q r") and not t.other in (n1, n2))');
  });

  it('appends exception values to an existing exception', () => {
    const loaded = load(rule('r', 't.str = a', `  exceptions:
    - name: e
      fields: [t.other]
      values: [[x]]`), `
- rule: r
  exceptions:
    - name: e
      values: [[y]]
  override:
    exceptions: append
`);
    assert.deepEqual(codes(loaded), []);
    const r = loaded.rules[0]!;
    const set = new Ruleset([r], registry);
    assert.equal(set.process(ev({ 't.str': 'a', 't.other': 'y' })).length, 0);
    assert.equal(set.process(ev({ 't.str': 'a', 't.other': 'z' })).length, 1);
  });

  it('validates exception shapes', () => {
    const mismatch = load(rule('r', 't.str = a', `  exceptions:
    - name: e
      fields: [t.str, t.other]
      comps: [=]`));
    assert.equal(mismatch.findings[0]!.message, 'Fields and comps lists must have equal length');
    const badField = load(rule('r', 't.str = a', `  exceptions:
    - name: e
      fields: [not.exist]`));
    assert.equal(badField.findings[0]!.message, "'not.exist' is not a supported filter field");
    const badComp = load(rule('r', 't.str = a', `  exceptions:
    - name: e
      fields: [t.str]
      comps: [no-comp]`));
    assert.equal(badComp.findings[0]!.message, "'no-comp' is not a supported comparison operator");
  });
});

describe('ruleset evaluation', () => {
  const text = `
${rule('first', 't.str = a')}
${rule('second', 't.str startswith a')}
${rule('debug', 't.str = a').replace('WARNING', 'DEBUG').replace('name: debug', 'name: debug')}`;
  it('stops at the first matching rule by default, and reports all with rule_matching all', () => {
    const loaded = load(text.replace('rule: debug', 'rule: third'));
    const first = new Ruleset(loaded.rules, registry);
    assert.deepEqual(first.process(ev({ 't.str': 'a' })).map((a) => a.rule), ['first']);
    const all = new Ruleset(loaded.rules, registry, { ruleMatching: 'all' });
    assert.deepEqual(all.process(ev({ 't.str': 'a' })).map((a) => a.rule), ['first', 'second', 'third']);
  });
  it('honours minimum priority and selections by name and tag', () => {
    const loaded = load(text.replace('rule: debug', 'rule: third'));
    const min = new Ruleset(loaded.rules, registry, { ruleMatching: 'all', minPriority: 'Notice' });
    assert.deepEqual(min.process(ev({ 't.str': 'a' })).map((a) => a.rule), ['first', 'second']);
    const sel = new Ruleset(loaded.rules, registry, { ruleMatching: 'all', selections: [{ action: 'disable', rule: 'f*' }] });
    assert.deepEqual(sel.process(ev({ 't.str': 'a' })).map((a) => a.rule), ['second', 'third']);
  });
  it('renders outputs with <NA> for absent fields and keeps output_fields', () => {
    const loaded = load(rule('r', 't.str = a').replace('"out %t.str"', '"user=%t.other list=%t.list n=%5t.str."'));
    const [alert] = new Ruleset(loaded.rules, registry).process(ev({ 't.str': 'a', 't.list': ['x', 'y'] }));
    assert.ok(alert);
    assert.equal(alert.message, 'user=<NA> list=(x,y) n=a    .');
    assert.deepEqual(alert.outputFields['t.other'], null);
    assert.deepEqual(alert.outputFields['t.list'], ['x', 'y']);
    assert.equal(typeof alert.outputFields['evt.time'], 'bigint');
  });
});
