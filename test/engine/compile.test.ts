import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CompileError, compileCondition } from '../../src/engine/condition/compile.js';
import { parseCondition } from '../../src/engine/condition/parser.js';
import { ev, testRegistry, type TestEvent } from '../helpers/test-source.js';

const registry = testRegistry();

function run(cond: string, data: TestEvent['data']): boolean {
  const { predicate } = compileCondition(parseCondition(cond), { registry, source: 'test' });
  return predicate(ev(data));
}

function compileFails(cond: string, message: RegExp, unknownField = false): void {
  assert.throws(() => compileCondition(parseCondition(cond), { registry, source: 'test' }), (e: unknown) => {
    assert.ok(e instanceof CompileError, `expected CompileError for ${cond}`);
    assert.match(e.message, message);
    assert.equal(e.unknownField, unknownField);
    assert.ok(e.pos, 'compile errors carry a position');
    return true;
  });
}

describe('condition compiler: string operators', () => {
  const d = { 't.str': 'Hello/World' };
  it('compares exactly with = and !=', () => {
    assert.equal(run('t.str = Hello/World', d), true);
    assert.equal(run('t.str == "Hello/World"', d), true);
    assert.equal(run('t.str != Hello/World', d), false);
    assert.equal(run('t.str != x', d), true);
  });
  it('matches substrings, prefixes and suffixes', () => {
    assert.equal(run('t.str contains o/W', d), true);
    assert.equal(run('t.str icontains o/w', d), true);
    assert.equal(run('t.str contains o/w', d), false);
    assert.equal(run('t.str startswith Hell', d), true);
    assert.equal(run('t.str endswith World', d), true);
  });
  it('compares strings lexicographically with < and >', () => {
    assert.equal(run('t.str > 200', { 't.str': '404' }), true);
    assert.equal(run('t.str < 200', { 't.str': '1000' }), true, 'string comparison, not numeric');
  });
  it('globs without treating / specially, case-insensitively with iglob', () => {
    assert.equal(run('t.str glob "H*d"', d), true);
    assert.equal(run('t.str glob "H?llo/*"', d), true);
    assert.equal(run('t.str glob "[A-Z]ello*"', d), true);
    assert.equal(run('t.str glob "[!H]ello*"', d), false);
    assert.equal(run('t.str glob "hello*"', d), false);
    assert.equal(run('t.str iglob "hello*"', d), true);
  });
  it('matches regex against the whole value (RE2)', () => {
    assert.equal(run('t.str regex "H.*d"', d), true);
    assert.equal(run('t.str regex "ello"', d), false);
    compileFails('t.str regex "("', /invalid regular expression/);
  });
  it('matches path prefixes by component with pmatch', () => {
    assert.equal(run('t.path pmatch (/tmp/hello)', { 't.path': '/tmp/hello/x' }), true);
    assert.equal(run('t.path pmatch (/tmp/hello)', { 't.path': '/tmp/hello' }), true);
    assert.equal(run('t.path pmatch (/tmp/hello)', { 't.path': '/tmp/hello_world' }), false);
    assert.equal(run('t.path pmatch (/etc, /var/*/x)', { 't.path': '/var/lib/x/y' }), true);
  });
  it('tests set membership with in and intersects on scalars', () => {
    assert.equal(run('t.str in (a, Hello/World)', d), true);
    assert.equal(run('t.str in (a, b)', d), false);
    assert.equal(run('t.str intersects (Hello/World)', d), true);
  });
  it('applies modifiers anyof, allof, oneof', () => {
    assert.equal(run('t.str startswith anyof (x, Hel)', d), true);
    assert.equal(run('t.str contains allof (Hel, Wor)', d), true);
    assert.equal(run('t.str contains allof (Hel, xx)', d), false);
    assert.equal(run('t.str contains oneof (Hel, Wor)', d), false);
    assert.equal(run('t.str contains oneof (Hel, xx)', d), true);
  });
});

describe('condition compiler: absent values', () => {
  it('makes every comparison false when the field is absent', () => {
    for (const c of ['t.absent = x', 't.absent != x', 't.absent in (x)', 't.absent contains x', 't.absent exists',
      't.absent startswith x', 't.absent glob "*"']) {
      assert.equal(run(c, {}), false, c);
    }
  });
  it('makes not of a check on an absent field true', () => {
    assert.equal(run('not t.absent = x', {}), true);
    assert.equal(run('not t.absent != x', {}), true);
  });
  it('treats an empty list as absent', () => {
    assert.equal(run('t.list exists', { 't.list': [] }), false);
    assert.equal(run('t.list in (a)', { 't.list': [] }), false);
    assert.equal(run('not t.list intersects (a)', { 't.list': [] }), true);
  });
});

describe('condition compiler: list fields', () => {
  const d = { 't.list': ['a', 'b'] };
  it('in means every value is in the set', () => {
    assert.equal(run('t.list in (a, b, c)', d), true);
    assert.equal(run('t.list in (a)', d), false);
  });
  it('intersects means some value is in the set', () => {
    assert.equal(run('t.list intersects (b, z)', d), true);
    assert.equal(run('t.list intersects (z)', d), false);
  });
  it('rejects other operators at compile time', () => {
    for (const op of ['=', '!=', 'contains', 'startswith', 'glob', 'pmatch']) {
      compileFails(`t.list ${op} ${op === 'pmatch' ? '(a)' : 'a'}`, /not supported for list fields/);
    }
  });
  it('validates index arguments', () => {
    assert.equal(run('t.idx[0] in (x)', { 't.idx[0]': ['x'] }), true);
    compileFails('t.idx[01] in (x)', /numeric index/);
    compileFails('t.idx[a] in (x)', /numeric index/);
    compileFails('t.key exists', /requires an argument/);
    compileFails('t.str[1] = x', /does not take an argument/);
  });
});

describe('condition compiler: typed fields', () => {
  it('compares numbers numerically and parses hex', () => {
    assert.equal(run('t.num > 9', { 't.num': 10 }), true);
    assert.equal(run('t.num = 0x10', { 't.num': 16 }), true);
    assert.equal(run('t.num in (1, 2, 3)', { 't.num': 2 }), true);
    compileFails('t.num = abc', /not a valid number/);
    compileFails('t.num contains 1', /not supported for numeric filters/);
  });
  it('compares booleans', () => {
    assert.equal(run('t.bool = true', { 't.bool': true }), true);
    assert.equal(run('t.bool != true', { 't.bool': false }), true);
    compileFails('t.bool = maybe', /not a valid boolean/);
  });
  it('matches addresses against addresses and networks', () => {
    assert.equal(run('t.ip = 127.0.0.1', { 't.ip': '127.0.0.1' }), true);
    assert.equal(run('t.ip = 127.0.0.0/8', { 't.ip': '127.1.2.3' }), true);
    assert.equal(run('t.ip in (10.0.0.0/8, ::1)', { 't.ip': '::1' }), true);
    assert.equal(run('t.ip = "0:0::1"', { 't.ip': '::1' }), true);
    compileFails('t.ip = banana', /not a valid IP/);
  });
  it('compares bytes with bcontains and bstartswith as hex', () => {
    const bytes = new Uint8Array([0xca, 0xfe, 0xba, 0xbe]);
    assert.equal(run('t.bytes bcontains feba', { 't.bytes': bytes }), true);
    assert.equal(run('t.bytes bstartswith cafe', { 't.bytes': bytes }), true);
    compileFails('t.str bcontains cafe', /not supported for string filters/);
    compileFails('t.bytes bcontains xyz', /hex/);
  });
});

describe('condition compiler: transformers and field comparisons', () => {
  it('applies tolower, toupper, b64, basename and len', () => {
    assert.equal(run('tolower(t.str) = abc', { 't.str': 'AbC' }), true);
    assert.equal(run('toupper(t.str) = ABC', { 't.str': 'aBc' }), true);
    assert.equal(run('b64(t.str) = hello', { 't.str': 'aGVsbG8=' }), true);
    assert.equal(run('b64(t.str) exists', { 't.str': 'not base64!' }), false);
    assert.equal(run('basename(t.path) = ls', { 't.path': '/usr/bin/ls' }), true);
    assert.equal(run('len(t.str) = 3', { 't.str': 'abc' }), true);
    assert.equal(run('len(t.list) > 1', { 't.list': ['a', 'b'] }), true);
    assert.equal(run('tolower(t.list) intersects (a)', { 't.list': ['A'] }), true);
    compileFails('tolower(t.num) = 1', /not supported on int/);
  });
  it('compares a field with another field through val()', () => {
    assert.equal(run('t.str = val(t.other)', { 't.str': 'x', 't.other': 'x' }), true);
    assert.equal(run('t.str = val(t.other)', { 't.str': 'x', 't.other': 'y' }), false);
    assert.equal(run('t.str != val(t.absent)', { 't.str': 'x' }), false);
    assert.equal(run('t.str in val(t.list)', { 't.str': 'b', 't.list': ['a', 'b'] }), true);
    assert.equal(run('tolower(t.str) = tolower(t.other)', { 't.str': 'X', 't.other': 'x' }), true);
    compileFails('t.str = val(t.num)', /cannot compare a string field with a int field/);
  });
});

describe('condition compiler: names', () => {
  it('rejects unknown fields as unknown-field errors (skip-if-unknown-filter applies)', () => {
    compileFails('t.nope = 1', /nonexistent field t.nope/, true);
  });
  it('rejects leftover identifiers as undefined macros', () => {
    compileFails('t.str = x and some_macro', /Undefined macro 'some_macro'/);
  });
});

describe('glob patterns', () => {
  it('compiles any pattern text, dashes and brackets included, and agrees with a reference matcher', async () => {
    const { default: fc } = await import('fast-check');
    const { compileGlob } = await import('../../src/engine/condition/glob.js');
    // Reference: plain recursive fnmatch over a tiny alphabet (exponential, fine for short strings).
    const ref = (p: string, t: string): boolean => {
      if (p === '') return t === '';
      if (p[0] === '*') return ref(p.slice(1), t) || (t !== '' && ref(p, t.slice(1)));
      if (t === '') return false;
      if (p[0] === '?') return ref(p.slice(1), t.slice(1));
      return p[0] === t[0] && ref(p.slice(1), t.slice(1));
    };
    fc.assert(fc.property(fc.string({ maxLength: 8, unit: fc.constantFrom('a', 'b', '*', '?') }), fc.string({ maxLength: 8, unit: fc.constantFrom('a', 'b') }),
      (p, t) => compileGlob(p)(t) === ref(p, t)), { numRuns: 5000 });
    fc.assert(fc.property(fc.string({ maxLength: 30, unit: fc.constantFrom('a', '-', '[', ']', '!', '^', '\\', '*', '?', '/', '.', '(', '{', '|', 'é') }), (p) => {
      compileGlob(p)('some-value');
      compileGlob(p, true)('x');
    }), { numRuns: 3000 });
    // Many stars against a long non-matching text: linear-ish work, not exponential backtracking.
    assert.equal(compileGlob('*a*a*a*a*a*a*a*a*b')('a'.repeat(20000)), false);
    assert.equal(run('t.str glob "minikube-*"', { 't.str': 'minikube-user' }), true);
    assert.equal(run('t.str glob "[a-c]-[!x]"', { 't.str': 'b-y' }), true);
  });
});
