/**
 * Faults, against a real `tiercel serve`:
 * - the HTTP receiver is down, or hangs: detection and the file output go
 *   on, and the HTTP output's losses are counted as drops;
 * - the evaluation queue is full: the webhook answers 429 with Retry-After,
 *   and every event that got a 200 produces its alert exactly once (sent vs
 *   alerts, by audit ID), retried and duplicated batches included.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { anchorsAvailable, anchorsMissingReason } from '../helpers/anchors.js';
import {
  AlertReceiver, allTraceEvents, closedPort, eventList, fileAlerts, metricValue, metrics, postJson, startServe, tempDir,
  traceEvents, waitFor, waitSettled, withIds, writeYaml,
} from './helpers.js';

const CATCH_ALL = `
- rule: Every audit event
  desc: matches every audit event, so alerts can be counted against events
  condition: ka.auditid != ""
  output: "audit event %ka.auditid"
  priority: NOTICE
  source: k8s_audit
`;

describe('faults', { skip: anchorsAvailable ? false : anchorsMissingReason, concurrency: 3 }, () => {
  it('HTTP receiver down: the file output gets every alert, the HTTP output counts its drops', async () => {
    const dir = tempDir();
    const alertsFile = join(dir, 'alerts.jsonl');
    const port = await closedPort();
    const config = writeYaml(dir, 'tiercel.yaml', JSON.stringify({
      json_output: true,
      stdout_output: { enabled: false },
      file_output: { enabled: true, filename: alertsFile },
      http_output: { enabled: true, url: `http://127.0.0.1:${port}/`, retries: 1, retry_backoff: 10, timeout: 1000 },
    }));
    const server = await startServe(['--config', config]);
    try {
      const events = withIds(allTraceEvents(), 'down');
      const r = await postJson(server.webhook, eventList(events));
      assert.equal(r.status, 200);
      // The suite repeats a few events (same audit ID and stage): those are de-duplicated.
      assert.equal(r.json.accepted + r.json.duplicates, events.length);
      const text = await waitSettled(server.url, r.json.accepted, ['file', 'http']);
      const alerts = metricValue(text, 'tiercel_alerts_total');
      assert.ok(alerts > 10, `alerts raised (${alerts})`);
      assert.equal(fileAlerts(alertsFile).length, alerts, 'every alert in the file');
      assert.equal(metricValue(text, 'tiercel_output_delivered_total', { output: 'file' }), alerts);
      assert.equal(metricValue(text, 'tiercel_output_delivered_total', { output: 'http' }), 0);
      assert.equal(metricValue(text, 'tiercel_output_dropped_total', { output: 'http' }), alerts, 'every HTTP alert dropped, and counted');
      assert.ok(metricValue(text, 'tiercel_output_errors_total', { output: 'http' }) >= alerts, 'failed attempts counted');
      const h = await postJson(server.webhook, eventList(withIds(traceEvents('create_secret.json'), 'down-after')));
      assert.equal(h.status, 200, 'the webhook still accepts');
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });

  it('HTTP receiver hangs: the file output keeps up while the HTTP queue fills and drops, and shutdown is not blocked', async () => {
    const dir = tempDir();
    const alertsFile = join(dir, 'alerts.jsonl');
    const receiver = new AlertReceiver();
    receiver.mode = 'hang';
    const url = await receiver.start();
    const rules = writeYaml(dir, 'rules.yaml', CATCH_ALL);
    const config = writeYaml(dir, 'tiercel.yaml', JSON.stringify({
      rules_files: [rules],
      json_output: true,
      output_timeout: 500,
      outputs_queue: { capacity: 3 },
      stdout_output: { enabled: false },
      file_output: { enabled: true, filename: alertsFile },
      http_output: { enabled: true, url, timeout: 600_000, retries: 0 },
    }));
    const server = await startServe(['--config', config]);
    try {
      const seed = traceEvents('create_secret.json')[0]!;
      const sent = 12;
      for (let i = 0; i < sent; i++) {
        const r = await postJson(server.webhook, eventList(withIds([seed], `hang-${i}`)));
        assert.equal(r.status, 200);
        // One alert at a time, so only the hanging output's queue ever fills.
        await waitFor(`alert ${i + 1} in the file`, () => fileAlerts(alertsFile).length === i + 1);
      }
      // The outputs report their counters every 100 ms.
      const text = await waitFor('the outputs\' counters', async () => {
        const t = await metrics(server.url);
        return metricValue(t, 'tiercel_output_delivered_total', { output: 'file' }) === sent &&
          metricValue(t, 'tiercel_output_dropped_total', { output: 'http' }) === sent - 4 ? t : undefined;
      });
      assert.equal(metricValue(text, 'tiercel_alerts_total'), sent);
      assert.equal(metricValue(text, 'tiercel_output_delivered_total', { output: 'file' }), sent);
      assert.equal(metricValue(text, 'tiercel_output_delivered_total', { output: 'http' }), 0);
      // One alert stuck in delivery, three queued: the other eight dropped.
      assert.equal(metricValue(text, 'tiercel_output_dropped_total', { output: 'http', reason: 'queue_full' }), sent - 4);
      assert.equal(receiver.alerts.length, 0);
    } finally {
      assert.equal(await server.stop(), 0, 'SIGTERM with a hanging output still exits cleanly');
      await receiver.close();
    }
  });

  it('queue full: 429 with Retry-After; every event that got a 200 produces exactly one alert', async () => {
    const dir = tempDir();
    const alertsFile = join(dir, 'alerts.jsonl');
    const rules = writeYaml(dir, 'rules.yaml', CATCH_ALL);
    const config = writeYaml(dir, 'tiercel.yaml', JSON.stringify({
      rules_files: [rules],
      json_output: true,
      stdout_output: { enabled: false },
      file_output: { enabled: true, filename: alertsFile, keep_alive: true },
      queue: { capacity: 10 },
    }));
    const server = await startServe(['--config', config]);
    try {
      const seeds = allTraceEvents();
      let next = 0;
      const makeBatch = (): Record<string, unknown>[] => {
        const b: Record<string, unknown>[] = [];
        for (let i = 0; i < 10; i++, next++) b.push({ ...seeds[next % seeds.length]!, auditID: `qf-${next}` });
        return b;
      };
      const accepted = new Set<string>();
      const refused: Record<string, unknown>[][] = [];
      let got429 = 0;
      for (let round = 0; round < 200 && got429 === 0; round++) {
        const batches = Array.from({ length: 16 }, makeBatch);
        const replies = await Promise.all(batches.map((b) => postJson(server.webhook, eventList(b))));
        replies.forEach((r, i) => {
          if (r.status === 200) {
            assert.equal(r.json.accepted, 10);
            for (const e of batches[i]!) accepted.add(e['auditID'] as string);
          } else {
            assert.equal(r.status, 429, r.text);
            assert.equal(r.json.error, 'queue_full');
            assert.match(String(r.headers['retry-after']), /^\d+$/);
            got429++;
            refused.push(batches[i]!);
          }
        });
      }
      assert.ok(got429 > 0, 'the queue filled up');

      // What the apiserver does: retry the refused batches until they are taken...
      for (const b of refused) {
        await waitFor('a retried batch to be accepted', async () => {
          const r = await postJson(server.webhook, eventList(b));
          if (r.status === 200) for (const e of b) accepted.add(e['auditID'] as string);
          return r.status === 200;
        });
      }
      // ...and retry some it had in fact delivered: de-duplicated.
      const again = await postJson(server.webhook, eventList(seeds.slice(0, 10).map((e, i) => ({ ...e, auditID: `qf-${i}` }))));
      assert.equal(again.status, 200);
      assert.equal(again.json.accepted, 0);
      assert.equal(again.json.duplicates, 10);

      const text = await waitSettled(server.url, accepted.size, ['file']);
      assert.equal(metricValue(text, 'tiercel_audit_events_evaluated_total'), accepted.size);
      assert.equal(metricValue(text, 'tiercel_audit_events_rejected_total', { reason: 'duplicate' }), 10);
      assert.ok(metricValue(text, 'tiercel_webhook_requests_total', { code: '429' }) >= got429);
      const ids = fileAlerts(alertsFile).map((a) => String(a.output_fields['ka.auditid']));
      assert.equal(ids.length, accepted.size, 'alerts = events accepted');
      assert.deepEqual(new Set(ids), accepted, 'one alert for each accepted event');
      assert.equal(accepted.size, next, 'in the end every event sent was accepted');
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });
});
