/**
 * k8s_audit throughput: events/s of the full upstream k8s_audit ruleset on
 * realistic audit events, against JSON.parse of the same input in the same
 * process (these machines are noisy: only ratios measured side by side are
 * meaningful). Goal: evaluation with every rule costs no more than parsing,
 * i.e. parse+evaluate runs at >= 0.5 of parse-only throughput.
 *
 *   npm run bench            print the results
 *   npm run bench -- --write also update the table in bench/README.md
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeAuditPayload } from '../src/audit/event.js';
import { loadRules } from '../src/engine/loader.js';
import { Ruleset } from '../src/engine/ruleset.js';
import { createRegistry } from '../src/sources.js';
import { DEFAULT_RULES, PACKAGE_ROOT, SAMPLE_AUDIT_LOG } from '../src/paths.js';
import { clusterEvent } from './lib/cluster-mix.js';

const ANCHORS = process.env.TIERCEL_ANCHORS ?? join(PACKAGE_ROOT, '..', 'shared', 'anchors');
const TARGET_EVENTS = Number(process.env.BENCH_EVENTS ?? 40_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);

/** The real apiserver traces of Falco's suite and Tiercel's sample day. */
function seedEvents(): Record<string, unknown>[] {
  const seeds: Record<string, unknown>[] = [];
  const traceDir = join(ANCHORS, 'falco-k8s-audit-suite', 'trace_files', 'k8s_audit');
  const sources = readdirSync(traceDir).map((f) => join(traceDir, f));
  sources.push(SAMPLE_AUDIT_LOG);
  for (const file of sources) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      try {
        const obj = JSON.parse(line);
        if (obj && typeof obj === 'object' && 'auditID' in obj) seeds.push(obj);
      } catch {
        // not an event (the suite has a deliberately broken trace)
      }
    }
  }
  return seeds;
}

/** Suite traces replicated with distinct IDs and names: about half of them alert (a worst case). */
function suiteCorpus(seeds: readonly Record<string, unknown>[]): string[] {
  const lines: string[] = [];
  for (let i = 0; lines.length < TARGET_EVENTS; i++) {
    const e = structuredClone(seeds[i % seeds.length]!) as Record<string, any>;
    e.auditID = `${String(i).padStart(8, '0')}-0000-4000-8000-000000000000`;
    if (e.objectRef?.name) e.objectRef.name = `${e.objectRef.name}-${i % 97}`;
    lines.push(JSON.stringify(e));
  }
  return lines;
}

/** A steady-state cluster's traffic with 2% of the suite traces mixed in. */
function mixCorpus(seeds: readonly Record<string, unknown>[]): string[] {
  const lines: string[] = [];
  for (let i = 0; i < TARGET_EVENTS; i++) lines.push(JSON.stringify(clusterEvent(i, seeds, { attackShare: 0.02, nodes: 50 })));
  return lines;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function time(fn: () => number): { ms: number; sink: number } {
  const t0 = process.hrtime.bigint();
  const sink = fn();
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, sink };
}

function measure(lines: readonly string[], rulesets: Record<string, Ruleset>): { table: string; header: string; upstreamRatio: number } {
  const bytes = lines.reduce((n, l) => n + l.length, 0);
  const parseOnly = (): number => {
    let n = 0;
    for (const l of lines) n += (JSON.parse(l) as { stage?: string }).stage ? 1 : 0;
    return n;
  };
  const full = (rs: Ruleset) => (): number => {
    let alerts = 0;
    for (const l of lines) {
      for (const e of decodeAuditPayload(JSON.parse(l)).events) alerts += rs.process(e).length;
    }
    return alerts;
  };

  const samples: Record<string, number[]> = { 'JSON.parse only': [] };
  for (const k of Object.keys(rulesets)) samples[k] = [];
  const alertsPerRun: Record<string, number> = {};
  for (let round = 0; round < ROUNDS + 2; round++) {
    const p = time(parseOnly);
    const results: [string, number][] = [];
    for (const [k, rs] of Object.entries(rulesets)) {
      const r = time(full(rs));
      alertsPerRun[k] = r.sink;
      results.push([k, r.ms]);
    }
    if (round < 2) continue; // warm-up
    samples['JSON.parse only']!.push(p.ms);
    for (const [k, ms] of results) samples[k]!.push(ms);
  }

  const baseMs = median(samples['JSON.parse only']!);
  const rows = Object.entries(samples).map(([k, ms]) => {
    const m = median(ms);
    return {
      name: k,
      eventsPerSec: Math.round(lines.length / (m / 1000)),
      ratio: baseMs / m,
      alerts: alertsPerRun[k],
    };
  });
  const table = [
    `| run | events/s | ratio to JSON.parse only | alerts per pass |`,
    `|---|---:|---:|---:|`,
    ...rows.map((r) => `| ${r.name} | ${r.eventsPerSec.toLocaleString('en-US')} | ${r.ratio.toFixed(2)} | ${r.alerts ?? '-'} |`),
  ].join('\n');
  const header = `${lines.length.toLocaleString('en-US')} events (${(bytes / 1e6).toFixed(1)} MB of JSON lines), ` +
    `median of ${ROUNDS} rounds after 2 warm-up rounds; Node ${process.version}, ${new Date().toISOString().slice(0, 10)}.`;
  const upstreamRatio = rows.find((r) => r.name === 'upstream, first match')!.ratio;
  return { table, header, upstreamRatio };
}

function main(): void {
  const registry = createRegistry();
  const rulesets: Record<string, Ruleset> = {};
  const upstream = loadRules([{ name: join(ANCHORS, 'falco-rules', 'k8s_audit_rules.yaml') }], registry);
  if (!upstream.ok) throw new Error('upstream rules failed to load');
  rulesets['upstream, first match'] = new Ruleset(upstream.rules, registry, { ruleMatching: 'first' });
  rulesets['upstream, all rules'] = new Ruleset(upstream.rules, registry, { ruleMatching: 'all' });
  const own = loadRules([{ name: DEFAULT_RULES.k8s_audit! }], registry);
  if (own.ok) rulesets['Tiercel rules, first match'] = new Ruleset(own.rules, registry, { ruleMatching: 'first' });

  const seeds = seedEvents();
  const sections: string[] = [];
  let upstreamRatioMix = 0;
  for (const [label, lines] of [
    ['cluster mix (steady-state traffic, 2% suite traces)', mixCorpus(seeds)],
    ['suite traces only (about half alert: worst case)', suiteCorpus(seeds)],
  ] as const) {
    const { table, header, upstreamRatio } = measure(lines, rulesets);
    if (label.startsWith('cluster')) upstreamRatioMix = upstreamRatio;
    sections.push(`### ${label}\n\n${header}\n\n${table}`);
  }
  const verdict = `Goal (>= 0.5 of parse-only throughput with the upstream ruleset, on the cluster mix): ` +
    `${upstreamRatioMix >= 0.5 ? 'met' : 'NOT met'} (${upstreamRatioMix.toFixed(2)}).`;
  const report = sections.join('\n\n') + `\n\n${verdict}\n`;
  process.stdout.write(report);
  if (process.argv.includes('--write')) {
    const readme = join(PACKAGE_ROOT, 'bench', 'README.md');
    const text = readFileSync(readme, 'utf8');
    const begin = '<!-- k8s-audit-throughput:begin -->';
    const end = '<!-- k8s-audit-throughput:end -->';
    const i = text.indexOf(begin);
    const j = text.indexOf(end);
    if (i < 0 || j < 0) throw new Error('markers not found in bench/README.md');
    writeFileSync(readme, text.slice(0, i + begin.length) + `\n${report}` + text.slice(j));
  }
}

main();
