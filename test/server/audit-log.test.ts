/**
 * `tiercel serve --audit-log FILE`: following the apiserver's log backend
 * file through appends, partial writes, bad lines, rotation (rename + new
 * file) and truncation (copytruncate), against a real `tiercel serve`.
 * Events also posted to the webhook are de-duplicated against the log.
 */
import assert from 'node:assert/strict';
import { appendFileSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { anchorsAvailable, anchorsMissingReason } from '../helpers/anchors.js';
import {
  allTraceEvents, eventList, fileAlerts, metricValue, metrics, postJson, startServe, tempDir, waitFor, writeYaml,
} from './helpers.js';

const CATCH_ALL = `
- rule: Every audit event
  desc: matches every audit event
  condition: ka.auditid != ""
  output: "audit event %ka.auditid"
  priority: NOTICE
  source: k8s_audit
`;

describe('following the audit log file', { skip: anchorsAvailable ? false : anchorsMissingReason }, () => {
  const seeds = anchorsAvailable ? allTraceEvents() : [];
  let n = 0;
  const written = new Map<string, Record<string, unknown>>();
  const line = (): { id: string; text: string } => {
    const id = `log-${n}`;
    const obj = { ...seeds[n % seeds.length]!, auditID: id };
    written.set(id, obj);
    n++;
    return { id, text: JSON.stringify(obj) + '\n' };
  };
  const lines = (k: number): { ids: string[]; text: string } => {
    const ls = Array.from({ length: k }, line);
    return { ids: ls.map((l) => l.id), text: ls.map((l) => l.text).join('') };
  };

  function setup(extra: string[] = []): { dir: string; log: string; alerts: string; args: string[] } {
    const dir = tempDir();
    const log = join(dir, 'audit.log');
    const alerts = join(dir, 'alerts.jsonl');
    const rules = writeYaml(dir, 'rules.yaml', CATCH_ALL);
    return {
      dir, log, alerts,
      args: ['-r', rules, '-o', 'json', '--audit-log', log,
        '--option', 'stdout_output.enabled=false', '--option', 'file_output.enabled=true',
        '--option', `file_output.filename=${alerts}`, '--option', 'audit_log.poll_interval_ms=50', ...extra],
    };
  }

  const ids = (file: string): string[] => fileAlerts(file).map((a) => String(a.output_fields['ka.auditid']));

  it('reads appends, partial lines, rotation and truncation; skips bad lines; de-duplicates against the webhook', async () => {
    const { log, alerts, args } = setup(['--option', 'audit_log.start_at=beginning']);
    const expected: string[] = [];
    const first = lines(3);
    writeFileSync(log, first.text);
    expected.push(...first.ids);
    const server = await startServe(args);
    try {
      await waitFor('the lines present at start', () => ids(alerts).length === 3);

      // Appends, one line written in two parts, and bad lines in between.
      const more = lines(2);
      appendFileSync(log, more.text + 'this is not JSON\n{"kind":"Pod"}\n');
      const split = line();
      appendFileSync(log, split.text.slice(0, 40));
      await waitFor('the appended lines', () => ids(alerts).length === 5);
      appendFileSync(log, split.text.slice(40));
      expected.push(...more.ids, split.id);
      await waitFor('the line written in two parts', () => ids(alerts).length === 6);

      // Rotation: the last line of the old file, then a new file at the path.
      const last = line();
      appendFileSync(log, last.text);
      renameSync(log, `${log}.1`);
      const rotated = lines(3);
      writeFileSync(log, rotated.text);
      expected.push(last.id, ...rotated.ids);
      await waitFor('the rotated-in file', () => ids(alerts).length === 10);

      // Truncation in place (copytruncate), then shorter new content.
      truncateSync(log, 0);
      const after = line();
      writeFileSync(log, after.text);
      expected.push(after.id);
      await waitFor('the line after truncation', () => ids(alerts).length === 11);

      // The same events through the webhook are duplicates.
      const again = await postJson(server.webhook, eventList(expected.slice(0, 2).map((id) => written.get(id)!)));
      assert.equal(again.status, 200);
      assert.equal(again.json.duplicates, 2);
      assert.equal(again.json.accepted, 0);

      const text = await metrics(server.url);
      assert.deepEqual(ids(alerts), expected, 'every event once, in file order');
      assert.equal(metricValue(text, 'tiercel_audit_events_rejected_total', { input: 'audit_log', reason: 'invalid_event' }), 2);
      assert.equal(metricValue(text, 'tiercel_audit_log_reopens_total', { reason: 'rotated' }), 1);
      assert.equal(metricValue(text, 'tiercel_audit_log_reopens_total', { reason: 'truncated' }), 1);
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });

  it('by default starts at the end of an existing file, and reads a file created later from its start', async () => {
    const { log, alerts, args } = setup();
    writeFileSync(log, lines(2).text);
    const server = await startServe(args);
    try {
      await waitFor('the tailer to open the file', () => server.logs().some((l) => /audit log opened/.test(l.msg)));
      const next = line();
      appendFileSync(log, next.text);
      await waitFor('the appended line', () => ids(alerts).length === 1);
      assert.deepEqual(ids(alerts), [next.id]);
    } finally {
      assert.equal(await server.stop(), 0);
    }

    const later = setup();
    const server2 = await startServe(later.args);
    try {
      await waitFor('the tailer to wait for the file', () => server2.logs().some((l) => /audit log waiting/.test(l.msg)));
      const created = lines(2);
      writeFileSync(later.log, created.text);
      await waitFor('the lines of the new file', () => ids(later.alerts).length === 2);
      assert.deepEqual(ids(later.alerts), created.ids);
    } finally {
      assert.equal(await server2.stop(), 0);
    }
  });
});
