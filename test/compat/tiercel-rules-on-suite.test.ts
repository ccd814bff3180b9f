/**
 * Tiercel's own k8s_audit rules, alone, on the real traces of Falco's suite:
 * every attack or risky-change trace raises the expected alert(s), and benign
 * traces raise nothing at WARNING or above. The classification of each trace
 * (and why) is in test/fixtures/k8s-suite-classification.json.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULT_RULES } from '../../src/paths.js';
import { atLeast, parsePriority } from '../../src/engine/priority.js';
import { anchorPath, anchorsAvailable, anchorsMissingReason } from '../helpers/anchors.js';
import { jsonAlerts, runCli } from '../helpers/cli.js';

interface Classification {
  class: 'attack' | 'benign' | 'invalid';
  reason: string;
  rules?: string[];
}

const classes = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'k8s-suite-classification.json'), 'utf8')) as
  Record<string, Classification>;

describe("Tiercel's k8s_audit rules on Falco's suite traces", { skip: anchorsAvailable ? false : anchorsMissingReason, concurrency: 4 }, () => {
  if (!anchorsAvailable) return;
  const dir = anchorPath('falco-k8s-audit-suite', 'trace_files', 'k8s_audit');
  const traces = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

  it('classifies every trace', () => {
    assert.deepEqual(traces.filter((t) => !classes[t]), []);
  });

  for (const trace of traces) {
    const c = classes[trace];
    if (!c) continue;
    it(`${trace} (${c.class}): ${c.reason}`, async () => {
      // Every matching rule, to check all expected rules and that no rule at all is loud on benign traces.
      const res = await runCli(['replay', '--source', 'k8s_audit', '-o', 'json', '--rule-matching', 'all',
        '-r', DEFAULT_RULES.k8s_audit!, join(dir, trace)]);
      assert.equal(res.code, 0, res.stderr);
      const alerts = jsonAlerts(res.stdout);
      const loud = alerts.filter((a) => atLeast(parsePriority(a.priority)!, 'Warning'));
      if (c.class === 'attack') {
        // With the default settings (first match) the trace alerts too.
        const first = await runCli(['replay', '--source', 'k8s_audit', '-o', 'json', '-r', DEFAULT_RULES.k8s_audit!, join(dir, trace)]);
        assert.ok(jsonAlerts(first.stdout).length > 0, 'an attack trace must alert with the default settings');
        for (const rule of c.rules ?? []) {
          assert.ok(alerts.some((a) => a.rule === rule), `expected '${rule}', got ${JSON.stringify(alerts.map((a) => a.rule))}`);
        }
      } else if (c.class === 'benign') {
        assert.deepEqual(loud.map((a) => `${a.priority} ${a.rule}`), [], 'benign traces stay below WARNING');
      } else {
        assert.equal(alerts.length, 0);
        assert.match(res.stderr, /data not recognized as a k8s audit event/);
      }
    });
  }
});
