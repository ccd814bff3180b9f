/**
 * Syscall golden scenarios: synthesized activity → capture file → the real
 * CLI's replay, with the upstream rules and with Tiercel's own rules.
 *
 * Each directory test/golden/syscall/<case>/ has a `scenario.ts` exporting
 * `build(s: Scenario)` (what the processes do) and `expectations`:
 * - `upstream`: a Falco rules file (of ../shared/anchors/falco-rules) and the
 *   one rule that must fire; with that file loaded (rule_matching: all) no
 *   other rule may fire. An optional `overlay` (a file in the case directory)
 *   loads after it, for rules keyed on addresses tests must not use.
 * - `tiercel`: the Tiercel rules (rules/syscall_rules.yaml) that must fire.
 * - `benign`: nothing at WARNING or above, with either ruleset.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { atLeast, parsePriority } from '../../src/engine/priority.js';
import { DEFAULT_RULES } from '../../src/paths.js';
import { Scenario } from '../../src/syscall/synth.js';
import { anchorPath, anchorsAvailable, anchorsMissingReason } from '../helpers/anchors.js';
import { jsonAlerts, runCli } from '../helpers/cli.js';

export interface Expectations {
  readonly upstream?: { readonly file: string; readonly rule: string; readonly overlay?: string };
  readonly tiercel?: readonly string[];
  readonly benign?: boolean;
}

const ROOT = join(import.meta.dirname, 'syscall');
const tmp = mkdtempSync(join(tmpdir(), 'tiercel-golden-syscall-'));
const UPSTREAM_FILES = ['falco_rules.yaml', 'falco-incubating_rules.yaml', 'falco-sandbox_rules.yaml'];

async function replay(capture: string, rules: string[]): Promise<{ rule: string; priority: string }[]> {
  const args = ['replay', '--source', 'syscall', '-o', 'json', '--rule-matching', 'all'];
  for (const r of rules) args.push('-r', r);
  const res = await runCli([...args, capture]);
  assert.equal(res.code, 0, res.stderr);
  return jsonAlerts(res.stdout).map((a) => ({ rule: a.rule, priority: a.priority }));
}

const loud = (alerts: { priority: string }[]) => alerts.filter((a) => atLeast(parsePriority(a.priority)!, 'Warning'));

describe('golden syscall scenarios', { skip: anchorsAvailable ? false : anchorsMissingReason, concurrency: 4 }, () => {
  for (const name of readdirSync(ROOT).sort()) {
    const dir = join(ROOT, name);
    if (!statSync(dir).isDirectory()) continue;
    it(name, async () => {
      const mod = (await import(pathToFileURL(join(dir, 'scenario.ts')).href)) as {
        default: (s: Scenario) => void | Promise<void>;
        expectations: Expectations;
      };
      const s = new Scenario();
      await mod.default(s);
      const capture = join(tmp, `${name}.tcap`);
      await s.writeCapture(capture);
      const exp = mod.expectations;

      if (exp.upstream) {
        assert.ok(UPSTREAM_FILES.includes(exp.upstream.file), `unknown upstream file ${exp.upstream.file}`);
        const files = [anchorPath('falco-rules', exp.upstream.file)];
        if (exp.upstream.overlay) {
          const overlay = join(dir, exp.upstream.overlay);
          assert.ok(existsSync(overlay), `overlay ${overlay}`);
          files.push(overlay);
        }
        const alerts = await replay(capture, files);
        const rules = [...new Set(alerts.map((a) => a.rule))];
        assert.deepEqual(rules, [exp.upstream.rule], `upstream ${exp.upstream.file}`);
      }
      const own = await replay(capture, [DEFAULT_RULES.syscall!]);
      for (const rule of exp.tiercel ?? []) {
        assert.ok(own.some((a) => a.rule === rule), `Tiercel rule '${rule}' did not fire; got ${JSON.stringify(own)}`);
      }
      if (exp.benign) {
        assert.deepEqual(loud(own), [], 'Tiercel rules stay below WARNING');
        for (const f of UPSTREAM_FILES) {
          const upstream = await replay(capture, [anchorPath('falco-rules', f)]);
          assert.deepEqual(loud(upstream), [], `${f} stays below WARNING`);
        }
      }
    });
  }
});
