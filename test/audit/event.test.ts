import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { AuditEvent, NOT_RECOGNIZED, decodeAuditEvent, decodeAuditPayload } from '../../src/audit/event.js';
import { parseRfc3339Nanos } from '../../src/audit/time.js';

const ev = (id: string, extra: Record<string, unknown> = {}) => ({
  kind: 'Event',
  apiVersion: 'audit.k8s.io/v1',
  auditID: id,
  stage: 'ResponseComplete',
  stageTimestamp: '2024-01-02T03:04:05.123456Z',
  ...extra,
});

describe('RFC 3339 timestamps', () => {
  test('parse to nanoseconds since the epoch with up to nine fractional digits', () => {
    assert.equal(parseRfc3339Nanos('1970-01-01T00:00:00Z'), 0n);
    assert.equal(parseRfc3339Nanos('2018-10-25T13:58:49.736141Z'), 1_540_475_929_736_141_000n);
    assert.equal(parseRfc3339Nanos('2018-10-25T13:58:49.7Z'), 1_540_475_929_700_000_000n);
    assert.equal(parseRfc3339Nanos('2018-10-25T13:58:49.123456789Z'), 1_540_475_929_123_456_789n);
    assert.equal(parseRfc3339Nanos('2018-10-25T15:58:49.5+02:00'), 1_540_475_929_500_000_000n);
    assert.equal(parseRfc3339Nanos('2018-10-25T08:28:49-05:30'), 1_540_475_929_000_000_000n);
    assert.equal(parseRfc3339Nanos('1969-12-31T23:59:59.5Z'), -500_000_000n);
    assert.equal(parseRfc3339Nanos('2024-02-29T00:00:00Z'), 1_709_164_800_000_000_000n);
    assert.equal(parseRfc3339Nanos('2000-03-01T00:00:00Z'), 951_868_800_000_000_000n);
  });

  test('agree with Date for any millisecond-precision UTC time from year 0 to 9999', () => {
    fc.assert(
      fc.property(fc.integer({ min: -62_167_219_200_000, max: 253_402_300_799_999 }), (ms) => {
        const iso = new Date(ms).toISOString();
        assert.equal(parseRfc3339Nanos(iso), BigInt(ms) * 1_000_000n, iso);
      }),
      { numRuns: 2000 },
    );
  });

  test('truncate fractional digits beyond the ninth, like Go', () => {
    assert.equal(parseRfc3339Nanos('1970-01-01T00:00:00.1234567891Z'), 123_456_789n);
  });

  test('reject what Go time.Parse(RFC3339Nano) rejects', () => {
    for (const bad of [
      '',
      '2018-10-25',
      '2018-10-25 13:58:49Z',
      '2018-10-25t13:58:49Z',
      '2018-10-25T13:58:49z',
      '2018-10-25T13:58:49',
      '2018-10-25T13:58:49.Z',
      '2018-13-25T13:58:49Z',
      '2018-02-29T13:58:49Z',
      '2018-04-31T13:58:49Z',
      '2018-10-25T24:00:00Z',
      '2018-10-25T13:60:49Z',
      '2018-10-25T13:58:60Z',
      '2018-10-25T13:58:49+24:00',
      '2018-10-25T13:58:49+0200',
      '18-10-25T13:58:49Z',
      ' 2018-10-25T13:58:49Z',
    ]) {
      assert.equal(parseRfc3339Nanos(bad), undefined, bad);
    }
    for (const notText of [undefined, null, 1540475929, {}, ['2018-10-25T13:58:49Z']]) {
      assert.equal(parseRfc3339Nanos(notText), undefined);
    }
  });
});

describe('decodeAuditPayload', () => {
  test('accepts a single Event and times it by stageTimestamp', () => {
    const r = decodeAuditPayload(ev('a'));
    assert.equal(r.error, undefined);
    assert.equal(r.problems, undefined);
    assert.equal(r.events.length, 1);
    const e = r.events[0]!;
    assert.ok(e instanceof AuditEvent);
    assert.equal(e.source, 'k8s_audit');
    assert.equal(e.time, 1_704_164_645_123_456_000n);
    assert.equal(e.obj['auditID'], 'a');
  });

  test('accepts an EventList, v1beta1 included, and keeps item order', () => {
    const r = decodeAuditPayload({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1beta1', metadata: {}, items: [ev('1'), ev('2'), ev('3')] });
    assert.deepEqual(r.events.map((e) => e.obj['auditID']), ['1', '2', '3']);
    assert.equal(r.error, undefined);
  });

  test('does not require kind on EventList items, like upstream', () => {
    const { kind: _k, ...bare } = ev('x');
    assert.equal(decodeAuditPayload({ kind: 'EventList', items: [bare] }).events.length, 1);
  });

  test('accepts JSON arrays of Events and EventLists, nested', () => {
    const r = decodeAuditPayload([ev('1'), { kind: 'EventList', items: [ev('2'), ev('3')] }, [ev('4')]]);
    assert.deepEqual(r.events.map((e) => e.obj['auditID']), ['1', '2', '3', '4']);
  });

  test('an empty EventList or array is fine and holds nothing', () => {
    assert.deepEqual(decodeAuditPayload({ kind: 'EventList', items: [] }), { events: [] });
    assert.deepEqual(decodeAuditPayload([]), { events: [] });
  });

  test('reports anything else as not recognized', () => {
    for (const v of [{ kind: 0 }, {}, { kind: 'Pod' }, { kind: 'event' }, { kind: 'EventList' }, { kind: 'EventList', items: {} }, 'Event', 42, null, true]) {
      const r = decodeAuditPayload(v);
      assert.equal(r.events.length, 0);
      assert.equal(r.error, NOT_RECOGNIZED, JSON.stringify(v));
      assert.deepEqual(r.problems, [{ where: '', message: NOT_RECOGNIZED }]);
    }
  });

  test('rejects bad parts one by one and keeps their siblings', () => {
    const r = decodeAuditPayload([
      ev('1'),
      { kind: 0 },
      { kind: 'EventList', items: [ev('2'), 'junk', ev('3', { stageTimestamp: undefined, requestReceivedTimestamp: undefined })] },
    ]);
    assert.deepEqual(r.events.map((e) => e.obj['auditID']), ['1', '2']);
    assert.deepEqual(r.problems?.map((p) => p.where), ['[1]', '[2].items[1]', '[2].items[2]']);
    assert.equal(r.problems?.[0]?.message, NOT_RECOGNIZED);
    assert.equal(r.problems?.[1]?.message, 'an audit event must be a JSON object');
    assert.match(r.problems![2]!.message, /^event 3: cannot read the event time: stageTimestamp is missing and requestReceivedTimestamp is missing/);
    assert.match(r.error!, /^3 parts rejected; first: \[1\]: data not recognized/);
  });

  test('falls back to requestReceivedTimestamp when stageTimestamp is missing or invalid', () => {
    const fallback = decodeAuditPayload(ev('f', { stageTimestamp: 'yesterday', requestReceivedTimestamp: '1970-01-01T00:00:01Z' }));
    assert.equal(fallback.error, undefined);
    assert.equal(fallback.events[0]!.time, 1_000_000_000n);
    const none = decodeAuditPayload(ev('n', { stageTimestamp: 5 }));
    assert.equal(none.events.length, 0);
    assert.equal(
      none.error,
      'event n: cannot read the event time: stageTimestamp is not a string and requestReceivedTimestamp is missing (RFC 3339 expected)',
    );
  });

  test('bounds array nesting and the number of listed problems', () => {
    let nested: unknown = ev('deep');
    for (let i = 0; i < 1000; i++) nested = [nested];
    const r = decodeAuditPayload(nested);
    assert.equal(r.events.length, 0);
    assert.match(r.error!, /nested more than/);
    const many = decodeAuditPayload(Array.from({ length: 250 }, () => ({ kind: 0 })));
    assert.equal(many.problems?.length, 100);
    assert.match(many.error!, /^250 parts rejected/);
  });

  test('decodeAuditEvent times one item or says why not', () => {
    assert.ok(decodeAuditEvent(ev('x')) instanceof AuditEvent);
    assert.equal(decodeAuditEvent([ev('x')]), 'an audit event must be a JSON object');
    assert.match(decodeAuditEvent({ auditID: 'x', stageTimestamp: 'nope' }) as string, /stageTimestamp "nope" is invalid/);
  });

  test('an AuditEvent must wrap a JSON object', () => {
    assert.throws(() => new AuditEvent([] as never, 0n), TypeError);
    assert.throws(() => new AuditEvent(null as never, 0n), TypeError);
    assert.equal(new AuditEvent({ auditID: 'x' }, 0n).hasAuditID, true);
    assert.equal(new AuditEvent({}, 0n).hasAuditID, false);
  });
});
