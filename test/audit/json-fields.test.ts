import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AuditEvent } from '../../src/audit/event.js';
import fc from 'fast-check';
import { compileJsonPath, jsonPathPlusValues, parseJsonPointer } from '../../src/audit/json-fields.js';
import type { JsonObject } from '../../src/audit/types.js';
import { FieldError } from '../../src/engine/fields.js';
import { bind, extract, makeEvent, podEvent } from './helpers.js';

describe('json.value and jevt.value', () => {
  const e = makeEvent({
    'a/b': { '~c': 'escaped' },
    '': { '': 'empty keys' },
    list: ['zero', 'one', { deep: [10, 20] }],
    num: 3.25,
    flag: false,
    nil: null,
    obj: { x: 1, y: [true] },
  });

  test('follow an RFC 6901 pointer, with or without the leading slash', () => {
    for (const name of ['json.value', 'jevt.value']) {
      assert.equal(extract(name, e, '/stage'), 'ResponseComplete');
      assert.equal(extract(name, e, 'stage'), 'ResponseComplete');
      assert.equal(extract(name, e, '/list/2/deep/1'), '20');
      assert.equal(extract(name, e, '/a~1b/~0c'), 'escaped');
      assert.equal(extract(name, e, '//'), 'empty keys');
    }
  });

  test('render non-strings as compact JSON and report missing values as absent', () => {
    assert.equal(extract('jevt.value', e, '/num'), '3.25');
    assert.equal(extract('jevt.value', e, '/flag'), 'false');
    assert.equal(extract('jevt.value', e, '/nil'), 'null');
    assert.equal(extract('jevt.value', e, '/obj'), '{"x":1,"y":[true]}');
    assert.equal(extract('jevt.value', e, '/list'), '["zero","one",{"deep":[10,20]}]');
    assert.equal(extract('jevt.value', e, '/missing'), undefined);
    assert.equal(extract('jevt.value', e, '/list/3'), undefined);
    assert.equal(extract('jevt.value', e, '/list/x'), undefined);
    assert.equal(extract('jevt.value', e, '/num/0'), undefined);
    assert.equal(extract('jevt.value', e, '/stage/0'), undefined);
  });

  test('read array indices the way Go strconv.Atoi does, as fastjson', () => {
    assert.equal(extract('jevt.value', e, '/list/01'), 'one');
    assert.equal(extract('jevt.value', e, '/list/+1'), 'one');
    assert.equal(extract('jevt.value', e, '/list/-0'), 'zero');
    assert.equal(extract('jevt.value', e, '/list/-1'), undefined);
    assert.equal(extract('jevt.value', e, '/list/1.0'), undefined);
    assert.equal(extract('jevt.value', e, '/list/99999999999999999999'), undefined);
  });

  test('unescape ~1 before ~0, so ~01 is a literal ~1', () => {
    assert.deepEqual(parseJsonPointer('/a~01').map((s) => s.key), ['a~1']);
    assert.deepEqual(parseJsonPointer('a~1b/c').map((s) => s.key), ['a/b', 'c']);
    assert.deepEqual(parseJsonPointer('/').map((s) => s.key), ['']);
  });

  test('never see inherited properties', () => {
    assert.equal(extract('jevt.value', e, '/constructor'), undefined);
    assert.equal(extract('jevt.value', e, '/obj/toString'), undefined);
    assert.equal(extract('jevt.value', e, '/__proto__'), undefined);
    assert.equal(extract('jevt.value', e, '/list/length'), undefined);
    const own = new AuditEvent(JSON.parse('{"auditID":"x","__proto__":{"polluted":1},"constructor":"c"}') as JsonObject, 1n);
    assert.equal(extract('jevt.value', own, '/__proto__/polluted'), '1');
    assert.equal(extract('jevt.value', own, '/constructor'), 'c');
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });

  test('apply to events without an auditID', () => {
    const e2 = new AuditEvent({ foo: { bar: 'baz' } }, 5n);
    assert.equal(extract('json.value', e2, '/foo/bar'), 'baz');
    assert.equal(extract('json.rawtime', e2), '5');
  });

  test('require a pointer argument', () => {
    assert.throws(() => bind('jevt.value', undefined), FieldError);
    assert.throws(() => bind('json.value', ''), FieldError);
  });
});

describe('json.obj and json.rawtime', () => {
  test('obj is the event re-indented with two spaces, computed once per event', () => {
    const e = makeEvent({ user: { username: 'u', groups: [] }, empty: {} });
    const text = extract('json.obj', e) as string;
    assert.equal(text, JSON.stringify(e.obj, null, 2));
    assert.ok(text.includes('\n  "user": {\n    "username": "u",\n    "groups": []\n  },\n  "empty": {}'));
    assert.equal(extract('jevt.obj', e), text);
    assert.ok(e.indentedJson === e.indentedJson);
  });

  test('rawtime is the event time in decimal nanoseconds, always present', () => {
    const e = new AuditEvent({}, 1_540_475_929_736_141_000n);
    assert.equal(extract('jevt.rawtime', e), '1540475929736141000');
    assert.equal(extract('json.rawtime', e), '1540475929736141000');
  });
});

describe('ka.jsonpath', () => {
  const e = podEvent(
    {
      containers: [
        { name: 'a', image: 'nginx', securityContext: { privileged: true } },
        { name: 'b', image: 'redis', ports: [{ containerPort: 6379 }] },
      ],
      initContainers: [{ name: 'init', image: 'busybox' }],
    },
    { sourceIPs: ['10.0.0.1', '10.0.0.2'], user: { username: 'alice', groups: ['dev'] } },
  );

  test('returns every match, strings raw and other values as JSON text', () => {
    assert.deepEqual(extract('ka.jsonpath', e, '$.requestObject.spec.containers[*].image'), ['nginx', 'redis']);
    assert.deepEqual(extract('ka.jsonpath', e, '$.requestObject..image'), ['nginx', 'redis', 'busybox']);
    assert.deepEqual(extract('ka.jsonpath', e, '$.sourceIPs[0]'), ['10.0.0.1']);
    assert.deepEqual(extract('ka.jsonpath', e, "$['user']['username']"), ['alice']);
    assert.deepEqual(extract('ka.jsonpath', e, '$.requestObject.spec.containers[1].ports'), ['[{"containerPort":6379}]']);
    assert.deepEqual(extract('ka.jsonpath', e, '$.requestObject.spec.containers[0].securityContext.privileged'), ['true']);
    assert.deepEqual(extract('ka.jsonpath', e, '$.requestObject.spec.containers[0:1].name'), ['a']);
    assert.deepEqual(extract('ka.jsonpath', e, '$.user.*~'), ['username', 'groups']);
    assert.equal(extract('ka.jsonpath', e, '$.nothing[*]'), undefined);
  });

  test('filters run in the guarded safe interpreter', () => {
    assert.deepEqual(
      extract('ka.jsonpath', e, '$.requestObject.spec.containers[?(@.securityContext && @.securityContext.privileged == true)].name'),
      ['a'],
    );
    assert.deepEqual(extract('ka.jsonpath', e, "$.requestObject.spec.containers[?(@.image.startsWith('red'))].name"), ['b']);
    assert.deepEqual(extract('ka.jsonpath', e, "$.requestObject.spec.containers[?(@.name == (@root.user.username.length > 3 ? 'a' : 'b'))].image"), ['nginx']);
    assert.deepEqual(extract('ka.jsonpath', e, "$.requestObject.spec.containers[?(@.image.toUpperCase().trim().indexOf('RED') === 0)].name"), ['b']);
    assert.deepEqual(extract('ka.jsonpath', e, '$.requestObject.spec.containers[?(@.ports)].name'), ['b']);
    // A filter that throws on some elements (no securityContext) just does not match them.
    assert.deepEqual(extract('ka.jsonpath', e, '$.requestObject.spec.containers[?(@.securityContext.privileged)].name'), ['a']);
  });

  test('is behind the auditID gate like every ka field', () => {
    assert.equal(extract('ka.jsonpath', new AuditEvent({ a: 1 }, 1n), '$.a'), undefined);
  });

  test('rejects invalid paths at bind time with a clear message', () => {
    for (const bad of ['', '   ', 'user.name', '$.a[', '$.a[?(@.x)', '$.a)', "$['a]", '$.a[?(@.x ==)]', '$.a[?(@other())]', '$.a@other()']) {
      assert.throws(() => bind('ka.jsonpath', bad), FieldError, `accepted ${JSON.stringify(bad)}`);
    }
    assert.throws(() => bind('ka.jsonpath', '$.a['), /ka\.jsonpath\[\$\.a\[\]: invalid JSONPath: unclosed '\['/);
  });

  test('rejects scripts that could reach code or resources beyond plain comparisons', () => {
    const hostile = [
      '$..[?(@.constructor)]',
      "$..[?(@['constructor'])]",
      '$..[?(@.__proto__)]',
      '$..[?(@.x.constructor.constructor("return process")())]',
      '$..[?(process.exit(1))]',
      '$..[?(this)]',
      '$..[?(@.a = 1)]',
      '$..[?(x = 1; x)]',
      '$..[?(@.name.repeat(100000000))]',
      '$..[?(@.name.match(/(a+)+$/))]',
      '$..[?(/(a+)+$/.test(@.name))]',
      '$..[?(@[@.key])]',
      '$..[?(@.f(1, 2, 3))]',
      '$..[?(@.name.startsWith("a", 1, 2))]',
      '$..[(@.constructor)]',
      '$..[?(@.a[?(@.constructor)])]',
      "$..[?(eval('1'))]",
      "$..[?(Function('return 1')())]",
    ];
    for (const path of hostile) {
      assert.throws(() => bind('ka.jsonpath', path), FieldError, `accepted ${path}`);
    }
  });

  test('nested filters and dynamic indices are checked and work', () => {
    assert.deepEqual(extract('ka.jsonpath', e, '$.requestObject.spec.containers[?(@.ports[?(@.containerPort == 6379)])].name'), ['b']);
    assert.deepEqual(extract('ka.jsonpath', e, '$.requestObject.spec.containers[(@.length-1)].name'), ['b']);
  });

  test('a deeply nested event with recursive descent yields nothing instead of throwing', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 20_000; i++) deep = { d: deep };
    const hostile = makeEvent({ requestObject: deep });
    assert.doesNotThrow(() => extract('ka.jsonpath', hostile, '$..d'));
  });
});

describe('the fast JSONPath evaluator', () => {
  const keys = ['a', 'b', '0', '1', '*', 'length'];
  const segment = fc.constantFrom('.a', '.b', '[0]', '[1]', '.*', '[*]', '..', "['*']", '.length', "['a.b']");
  const tree = fc.letrec((tie) => ({
    node: fc.oneof(
      { depthSize: 'small' },
      fc.constantFrom<unknown>(null, 0, 1, '', 'ab', true, false),
      fc.array(tie('node'), { maxLength: 3 }),
      fc.dictionary(fc.constantFrom(...keys, 'a.b'), tie('node'), { maxKeys: 4 }),
    ),
  })).node;

  test('gives exactly what jsonpath-plus gives, in the same order, for names, indices, * and ..', () => {
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 5 }), fc.dictionary(fc.constantFrom(...keys), tree, { maxKeys: 4 }), (segs, root) => {
        let path = `$${segs.join('')}`;
        if (path.endsWith('..')) path += 'a';
        let run: ReturnType<typeof compileJsonPath>;
        try {
          run = compileJsonPath(path);
        } catch (err) {
          // e.g. `$....a`, which has an empty segment: rejected at bind, nothing to compare.
          assert.ok(err instanceof FieldError, path);
          return;
        }
        assert.deepEqual(run(root), jsonPathPlusValues(path, root), path);
      }),
      { numRuns: 2000 },
    );
  });

  test('is used for the paths of Tiercel-style rules and agrees on a real pod', () => {
    const pod = podEvent({
      template: { spec: { hostPID: true, volumes: [{ hostPath: { path: '/proc' } }] } },
      jobTemplate: { spec: { template: { spec: { volumes: [{ hostPath: { path: '/etc' } }, { emptyDir: {} }], securityContext: { privileged: true } } } } },
    });
    for (const path of [
      '$.requestObject.spec..template.spec.volumes.*.hostPath.path',
      '$.requestObject.spec..template.spec..securityContext.privileged',
      '$.requestObject.spec..template.spec.hostPID',
      '$..path',
      '$.*',
      '$',
    ]) {
      assert.deepEqual(compileJsonPath(path)(pod.obj), jsonPathPlusValues(path, pod.obj), path);
    }
    assert.deepEqual(extract('ka.jsonpath', pod, '$.requestObject.spec..template.spec.volumes.*.hostPath.path'), ['/proc', '/etc']);
  });
});
