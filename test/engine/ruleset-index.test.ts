/**
 * Rule indexing must be invisible: for any rules and events, an indexed
 * ruleset raises exactly the alerts, in the same order, as evaluating every
 * rule in load order.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseCondition } from '../../src/engine/condition/parser.js';
import { valuesOf } from '../../src/engine/condition/value-sets.js';
import { loadRules } from '../../src/engine/loader.js';
import { Ruleset } from '../../src/engine/ruleset.js';
import { FieldRegistry } from '../../src/engine/fields.js';
import { TEST_FIELDS, ev, testRegistry } from '../helpers/test-source.js';

function set(cond: string) {
  const s = valuesOf(parseCondition(cond), 't.str');
  return { finite: s.finite, values: [...s.values].sort(), absent: s.absent };
}

describe('index value analysis', () => {
  it('derives finite sets from =, in and their combinations', () => {
    assert.deepEqual(set('t.str = a'), { finite: true, values: ['a'], absent: false });
    assert.deepEqual(set('t.str in (a, b) and t.num > 1'), { finite: true, values: ['a', 'b'], absent: false });
    assert.deepEqual(set('t.str = a or t.str in (b)'), { finite: true, values: ['a', 'b'], absent: false });
    assert.deepEqual(set('t.str in (a, b) and not t.str = b'), { finite: true, values: ['a'], absent: false });
  });
  it('treats != and negations as complements, and tracks absence', () => {
    assert.deepEqual(set('t.str != a'), { finite: false, values: ['a'], absent: false });
    assert.deepEqual(set('not t.str = a'), { finite: false, values: ['a'], absent: true });
    assert.deepEqual(set('not t.str != a'), { finite: true, values: ['a'], absent: true });
    assert.deepEqual(set('not (t.str = a or t.other = b)'), { finite: false, values: ['a'], absent: true });
    assert.deepEqual(set('t.other = x'), { finite: false, values: [], absent: true });
    assert.deepEqual(set('t.str = a or t.other = x'), { finite: false, values: [], absent: true });
  });
});

const atom = fc.oneof(
  fc.constantFrom('a', 'b', 'c').map((v) => `t.str = ${v}`),
  fc.constantFrom('a', 'b', 'c').map((v) => `t.str != ${v}`),
  fc.subarray(['a', 'b', 'c', 'd'], { minLength: 1 }).map((vs) => `t.str in (${vs.join(', ')})`),
  fc.constantFrom('x', 'y').map((v) => `t.other = ${v}`),
  fc.constant('t.str exists'),
  fc.constant('t.str startswith a'),
);
const condition: fc.Arbitrary<string> = fc.letrec((tie) => ({
  expr: fc.oneof(
    { depthSize: 'small' },
    atom,
    fc.tuple(tie('expr'), tie('expr')).map(([l, r]) => `(${l} and ${r})`),
    fc.tuple(tie('expr'), tie('expr')).map(([l, r]) => `(${l} or ${r})`),
    tie('expr').map((e) => `not (${e})`),
  ),
})).expr as fc.Arbitrary<string>;

const event = fc.record({
  's': fc.option(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'ab'), { nil: undefined }),
  'o': fc.option(fc.constantFrom('x', 'y'), { nil: undefined }),
});

describe('indexed evaluation', () => {
  it('raises the same alerts as evaluating every rule in order', () => {
    fc.assert(fc.property(fc.array(condition, { minLength: 1, maxLength: 8 }), fc.array(event, { maxLength: 10 }),
      fc.constantFrom('first', 'all') as fc.Arbitrary<'first' | 'all'>, (conds, events, ruleMatching) => {
        const text = conds.map((c, i) => `
- rule: r${i}
  desc: d
  condition: ${JSON.stringify(c)}
  output: o
  priority: WARNING
  source: test`).join('\n');
        const plainRegistry = testRegistry(false);
        const indexedRegistry = testRegistry(true);
        const plain = new Ruleset(loadRules([{ name: 'x.yaml', text }], plainRegistry).rules, plainRegistry, { ruleMatching });
        const indexed = new Ruleset(loadRules([{ name: 'x.yaml', text }], indexedRegistry).rules, indexedRegistry, { ruleMatching });
        for (const e of events) {
          const data = { 't.str': e.s, 't.other': e.o };
          assert.deepEqual(indexed.process(ev(data)).map((a) => a.rule), plain.process(ev(data)).map((a) => a.rule),
            JSON.stringify({ conds, data }));
        }
      }), { numRuns: 500 });
  });
});

describe('capture set for sources with a finite index (event types)', () => {
  const universe = Array.from({ length: 150 }, (_, i) => `type${i}`);
  const registry = new FieldRegistry().register({
    name: 'test',
    desc: 'test source indexed by a finite set of types',
    fields: TEST_FIELDS,
    index: { field: 't.str', universe, read: (e: { data: Record<string, unknown> }) => e.data['t.str'] as string },
  });
  const rule = (name: string, cond: string, extra = '') =>
    `\n- rule: ${name}\n  desc: d\n  condition: ${cond}\n  output: o\n  priority: WARNING\n  source: test\n${extra}`;

  it('computes the types the enabled rules need', () => {
    const loaded = loadRules([{ name: 'x.yaml', text: rule('a', 't.str in (type1, type2) and t.other = x') + rule('b', 't.str = type3') }], registry);
    assert.deepEqual(loaded.findings, []);
    const rs = new Ruleset(loaded.rules, registry);
    assert.deepEqual([...rs.requiredIndexValues('test')!].sort(), ['type1', 'type2', 'type3']);
  });

  it('needs every type once a rule is unrestricted, and warns about such rules', () => {
    const loaded = loadRules([{ name: 'x.yaml', text: rule('a', 't.str = type1') + rule('b', 't.str != type1') + rule('c', 't.other = x', '  warn_evttypes: false') }], registry);
    assert.deepEqual(loaded.findings.map((f) => [f.code, f.itemName, f.message]), [
      ['LOAD_NO_EVTTYPE', 'b', 'Rule matches too many t.str values. This has a significant performance penalty.'],
    ]);
    const rs = new Ruleset(loaded.rules, registry);
    assert.equal(rs.requiredIndexValues('test'), undefined);
    const onlyA = new Ruleset(loaded.rules, registry, { selections: [{ action: 'disable', rule: '*' }, { action: 'enable', rule: 'a' }] });
    assert.deepEqual([...onlyA.requiredIndexValues('test')!], ['type1']);
  });
});
