/**
 * Evidence: engine alerts to stored form, and Falco-schema JSON as Falco,
 * Falcosidekick and agents post it — including hostile input.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ALERT_JSON_LIMITS, EvidenceInputError, evidenceFromAlert, parseAlertJson } from '../../src/incidents/evidence.js';
import { RULES, at, syscallAlert } from './helpers.js';

/** Falco's documented example alert (falco-website outputs/channels.md). */
const FALCO_EXAMPLE = {
  hostname: 'falco-xczjd',
  output:
    '13:44:05.478445995: Critical A shell was spawned in a container with an attached terminal (user=root k8s.ns=default k8s.pod=kubecon container=ee97d9c4186f shell=sh parent=runc cmdline=sh -c clear; (bash || ash || sh) terminal=34816)',
  priority: 'Critical',
  rule: 'Terminal shell in container',
  source: 'syscall',
  tags: ['container', 'mitre_execution', 'shell'],
  time: '2023-05-25T13:44:05.478445995Z',
  output_fields: {
    'container.id': 'ee97d9c4186f',
    'container.image.repository': 'docker.io/library/alpine',
    'evt.time': 1685022245478445995,
    'k8s.ns.name': 'default',
    'k8s.pod.name': 'kubecon',
    'proc.cmdline': 'sh -c clear; (bash || ash || sh)',
    'proc.name': 'sh',
    'proc.pname': 'runc',
    'proc.tty': 34816,
    'user.loginuid': -1,
    'user.name': 'root',
  },
};

function rejects(value: unknown, path: string, message: RegExp): void {
  assert.throws(
    () => parseAlertJson(value, 0, 'alerts[3]'),
    (e: unknown) => {
      assert.ok(e instanceof EvidenceInputError, String(e));
      assert.equal(e.path, path);
      assert.match(e.message, message);
      assert.ok(e.message.startsWith(`${path}: `), e.message);
      return true;
    },
  );
}

describe('evidenceFromAlert', () => {
  const place = { ns: 'prod', pod: 'web-1', podUid: 'uid-1', containerId: 'abcdefabcdef' };
  const alert = syscallAlert(RULES.shell, at('2024-03-04T10:00:00.123Z') + 456_789n, place, { pid: 42, session: 'abcdefabcdef:42:7', name: 'bash', exepath: '/bin/bash', cmdline: 'bash' });

  test('fields, subject and JSON-safe values', () => {
    const ev = evidenceFromAlert(alert, { id: 'id-1', receivedAt: 5 });
    assert.equal(ev.kind, 'alert');
    assert.equal(ev.namespace, 'prod');
    assert.equal(ev.pod, 'web-1');
    assert.equal(ev.podUid, 'uid-1');
    assert.equal(ev.containerId, 'abcdefabcdef');
    assert.equal(ev.user, undefined, 'a syscall alert has no Kubernetes user of its own');
    // evt.time does not fit a double: kept exact as text.
    assert.equal(ev.outputFields['evt.time'], '1709546400123456789');
    assert.equal(ev.outputFields['proc.tty'], 34816);
    assert.match(ev.output, /^\d\d:\d\d:\d\d\.123456789: Notice A shell was spawned/);
    assert.equal(ev.receivedAt, 5);
  });

  test('small bigints become numbers', () => {
    const ev = evidenceFromAlert({ ...alert, outputFields: { 'evt.rawres': 3n, 'x.list': [1n, 'a'] } }, { id: 'i', receivedAt: 0 });
    assert.equal(ev.outputFields['evt.rawres'], 3);
    assert.deepEqual(ev.outputFields['x.list'], [1, 'a']);
  });

  test('the storm key groups by rule, container and executable only', () => {
    const a = evidenceFromAlert(alert, { id: '1', receivedAt: 0 });
    const b = evidenceFromAlert({ ...alert, time: alert.time + 5n, outputFields: { ...alert.outputFields, 'proc.cmdline': 'bash -i' } }, { id: '2', receivedAt: 0 });
    const c = evidenceFromAlert({ ...alert, outputFields: { ...alert.outputFields, 'proc.exepath': '/bin/sh' } }, { id: '3', receivedAt: 0 });
    assert.equal(a.dedupKey, b.dedupKey);
    assert.notEqual(a.dedupKey, c.dedupKey);
  });

  test('audit alerts: user, target and a storm key over user, verb and target', () => {
    const audit = {
      time: 1n,
      rule: 'Create Privileged Pod',
      priority: 'Warning' as const,
      source: 'k8s_audit',
      tags: ['k8s'],
      message: 'Pod started with privileged container',
      outputFields: { 'ka.user.name': 'alice', 'ka.target.namespace': 'prod', 'ka.resp.name': 'evil', 'ka.target.resource': 'pods' },
      hostname: 'analyzer',
      correlation: { auditId: 'x', user: 'alice', verb: 'create', resource: 'pods', namespace: 'prod' },
    };
    const ev = evidenceFromAlert(audit, { id: 'a', receivedAt: 0 });
    assert.equal(ev.user, 'alice');
    assert.equal(ev.namespace, 'prod');
    assert.equal(ev.pod, 'evil');
    const other = evidenceFromAlert({ ...audit, correlation: { ...audit.correlation, user: 'bob' } }, { id: 'b', receivedAt: 0 });
    assert.notEqual(ev.dedupKey, other.dedupKey);
  });

  test('Falco\'s <NA> and the host container are "unknown"', () => {
    const ev = evidenceFromAlert({ ...alert, correlation: { pid: '1' }, outputFields: { 'container.id': 'host', 'k8s.ns.name': '<NA>', 'k8s.pod.name': null } }, { id: 'h', receivedAt: 0 });
    assert.equal(ev.containerId, undefined);
    assert.equal(ev.namespace, undefined);
    assert.equal(ev.pod, undefined);
  });
});

describe('parseAlertJson', () => {
  test('Falco\'s own example is taken as is', () => {
    const ev = parseAlertJson(FALCO_EXAMPLE, 1000);
    assert.equal(ev.time, 1685022245478445995n);
    assert.equal(ev.priority, 'Critical');
    assert.equal(ev.namespace, 'default');
    assert.equal(ev.pod, 'kubecon');
    assert.equal(ev.containerId, 'ee97d9c4186f');
    assert.equal(ev.hostname, 'falco-xczjd');
    assert.equal(ev.receivedAt, 1000);
    assert.match(ev.id, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  test('a retried post gets the same id; a different alert another', () => {
    const a = parseAlertJson(structuredClone(FALCO_EXAMPLE), 1);
    const b = parseAlertJson(structuredClone(FALCO_EXAMPLE), 2);
    const c = parseAlertJson({ ...FALCO_EXAMPLE, time: '2023-05-25T13:44:05.478445996Z' }, 1);
    assert.equal(a.id, b.id);
    assert.notEqual(a.id, c.id);
  });

  test('Tiercel\'s id and correlation keys are kept; priorities and sources as Falco reads them', () => {
    const ev = parseAlertJson(
      { ...FALCO_EXAMPLE, id: '6F9619FF-8B86-D011-B42D-00C04FC964FF', priority: 'info', source: undefined, correlation: { execSession: 'c:1:2', auditId: 'x' } },
      0,
    );
    assert.equal(ev.id, '6f9619ff-8b86-d011-b42d-00c04fc964ff');
    assert.equal(ev.priority, 'Informational');
    assert.equal(ev.source, 'syscall');
    assert.deepEqual(ev.correlation, { execSession: 'c:1:2', auditId: 'x' });
    assert.equal(parseAlertJson({ ...FALCO_EXAMPLE, priority: 'WARNING' }, 0).priority, 'Warning');
    assert.equal(parseAlertJson({ ...FALCO_EXAMPLE, source: 'syscalls' }, 0).source, 'syscall');
    // Falcosidekick's RFC 3339 without nanoseconds, and an offset.
    assert.equal(parseAlertJson({ ...FALCO_EXAMPLE, time: '2023-05-25T15:44:05+02:00' }, 0).time, 1685022245000000000n);
  });

  test('big integers from a parser that keeps them exact', () => {
    const ev = parseAlertJson({ ...FALCO_EXAMPLE, output_fields: { 'evt.time': 1685022245478445995n, small: 7n } }, 0);
    assert.equal(ev.outputFields['evt.time'], '1685022245478445995');
    assert.equal(ev.outputFields['small'], 7);
  });

  test('wrong types are rejected with the JSON path', () => {
    rejects(null, 'alerts[3]', /expected an alert object, got null/);
    rejects([FALCO_EXAMPLE], 'alerts[3]', /got an array/);
    rejects({ ...FALCO_EXAMPLE, priority: 'WARN' }, 'alerts[3].priority', /expected one of Emergency\.\.Debug/);
    rejects({ ...FALCO_EXAMPLE, priority: 3 }, 'alerts[3].priority', /expected a string, got a number/);
    rejects({ ...FALCO_EXAMPLE, time: undefined }, 'alerts[3].time', /is required/);
    rejects({ ...FALCO_EXAMPLE, time: '2023-05-25 13:44:05' }, 'alerts[3].time', /RFC 3339/);
    rejects({ ...FALCO_EXAMPLE, time: 1685022245 }, 'alerts[3].time', /expected a string/);
    rejects({ ...FALCO_EXAMPLE, rule: '' }, 'alerts[3].rule', /must not be empty/);
    rejects({ ...FALCO_EXAMPLE, tags: 'shell' }, 'alerts[3].tags', /expected a list of strings/);
    rejects({ ...FALCO_EXAMPLE, tags: ['ok', { x: 1 }] }, 'alerts[3].tags[1]', /expected a string, got an object/);
    rejects({ ...FALCO_EXAMPLE, output: ['x'] }, 'alerts[3].output', /expected a string/);
    rejects({ ...FALCO_EXAMPLE, output_fields: [] }, 'alerts[3].output_fields', /expected an object/);
    rejects({ ...FALCO_EXAMPLE, output_fields: { 'proc.name': { nested: true } } }, 'alerts[3].output_fields["proc.name"]', /got an object/);
    rejects({ ...FALCO_EXAMPLE, output_fields: { l: ['a', ['b']] } }, 'alerts[3].output_fields["l"][1]', /got an array/);
    rejects({ ...FALCO_EXAMPLE, id: 'not-a-uuid' }, 'alerts[3].id', /UUID/);
    rejects({ ...FALCO_EXAMPLE, correlation: { pid: 42 } }, 'alerts[3].correlation["pid"]', /expected a string, got a number/);
    rejects({ ...FALCO_EXAMPLE, hostname: 'h'.repeat(300) }, 'alerts[3].hostname', /longer than 256/);
  });

  test('hostile sizes: structure rejected, free text truncated', () => {
    const many: Record<string, string> = {};
    for (let i = 0; i <= ALERT_JSON_LIMITS.fields; i++) many[`f${i}`] = 'x';
    rejects({ ...FALCO_EXAMPLE, output_fields: many }, 'alerts[3].output_fields', /more than 256 fields/);
    const longKey = 'k'.repeat(300);
    rejects({ ...FALCO_EXAMPLE, output_fields: { [longKey]: 1 } }, `alerts[3].output_fields[${JSON.stringify('k'.repeat(64) + '...')}]`, /1 to 256 characters/);
    rejects({ ...FALCO_EXAMPLE, tags: new Array(65).fill('t') }, 'alerts[3].tags', /more than 64 tags/);
    rejects({ ...FALCO_EXAMPLE, rule: 'r'.repeat(2000) }, 'alerts[3].rule', /longer than 1024/);

    // An attacker's long command line must not get the alert about it rejected.
    const ev = parseAlertJson({ ...FALCO_EXAMPLE, output: 'o'.repeat(1 << 20), output_fields: { 'proc.cmdline': 'c'.repeat(1 << 20), list: new Array(10_000).fill('x') } }, 0);
    assert.equal(ev.output.length, ALERT_JSON_LIMITS.outputChars);
    assert.ok(ev.output.endsWith('...[truncated]'));
    assert.equal((ev.outputFields['proc.cmdline'] as string).length, ALERT_JSON_LIMITS.valueChars);
    assert.equal((ev.outputFields['list'] as string[]).length, ALERT_JSON_LIMITS.listItems);
  });

  test('__proto__ and friends are plain field names', () => {
    const body = JSON.parse('{"time":"2023-05-25T13:44:05Z","rule":"r","priority":"Notice","output_fields":{"__proto__":"x","constructor":"y"},"correlation":{"__proto__":"z"}}') as unknown;
    const ev = parseAlertJson(body, 0);
    assert.equal(Object.getPrototypeOf(ev.outputFields), Object.prototype);
    assert.deepEqual(Object.keys(ev.outputFields), ['__proto__', 'constructor']);
    assert.equal(Object.getOwnPropertyDescriptor(ev.outputFields, '__proto__')?.value, 'x');
    assert.equal(Object.getOwnPropertyDescriptor(ev.correlation, '__proto__')?.value, 'z');
    assert.equal(ev.podUid, undefined);
  });

  test('without a path, errors name the member alone', () => {
    assert.throws(() => parseAlertJson({ ...FALCO_EXAMPLE, priority: 'nope' }, 0), /^EvidenceInputError: priority: expected one of/);
  });
});
