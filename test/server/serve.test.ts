/**
 * `tiercel serve` as a new user meets it: embedded defaults (loopback,
 * Tiercel's rules, stdout), the printed copy-paste command that sends the
 * bundled sample, health/readiness/metrics, graceful shutdown that evaluates
 * and delivers everything accepted, and clear failures.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { anchorsAvailable, anchorsMissingReason } from '../helpers/anchors.js';
import { runCli } from '../helpers/cli.js';
import {
  allTraceEvents, eventList, metricValue, metrics, postJson, request, runServeToExit, startServe, tempDir, writeYaml,
} from './helpers.js';

const run = promisify(execFile);

const CATCH_ALL = `
- rule: Every audit event
  desc: matches every audit event
  condition: ka.auditid != ""
  output: "audit event %ka.auditid"
  priority: NOTICE
  source: k8s_audit
`;

describe('tiercel serve', () => {
  it('starts on embedded defaults, and the printed command sends the sample: same alerts as tiercel replay', async () => {
    const server = await startServe([]);
    try {
      assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/, 'loopback by default');
      const banner = server.logs().find((l) => typeof l['try'] === 'string')!;
      assert.deepEqual(banner['outputs'], ['stdout']);
      const command = banner['try'] as string;
      assert.match(command, /curl .*--data-binary @- http:\/\/127\.0\.0\.1:\d+\/k8s-audit$/);
      const { stdout } = await run('sh', ['-c', command]);
      const reply = JSON.parse(stdout);
      assert.equal(reply.status, 'ok');
      assert.equal(reply.accepted, 113);

      const replay = await runCli(['replay', 'samples/audit/cluster-day.jsonl', '--no-summary']);
      const expected = replay.stdout.split('\n').filter(Boolean).sort();
      assert.ok(expected.length > 10);
      const text = await metrics(server.url);
      assert.equal(metricValue(text, 'tiercel_audit_events_accepted_total'), 113);
      assert.equal(await server.stop(), 0);
      assert.deepEqual(server.stdout().split('\n').filter(Boolean).sort(), expected, 'the stdout output prints what replay prints');
    } finally {
      await server.stop();
    }
  });

  it('serves /healthz, /readyz and /metrics with the pipeline\'s metrics', async () => {
    const server = await startServe(['--option', 'stdout_output.enabled=false']);
    try {
      const health = await request(`${server.url}/healthz`);
      assert.equal(health.status, 200);
      assert.deepEqual(health.json, { status: 'ok' });
      const ready = await request(`${server.url}/readyz`);
      assert.equal(ready.status, 200);
      assert.equal(ready.json.status, 'ready');
      const m = await request(`${server.url}/metrics`);
      assert.match(String(m.headers['content-type']), /^text\/plain/);
      for (const name of [
        'tiercel_audit_events_received_total', 'tiercel_audit_events_accepted_total', 'tiercel_audit_events_rejected_total',
        'tiercel_audit_events_evaluated_total', 'tiercel_alerts_total', 'tiercel_queue_depth', 'tiercel_queue_capacity',
        'tiercel_output_dropped_total', 'tiercel_output_errors_total', 'tiercel_output_delivered_total',
        'tiercel_rule_evaluation_seconds', 'tiercel_webhook_requests_total', 'tiercel_webhook_unauthorized_total',
        'tiercel_rules_reloads_total', 'process_resident_memory_bytes',
      ]) {
        assert.match(m.text, new RegExp(`^# TYPE ${name} `, 'm'), name);
      }
      assert.equal(metricValue(m.text, 'tiercel_queue_capacity'), 10_000);
      assert.ok(metricValue(m.text, 'tiercel_rules_enabled') > 40);
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });

  it('on SIGTERM evaluates and prints every accepted event before exiting 0', { skip: anchorsAvailable ? false : anchorsMissingReason }, async () => {
    const dir = tempDir();
    const rules = writeYaml(dir, 'rules.yaml', CATCH_ALL);
    const server = await startServe(['-r', rules, '-o', 'json']);
    const seeds = allTraceEvents();
    const events = Array.from({ length: 4000 }, (_, i) => ({ ...seeds[i % seeds.length]!, auditID: `term-${i}` }));
    const r = await postJson(server.webhook, eventList(events));
    assert.equal(r.status, 200);
    assert.equal(await server.stop('SIGTERM'), 0);
    const lines = server.stdout().split('\n').filter(Boolean).map((l) => JSON.parse(l));
    assert.equal(lines.length, 4000);
    assert.deepEqual(new Set(lines.map((a) => a.output_fields['ka.auditid'])), new Set(events.map((e) => e.auditID)));
    assert.ok(lines.every((a) => a.rule === 'Every audit event' && a.source === 'k8s_audit'));
  });

  it('exits 1 with a clear message when the port is taken or the rules are broken; --dry-run checks both', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const taken = await runServeToExit(['--listen', `127.0.0.1:${port}`]);
      assert.equal(taken.code, 1);
      assert.match(taken.stderr, /webhook\.listen: cannot listen on 127\.0\.0\.1:\d+: the address is already in use/);
    } finally {
      blocker.close();
    }
    const dir = tempDir();
    const broken = writeYaml(dir, 'broken.yaml', CATCH_ALL.replace('ka.auditid != ""', 'ka.auditid ='));
    const bad = await runServeToExit(['-r', broken]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /broken\.yaml:\d+:\d+/);
    assert.match(bad.stderr, /rules could not be loaded/);

    const dryBad = await runServeToExit(['-r', broken, '--dry-run']);
    assert.equal(dryBad.code, 1);
    const dryOk = await runServeToExit(['--dry-run']);
    assert.equal(dryOk.code, 0, dryOk.stderr);
    assert.match(dryOk.stderr, /configuration ok: \d+ rules enabled/);
  });

  it('names the key of an invalid setting, from the file, --option or a flag', async () => {
    const dir = tempDir();
    const file = writeYaml(dir, 'tiercel.yaml', 'webhook:\n  queue_size: 5\n');
    const fromFile = await runServeToExit(['--config', file]);
    assert.equal(fromFile.code, 1);
    assert.match(fromFile.stderr, /tiercel\.yaml: webhook\.queue_size: unknown key/);
    const fromOption = await runServeToExit(['--option', 'http_output.enabled=true', '--option', 'http_output.url=ftp://x']);
    assert.equal(fromOption.code, 1);
    assert.match(fromOption.stderr, /http_output\.url/);
    const fromFlag = await runServeToExit(['--priority', 'loud']);
    assert.equal(fromFlag.code, 1);
    assert.match(fromFlag.stderr, /priority: expected emergency/);
    const token = await runServeToExit(['--token-env', 'TIERCEL_SURELY_UNSET_VAR']);
    assert.equal(token.code, 1);
    assert.match(token.stderr, /webhook\.auth\.bearer_token_env: environment variable TIERCEL_SURELY_UNSET_VAR is not set/);
  });
});
