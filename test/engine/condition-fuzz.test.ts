/**
 * Property tests of the condition language: random and mutated conditions
 * never crash the parser, the compiler or the rules loader, and every error
 * carries a position inside the input.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { print } from '../../src/engine/condition/ast.js';
import { CompileError, compileCondition } from '../../src/engine/condition/compile.js';
import { ParseError, parseCondition } from '../../src/engine/condition/parser.js';
import { loadRules } from '../../src/engine/loader.js';
import { anchorPath, anchorsAvailable } from '../helpers/anchors.js';
import { ev, testRegistry } from '../helpers/test-source.js';

const registry = testRegistry();

const TOKENS = [
  't.str', 't.list', 't.num', 't.idx[0]', 't.key[a]', 't.ip', 't.absent', 'x.y', 'macro_a', 'and', 'or', 'not',
  'not(', '(', ')', '=', '==', '!=', '<', '<=', '>', '>=', 'in', 'intersects', 'pmatch', 'contains',
  'icontains', 'startswith', 'endswith', 'glob', 'iglob', 'regex', 'exists', 'bcontains', 'anyof', ',',
  '"a b"', "'c'", '"esc\\"aped"', '"\\x41"', '"\\q"', '1', '0x1F', '-3.5e+2', '/etc', '*', 'val(', 'tolower(',
  'b64(', 'len(', 'basename(', '[', ']', '\n', '\t', ' ', '"unterminated', "'", '\\', '<NA>', '%',
];

const tokenSoup = fc.array(fc.constantFrom(...TOKENS), { maxLength: 40 }).map((ts) => ts.join(' '));
const tightSoup = fc.array(fc.constantFrom(...TOKENS), { maxLength: 40 }).map((ts) => ts.join(''));

function assertParsesOrPositionedError(input: string): void {
  try {
    const ast = parseCondition(input);
    // Printing a parsed condition and parsing it again gives the same print.
    const printed = print(ast);
    assert.equal(print(parseCondition(printed)), printed);
  } catch (e) {
    if (!(e instanceof ParseError)) throw e;
    assert.ok(e.message.length > 0);
    assert.ok(e.pos.idx >= 0 && e.pos.idx <= input.length, `position ${e.pos.idx} within input of ${input.length}`);
    assert.ok(e.pos.line >= 1 && e.pos.col >= 1);
  }
}

function assertCompilesOrPositionedError(input: string): void {
  let ast;
  try {
    ast = parseCondition(input);
  } catch (e) {
    if (e instanceof ParseError) return;
    throw e;
  }
  try {
    const { predicate } = compileCondition(ast, { registry, source: 'test' });
    // Evaluation of a compiled condition never throws, whatever the event holds.
    predicate(ev({ 't.str': 'a b', 't.list': ['x'], 't.num': 3, 't.ip': '127.0.0.1' }));
    predicate(ev({}));
  } catch (e) {
    if (!(e instanceof CompileError)) throw e;
    assert.ok(e.pos, `compile error without position: ${e.message}`);
  }
}

/** Valid conditions to mutate: from the upstream rules when available, else a built-in set. */
function seedConditions(): string[] {
  const seeds = [
    't.str = a and not t.list intersects (x, "y z") or (t.num > 3 and t.key[k] startswith /etc)',
    'tolower(t.str) in (a, b) and t.str = val(t.other) and len(t.list) >= 2',
    't.path pmatch (/tmp, /var/*/log) and t.ip in (127.0.0.0/8, ::1) and t.str regex "a.*b"',
  ];
  if (anchorsAvailable) {
    const text = readFileSync(anchorPath('falco-rules', 'k8s_audit_rules.yaml'), 'utf8');
    for (const m of text.matchAll(/^\s+condition: (.+)$/gm)) seeds.push(m[1]!);
  }
  return seeds;
}

const mutation = fc.record({
  seed: fc.nat(),
  ops: fc.array(fc.record({
    kind: fc.constantFrom('insert', 'delete', 'replace', 'duplicate'),
    at: fc.nat(),
    text: fc.constantFrom(...TOKENS, '(((', ')))', 'not not not', '""', "''"),
    len: fc.integer({ min: 1, max: 12 }),
  }), { minLength: 1, maxLength: 6 }),
});

function mutate(base: string, ops: { kind: string; at: number; text: string; len: number }[]): string {
  let s = base;
  for (const op of ops) {
    const at = s.length ? op.at % (s.length + 1) : 0;
    if (op.kind === 'insert') s = s.slice(0, at) + op.text + s.slice(at);
    else if (op.kind === 'delete') s = s.slice(0, at) + s.slice(at + op.len);
    else if (op.kind === 'replace') s = s.slice(0, at) + op.text + s.slice(at + op.len);
    else s = s.slice(0, at) + s.slice(at, at + op.len).repeat(3) + s.slice(at + op.len);
  }
  return s;
}

describe('condition language fuzzing', { timeout: 120_000 }, () => {
  it('parses random token soups or fails with a positioned ParseError', () => {
    fc.assert(fc.property(tokenSoup, assertParsesOrPositionedError), { numRuns: 3000 });
    fc.assert(fc.property(tightSoup, assertParsesOrPositionedError), { numRuns: 3000 });
  });

  it('parses arbitrary unicode strings or fails with a positioned ParseError', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200, unit: 'grapheme' }), assertParsesOrPositionedError), { numRuns: 3000 });
  });

  it('handles mutated real conditions', () => {
    const seeds = seedConditions();
    fc.assert(fc.property(mutation, ({ seed, ops }) => {
      assertParsesOrPositionedError(mutate(seeds[seed % seeds.length]!, ops));
    }), { numRuns: 3000 });
  });

  it('compiles random conditions or fails with a positioned CompileError, and evaluation never throws', () => {
    fc.assert(fc.property(tokenSoup, assertCompilesOrPositionedError), { numRuns: 3000 });
    const seeds = seedConditions().slice(0, 3);
    fc.assert(fc.property(mutation, ({ seed, ops }) => {
      assertCompilesOrPositionedError(mutate(seeds[seed % seeds.length]!, ops));
    }), { numRuns: 2000 });
  });

  it('survives deep nesting without a stack overflow', () => {
    for (const depth of [10, 200, 999, 5000, 50_000]) {
      assertParsesOrPositionedError('('.repeat(depth) + 't.str = a' + ')'.repeat(depth));
      assertParsesOrPositionedError('not '.repeat(depth) + 't.str = a');
      assertParsesOrPositionedError(Array(depth).fill('t.str = a').join(' and '));
    }
  });

  it('never lets a mutated rules file crash the loader', () => {
    const base = `
- list: l
  items: [a, "b c"]
- macro: m
  condition: t.str in (l) and not t.list intersects (x)
- rule: r
  desc: d
  condition: m or t.num > 1
  output: "s=%t.str n=%t.num"
  priority: WARNING
  source: test
  exceptions:
    - name: e
      fields: [t.str, t.other]
      comps: [=, in]
      values: [[a, [x, y]]]
`;
    fc.assert(fc.property(mutation, ({ ops }) => {
      const text = mutate(base, ops.map((o) => ({ ...o, text: o.kind === 'insert' && o.at % 3 === 0 ? '\n- ' : o.text })));
      const loaded = loadRules([{ name: 'fuzz.yaml', text }], registry);
      for (const f of loaded.findings) {
        assert.ok(f.line >= 0 && f.col >= 0);
        assert.ok(f.code.startsWith('LOAD_'));
      }
    }), { numRuns: 1500 });
  });
});
