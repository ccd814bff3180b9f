/**
 * Black-box tests of `tiercel incidents`: the built CLI as a child process,
 * against a seeded SQLite store opened directly (--store) and against the
 * query API on a live server (--url, --token / TIERCEL_API_TOKEN).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { IncidentDetailJson, IncidentJson, PageJson } from '../../src/api/serialize.js';
import { runCli } from '../helpers/cli.js';
import { EVIL_TITLE, type LiveApi, type TempStore, TOKENS, seed, startApi, tempStore } from '../api/seed.js';

const token = (name: string): string => TOKENS.find((t) => t.name === name)!.token;
/** Terminal-affecting characters: C0 but newline, DEL, C1, bidi controls, line/paragraph separators. */
const RAW_CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

let local: TempStore;
let remote: TempStore;
let api: LiveApi;

before(async () => {
  local = await tempStore();
  await seed(local.store);
  // The CLI opens the file itself; the test's connection is closed so nothing is shared.
  await local.store.close();
  remote = await tempStore();
  await seed(remote.store);
  api = await startApi({ store: remote.store });
});
after(async () => {
  await api?.close();
  await local?.cleanup();
  await remote?.cleanup();
});

const cli = (args: readonly string[], env: NodeJS.ProcessEnv = {}, cwd?: string): ReturnType<typeof runCli> =>
  runCli(['incidents', ...args], { env: { TIERCEL_API_TOKEN: '', ...env }, ...(cwd ? { cwd } : {}) });
const listJson = async (args: readonly string[]): Promise<PageJson<IncidentJson>> => {
  const r = await cli(['list', '--store', local.path, '-o', 'json', ...args]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as PageJson<IncidentJson>;
};
const ids = (page: PageJson<IncidentJson>): string[] => page.items.map((i) => i.id);

describe('tiercel incidents --store', () => {
  test('list: aligned columns, newest first', async () => {
    const r = await cli(['list', '--store', local.path, '--limit', '3']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 4);
    assert.match(lines[0]!, /^ID\s+SEVERITY\s+STATUS\s+LAST SEEN\s+ALERTS\s+ACTOR\s+TARGET\s+TITLE$/);
    assert.match(lines[1]!, /^inc-exec\s+Critical\s+open\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+7\s+alice\s+prod\/web-1 container=app node=node-1\s+alice exec'd/);
    const col = lines[0]!.indexOf('TITLE');
    assert.equal(lines[1]!.slice(col, col + 5), 'alice');
    assert.equal(lines[2]!.slice(col, col + 7), 'a hostP');
    assert.match(r.stderr, /^more incidents: add --cursor \S+\n$/);
  });

  test('filters like the API, paging with --cursor', async () => {
    assert.deepEqual(ids(await listJson(['--namespace', 'prod'])), ['inc-exec']);
    assert.deepEqual(ids(await listJson(['--severity', 'ERROR'])), ['inc-exec', 'inc-etc']);
    assert.deepEqual(ids(await listJson(['--since', '15m'])), ['inc-exec']);
    assert.deepEqual(ids(await listJson(['--user', 'system:serviceaccount:ci:builder'])), ['inc-etc']);
    assert.deepEqual(ids(await listJson(['--rule', 'Write below etc'])), ['inc-etc']);
    assert.deepEqual(ids(await listJson(['--status', 'resolved'])), ['inc-evil']);
    assert.deepEqual(ids(await listJson(['-q', '<script>'])), ['inc-evil']);
    assert.deepEqual(ids(await listJson(['--pod', 'load-3'])), ['inc-load-03']);
    const first = await listJson(['--namespace', 'load', '--limit', '20']);
    const second = await listJson(['--namespace', 'load', '--limit', '20', '--cursor', first.next!]);
    assert.equal(first.items.length + second.items.length, 25);
    assert.equal(second.next, null);
  });

  test('show: the incident, its timeline with the storm counted, each link\'s key and confidence', async () => {
    const r = await cli(['show', 'inc-exec', '--store', local.path]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Incident\s+inc-exec$/m);
    assert.match(r.stdout, /^Actor\s+alice \(user, exact\)$/m);
    assert.match(r.stdout, /^Timeline \(4 entries, 1 storm collapsed\):$/m);
    assert.match(r.stdout, /Critical\s+syscall\s+x5 until \S+Z\s+exec_session\/probable\s+al-drop-1\s+Drop and execute new binary in container/);
    assert.match(r.stdout, /^Links \(8\):$/m);
    assert.match(r.stdout, /^al-shell\s+audit_id\s+exact\s+ev-exec\s+KUBERNETES_EXEC_AUDIT_ID=aud-1$/m);
    assert.match(r.stdout, /^al-drop-3\s+storm\s+exact\s+al-drop-1$/m);
  });

  test('-o json is exactly what the API answers', async () => {
    const r = await cli(['show', 'inc-exec', '--store', local.path, '-o', 'json']);
    const res = await fetch(`${api.base}/incidents/inc-exec`, { headers: { Authorization: `Bearer ${token('reader')}` } });
    const viaApi = (await res.json()) as IncidentDetailJson;
    const viaStore = JSON.parse(r.stdout) as IncidentDetailJson;
    // Two stores seeded alike: the same document (status and its note excepted, which the other tests change).
    assert.deepEqual({ ...viaStore, incident: { ...viaStore.incident, status: '', status_note: null } },
      { ...viaApi, incident: { ...viaApi.incident, status: '', status_note: null } });
  });

  test('hostile names cannot touch the terminal: escaped in text and in JSON', async () => {
    const list = await cli(['list', '--store', local.path, '--namespace', 'evil']);
    assert.equal(list.code, 0, list.stderr);
    assert.ok(!RAW_CONTROL.test(list.stdout), JSON.stringify(list.stdout));
    assert.equal(list.stdout.trimEnd().split('\n').length, 2, 'the pod\'s newline forged no row');
    assert.ok(list.stdout.includes('evil/web\\x1b[2J\\nFAKE  ROW\\u202e'), list.stdout);
    assert.ok(list.stdout.includes('\\x9b31m'));
    const show = await cli(['show', 'inc-evil', '--store', local.path]);
    assert.ok(!RAW_CONTROL.test(show.stdout), JSON.stringify(show.stdout));
    assert.ok(show.stdout.includes('<script>alert(1)</script>'), 'printed as text, not interpreted');
    const json = await cli(['show', 'inc-evil', '--store', local.path, '-o', 'json']);
    assert.ok(!RAW_CONTROL.test(json.stdout), JSON.stringify(json.stdout));
    assert.equal((JSON.parse(json.stdout) as IncidentDetailJson).incident.title, EVIL_TITLE);
  });

  test('ack / resolve / reopen record who (the local user) and why', async () => {
    const r = await cli(['ack', 'inc-load-05', '--store', local.path, '--note', 'on it']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^inc-load-05: acknowledged \(cli:[^:]+: on it\)\n$/);
    assert.equal((await listJson(['--pod', 'load-5'])).items[0]!.status, 'acknowledged');
    assert.equal((await cli(['resolve', 'inc-load-05', '--store', local.path])).code, 0);
    assert.equal((await listJson(['--pod', 'load-5'])).items[0]!.status, 'resolved');
    const reopened = await cli(['reopen', 'inc-load-05', '--store', local.path, '-o', 'json']);
    assert.equal((JSON.parse(reopened.stdout) as IncidentJson).status, 'open');
  });

  test('errors: bad filters exit 2 naming the option; unknown ids and missing stores exit 1', async () => {
    const sev = await cli(['list', '--store', local.path, '--severity', 'loud']);
    assert.equal(sev.code, 2);
    assert.match(sev.stderr, /^tiercel: --severity: expected one of Emergency, Alert, Critical/);
    const q = await cli(['list', '--store', local.path, '-q', 'x'.repeat(2000)]);
    assert.equal(q.code, 2);
    assert.match(q.stderr, /^tiercel: -q: longer than 1024/);
    const since = await cli(['list', '--store', local.path, '--since', 'yesterday']);
    assert.equal(since.code, 2);
    assert.match(since.stderr, /--since: expected a duration/);
    const cursor = await cli(['list', '--store', local.path, '--cursor', 'bogus']);
    assert.equal(cursor.code, 2, cursor.stderr);
    const missing = await cli(['show', 'nope', '--store', local.path]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^tiercel: no incident with this id\n$/);
    const note = await cli(['ack', 'inc-load-06', '--store', local.path, '--note', 'n'.repeat(3000)]);
    assert.equal(note.code, 2);
    assert.match(note.stderr, /--note: longer than 2000/);
    const nowhere = await cli(['list', '--store', join(local.dir, 'nope.db')]);
    assert.equal(nowhere.code, 1);
    assert.match(nowhere.stderr, /no store at .*nope\.db/);
    const garbage = join(local.dir, 'garbage.db');
    writeFileSync(garbage, 'this is not a database '.repeat(200));
    const corrupt = await cli(['list', '--store', garbage]);
    assert.equal(corrupt.code, 1);
    assert.match(corrupt.stderr, /^tiercel: (cannot open the store|the store failed): .*not a database/);
    const empty = mkdtempSync(join(tmpdir(), 'tiercel-cwd-'));
    try {
      const r = await cli(['list'], {}, empty);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /no store at \.\/data\/tiercel\.db; give --store SPEC, or --url URL/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
    const both = await cli(['list', '--store', local.path, '--url', api.origin]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /either --url or --store/);
    const bad = await cli(['list', '--store', local.path, '-o', 'yaml']);
    assert.equal(bad.code, 2);
  });
});

describe('tiercel incidents --url', () => {
  test('list and show through the API, token from --token or TIERCEL_API_TOKEN, with or without /api/v1', async () => {
    const r = await cli(['list', '--url', api.origin, '--token', token('reader'), '--severity', 'error', '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(ids(JSON.parse(r.stdout) as PageJson<IncidentJson>), ['inc-exec', 'inc-etc']);
    const env = await cli(['list', '--url', `${api.base}/`, '--namespace', 'prod'], { TIERCEL_API_TOKEN: token('reader') });
    assert.equal(env.code, 0, env.stderr);
    assert.match(env.stdout.split('\n')[1]!, /^inc-exec\s+Critical/);
    const show = await cli(['show', 'inc-exec', '--url', api.origin, '--token', token('reader')]);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /^al-shell\s+audit_id\s+exact/m);
    const evil = await cli(['list', '--url', api.origin, '--token', token('reader'), '--namespace', 'evil']);
    assert.ok(!RAW_CONTROL.test(evil.stdout), JSON.stringify(evil.stdout));
  });

  test('ack needs the write scope; the note names the token', async () => {
    const denied = await cli(['ack', 'inc-load-07', '--url', api.origin, '--token', token('reader')]);
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /lacks the 'write' scope/);
    const ok = await cli(['ack', 'inc-load-07', '--url', api.origin, '--token', token('writer'), '--note', 'paged bob']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, 'inc-load-07: acknowledged (writer: paged bob)\n');
  });

  test('refusals and unreachable servers exit 1 with a clear message; the token is never printed', async () => {
    const none = await cli(['list', '--url', api.origin]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /authentication required.*give --token or set TIERCEL_API_TOKEN/);
    const wrong = await cli(['list', '--url', api.origin, '--token', 'wrong-s3cret']);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /invalid bearer token/);
    assert.ok(!wrong.stderr.includes('wrong-s3cret'));
    const missing = await cli(['show', 'nope', '--url', api.origin, '--token', token('reader')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no incident with this id/);
    const badFilter = await cli(['list', '--url', api.origin, '--token', token('reader'), '--status', 'closed']);
    assert.equal(badFilter.code, 2);
    assert.match(badFilter.stderr, /^tiercel: --status: expected one of open, acknowledged, resolved/);
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const down = await cli(['list', '--url', `http://127.0.0.1:${port}`, '--token', token('reader')]);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /cannot reach http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
    const notUrl = await cli(['list', '--url', 'ftp://x', '--token', 'x']);
    assert.equal(notUrl.code, 1);
    assert.match(notUrl.stderr, /not an http\(s\) URL/);
  });
});
