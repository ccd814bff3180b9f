/**
 * The webhook's bad-input table, against a real `tiercel serve`: each bad
 * request gets the right 4xx with a JSON error body, the next valid request
 * still succeeds, and the process never crashes.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { anchorsAvailable, anchorsMissingReason } from '../helpers/anchors.js';
import {
  type Reply, type ServeProcess, eventList, metricValue, metrics, postJson, request, startServe, traceEvents, waitFor, withIds,
} from './helpers.js';

const MAX_BODY = 1024 * 1024;

interface Row {
  readonly name: string;
  readonly send: (webhook: string) => Promise<Reply>;
  readonly status: number;
  readonly code?: string;
}

function nested(depth: number): string {
  return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

describe('webhook bad input', { skip: anchorsAvailable ? false : anchorsMissingReason }, () => {
  let server: ServeProcess;
  let valid: Record<string, unknown>;
  let n = 0;
  let validSent = 0;

  before(async () => {
    server = await startServe(['--option', `webhook.max_body_bytes=${MAX_BODY}`, '--option', 'stdout_output.enabled=false']);
    valid = traceEvents('create_nginx_pod_privileged.json')[0]!;
  });
  after(async () => {
    assert.equal(await server.stop(), 0);
  });

  const fresh = (): Record<string, unknown> => withIds([valid], `bad-input-${n++}`)[0]!;
  const big = (): string => JSON.stringify(eventList([{ ...fresh(), padding: 'x'.repeat(MAX_BODY) }]));

  const rows: Row[] = [
    { name: 'text/plain content type', status: 415, code: 'unsupported_media_type',
      send: (u) => request(u, JSON.stringify(eventList([fresh()])), { headers: { 'content-type': 'text/plain' } }) },
    { name: 'no content type', status: 415, code: 'unsupported_media_type',
      send: (u) => request(u, JSON.stringify(eventList([fresh()]))) },
    { name: 'form content type', status: 415, code: 'unsupported_media_type',
      send: (u) => request(u, 'a=b', { headers: { 'content-type': 'application/x-www-form-urlencoded' } }) },
    { name: 'invalid JSON', status: 400, code: 'invalid_json', send: (u) => postJson(u, '{"kind":"EventList","items":[') },
    { name: 'empty body', status: 400, code: 'invalid_json', send: (u) => postJson(u, '') },
    { name: 'JSON with trailing garbage', status: 400, code: 'invalid_json', send: (u) => postJson(u, '{"kind":"Event"} xyz') },
    { name: 'a JSON string', status: 400, code: 'not_audit_events', send: (u) => postJson(u, '"hello"') },
    { name: 'null', status: 400, code: 'not_audit_events', send: (u) => postJson(u, 'null') },
    { name: 'a Pod', status: 400, code: 'not_audit_events', send: (u) => postJson(u, { kind: 'Pod', apiVersion: 'v1', metadata: {} }) },
    { name: 'a core/v1 EventList (Kubernetes Events, not audit)', status: 400, code: 'not_audit_events',
      send: (u) => postJson(u, { kind: 'EventList', apiVersion: 'v1', items: [] }) },
    { name: 'EventList whose items is not a list', status: 400, code: 'not_audit_events',
      send: (u) => postJson(u, { kind: 'EventList', apiVersion: 'audit.k8s.io/v1', items: { a: 1 } }) },
    { name: 'array of numbers', status: 400, code: 'not_audit_events', send: (u) => postJson(u, '[1,2,3]') },
    { name: 'EventList of events without timestamps', status: 400, code: 'not_audit_events',
      send: (u) => postJson(u, eventList([{ kind: 'Event', auditID: 'x' }, { kind: 'Event', auditID: 'y' }])) },
    { name: 'oversize body (Content-Length)', status: 413, code: 'body_too_large', send: (u) => postJson(u, big()) },
    { name: 'oversize body (chunked)', status: 413, code: 'body_too_large', send: (u) => postJson(u, big(), { chunked: true }) },
    { name: 'gzip bomb (small compressed, huge decompressed)', status: 413, code: 'body_too_large',
      send: (u) => request(u, gzipSync(Buffer.alloc(64 * MAX_BODY, 0x20)), {
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      }) },
    { name: 'corrupt gzip', status: 400, code: 'invalid_gzip',
      send: (u) => postJson(u, JSON.stringify(eventList([fresh()])), { headers: { 'content-encoding': 'gzip' } }) },
    { name: 'unsupported content encoding', status: 415, code: 'unsupported_content_encoding',
      send: (u) => postJson(u, JSON.stringify(eventList([fresh()])), { headers: { 'content-encoding': 'br' } }) },
    { name: 'absurdly deep arrays', status: 400, code: 'nesting_too_deep', send: (u) => postJson(u, '['.repeat(200_000)) },
    { name: 'absurdly deep object inside an event', status: 400, code: 'nesting_too_deep',
      send: (u) => postJson(u, JSON.stringify(eventList([fresh()])).replace('"requestObject":', `"deep":${nested(5000)},"requestObject":`)) },
    { name: 'GET on the webhook', status: 405, code: 'method_not_allowed', send: (u) => request(u) },
    { name: 'PUT on the webhook', status: 405, code: 'method_not_allowed',
      send: (u) => request(u, '{}', { method: 'PUT', headers: { 'content-type': 'application/json' } }) },
    { name: 'POST to an unknown path', status: 404, code: 'not_found', send: (u) => postJson(u.replace('/k8s-audit', '/nope'), '{}') },
  ];

  for (const row of rows) {
    it(`${row.name} → ${row.status}, then a valid batch still gets 200`, async () => {
      const r = await row.send(server.webhook);
      assert.equal(r.status, row.status, r.text);
      assert.match(String(r.headers['content-type']), /^application\/json/);
      assert.equal(typeof r.json?.message, 'string', r.text);
      if (row.code) assert.equal(r.json.error, row.code, r.text);
      const ok = await postJson(server.webhook, eventList([fresh()]));
      assert.equal(ok.status, 200, ok.text);
      assert.equal(ok.json.accepted, 1);
      validSent++;
    });
  }

  it('brackets inside strings do not count as nesting', async () => {
    const e = { ...fresh(), userAgent: '['.repeat(10_000) + '{'.repeat(10_000) };
    const r = await postJson(server.webhook, eventList([e]));
    assert.equal(r.status, 200, r.text);
    validSent++;
  });

  it('an EventList with one bad item: 200 for the good one, the bad one reported', async () => {
    const r = await postJson(server.webhook, eventList([fresh(), { kind: 'Event', auditID: 'no-time' }]));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.accepted, 1);
    assert.equal(r.json.rejected, 1);
    assert.match(JSON.stringify(r.json.problems), /items\[1\]/);
    validSent++;
  });

  it('a single Event (not a list), v1beta1 EventLists and gzip bodies are accepted', async () => {
    assert.equal((await postJson(server.webhook, fresh())).status, 200);
    assert.equal((await postJson(server.webhook, eventList([fresh()], 'audit.k8s.io/v1beta1'))).status, 200);
    const gz = await request(server.webhook, JSON.stringify(eventList([fresh()])), {
      gzip: true, headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    assert.equal(gz.status, 200, gz.text);
    validSent += 3;
  });

  it('malformed HTTP and a client that disconnects mid-body do not hurt the server', async () => {
    const port = server.port;
    const garbage = await new Promise<string>((resolve) => {
      const s = connect(port, '127.0.0.1', () => s.write('BLAH /k8s-audit HTTP/9.9\r\n\x00\x01\r\n\r\n'));
      let got = '';
      s.on('data', (d) => (got += d.toString()));
      s.on('close', () => resolve(got));
      s.on('error', () => resolve(got));
    });
    assert.match(garbage, /^HTTP\/1\.1 400/);
    await new Promise<void>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.write('POST /k8s-audit HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"kind":"EventList","items":[');
        setTimeout(() => {
          s.destroy();
          resolve();
        }, 50);
      });
    });
    const ok = await postJson(server.webhook, eventList([fresh()]));
    assert.equal(ok.status, 200);
    validSent++;
  });

  it('every valid event was evaluated, bad requests were counted, and the process is alive', async () => {
    const text = await waitFor('evaluation', async () => {
      const t = await metrics(server.url);
      return metricValue(t, 'tiercel_audit_events_evaluated_total') >= validSent ? t : undefined;
    });
    assert.equal(metricValue(text, 'tiercel_audit_events_evaluated_total'), validSent);
    assert.equal(metricValue(text, 'tiercel_webhook_requests_total', { code: '415' }), 4);
    assert.equal(metricValue(text, 'tiercel_webhook_requests_total', { code: '413' }), 3);
    assert.ok(metricValue(text, 'tiercel_audit_events_rejected_total', { reason: 'invalid_event' }) >= 1);
    assert.equal(metricValue(text, 'tiercel_alerts_total'), validSent, 'each valid event is a privileged pod: one alert each');
    assert.equal(server.child.exitCode, null);
    assert.equal((await request(`${server.url}/healthz`)).status, 200);
  });
});
