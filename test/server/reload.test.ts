/**
 * Hot reload (`watch_config_files`), against a real `tiercel serve`: edits
 * to a rules directory and to the config file take effect without a
 * restart; a broken edit keeps the running rules (and configuration) and
 * logs why; SIGHUP reloads too.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { anchorsAvailable, anchorsMissingReason } from '../helpers/anchors.js';
import {
  eventList, fileAlerts, metricValue, metrics, postJson, startServe, tempDir, traceEvents, waitFor, withIds, writeYaml,
} from './helpers.js';

function rule(name: string, priority = 'NOTICE'): string {
  return `
- rule: ${name}
  desc: test rule
  condition: ka.auditid != ""
  output: "${name} saw %ka.auditid"
  priority: ${priority}
  source: k8s_audit
`;
}

describe('hot reload', { skip: anchorsAvailable ? false : anchorsMissingReason }, () => {
  it('applies rules and config edits, keeps the running rules on a broken edit, reloads on SIGHUP', async () => {
    const dir = tempDir();
    const rulesDir = join(dir, 'rules.d');
    mkdirSync(rulesDir);
    const alerts = join(dir, 'alerts.jsonl');
    writeFileSync(join(rulesDir, '10-main.yaml'), rule('Rule One'));
    const base = [
      `rules_files: [${rulesDir}]`,
      'watch_interval_ms: 50',
      'json_output: true',
      'stdout_output: {enabled: false}',
      `file_output: {enabled: true, filename: ${alerts}, keep_alive: true}`,
    ];
    const config = writeYaml(dir, 'tiercel.yaml', base.join('\n'));
    const server = await startServe(['--config', config]);
    const seed = traceEvents('create_secret.json');
    let n = 0;
    let evaluated = 0;
    /** Posts one event and returns the rules that alerted on it. */
    const probe = async (): Promise<string[]> => {
      const before = fileAlerts(alerts).length;
      const r = await postJson(server.webhook, eventList(withIds(seed, `reload-${n++}`)));
      assert.equal(r.status, 200);
      evaluated += r.json.accepted;
      await waitFor('evaluation and delivery', async () => {
        const t = await metrics(server.url);
        return metricValue(t, 'tiercel_audit_events_evaluated_total') === evaluated &&
          metricValue(t, 'tiercel_output_delivered_total', { output: 'file' }) === metricValue(t, 'tiercel_alerts_total');
      });
      return fileAlerts(alerts).slice(before).map((a) => a.rule);
    };
    const reloads = async (result: string): Promise<number> =>
      metricValue(await metrics(server.url), 'tiercel_rules_reloads_total', { result });
    const waitReloads = (result: string, count: number): Promise<boolean> =>
      waitFor(`${count} reload(s) with result ${result}`, async () => (await reloads(result)) >= count);

    try {
      assert.deepEqual(await probe(), ['Rule One']);
      assert.equal(await reloads('success'), 1, 'the initial load');

      // An edit to a rules file.
      writeFileSync(join(rulesDir, '10-main.yaml'), rule('Rule Two'));
      await waitReloads('success', 2);
      assert.deepEqual(await probe(), ['Rule Two']);

      // A broken edit: the running rules stay, the error is logged.
      writeFileSync(join(rulesDir, '10-main.yaml'), rule('Rule Broken').replace('ka.auditid != ""', 'ka.no_such_field = x'));
      await waitReloads('failure', 1);
      assert.deepEqual(await probe(), ['Rule Two']);
      const err = server.logs().find((l) => /rules reload failed, keeping the running rules/.test(l.msg));
      assert.ok(err, 'the failed reload is logged');
      assert.match(JSON.stringify(err), /no_such_field/);

      // A new file in the rules directory; matching all rules via the config file.
      writeFileSync(join(rulesDir, '10-main.yaml'), rule('Rule Three'));
      writeFileSync(join(rulesDir, '20-extra.yaml'), rule('Rule Extra', 'WARNING'));
      writeFileSync(config, [...base, 'rule_matching: all'].join('\n'));
      await waitFor('the new rules', async () => {
        const r = await probe();
        return r.length === 2 && r.includes('Rule Three') && r.includes('Rule Extra');
      });

      // An invalid config edit: named in the log, the running config stays.
      const failures = await reloads('failure');
      writeFileSync(config, [...base, 'rule_matching: sometimes'].join('\n'));
      await waitReloads('failure', failures + 1);
      assert.ok(server.logs().some((l) => /config reload failed/.test(l.msg) && /rule_matching/.test(l.msg)));
      assert.equal((await probe()).length, 2);

      // Falco's priority: only rules at least this severe are loaded.
      writeFileSync(config, [...base, 'rule_matching: all', 'priority: warning'].join('\n'));
      await waitFor('priority applied', async () => (await probe()).join() === 'Rule Extra');

      // SIGHUP.
      const successes = await reloads('success');
      server.child.kill('SIGHUP');
      await waitReloads('success', successes + 1);
      assert.deepEqual(await probe(), ['Rule Extra']);
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });
});
