/**
 * The query API over HTTP, against a real SQLite store seeded through
 * store.write(): auth, every filter, paging, incident detail, status
 * changes, stats, errors and hostile input.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AlertJson, IncidentDetailJson, IncidentJson, PageJson, StatsJson } from '../../src/api/serialize.js';
import { EVIL_POD, EVIL_TITLE, HOUR, MIN, MS, NOW, type LiveApi, type TempStore, TOKENS, bearer, seed, startApi, tempStore } from './seed.js';

let ts: TempStore;
let api: LiveApi;

before(async () => {
  ts = await tempStore();
  await seed(ts.store);
  api = await startApi({ store: ts.store });
});
after(async () => {
  await api.close();
  await ts.cleanup();
});

interface Answer<T = unknown> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
}

async function call<T = Record<string, unknown>>(method: string, path: string, token: string | null = 'reader',
  init: { body?: string; headers?: Record<string, string> } = {}): Promise<Answer<T>> {
  const res = await fetch(api.base + path, {
    method,
    headers: { ...(token ? bearer(token) : {}), ...init.headers },
    ...(init.body !== undefined ? { body: init.body } : {}),
  });
  const text = await res.text();
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/, `${method} ${path}: ${text}`);
  return { status: res.status, headers: res.headers, body: JSON.parse(text) as T };
}
const get = <T = Record<string, unknown>>(path: string, token: string | null = 'reader'): Promise<Answer<T>> => call<T>('GET', path, token);
const post = <T = Record<string, unknown>>(path: string, body: unknown, token: string | null = 'writer'): Promise<Answer<T>> =>
  call<T>('POST', path, token, { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });

const ids = (page: { items: readonly { id: string }[] }): string[] => page.items.map((i) => i.id);
const listIds = async (query: string): Promise<string[]> => {
  const r = await get<PageJson<IncidentJson>>(`/incidents?${query}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return ids(r.body);
};
const alertIds = async (query: string): Promise<string[]> => {
  const r = await get<PageJson<AlertJson>>(`/alerts?${query}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return ids(r.body);
};
const LOAD = Array.from({ length: 25 }, (_, n) => `inc-load-${String(n).padStart(2, '0')}`);

function assertBadRequest(r: Answer, parameter: string, pattern?: RegExp): void {
  assert.equal(r.status, 400, JSON.stringify(r.body));
  const body = r.body as { error: string; message: string; parameter?: string };
  assert.equal(body.error, 'bad_request');
  assert.equal(body.parameter, parameter);
  assert.ok(body.message.startsWith(`${parameter}: `), body.message);
  if (pattern) assert.match(body.message, pattern);
}

describe('authentication and scopes', () => {
  test('no Authorization header: 401 with a Bearer challenge and a JSON body', async () => {
    const r = await get('/incidents', null);
    assert.equal(r.status, 401);
    assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer\b/);
    assert.deepEqual(Object.keys(r.body).sort(), ['error', 'message']);
    assert.equal(r.body['error'], 'unauthorized');
  });

  test('a wrong token, another scheme, or a token with junk: 401 invalid_token / invalid_request', async () => {
    for (const header of ['Bearer nope', `Bearer ${TOKENS[0]!.token}x`, `Bearer ${TOKENS[0]!.token.slice(0, -1)}`, 'Basic cmVhZGVyOnB3', 'Bearer', `Bearer ${TOKENS[0]!.token} extra`]) {
      const r = await call('GET', '/incidents', null, { headers: { Authorization: header } });
      assert.equal(r.status, 401, header);
      assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer .*error="invalid_(token|request)"/, header);
    }
  });

  test('the scheme name is case-insensitive', async () => {
    const r = await call('GET', '/incidents', null, { headers: { Authorization: `bearer ${TOKENS[0]!.token}` } });
    assert.equal(r.status, 200);
  });

  test('a token without the scope: 403 naming the scope', async () => {
    const ingestOnly = await get('/incidents', 'agent');
    assert.equal(ingestOnly.status, 403);
    assert.equal(ingestOnly.body['error'], 'forbidden');
    assert.equal(ingestOnly.body['scope'], 'read');
    const readOnly = await post('/incidents/inc-exec/status', { status: 'resolved' }, 'reader');
    assert.equal(readOnly.status, 403);
    assert.equal(readOnly.body['scope'], 'write');
    assert.equal((await get<IncidentDetailJson>('/incidents/inc-exec')).body.incident.status, 'open', 'nothing changed');
  });

  test('the OpenAPI document is public; /whoami names the token and its scopes', async () => {
    const doc = await get('/openapi.json', null);
    assert.equal(doc.status, 200);
    assert.equal(doc.body['openapi'], '3.1.0');
    assert.deepEqual((await get('/whoami', 'writer')).body, { name: 'writer', scopes: ['read', 'write'] });
    assert.equal((await get('/whoami', null)).status, 401);
  });

  test('with no tokens configured every route but the document is closed', async () => {
    const closed = await startApi({ store: ts.store, tokens: [] });
    try {
      const r = await fetch(`${closed.base}/incidents`, { headers: bearer('admin') });
      assert.equal(r.status, 401);
      assert.match(((await r.json()) as { message: string }).message, /no API tokens are configured/);
      assert.equal((await fetch(`${closed.base}/openapi.json`)).status, 200);
    } finally {
      await closed.close();
    }
  });

  test('tokens never reach the log, refused ones included', async () => {
    await call('GET', '/incidents', null, { headers: { Authorization: 'Bearer s3cret-guess-987' } });
    await get('/incidents', 'agent');
    const logs = api.logs();
    assert.match(logs, /request refused/);
    for (const t of [...TOKENS.map((x) => x.token), 's3cret-guess-987']) assert.ok(!logs.includes(t), `log holds ${t}`);
  });
});

describe('GET /incidents', () => {
  test('newest first, with every field in the documented shape', async () => {
    const r = await get<PageJson<IncidentJson>>('/incidents?limit=3');
    assert.deepEqual(ids(r.body), ['inc-exec', 'inc-etc', 'inc-load-24']);
    assert.equal(typeof r.body.next, 'string');
    const i = r.body.items[0]!;
    assert.equal(i.severity, 'Critical');
    assert.deepEqual(i.actor, { kind: 'user', name: 'alice', confidence: 'exact' });
    assert.deepEqual(i.target, { namespace: 'prod', pod: 'web-1', pod_uid: 'uid-web-1', container: 'app', node: 'node-1' });
    assert.match(i.first_seen, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    assert.equal(BigInt(i.first_seen_ns), NOW - 10n * MIN + 123_456_789n);
    assert.equal(i.first_seen.slice(20, 29), i.first_seen_ns.slice(-9), 'the ISO fraction is the exact ns');
    assert.match(i.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(i.status_note, null);
    assert.equal(r.headers.get('cache-control'), 'no-store');
  });

  test('namespace, pod, user, rule, status filters', async () => {
    assert.deepEqual(await listIds('namespace=prod'), ['inc-exec']);
    assert.deepEqual(await listIds('pod=runner-7'), ['inc-etc']);
    assert.deepEqual(await listIds('user=alice'), ['inc-exec']);
    assert.deepEqual(await listIds(`user=${encodeURIComponent('system:serviceaccount:ci:builder')}`), ['inc-etc']);
    assert.deepEqual(await listIds(`rule=${encodeURIComponent('Write below etc')}`), ['inc-etc']);
    assert.deepEqual(await listIds('status=acknowledged'), ['inc-etc']);
    assert.deepEqual(await listIds('status=RESOLVED'), ['inc-evil']);
    assert.deepEqual(await listIds('namespace=prod&status=resolved'), []);
    assert.deepEqual(await listIds(`namespace=evil&pod=${encodeURIComponent(EVIL_POD)}`), ['inc-evil']);
    assert.deepEqual(await listIds('namespace='), (await listIds('limit=100')), 'an empty value is no filter');
  });

  test('severity is a minimum, case-insensitive, with the info alias', async () => {
    assert.deepEqual(await listIds('severity=error'), ['inc-exec', 'inc-etc']);
    assert.deepEqual(await listIds('severity=CRITICAL'), ['inc-exec']);
    assert.deepEqual(await listIds('severity=Warning'), ['inc-exec', 'inc-etc', 'inc-evil']);
    assert.equal((await listIds('severity=info')).length, 28);
    assertBadRequest(await get('/incidents?severity=WARN'), 'severity',
      /^severity: expected one of Emergency, Alert, Critical, Error, Warning, Notice, Informational, Debug/);
  });

  test('time range: since, from/to in RFC 3339 or ns, overlapping', async () => {
    assert.deepEqual(await listIds('since=15m'), ['inc-exec']);
    assert.deepEqual(await listIds('since=150m&severity=warning'), ['inc-exec', 'inc-etc']);
    assert.equal((await listIds('since=24h')).length, 27, 'inc-evil is 25 h old');
    assert.equal((await listIds('since=2d')).length, 28);
    const iso = (ns: bigint): string => new Date(Number(ns / MS)).toISOString();
    assert.deepEqual(await listIds(`from=${iso(NOW - 26n * HOUR)}&to=${iso(NOW - 24n * HOUR)}`), ['inc-evil']);
    // Offsets other than Z, and exact ns as the API prints them.
    const d = new Date(Number((NOW - 11n * MIN) / MS));
    const local = new Date(d.getTime() + 2 * 3600_000).toISOString().replace('Z', '+02:00');
    assert.deepEqual(await listIds(`from=${encodeURIComponent(local)}`), ['inc-exec']);
    const exec = (await get<IncidentDetailJson>('/incidents/inc-exec')).body.incident;
    assert.deepEqual(await listIds(`from=${exec.last_seen_ns}&to=${exec.last_seen_ns}`), ['inc-exec']);
    assert.deepEqual(await listIds(`from=${BigInt(exec.last_seen_ns) + 1n}&severity=critical`), []);
  });

  test('bad times name the parameter', async () => {
    assertBadRequest(await get('/incidents?since=15'), 'since', /duration like 30s/);
    assertBadRequest(await get('/incidents?since=-5m'), 'since');
    assertBadRequest(await get('/incidents?since=0m'), 'since');
    assertBadRequest(await get('/incidents?since=99999999999d'), 'since');
    assertBadRequest(await get('/incidents?from=yesterday'), 'from', /RFC 3339/);
    assertBadRequest(await get('/incidents?from=2026-02-30T00:00:00Z'), 'from');
    assertBadRequest(await get('/incidents?from=2026-11-28T12:00:00'), 'from', /zone/);
    assertBadRequest(await get('/incidents?to=2026-11-28T25:00:00Z'), 'to');
    assertBadRequest(await get('/incidents?from=2026-11-28T12:00:00Z&to=2026-11-28T11:00:00Z'), 'to', /before/);
    assertBadRequest(await get('/incidents?since=1h&from=2026-11-28T12:00:00Z'), 'since', /not both/);
  });

  test('text search is literal and case-insensitive', async () => {
    assert.deepEqual(await listIds('q=HOSTPATH'), ['inc-etc']);
    assert.deepEqual(await listIds(`q=${encodeURIComponent('<script>')}`), ['inc-evil']);
    assert.deepEqual(await listIds('q=100%25'), ['inc-evil'], '% is not a wildcard');
    assert.deepEqual(await listIds('q=_done_'), ['inc-evil'], '_ is not a wildcard');
    assert.deepEqual(await listIds(`q=${encodeURIComponent('\'q\' "dq"')}`), ['inc-evil']);
    assert.deepEqual(await listIds('q=%25%25%25'), []);
    assert.deepEqual(await listIds(`q=${encodeURIComponent('\' OR 1=1 --')}`), []);
    assert.deepEqual(await listIds('q=alice'), ['inc-exec'], 'the actor is searched');
  });

  test('paging with next: every incident once, in order, then next is null', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r: Answer<PageJson<IncidentJson>> = await get<PageJson<IncidentJson>>(
        `/incidents?namespace=load&limit=10${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      assert.equal(r.status, 200);
      seen.push(...ids(r.body));
      cursor = r.body.next;
      pages++;
    } while (cursor !== null && pages < 10);
    assert.equal(pages, 3);
    assert.deepEqual(seen, [...LOAD].reverse());
  });

  test('limit and cursor are checked', async () => {
    for (const v of ['0', '1001', 'abc', '1.5', '-1', '1e3']) assertBadRequest(await get(`/incidents?limit=${v}`), 'limit', /1 to 1000/);
    assert.equal((await listIds('limit=1000')).length, 28);
    const r = await get('/incidents?cursor=not-a-cursor');
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal(r.body['error'], 'bad_request');
  });

  test('hostile query strings: unknown, repeated, bracketed, oversized, NUL, bad escapes', async () => {
    assertBadRequest(await get('/incidents?namespce=prod'), 'namespce', /unknown parameter/);
    assertBadRequest(await get('/incidents?namespace=a&namespace=b'), 'namespace', /more than once/);
    assertBadRequest(await get('/incidents?q[$ne]=x'), 'q[$ne]', /unknown parameter/);
    assertBadRequest(await get('/incidents?__proto__=x'), '__proto__');
    assertBadRequest(await get(`/incidents?q=${'x'.repeat(1025)}`), 'q', /longer than 1024/);
    const longName = 'n'.repeat(5000);
    const r = await get(`/incidents?${longName}=1`);
    assert.equal(r.status, 400);
    assert.ok((r.body['message'] as string).length < 400, 'a hostile name is clipped in the message');
    assert.deepEqual(await listIds('namespace=%00'), []);
    assert.deepEqual(await listIds('q=%E0%A4%A'), [], 'a broken escape is searched as text');
    assert.deepEqual(await listIds('namespace=prod&'), ['inc-exec']);
  });
});

describe('GET /incidents/:id', () => {
  test('the incident, its timeline oldest first with the storm collapsed, and every link', async () => {
    const r = await get<IncidentDetailJson>('/incidents/inc-exec');
    assert.equal(r.status, 200);
    assert.equal(r.body.incident.id, 'inc-exec');
    assert.equal(r.body.timeline_truncated, false);
    const tl = r.body.timeline;
    assert.deepEqual(tl.map((e) => [e.first.id, e.count]),
      [['ev-exec', 1], ['al-audit-exec', 1], ['al-shell', 1], ['al-drop-1', 5]]);
    const storm = tl[3]!;
    assert.equal(BigInt(storm.last_time_ns) - BigInt(storm.first.time_ns), 4_000_000_000n);
    assert.deepEqual(storm.link && [storm.link.key, storm.link.confidence, storm.link.linked_to], ['exec_session', 'probable', 'al-shell']);
    assert.equal(tl[0]!.first.kind, 'context');
    assert.equal(r.body.links.length, 8);
    const shell = r.body.links.find((l) => l.alert_id === 'al-shell')!;
    assert.deepEqual(shell, {
      incident_id: 'inc-exec', alert_id: 'al-shell', key: 'audit_id', confidence: 'exact', linked_to: 'ev-exec',
      detail: 'KUBERNETES_EXEC_AUDIT_ID=aud-1',
    });
  });

  test('hostile text comes back byte for byte, JSON-escaped', async () => {
    const r = await get<IncidentDetailJson>('/incidents/inc-evil');
    assert.equal(r.body.incident.title, EVIL_TITLE);
    assert.equal(r.body.incident.target.pod, EVIL_POD);
    assert.equal(r.body.links[0]!.detail, EVIL_TITLE);
  });

  test('unknown, oversized and odd ids: 404 JSON', async () => {
    for (const id of ['nope', 'x'.repeat(300), '..%2F..%2Fetc', '%00', 'inc-exec%20', encodeURIComponent('inc-exec\'--')]) {
      const r = await get(`/incidents/${id}`);
      assert.equal(r.status, 404, id);
      assert.equal(r.body['error'], 'not_found');
    }
  });

  test('a malformed %-escape in the path: 400 JSON, no stack', async () => {
    const r = await get('/incidents/%E0%A4%A');
    assert.equal(r.status, 400);
    assert.ok(!JSON.stringify(r.body).includes('at '), JSON.stringify(r.body));
  });
});

describe('status changes', () => {
  test('POST /status sets status and a note recording who and why', async () => {
    const r = await post<IncidentJson>('/incidents/inc-load-00/status', { status: 'acknowledged', note: 'looking into it' });
    assert.equal(r.status, 200);
    assert.equal(r.body.status, 'acknowledged');
    assert.equal(r.body.status_note, 'writer: looking into it');
    const again = await get<IncidentDetailJson>('/incidents/inc-load-00');
    assert.equal(again.body.incident.status, 'acknowledged');
    assert.deepEqual(await listIds('status=acknowledged'), ['inc-etc', 'inc-load-00']);
  });

  test('/acknowledge and /resolve, with or without a body', async () => {
    const ack = await call<IncidentJson>('POST', '/incidents/inc-load-01/acknowledge', 'writer');
    assert.equal(ack.status, 200);
    assert.equal(ack.body.status, 'acknowledged');
    assert.equal(ack.body.status_note, 'writer');
    const res = await post<IncidentJson>('/incidents/inc-load-01/resolve', { note: 'benign: backup job' }, 'admin');
    assert.equal(res.body.status, 'resolved');
    assert.equal(res.body.status_note, 'admin: benign: backup job');
    const reopen = await post<IncidentJson>('/incidents/inc-load-01/status', { status: 'open' });
    assert.equal(reopen.body.status, 'open');
  });

  test('bad bodies: 400 naming the field, 415 for non-JSON, 413 when huge, 404 unknown id, 405 wrong method', async () => {
    assertBadRequest(await post('/incidents/inc-load-02/status', { status: 'closed' }), 'status', /open, acknowledged, resolved/);
    assertBadRequest(await post('/incidents/inc-load-02/status', {}), 'status');
    assertBadRequest(await post('/incidents/inc-load-02/status', { status: 'open', note: 7 }), 'note');
    assertBadRequest(await post('/incidents/inc-load-02/status', { status: 'open', note: 'n'.repeat(2001) }), 'note');
    assertBadRequest(await post('/incidents/inc-load-02/status', { status: 'open', who: 'me' }), 'who', /unknown field/);
    assertBadRequest(await post('/incidents/inc-load-02/status', ['open']), 'body');
    assertBadRequest(await post('/incidents/inc-load-02/resolve', { status: 'open' }), 'status', /unknown field/);
    const broken = await call('POST', '/incidents/inc-load-02/status', 'writer',
      { body: '{"status": "open"', headers: { 'Content-Type': 'application/json' } });
    assert.equal(broken.status, 400);
    assert.equal(broken.body['error'], 'invalid_json');
    const form = await call('POST', '/incidents/inc-load-02/status', 'writer',
      { body: 'status=open', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    assert.equal(form.status, 415);
    const huge = await post('/incidents/inc-load-02/status', { status: 'open', note: 'x'.repeat(100_000) });
    assert.equal(huge.status, 413);
    const missing = await post('/incidents/nope/status', { status: 'open' });
    assert.equal(missing.status, 404);
    const wrong = await get('/incidents/inc-load-02/status', 'writer');
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'POST');
    assert.equal((await get<IncidentDetailJson>('/incidents/inc-load-02')).body.incident.status, 'open');
  });
});

describe('GET /alerts', () => {
  test('alerts by default, context events when asked', async () => {
    const all = await alertIds('limit=1000');
    assert.equal(all.length, 35);
    assert.ok(!all.includes('ev-exec'));
    assert.deepEqual(await alertIds('kind=context'), ['ev-exec']);
    assert.equal((await alertIds('kind=any&limit=1000')).length, 36);
    assertBadRequest(await get('/alerts?kind=event'), 'kind', /alert, context, any/);
  });

  test('source, hostname, incident (storms uncollapsed), and the shared filters', async () => {
    assert.deepEqual((await alertIds('source=k8s_audit')).sort(), ['al-audit-exec', 'al-hostpath']);
    assert.deepEqual(await alertIds('hostname=node-2'), ['al-etc']);
    assert.deepEqual(await alertIds('incident=inc-exec'),
      ['al-drop-5', 'al-drop-4', 'al-drop-3', 'al-drop-2', 'al-drop-1', 'al-shell', 'al-audit-exec']);
    assert.deepEqual(await alertIds('incident=inc-exec&severity=critical&limit=2').then((x) => x.length), 2);
    assert.deepEqual(await alertIds('namespace=ci&severity=error'), ['al-etc']);
    assert.deepEqual(await alertIds('user=alice&since=15m&source=syscall').then((x) => x.length), 6);
    assert.deepEqual(await alertIds(`rule=${encodeURIComponent('Create HostPath Mount Pod')}`), ['al-hostpath']);
    assert.deepEqual(await alertIds('q=%2Fhost%2Fetc%2Fpasswd'), ['al-etc']);
    assert.deepEqual(await alertIds(`pod=${encodeURIComponent(EVIL_POD)}`), ['al-evil']);
    assertBadRequest(await get('/alerts?status=open'), 'status', /unknown parameter/);
  });

  test('paging alerts', async () => {
    const first = await get<PageJson<AlertJson>>('/alerts?namespace=load&limit=20');
    const second = await get<PageJson<AlertJson>>(`/alerts?namespace=load&limit=20&cursor=${encodeURIComponent(first.body.next!)}`);
    assert.equal(first.body.items.length, 20);
    assert.equal(second.body.items.length, 5);
    assert.equal(second.body.next, null);
    assert.equal(new Set([...ids(first.body), ...ids(second.body)]).size, 25);
  });

  test('GET /alerts/:id: a Falco alert with Tiercel\'s keys; 404 when absent', async () => {
    const r = await get<AlertJson>('/alerts/al-shell');
    assert.equal(r.status, 200);
    for (const k of ['time', 'rule', 'priority', 'source', 'tags', 'output', 'output_fields', 'hostname']) assert.ok(k in r.body, k);
    assert.equal(r.body.incident_id, 'inc-exec');
    assert.equal(r.body.time.slice(20, 29), r.body.time_ns.slice(-9));
    assert.deepEqual(r.body.output_fields, { 'proc.cmdline': 'bash -i', 'proc.pid': 4242 });
    assert.equal((await get('/alerts/nope')).status, 404);
    assert.equal((await get('/alerts/ev-exec')).status, 200, 'context events are fetched by id too');
  });
});

describe('GET /stats', () => {
  test('the default range is 24 h in at most ~200 round buckets, aligned, complete', async () => {
    const r = await get<StatsJson>('/stats');
    assert.equal(r.status, 200);
    const s = r.body;
    assert.equal(s.bucket, '10m');
    assert.ok(s.series.length <= 200 && s.series.length >= 144, String(s.series.length));
    assert.equal(BigInt(s.from_ns) % (600n * 1000n * MS), 0n, 'aligned on the bucket');
    assert.equal(s.total, 34, 'every alert of the last 24 h (not inc-evil\'s)');
    assert.equal(s.by_priority['Critical'], 5);
    assert.equal(s.by_source['k8s_audit'], 2);
    const summed = s.series.reduce((n, b) => n + Object.values(b.by_priority).reduce((a, c) => a + c, 0), 0);
    assert.equal(summed, 34);
    assert.deepEqual(s.by_rule[0], { key: 'Read sensitive file untrusted', count: 25 });
    assert.equal(s.by_namespace[0]!.key, 'load');
    assert.ok(s.by_hostname.some((h) => h.key === 'node-2'));
    assert.ok(s.by_tag.some((t) => t.key === 'mitre_persistence'));
    assert.equal(typeof s.incidents.open, 'number');
    for (const b of s.series) assert.match(b.start, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
  });

  test('since and bucket; explicit from/to; top', async () => {
    const r = await get<StatsJson>('/stats?since=1h&bucket=1m&top=2');
    assert.equal(r.body.bucket, '1m');
    assert.equal(r.body.bucket_ms, 60_000);
    assert.ok(r.body.series.length >= 60 && r.body.series.length <= 62, String(r.body.series.length));
    assert.equal(r.body.total, 7);
    assert.equal(r.body.by_rule.length, 2);
    const week = await get<StatsJson>('/stats?since=7d');
    assert.ok(week.body.series.length <= 200);
    assert.equal(week.body.total, 35);
    const fromNs = NOW - 26n * HOUR;
    const exact = await get<StatsJson>(`/stats?from=${fromNs}&to=${NOW - 24n * HOUR}`);
    assert.equal(exact.body.from_ns, String(fromNs), 'an explicit from is kept as given');
    assert.equal(exact.body.total, 1);
  });

  test('bad stats input', async () => {
    assertBadRequest(await get('/stats?bucket=1s&since=7d'), 'bucket', /at most 2000/);
    assertBadRequest(await get('/stats?bucket=0s'), 'bucket');
    assertBadRequest(await get('/stats?bucket=5x'), 'bucket');
    assertBadRequest(await get('/stats?top=0'), 'top');
    assertBadRequest(await get('/stats?severity=error'), 'severity', /unknown parameter/);
  });
});

describe('routing and failures', () => {
  test('unknown routes and methods under /api/v1: JSON 404 and 405', async () => {
    for (const [method, path] of [['GET', '/nope'], ['GET', '/incidents/a/b/c'], ['DELETE', '/nope'], ['GET', '/']] as const) {
      const r = await call(method, path);
      assert.equal(r.status, 404, `${method} ${path}`);
      assert.equal(r.body['error'], 'not_found');
    }
    assert.equal((await call('GET', '/nope', null)).status, 404);
    const del = await call('DELETE', '/incidents/inc-exec', 'admin');
    assert.equal(del.status, 405);
    assert.equal(del.headers.get('allow'), 'GET, HEAD');
    const put = await call('PUT', '/alerts', 'admin');
    assert.equal(put.headers.get('allow'), 'GET, POST, HEAD');
  });

  test('onRequest gets route patterns, not raw paths', async () => {
    const before = api.requests.length;
    await get('/incidents/inc-exec');
    await get('/incidents/nope');
    await get('/no/such/thing');
    await get('/incidents', null);
    assert.deepEqual(api.requests.slice(before).map((r) => [r.route, r.status]),
      [['/incidents/:id', 200], ['/incidents/:id', 404], ['unmatched', 404], ['/incidents', 401]]);
    assert.ok(api.requests.every((r) => r.ms >= 0));
  });

  test('a store that fails: 503 JSON with Retry-After, no internals; the server keeps serving', async () => {
    const broken = await tempStore();
    const api2 = await startApi({ store: broken.store });
    try {
      await broken.store.close();
      for (const path of ['/incidents', '/incidents/inc-exec', '/alerts', '/alerts/x', '/stats']) {
        const res = await fetch(api2.base + path, { headers: bearer('reader') });
        const body = (await res.json()) as Record<string, string>;
        assert.equal(res.status, 503, path);
        assert.equal(body['error'], 'store_unavailable');
        assert.equal(res.headers.get('retry-after'), '5');
        assert.ok(!/sqlite|database|\.db|at /i.test(body['message']!), body['message']);
      }
      const patch = await fetch(`${api2.base}/incidents/x/resolve`, { method: 'POST', headers: bearer('writer') });
      assert.equal(patch.status, 503);
      assert.equal((await fetch(`${api2.base}/openapi.json`)).status, 200);
      assert.match(api2.logs(), /store query failed/);
    } finally {
      await api2.close();
      await broken.cleanup();
    }
  });
});
