/**
 * The pieces of the live pipeline in isolation: the nesting check on raw
 * bytes, body decoding, de-duplication with bounded memory, the queue's
 * all-or-nothing admission and draining, the authenticator.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { AuditEvent } from '../../src/audit/event.js';
import { createAuthenticator } from '../../src/audit/webhook-auth.js';
import { WebhookInputError, decodeWebhookBody, findExcessNesting, isJsonContentType } from '../../src/audit/webhook-body.js';
import type { Alert } from '../../src/engine/alert.js';
import type { Ruleset } from '../../src/engine/ruleset.js';
import { Deduplicator } from '../../src/server/dedup.js';
import { ServerMetrics } from '../../src/server/metrics.js';
import { Pipeline } from '../../src/server/pipeline.js';

const buf = (s: string): Buffer => Buffer.from(s, 'utf8');

describe('findExcessNesting', () => {
  it('finds the first bracket past the limit', () => {
    assert.equal(findExcessNesting(buf('[[[1]]]'), 3), -1);
    assert.equal(findExcessNesting(buf('[[[[1]]]]'), 3), 3);
    assert.equal(findExcessNesting(buf('{"a":{"b":[{}]}}'), 4), -1);
    assert.equal(findExcessNesting(buf('{"a":{"b":[{}]}}'), 3), 11);
  });
  it('ignores brackets in strings, escaped quotes included', () => {
    assert.equal(findExcessNesting(buf('["[[[[[[", "\\"[[[[", "\\\\", "{{{{"]'), 1), -1);
    assert.equal(findExcessNesting(buf('["\\\\\\"[[[["]'), 1), -1);
    assert.equal(findExcessNesting(buf('["é[[[", "日本[[[", ["x"]]'), 1), Buffer.byteLength('["é[[[", "日本[[[", '), 'a byte offset');
  });
  it('depth does not accumulate across siblings', () => {
    assert.equal(findExcessNesting(buf('[' + '[],'.repeat(10_000) + '[]]'), 2), -1);
  });
  it('leaves malformed JSON to the parser', () => {
    assert.equal(findExcessNesting(buf('["unterminated'), 1), -1);
  });
});

describe('decodeWebhookBody', () => {
  const event = { kind: 'Event', auditID: 'a', stage: 'ResponseComplete', stageTimestamp: '2024-01-01T00:00:00.000001Z' };
  it('decodes an EventList, an Event, an array, with a BOM', () => {
    assert.equal(decodeWebhookBody(buf(JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', items: [event, event] })), { maxNestingDepth: 50 }).events.length, 2);
    assert.equal(decodeWebhookBody(buf(JSON.stringify(event)), { maxNestingDepth: 50 }).events.length, 1);
    assert.equal(decodeWebhookBody(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), buf(JSON.stringify([event]))]), { maxNestingDepth: 50 }).events.length, 1);
  });
  it('rejects with status and code', () => {
    const code = (body: string): string => {
      try {
        decodeWebhookBody(buf(body), { maxNestingDepth: 5 });
      } catch (e) {
        assert.ok(e instanceof WebhookInputError);
        assert.equal(e.status, 400);
        return e.code;
      }
      return 'accepted';
    };
    assert.equal(code(''), 'invalid_json');
    assert.equal(code('{'), 'invalid_json');
    assert.equal(code('[[[[[[[]]]]]]]'), 'nesting_too_deep');
    assert.equal(code('{"kind":"EventList","apiVersion":"v1","items":[]}'), 'not_audit_events');
    assert.equal(code('{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[]}'), 'accepted');
    assert.equal(code('17'), 'not_audit_events');
  });
  it('content types', () => {
    assert.ok(isJsonContentType('application/json'));
    assert.ok(isJsonContentType('Application/JSON; charset=utf-8'));
    assert.ok(!isJsonContentType('application/jsonp'));
    assert.ok(!isJsonContentType('text/json'));
    assert.ok(!isJsonContentType(undefined));
  });
});

describe('Deduplicator', () => {
  it('keys by auditID and stage; no key without an auditID', () => {
    assert.equal(Deduplicator.key({ auditID: 'x', stage: 'ResponseComplete' }), 'x\u0000ResponseComplete');
    assert.equal(Deduplicator.key({ auditID: 'x' }), 'x');
    assert.equal(Deduplicator.key({ auditID: 7 }), undefined);
    assert.equal(Deduplicator.key({}), undefined);
    const long = Deduplicator.key({ auditID: 'y'.repeat(100_000), stage: 's' })!;
    assert.ok(long.length < 64, 'hostile long IDs are hashed');
  });
  it('remembers between capacity/2 and capacity keys', () => {
    const d = new Deduplicator(1000);
    for (let i = 0; i < 10_000; i++) d.add(`k${i}`);
    assert.ok(d.size <= 1000);
    for (let i = 9_500; i < 10_000; i++) assert.ok(d.has(`k${i}`), `k${i}`);
    assert.ok(!d.has('k0'));
    const off = new Deduplicator(0);
    off.add('a');
    assert.ok(!off.has('a'));
  });
});

describe('Pipeline', () => {
  const ev = (id: string): AuditEvent => new AuditEvent({ auditID: id, stage: 'ResponseComplete' }, 1n);
  function make(capacity: number, process: (e: AuditEvent) => Alert[] = () => []): { p: Pipeline; published: Alert[]; metrics: ServerMetrics } {
    const published: Alert[] = [];
    const metrics = new ServerMetrics({ defaultMetrics: false });
    const p = new Pipeline({
      capacity, maxBytes: 1e9, dedupCapacity: 100,
      ruleset: { process } as unknown as Ruleset,
      outputs: { names: [], publish: (a) => published.push(a), flush: async () => {}, close: async () => {} },
      metrics, logger: pino({ level: 'silent' }),
    });
    return { p, published, metrics };
  }
  const alert = (e: AuditEvent): Alert => ({
    time: 1n, rule: String(e.obj['auditID']), priority: 'Notice', source: 'k8s_audit', tags: [], message: '', outputFields: {}, hostname: 'h',
  });

  it('takes a batch whole or not at all, drops duplicates, evaluates in order', async () => {
    const { p, published } = make(3, (e) => [alert(e)]);
    assert.deepEqual(p.offer([ev('a'), ev('b')], 10, 'webhook'), { ok: true, accepted: 2, duplicates: 0 });
    assert.deepEqual(p.offer([ev('c'), ev('d')], 10, 'webhook'), { ok: false, reason: 'queue_full' });
    assert.ok(!p.full);
    assert.deepEqual(p.offer([ev('a'), ev('c'), ev('c')], 10, 'webhook'), { ok: true, accepted: 1, duplicates: 2 });
    assert.ok(p.full);
    await p.drain();
    assert.deepEqual(published.map((a) => a.rule), ['a', 'b', 'c']);
    assert.deepEqual(p.offer([ev('c'), ev('d')], 10, 'webhook'), { ok: true, accepted: 1, duplicates: 1 }, 'a refused event was not remembered');
    await p.drain();
  });

  it('takes a batch larger than the queue when the queue is empty', async () => {
    const { p } = make(2);
    assert.equal(p.offer([ev('1'), ev('2'), ev('3')], 1, 'webhook').ok, true);
    assert.equal(p.offer([ev('4')], 1, 'webhook').ok, false);
    await p.drain();
    assert.equal(p.depth, 0);
  });

  it('an evaluation that throws costs that event only', async () => {
    const { p, published, metrics } = make(10, (e) => {
      if (e.obj['auditID'] === 'bad') throw new Error('boom');
      return [alert(e)];
    });
    p.offer([ev('x'), ev('bad'), ev('y')], 1, 'webhook');
    await p.drain();
    assert.deepEqual(published.map((a) => a.rule), ['x', 'y']);
    assert.equal((await metrics.evaluationErrors.get()).values[0]!.value, 1);
  });

  it('waitForSpace resolves when the queue drains; close refuses new batches', async () => {
    const { p } = make(2);
    p.offer([ev('1'), ev('2')], 1, 'webhook');
    await p.waitForSpace(2);
    assert.equal(p.depth, 0);
    p.close();
    assert.deepEqual(p.offer([ev('3')], 1, 'webhook'), { ok: false, reason: 'closed' });
  });
});

describe('authenticator', () => {
  const req = (headers: Record<string, string>): IncomingMessage => ({ headers, socket: {} }) as unknown as IncomingMessage;
  it('is undefined without a method', () => {
    assert.equal(createAuthenticator({ clientCert: false }), undefined);
  });
  it('checks bearer tokens', () => {
    const auth = createAuthenticator({ clientCert: false, bearerToken: 's3cret' })!;
    assert.deepEqual(auth(req({ authorization: 'Bearer s3cret' })), { ok: true, via: 'token' });
    assert.deepEqual(auth(req({ authorization: 'bearer   s3cret ' })), { ok: true, via: 'token' });
    assert.equal((auth(req({ authorization: 'Bearer s3cre' })) as { reason: string }).reason, 'bad_token');
    assert.equal((auth(req({ authorization: 'Basic czNjcmV0' })) as { reason: string }).reason, 'bad_token');
    assert.equal((auth(req({})) as { reason: string }).reason, 'no_credentials');
  });
});
