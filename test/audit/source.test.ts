import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { FieldError, FieldRegistry } from '../../src/engine/fields.js';
import { k8sAuditSource } from '../../src/audit/source.js';
import { SPEC_FILE, bind } from './helpers.js';

interface SpecRow {
  name: string;
  list: boolean;
  arg: 'none' | 'index' | 'key';
  upstreamDesc: string;
}

/** The ka.* rows of the spec's field table. */
function specRows(): SpecRow[] {
  const rows: SpecRow[] = [];
  for (const line of readFileSync(SPEC_FILE, 'utf8').split('\n')) {
    const m = /^\| `(ka\.[^`]+)` \| string \| (yes|no) \| ([^|]+) \|[^|]*\| (.*) \|$/.exec(line);
    if (m === null) continue;
    const argText = m[3]!.trim();
    const arg = argText.startsWith('Index') ? 'index' : argText.startsWith('Key') ? 'key' : 'none';
    rows.push({ name: m[1]!, list: m[2] === 'yes', arg, upstreamDesc: m[4]!.trim() });
  }
  return rows;
}

describe('k8s_audit source', () => {
  const rows = specRows();
  const ours = new Map(k8sAuditSource.fields.map((f) => [f.name, f]));

  test('the spec table lists the 100 ka fields the source must provide', () => {
    assert.equal(rows.length, 100);
  });

  test('every ka field of the spec is provided with its list flag and argument kind', () => {
    for (const row of rows) {
      const f = ours.get(row.name);
      assert.ok(f, `missing ${row.name}`);
      assert.equal(f.type, 'string', row.name);
      assert.equal(f.isList, row.list, `${row.name} list flag`);
      assert.equal(f.arg, row.arg, `${row.name} argument kind`);
    }
  });

  test('the only fields beyond the spec table are ka.jsonpath and the six json fields', () => {
    const extra = [...ours.keys()].filter((n) => !rows.some((r) => r.name === n)).sort();
    assert.deepEqual(extra, [
      'jevt.obj',
      'jevt.rawtime',
      'jevt.value',
      'json.obj',
      'json.rawtime',
      'json.value',
      'ka.jsonpath',
    ]);
    assert.equal(ours.get('ka.jsonpath')!.isList, true);
    assert.equal(ours.get('ka.jsonpath')!.arg, 'key');
    for (const n of ['json.value', 'jevt.value']) assert.equal(ours.get(n)!.arg, 'key');
    for (const n of ['json.obj', 'jevt.obj', 'json.rawtime', 'jevt.rawtime']) assert.equal(ours.get(n)!.arg, 'none');
  });

  test('descriptions are one line, present, and written in our own words', () => {
    for (const f of k8sAuditSource.fields) {
      assert.ok(f.desc.length > 10, f.name);
      assert.ok(!f.desc.includes('\n'), f.name);
    }
    for (const row of rows) {
      assert.notEqual(ours.get(row.name)!.desc, row.upstreamDesc, `${row.name} copies upstream prose`);
    }
  });

  test('the deprecated upstream aliases are flagged deprecated', () => {
    const deprecated = k8sAuditSource.fields.filter((f) => f.deprecated === true).map((f) => f.name).sort();
    assert.deepEqual(deprecated, [
      'ka.req.binding.subject.has_name',
      'ka.req.container.host_network',
      'ka.req.container.image',
      'ka.req.container.image.repository',
      'ka.req.container.privileged',
      'ka.req.volume.hostpath',
    ]);
  });

  test('registers in the field registry under k8s_audit and provides k8saudit 0.18.0 and json 0.7.4', () => {
    const registry = new FieldRegistry().register(k8sAuditSource);
    assert.ok(registry.hasSource('k8s_audit'));
    assert.equal(registry.lookup('k8s_audit', 'ka.req.pod.containers.image')?.isList, true);
    assert.equal(registry.lookup('k8s_audit', 'jevt.value')?.arg, 'key');
    assert.deepEqual(registry.source('k8s_audit')?.provides, [
      { name: 'k8saudit', version: '0.18.0' },
      { name: 'json', version: '0.7.4' },
    ]);
  });

  test('index arguments must be digits without a leading zero', () => {
    for (const ok of ['0', '1', '10', '123']) bind('ka.req.pod.containers.image', ok);
    for (const bad of ['01', '00', '-1', '+1', '1.0', 'a', ' 1', '1 ', '0x1', '', '99999999999999999999']) {
      assert.throws(() => bind('ka.req.pod.containers.image', bad), FieldError, `accepted [${bad}]`);
    }
  });

  test('every index field accepts and validates an index', () => {
    for (const f of k8sAuditSource.fields.filter((x) => x.arg === 'index')) {
      assert.equal(typeof f.bind('0'), 'function', f.name);
      assert.equal(typeof f.bind(undefined), 'function', f.name);
      assert.throws(() => f.bind('07'), FieldError, f.name);
    }
  });

  test('fields without an argument reject one and key fields require one', () => {
    for (const f of k8sAuditSource.fields) {
      if (f.arg === 'none') {
        assert.throws(() => f.bind('x'), FieldError, f.name);
        assert.equal(typeof f.bind(undefined), 'function', f.name);
      }
      if (f.arg === 'key') {
        assert.throws(() => f.bind(undefined), FieldError, f.name);
        assert.throws(() => f.bind(''), FieldError, f.name);
      }
    }
  });
});
