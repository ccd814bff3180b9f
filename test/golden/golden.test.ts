/**
 * Golden cases: rules + events → expected alerts.
 *
 * Each directory test/golden/<source>/<case>/ holds events.jsonl, the expected
 * alerts in expected.jsonl (one {"rule", "priority", "count"} per line; an
 * empty file means no alert), and optionally rules.yaml, loaded after
 * Tiercel's default rules for the source. Run through the real CLI with the
 * default settings (rule_matching: first).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULT_RULES } from '../../src/paths.js';
import { jsonAlerts, runCli } from '../helpers/cli.js';

const GOLDEN = import.meta.dirname;

interface Expected {
  rule: string;
  priority?: string;
  count?: number;
}

// Sources whose cases are event files (syscall scenarios are built, see syscall.test.ts).
const EVENT_FILE_SOURCES = readdirSync(GOLDEN).filter((d) => statSync(join(GOLDEN, d)).isDirectory() &&
  readdirSync(join(GOLDEN, d)).some((c) => existsSync(join(GOLDEN, d, c, 'events.jsonl'))));

for (const source of EVENT_FILE_SOURCES) {
  describe(`golden ${source}`, { concurrency: 4 }, () => {
    for (const name of readdirSync(join(GOLDEN, source)).sort()) {
      const dir = join(GOLDEN, source, name);
      if (!statSync(dir).isDirectory()) continue;
      it(name, async () => {
        const args = ['replay', '--source', source, '-o', 'json', '-r', DEFAULT_RULES[source]!];
        if (existsSync(join(dir, 'rules.yaml'))) args.push('-r', join(dir, 'rules.yaml'));
        args.push(join(dir, 'events.jsonl'));
        const res = await runCli(args);
        assert.equal(res.code, 0, res.stderr);
        const actual = new Map<string, { priority: string; count: number }>();
        for (const a of jsonAlerts(res.stdout)) {
          const e = actual.get(a.rule) ?? { priority: a.priority, count: 0 };
          e.count++;
          actual.set(a.rule, e);
        }
        const expected: Expected[] = readFileSync(join(dir, 'expected.jsonl'), 'utf8')
          .split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
        const want = new Map(expected.map((e) => [e.rule, e]));
        for (const [rule, got] of actual) {
          const e = want.get(rule);
          assert.ok(e, `unexpected alert from '${rule}' (${got.count}x)`);
          if (e.priority) assert.equal(got.priority, e.priority, `priority of '${rule}'`);
          assert.equal(got.count, e.count ?? 1, `count of '${rule}'`);
        }
        for (const rule of want.keys()) assert.ok(actual.has(rule), `expected an alert from '${rule}'`);
      });
    }
  });
}
