/**
 * Everything inside an audit event is attacker controlled: every field must
 * answer `undefined` or a well-formed value for any JSON whatsoever, and never
 * throw.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { AuditEvent, decodeAuditPayload } from '../../src/audit/event.js';
import { k8sAuditSource } from '../../src/audit/source.js';
import type { JsonObject } from '../../src/audit/types.js';
import type { Extractor, FieldValue } from '../../src/engine/fields.js';
import { makeEvent, podEvent, sampleArg } from './helpers.js';

/** Every field bound in every way the tests exercise: no index, index 0 and 1, and sample keys. */
const bound: { name: string; isList: boolean; extract: Extractor<AuditEvent> }[] = [];
for (const f of k8sAuditSource.fields) {
  const args =
    f.arg === 'index'
      ? [undefined, '0', '1']
      : f.arg === 'key'
        ? f.name === 'ka.jsonpath'
          ? ['$.requestObject..image', '$..[?(@.privileged == true)]', '$.user.groups[*]']
          : f.name.endsWith('.value')
            ? ['/requestObject/spec/containers/0/image', '/user', '/a/0/b', 'constructor']
            : [sampleArg(f.name, f.arg)!, '*']
        : [undefined];
  for (const a of args) bound.push({ name: `${f.name}[${a ?? ''}]`, isList: f.isList, extract: f.bind(a) });
}

function checkAll(e: AuditEvent): void {
  for (const b of bound) {
    let v: FieldValue;
    try {
      v = b.extract(e);
    } catch (err) {
      assert.fail(`${b.name} threw ${(err as Error).stack}`);
    }
    if (v === undefined) continue;
    if (b.isList) {
      assert.ok(Array.isArray(v) && v.length > 0, b.name);
      for (const s of v as unknown[]) assert.equal(typeof s, 'string', b.name);
    } else {
      assert.equal(typeof v, 'string', b.name);
    }
  }
}

/** Paths that the ka.* fields walk; hostile values are planted along them. */
const PATHS: (string | number)[][] = [
  ['auditID'], ['stage'], ['verb'], ['requestURI'], ['userAgent'], ['sourceIPs'],
  ['user'], ['user', 'username'], ['user', 'groups'], ['impersonatedUser'],
  ['annotations'], ['annotations', 'authorization.k8s.io/decision'], ['annotations', 'cluster_name'],
  ['objectRef'], ['objectRef', 'resource'], ['objectRef', 'subresource'], ['objectRef', 'name'],
  ['responseStatus'], ['responseStatus', 'code'], ['responseObject'], ['responseObject', 'metadata'],
  ['requestObject'], ['requestObject', 'data'], ['requestObject', 'roleRef'], ['requestObject', 'subjects'],
  ['requestObject', 'subjects', 0], ['requestObject', 'subjects', 0, 'name'],
  ['requestObject', 'rules'], ['requestObject', 'rules', 0], ['requestObject', 'rules', 0, 'verbs'],
  ['requestObject', 'spec'], ['requestObject', 'spec', 'runAsUser'], ['requestObject', 'spec', 'securityContext'],
  ['requestObject', 'spec', 'ports'], ['requestObject', 'spec', 'hostNetwork'],
  ['requestObject', 'spec', 'containers'], ['requestObject', 'spec', 'containers', 0],
  ['requestObject', 'spec', 'containers', 0, 'image'], ['requestObject', 'spec', 'containers', 0, 'command'],
  ['requestObject', 'spec', 'containers', 0, 'ports'], ['requestObject', 'spec', 'containers', 0, 'ports', 0],
  ['requestObject', 'spec', 'containers', 0, 'securityContext'],
  ['requestObject', 'spec', 'containers', 0, 'securityContext', 'capabilities'],
  ['requestObject', 'spec', 'containers', 1], ['requestObject', 'spec', 'initContainers'],
  ['requestObject', 'spec', 'ephemeralContainers', 0],
  ['requestObject', 'spec', 'volumes'], ['requestObject', 'spec', 'volumes', 0],
  ['requestObject', 'spec', 'volumes', 0, 'hostPath'], ['requestObject', 'spec', 'volumes', 1, 'flexVolume'],
];

function baseEvent(): Record<string, unknown> {
  return {
    kind: 'Event',
    auditID: 'id',
    stage: 'ResponseComplete',
    verb: 'create',
    requestURI: '/api/v1/namespaces/d/pods/p/exec?command=sh&container=c',
    user: { username: 'u', groups: ['g1', 'g2'] },
    impersonatedUser: { username: 'imp' },
    sourceIPs: ['10.0.0.1'],
    annotations: { 'authorization.k8s.io/decision': 'allow', cluster_name: 'c' },
    objectRef: { resource: 'pods', name: 'p', namespace: 'd' },
    responseStatus: { code: 201 },
    responseObject: { metadata: { name: 'p' } },
    requestObject: {
      data: { k: 'v' },
      roleRef: { name: 'r' },
      subjects: [{ kind: 'User', name: 'alice' }, { kind: 'ServiceAccount', name: 'sa', namespace: 'ns' }],
      rules: [{ verbs: ['get'], resources: ['pods'], apiGroups: [''], sourceIPs: ['1.1.1.1'] }],
      spec: {
        runAsUser: 1,
        securityContext: { runAsUser: 2, supplementalGroups: [3] },
        ports: [{ port: 80 }],
        hostNetwork: true,
        containers: [
          {
            name: 'c0',
            image: 'nginx:1',
            command: ['sh'],
            args: ['-c', 'x'],
            ports: [{ containerPort: 80 }],
            securityContext: { privileged: true, runAsUser: 5, capabilities: { add: ['NET_ADMIN'] } },
          },
          { name: 'c1', image: 'redis' },
        ],
        initContainers: [{ name: 'i0', image: 'busybox', ports: [{ hostPort: 1 }] }],
        ephemeralContainers: [{ name: 'e0', image: 'debug' }],
        volumes: [{ name: 'v0', hostPath: { path: '/etc' } }, { name: 'v1', flexVolume: { driver: 'd' } }],
      },
    },
  };
}

function plant(root: Record<string, unknown>, path: (string | number)[], value: unknown): void {
  let cur: unknown = root;
  for (let i = 0; i < path.length - 1; i++) {
    const next = (cur as Record<string | number, unknown>)[path[i]!];
    if (next === null || typeof next !== 'object') return;
    cur = next;
  }
  (cur as Record<string | number, unknown>)[path[path.length - 1]!] = value;
}

/** JSON values, including awkward keys, as JSON.parse would build them. */
const hostileJson = fc
  .jsonValue({ maxDepth: 4 })
  .chain((v) =>
    fc.constantFrom(
      v,
      [v, v],
      { __proto__: v, constructor: v, toString: v, length: v, 0: v },
      { image: v, name: v, securityContext: v, privileged: v, hostPath: v, path: v, kind: 'User', namespace: v },
    ),
  )
  .map((v) => JSON.parse(JSON.stringify(v) ?? 'null') as unknown);

describe('hostile events', () => {
  test('random JSON planted anywhere along the walked paths never makes a field throw', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(...PATHS), hostileJson), { minLength: 1, maxLength: 6 }), (plants) => {
        const obj = baseEvent();
        for (const [path, value] of plants) plant(obj, path, value);
        checkAll(new AuditEvent(obj as JsonObject, 1n));
      }),
      { numRuns: 300 },
    );
  });

  test('every top-level and nested member replaced by every JSON type never makes a field throw', () => {
    const shapes: unknown[] = [null, 0, -1.5, 1e308, '', 'x', true, false, [], {}, [[]], [null], [1, 'a'], { a: null }, [[[{}]]]];
    for (const path of PATHS) {
      for (const shape of shapes) {
        const obj = baseEvent();
        plant(obj, path, shape);
        checkAll(new AuditEvent(obj as JsonObject, 1n));
      }
    }
  });

  test('objects with prototype-named keys, as JSON.parse builds them, are read as plain data', () => {
    const obj = JSON.parse(
      '{"auditID":"a","__proto__":{"verb":"evil"},"constructor":{"name":"x"},' +
        '"requestObject":{"spec":{"__proto__":{"containers":[{"image":"evil"}]},"containers":{"__proto__":[]}}},' +
        '"user":{"toString":"t","groups":{"length":3}}}',
    ) as JsonObject;
    const e = new AuditEvent(obj, 1n);
    checkAll(e);
    assert.equal(k8sAuditSource.fields.find((f) => f.name === 'ka.verb')!.bind(undefined)(e), undefined);
    assert.equal(k8sAuditSource.fields.find((f) => f.name === 'ka.user.groups')!.bind(undefined)(e), undefined);
  });

  test('very deep nesting yields absent values instead of stack overflows', () => {
    let deepObj: unknown = 'bottom';
    for (let i = 0; i < 100_000; i++) deepObj = { d: deepObj };
    const deepArr = JSON.parse('['.repeat(100_000) + '{"image":"x"}' + ']'.repeat(100_000)) as unknown;
    const e = podEvent({ containers: deepArr, volumes: deepArr }, { requestObject: { data: deepObj, spec: { containers: deepArr } }, user: deepObj });
    checkAll(e);
    const get = (name: string, arg?: string) => k8sAuditSource.fields.find((f) => f.name === name)!.bind(arg)(e);
    assert.equal(get('ka.req.configmap.obj'), undefined);
    assert.equal(get('jevt.obj'), undefined);
    assert.equal(get('ka.req.pod.containers.image'), undefined);
  });

  test('huge strings and long lists are returned, not truncated or rejected', () => {
    const big = 'u'.repeat(8 * 1024 * 1024);
    const groups = Array.from({ length: 100_000 }, (_, i) => `g${i}`);
    const containers = Array.from({ length: 20_000 }, (_, i) => ({ image: `img${i}` }));
    const e = podEvent({ containers }, { user: { username: big, groups } });
    const get = (name: string) => k8sAuditSource.fields.find((f) => f.name === name)!.bind(undefined)(e);
    assert.equal((get('ka.user.name') as string).length, big.length);
    assert.equal((get('ka.user.groups') as string[]).length, 100_000);
    assert.equal((get('ka.req.pod.containers.image') as string[]).length, 20_000);
  });

  test('the decoder never throws on any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5 }), (v) => {
        const r = decodeAuditPayload(v);
        assert.ok(Array.isArray(r.events));
        if (r.events.length === 0) assert.ok(r.error !== undefined || (Array.isArray(v) && v.length === 0) || isEmptyList(v));
      }),
      { numRuns: 500 },
    );
    for (const v of [undefined, Symbol('s'), () => 1, 10n, new Date(), '["kind"]']) {
      assert.doesNotThrow(() => decodeAuditPayload(v));
    }
  });

  test('hostile values planted in a real-looking event still leave the other fields intact', () => {
    const obj = baseEvent();
    plant(obj, ['requestObject', 'spec', 'containers', 1], 'garbage');
    const e = new AuditEvent(obj as JsonObject, 1n);
    const get = (name: string) => k8sAuditSource.fields.find((f) => f.name === name)!.bind(undefined)(e);
    assert.deepEqual(get('ka.req.pod.containers.privileged'), ['true']);
    assert.equal(get('ka.user.name'), 'u');
    assert.equal(makeEvent().obj['auditID'], '00000000-0000-0000-0000-000000000001');
  });
});

function isEmptyList(v: unknown): boolean {
  if (Array.isArray(v)) return v.every(isEmptyList);
  const o = v as { kind?: unknown; items?: unknown };
  return o !== null && typeof o === 'object' && o.kind === 'EventList' && Array.isArray(o.items) && o.items.length === 0;
}
