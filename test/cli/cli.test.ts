/**
 * Black-box tests of the `tiercel` command: the real CLI as a child process.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { anchorPath, anchorsAvailable, anchorsMissingReason } from '../helpers/anchors.js';
import { jsonAlerts, runCli } from '../helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'tiercel-cli-'));
const needAnchors = { skip: anchorsAvailable ? false : anchorsMissingReason };

function writeTmp(name: string, content: string | Buffer): string {
  const p = join(tmp, name);
  writeFileSync(p, content);
  return p;
}

const RULES = `
- rule: Exec into pod
  desc: someone execs into a pod
  condition: ka.target.subresource = exec and ka.verb = create
  output: "exec by %ka.user.name into %ka.target.namespace/%ka.target.name (command=%ka.uri.param[command])"
  priority: NOTICE
  source: k8s_audit
  tags: [k8s, T1609]
`;

function auditEvent(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Request',
    auditID: '5f1b2c1e-0000-4000-8000-000000000001',
    stage: 'ResponseComplete',
    requestURI: '/api/v1/namespaces/web/pods/web-1/exec?command=sh&container=app&stdin=true&tty=true',
    verb: 'create',
    user: { username: 'alice', groups: ['devs', 'system:authenticated'] },
    sourceIPs: ['127.0.0.1'],
    objectRef: { resource: 'pods', namespace: 'web', name: 'web-1', apiVersion: 'v1', subresource: 'exec' },
    responseStatus: { metadata: {}, code: 101 },
    requestReceivedTimestamp: '2026-11-28T10:00:00.000000Z',
    stageTimestamp: '2026-11-28T10:00:00.123456789Z',
    ...over,
  };
}

describe('tiercel rules validate', () => {
  it('exits 0 and prints counts for a valid file', async () => {
    const f = writeTmp('ok.yaml', RULES);
    const res = await runCli(['rules', 'validate', f]);
    assert.equal(res.code, 0, res.stdout + res.stderr);
    assert.match(res.stdout, /Ok: 0 errors, 0 warnings; 1 rules, 0 macros, 0 lists/);
  });

  it('prints file:line:col: CODE: message and exits 1 on errors', async () => {
    const f = writeTmp('bad.yaml', RULES.replace('ka.verb = create', 'ka.verb = create and ka.user.groups = admins'));
    const res = await runCli(['rules', 'validate', f]);
    assert.equal(res.code, 1);
    assert.match(res.stdout, new RegExp(`${f.replace(/[.]/g, '\\.')}:4:68: LOAD_ERR_COMPILE_CONDITION: '=' operator not supported for list fields`));
    assert.match(res.stdout, /Invalid: 1 errors/);
  });

  it('reports YAML syntax errors with their position', async () => {
    const f = writeTmp('broken.yaml', '- rule: x\n  desc: "unterminated\n');
    const res = await runCli(['rules', 'validate', f]);
    assert.equal(res.code, 1);
    assert.match(res.stdout, /broken\.yaml:\d+:\d+: LOAD_ERR_YAML_PARSE: /);
  });

  it('prints findings as JSON with --json', async () => {
    const f = writeTmp('warn.yaml', RULES + '\n- list: unused\n  items: [a]\n');
    const res = await runCli(['rules', 'validate', '--json', f]);
    assert.equal(res.code, 0);
    const out = JSON.parse(res.stdout);
    assert.equal(out.ok, true);
    assert.equal(out.warnings[0].code, 'LOAD_UNUSED_LIST');
    assert.equal(out.warnings[0].line, 10);
    assert.deepEqual(out.counts, { rules: 1, macros: 0, lists: 1 });
  });

  it('validates the upstream k8s_audit rules with zero errors and warnings', needAnchors, async () => {
    const res = await runCli(['rules', 'validate', anchorPath('falco-rules', 'k8s_audit_rules.yaml')]);
    assert.equal(res.code, 0, res.stdout);
    assert.match(res.stdout, /Ok: 0 errors, 0 warnings; 48 rules, 45 macros, 18 lists/);
  });

  it('validates the upstream syscall rules files with zero errors and warnings', needAnchors, async () => {
    const expected: Record<string, string> = {
      'falco_rules.yaml': '25 rules, 87 macros, 49 lists',
      'falco-incubating_rules.yaml': '31 rules, 82 macros, 54 lists',
      'falco-sandbox_rules.yaml': '37 rules, 183 macros, 60 lists',
    };
    for (const [f, counts] of Object.entries(expected)) {
      const res = await runCli(['rules', 'validate', anchorPath('falco-rules', f)]);
      assert.equal(res.code, 0, `${f}: ${res.stdout}`);
      assert.equal(res.stdout, `Ok: 0 errors, 0 warnings; ${counts}\n`, f);
    }
  });
});

describe('tiercel replay', () => {
  it('prints Falco JSON alerts and a summary on stderr', async () => {
    const rules = writeTmp('r.yaml', RULES);
    const log = writeTmp('a.jsonl', JSON.stringify(auditEvent()) + '\n' + JSON.stringify(auditEvent({ verb: 'get', auditID: 'x2' })) + '\n');
    const res = await runCli(['replay', '--source', 'k8s_audit', '-r', rules, '-o', 'json', log]);
    assert.equal(res.code, 0, res.stderr);
    const [alert, ...rest] = jsonAlerts(res.stdout);
    assert.equal(rest.length, 0);
    assert.ok(alert);
    assert.equal(alert.rule, 'Exec into pod');
    assert.equal(alert.priority, 'Notice');
    assert.equal(alert.source, 'k8s_audit');
    assert.deepEqual(alert.tags, ['T1609', 'k8s']);
    assert.equal(alert.time, '2026-11-28T10:00:00.123456789Z');
    assert.equal(alert.output, '10:00:00.123456789: Notice exec by alice into web/web-1 (command=sh)');
    assert.deepEqual(alert.output_fields, {
      'ka.user.name': 'alice', 'ka.target.namespace': 'web', 'ka.target.name': 'web-1',
      'ka.uri.param[command]': 'sh', 'evt.time': 1795860000123456789,
    });
    assert.equal(typeof alert.hostname, 'string');
    assert.match(res.stdout, /"evt\.time":1795860000123456789\}/, 'nanosecond time is exact');
    assert.match(res.stderr, /Events read: 2/);
    assert.match(res.stderr, /1 {2}Exec into pod/);
  });

  it('prints Falco text lines by default', async () => {
    const rules = writeTmp('r2.yaml', RULES);
    const log = writeTmp('b.jsonl', JSON.stringify(auditEvent()) + '\n');
    const res = await runCli(['replay', '-r', rules, log]);
    assert.equal(res.stdout, '10:00:00.123456789: Notice exec by alice into web/web-1 (command=sh)\n');
    const iso = await runCli(['replay', '-r', rules, '--time-format-iso-8601', log]);
    assert.equal(iso.stdout, '2026-11-28T10:00:00.123456789Z: Notice exec by alice into web/web-1 (command=sh)\n');
  });

  it('reads gzip, EventList documents and stdin', async () => {
    const rules = writeTmp('r3.yaml', RULES);
    const list = JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', items: [auditEvent(), auditEvent({ auditID: 'x3' })] }, null, 2);
    const gz = writeTmp('c.json.gz', gzipSync(list));
    const fromGz = await runCli(['replay', '-r', rules, '-o', 'json', gz]);
    assert.equal(jsonAlerts(fromGz.stdout).length, 2, fromGz.stderr);
    const fromStdin = await runCli(['replay', '-r', rules, '-o', 'json', '-'], { input: JSON.stringify(auditEvent()) + '\n' });
    assert.equal(jsonAlerts(fromStdin.stdout).length, 1, fromStdin.stderr);
  });

  it('reports bad lines with their line number and keeps going', async () => {
    const rules = writeTmp('r4.yaml', RULES);
    const log = writeTmp('d.jsonl', [JSON.stringify(auditEvent()), '{"kind": 0}', 'not json at all', JSON.stringify(auditEvent({ auditID: 'x4' }))].join('\n'));
    const res = await runCli(['replay', '-r', rules, '-o', 'json', log]);
    assert.equal(res.code, 0);
    assert.equal(jsonAlerts(res.stdout).length, 2);
    assert.match(res.stderr, /d\.jsonl:2: data not recognized as a k8s audit event/);
    assert.match(res.stderr, /d\.jsonl:3: /);
    assert.match(res.stderr, /bad input: 2/);
  });

  it('refuses to run with a broken ruleset, naming the problem', async () => {
    const rules = writeTmp('r5.yaml', RULES.replace('priority: NOTICE', 'priority: LOUD'));
    const log = writeTmp('e.jsonl', JSON.stringify(auditEvent()));
    const res = await runCli(['replay', '-r', rules, log]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /r5\.yaml:6:13: LOAD_ERR_YAML_VALIDATE: Invalid priority 'LOUD'/);
  });

  it('fails clearly on a missing input file', async () => {
    const rules = writeTmp('r6.yaml', RULES);
    const res = await runCli(['replay', '-r', rules, join(tmp, 'nope.jsonl')]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /cannot read .*nope\.jsonl/);
  });

  it('applies rule matching, priority and selections', async () => {
    const two = RULES + RULES.replace('Exec into pod', 'Second').replace('NOTICE', 'DEBUG');
    const rules = writeTmp('r7.yaml', two);
    const log = writeTmp('f.jsonl', JSON.stringify(auditEvent()));
    const first = jsonAlerts((await runCli(['replay', '-r', rules, '-o', 'json', log])).stdout);
    assert.deepEqual(first.map((a) => a.rule), ['Exec into pod']);
    const all = jsonAlerts((await runCli(['replay', '-r', rules, '-o', 'json', '--rule-matching', 'all', log])).stdout);
    assert.deepEqual(all.map((a) => a.rule), ['Exec into pod', 'Second']);
    const min = jsonAlerts((await runCli(['replay', '-r', rules, '-o', 'json', '--rule-matching', 'all', '--priority', 'info', log])).stdout);
    assert.deepEqual(min.map((a) => a.rule), ['Exec into pod']);
    const dis = jsonAlerts((await runCli(['replay', '-r', rules, '-o', 'json', '--disable-rule', 'Exec*', log])).stdout);
    assert.deepEqual(dis.map((a) => a.rule), ['Second']);
    const tag = jsonAlerts((await runCli(['replay', '-r', rules, '-o', 'json', '--rule-matching', 'all', '--disable-tag', 'k8s', log])).stdout);
    assert.deepEqual(tag, []);
  });

  it('rejects unknown options with a usage error', async () => {
    const res = await runCli(['replay', '--rule-matching', 'some', 'x']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /Allowed choices are first, all/);
  });
});

describe('tiercel rules list and fields', () => {
  it('lists rules with priority, source and enabled state', async () => {
    const rules = writeTmp('l.yaml', RULES + RULES.replace('Exec into pod', 'Off').replace('tags:', 'enabled: false\n  tags:'));
    const res = await runCli(['rules', 'list', '-r', rules, '--json']);
    assert.equal(res.code, 0, res.stderr);
    const rows = JSON.parse(res.stdout);
    assert.deepEqual(rows.map((r: { name: string; enabled: boolean }) => [r.name, r.enabled]), [['Exec into pod', true], ['Off', false]]);
  });

  it('lists every k8s_audit field with its type', async () => {
    const res = await runCli(['fields', '--source', 'k8s_audit', '--json', '--all']);
    assert.equal(res.code, 0);
    const [src] = JSON.parse(res.stdout);
    const names = new Set(src.fields.map((f: { name: string }) => f.name));
    for (const f of ['ka.user.name', 'ka.req.pod.containers.image', 'ka.uri.param', 'jevt.value', 'json.value', 'ka.jsonpath', 'evt.time']) {
      assert.ok(names.has(f), f);
    }
    assert.equal([...names].filter((n) => String(n).startsWith('ka.') && n !== 'ka.jsonpath').length, 100);
  });

  it('keeps docs/fields.md in sync with the registry', async () => {
    const res = await runCli(['fields', '--markdown', '--all']);
    const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'fields.md'), 'utf8');
    assert.equal(doc, res.stdout, 'docs/fields.md is stale: run npm run docs');
  });

  it('names an unknown source', async () => {
    const res = await runCli(['fields', '--source', 'nope']);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /unknown source 'nope' \(available: k8s_audit, syscall\)/);
  });
});
