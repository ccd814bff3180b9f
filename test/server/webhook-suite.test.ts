/**
 * Falco's own k8s_audit regression suite, through the live pipeline: for
 * each set of rules files in the suite, one `tiercel serve` child process
 * with the file, HTTP and syslog outputs on; every case's trace (real
 * apiserver audit events) is POSTed as an EventList to /k8s-audit, and the
 * expected alerts — exactly the suite's counts per rule, none where Falco
 * expects none — must arrive in the file output, at an HTTP receiver the
 * test runs (one JSON alert per POST, as Falco's http_output) and at a TCP
 * syslog listener the test runs, in Falco's JSON schema.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { anchorPath, anchorsAvailable, anchorsMissingReason, readFalcoCases } from '../helpers/anchors.js';
import {
  AlertReceiver, type FalcoAlert, SyslogListener, eventList, falcoSchemaProblems, fileAlerts, postJson, startServe,
  tempDir, traceEvents, waitSettled, withIds, writeYaml,
} from './helpers.js';

const PRIORITY_NAMES: Record<string, string> = {
  EMERGENCY: 'Emergency', ALERT: 'Alert', CRITICAL: 'Critical', ERROR: 'Error', WARNING: 'Warning',
  NOTICE: 'Notice', INFO: 'Informational', INFORMATIONAL: 'Informational', DEBUG: 'Debug',
};

const ERA_LISTS = join(import.meta.dirname, '..', 'fixtures', 'falco-rules-suite-era-lists.yaml');

/** The suite's BUILD_DIR paths, mapped onto the anchors (as in test/compat). */
function rulesPaths(p: string): string[] {
  if (p.includes('falcosecurity-rules-falco')) return [anchorPath('falco-rules', 'falco_rules.yaml'), ERA_LISTS];
  if (p.includes('k8saudit-rules')) return [anchorPath('falco-k8s-audit-suite', 'rules', 'k8s_audit_rules.k8saudit-0.6.0.yaml')];
  return [anchorPath('falco-k8s-audit-suite', p.replace(/^\.\//, ''))];
}

function traceFile(opts: string): string {
  const m = /open_params=trace_files\/k8s_audit\/(\S+)/.exec(opts);
  assert.ok(m, `trace in ${opts}`);
  return m[1]!;
}

function countByRule(alerts: readonly FalcoAlert[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of alerts) out[a.rule] = (out[a.rule] ?? 0) + 1;
  return out;
}

describe("Falco's k8s_audit suite through POST /k8s-audit", { skip: anchorsAvailable ? false : anchorsMissingReason, concurrency: 3 }, () => {
  if (!anchorsAvailable) return;
  const cases = readFalcoCases(anchorPath('falco-k8s-audit-suite', 'falco_k8s_audit_tests.yaml'));
  const groups = new Map<string, [string, Record<string, unknown>][]>();
  for (const [name, c] of Object.entries(cases)) {
    const key = JSON.stringify(c.rules_file);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push([name, c]);
  }
  assert.equal(Object.keys(cases).length, 66);

  for (const [key, members] of groups) {
    const rules = (JSON.parse(key) as string[]).flatMap(rulesPaths);
    it(`${members.length} case(s) with ${(JSON.parse(key) as string[]).map((r) => r.split('/').pop()).join(' + ')}`, async (t) => {
      const dir = tempDir();
      const alertsFile = join(dir, 'alerts.jsonl');
      const receiver = new AlertReceiver();
      const syslog = new SyslogListener();
      const receiverUrl = await receiver.start();
      const syslogPort = await syslog.start();
      const config = writeYaml(dir, 'tiercel.yaml', JSON.stringify({
        rules_files: rules,
        json_output: true,
        watch_config_files: false,
        stdout_output: { enabled: false },
        file_output: { enabled: true, filename: alertsFile, keep_alive: true },
        http_output: { enabled: true, url: receiverUrl },
        syslog_output: { enabled: true, host: '127.0.0.1', port: syslogPort, protocol: 'tcp' },
      }, null, 2));
      const server = await startServe(['--config', config]);
      let sent = 0;
      try {
        for (const [name, c] of members) {
          await t.test(name, async () => {
            const trace = traceFile(c.addl_cmdline_opts as string);
            if (trace === 'fal_01_003.json') {
              // The suite's deliberately invalid input: a clear message, no crash.
              const raw = readFileSync(anchorPath('falco-k8s-audit-suite', 'trace_files', 'k8s_audit', trace), 'utf8');
              const r = await postJson(server.webhook, raw);
              assert.equal(r.status, 400);
              assert.match(r.json.message, new RegExp(c.stderr_contains as string));
              return;
            }
            const events = withIds(traceEvents(trace), name);
            const before = { file: fileAlerts(alertsFile).length, http: receiver.alerts.length, syslog: syslog.messages.length };
            const r = await postJson(server.webhook, eventList(events));
            assert.equal(r.status, 200, r.text);
            assert.equal(r.json.accepted, events.length);
            sent += events.length;
            await waitSettled(server.url, sent, ['file', 'http', 'syslog']);

            const fromFile = fileAlerts(alertsFile).slice(before.file);
            const fromHttp = receiver.alerts.slice(before.http);
            const fromSyslog = syslog.messages.slice(before.syslog);
            for (const a of [...fromFile, ...fromHttp]) assert.deepEqual(falcoSchemaProblems(a), [], JSON.stringify(a));
            assert.deepEqual(countByRule(fromHttp), countByRule(fromFile), 'the HTTP receiver got what the file got');
            assert.equal(fromSyslog.length, fromFile.length, 'one syslog message per alert');
            for (const m of fromSyslog) {
              assert.match(m, /^<\d+>1 \S+ \S+ \S+ \d+ - - \{/, 'RFC 5424 header, JSON alert as MSG');
              const alert = JSON.parse(m.slice(m.indexOf('{'))) as FalcoAlert;
              assert.ok(fromFile.some((a) => a.rule === alert.rule && a.time === alert.time), `syslog alert ${alert.rule} also in the file`);
            }

            if (c.detect === false) {
              assert.deepEqual(fromFile.map((a) => a.rule), [], 'no alert expected');
              return;
            }
            assert.ok(fromFile.length > 0, 'alerts expected');
            for (const level of ([] as string[]).concat((c.detect_level as string | string[] | undefined) ?? [])) {
              assert.ok(fromFile.some((a) => a.priority === PRIORITY_NAMES[level]), `an alert at ${level}`);
            }
            const counts = (c.detect_counts as Record<string, number>[] | undefined) ?? [];
            if (counts.length) assert.deepEqual(countByRule(fromFile), Object.assign({}, ...counts));
          });
        }
      } finally {
        assert.equal(await server.stop(), 0, server.stderr());
        await receiver.close();
        await syslog.close();
      }
      assert.ok(receiver.contentTypes.every((ct) => ct.startsWith('application/json')), 'JSON POSTs');
    });
  }
});
