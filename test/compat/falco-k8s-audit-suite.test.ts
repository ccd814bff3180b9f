/**
 * Falco's own k8s_audit regression suite (66 cases), run black-box through
 * `tiercel replay` with each case's rules files in order: every case gives
 * exactly the expected alert count per rule, and no alert where Falco
 * expects none. The traces are real apiserver audit events.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { anchorPath, anchorsAvailable, anchorsMissingReason, readFalcoCases } from '../helpers/anchors.js';
import { jsonAlerts, runCli } from '../helpers/cli.js';

const PRIORITY_NAMES: Record<string, string> = {
  EMERGENCY: 'Emergency', ALERT: 'Alert', CRITICAL: 'Critical', ERROR: 'Error', WARNING: 'Warning',
  NOTICE: 'Notice', INFO: 'Informational', INFORMATIONAL: 'Informational', DEBUG: 'Debug',
};

const ERA_LISTS = join(import.meta.dirname, '..', 'fixtures', 'falco-rules-suite-era-lists.yaml');

/**
 * The suite's BUILD_DIR paths, mapped onto the anchors. The syscall rules
 * file is today's falco_rules.yaml plus the one list its 2022 version had and
 * the suite's overlays append to (see the fixture).
 */
function rulesPaths(p: string): string[] {
  if (p.includes('falcosecurity-rules-falco')) return [anchorPath('falco-rules', 'falco_rules.yaml'), ERA_LISTS];
  return [rulesPath(p)];
}

function rulesPath(p: string): string {
  if (p.includes('k8saudit-rules')) return anchorPath('falco-k8s-audit-suite', 'rules', 'k8s_audit_rules.k8saudit-0.6.0.yaml');
  return anchorPath('falco-k8s-audit-suite', p.replace(/^\.\//, ''));
}

function tracePath(opts: string): string {
  const m = /open_params=(\S+)/.exec(opts);
  assert.ok(m, `trace in ${opts}`);
  return anchorPath('falco-k8s-audit-suite', m[1]!);
}

describe("Falco's k8s_audit regression suite", { skip: anchorsAvailable ? false : anchorsMissingReason, concurrency: 4 }, () => {
  if (!anchorsAvailable) return;
  const cases = readFalcoCases(anchorPath('falco-k8s-audit-suite', 'falco_k8s_audit_tests.yaml'));
  assert.equal(Object.keys(cases).length, 66);
  for (const [name, c] of Object.entries(cases)) {
    it(name, async () => {
      const args = ['replay', '--source', 'k8s_audit', '-o', 'json'];
      for (const r of c.rules_file as string[]) for (const f of rulesPaths(r)) args.push('-r', f);
      args.push(tracePath(c.addl_cmdline_opts as string));
      const res = await runCli(args);
      assert.equal(res.code, 0, res.stderr);
      const alerts = jsonAlerts(res.stdout);
      if (c.stderr_contains) assert.match(res.stderr, new RegExp(c.stderr_contains as string));
      if (c.detect === false) {
        assert.deepEqual(alerts.map((a) => a.rule), [], 'no alert expected');
        return;
      }
      assert.ok(alerts.length > 0, 'alerts expected');
      const levels = ([] as string[]).concat((c.detect_level as string | string[] | undefined) ?? []);
      for (const level of levels) {
        assert.ok(alerts.some((a) => a.priority === PRIORITY_NAMES[level]), `an alert at ${level}`);
      }
      const counts = (c.detect_counts as Record<string, number>[] | undefined) ?? [];
      const expected = Object.assign({}, ...counts) as Record<string, number>;
      const actual: Record<string, number> = {};
      for (const a of alerts) actual[a.rule] = (actual[a.rule] ?? 0) + 1;
      if (counts.length) assert.deepEqual(actual, expected);
    });
  }
});
