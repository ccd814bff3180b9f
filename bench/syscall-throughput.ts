/**
 * Syscall throughput: records/s from a capture through decode, decode +
 * state, and decode + state + the full upstream stable ruleset
 * (falco_rules.yaml), measured side by side in one process.
 *
 * Goals: >= 500k records/s for decode + state, >= 300k records/s with the
 * rules.
 *
 *   node --import tsx bench/syscall-throughput.ts            print results
 *   node --import tsx bench/syscall-throughput.ts --write    also update bench/README.md
 */
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { loadRules } from '../src/engine/loader.js';
import { Ruleset } from '../src/engine/ruleset.js';
import { PACKAGE_ROOT } from '../src/paths.js';
import { createRegistry } from '../src/sources.js';
import { CaptureReader } from '../src/syscall/capture.js';
import { splitRecords } from '../src/syscall/record.js';
import { SyscallState } from '../src/syscall/state/index.js';
import { StaticMetadataProvider } from '../src/syscall/state/metadata.js';
import { UserDatabase } from '../src/syscall/state/users.js';
import { Scenario, type SimProcess } from '../src/syscall/synth.js';

const ANCHORS = process.env.TIERCEL_ANCHORS ?? join(PACKAGE_ROOT, '..', 'shared', 'anchors');
const TARGET = Number(process.env.BENCH_RECORDS ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

/**
 * A node's worth of activity: services and containers opening libraries and
 * config files, talking on sockets, forking and running short commands, and
 * now and then something a rule alerts on.
 */
function workload(): Scenario {
  const s = new Scenario();
  const { init, kubelet } = s.standardHost();
  s.container('web', { id: '1234567890ab', image: 'docker.io/library/nginx:1.25', pod: { name: 'web-1', namespace: 'shop' } });
  s.container('db', { id: 'abcdef123456', image: 'docker.io/library/postgres:16', pod: { name: 'db-0', namespace: 'shop' } });
  const web = s.runningContainer('web', { exe: '/usr/sbin/nginx', comm: 'nginx', uid: 33 }).main;
  const db = s.runningContainer('db', { exe: '/usr/lib/postgresql/16/bin/postgres', comm: 'postgres', uid: 999 }).main;
  const libs = ['/lib/x86_64-linux-gnu/libc.so.6', '/lib/x86_64-linux-gnu/libssl.so.3', '/etc/ld.so.cache', '/etc/nsswitch.conf', '/etc/resolv.conf'];
  const step = (p: SimProcess, i: number): void => {
    const fd = p.open(i % 7 === 0 ? `/var/log/app-${i % 13}.log` : libs[i % libs.length]!, i % 7 === 0 ? { mode: 'w' } : {});
    p.close(fd);
    if (i % 5 === 0) {
      const c = p.connect('127.0.0.2', 5432);
      p.close(c);
    }
  };
  for (let i = 0; s.recordCount < TARGET; i++) {
    step(web, i);
    step(db, i + 1);
    if (i % 50 === 0) {
      const probe = kubelet.spawn({ exe: '/usr/bin/runc', comm: 'runc', args: ['exec', 'probe'] });
      step(probe, i);
      probe.exit();
    }
    if (i % 20_000 === 0) {
      // A rare suspicious action so the alert path is exercised.
      const sh = init.spawn({ exe: '/bin/bash', comm: 'bash', leader: true });
      sh.spawn({ exe: 'cat', exepath: '/usr/bin/cat' }).open('/etc/shadow');
    }
  }
  return s;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const s = workload();
  const dir = mkdtempSync(join(tmpdir(), 'tiercel-bench-'));
  const file = join(dir, 'workload.tcap');
  await s.writeCapture(file);
  const header = (await CaptureReader.open(file)).header;
  // The records as they come off the file: decompress once, outside the timed runs.
  const raw = gunzipSync(readFileSync(file));
  const bytes = raw.subarray(12 + raw.readUInt32LE(8));

  const registry = createRegistry();
  const loaded = loadRules([{ name: join(ANCHORS, 'falco-rules', 'falco_rules.yaml') }], registry);
  if (!loaded.ok) throw new Error('falco_rules.yaml failed to load');
  const newState = (): SyscallState => {
    const st = new SyscallState({
      users: new UserDatabase({ users: [...header.host.users], groups: [...header.host.groups], containers: header.host.containerUsers ?? {} }),
      metadata: StaticMetadataProvider.fromObject({ containers: header.containers ?? [] }),
    });
    st.seed(header.host);
    return st;
  };

  const runs: Record<string, () => number> = {
    'decode only': () => splitRecords(bytes).records.length,
    'decode + state': () => {
      const st = newState();
      let n = 0;
      for (const r of splitRecords(bytes).records) { st.apply(r); n++; }
      return n;
    },
    'decode + state + falco_rules.yaml': () => {
      const st = newState();
      const rs = new Ruleset(loaded.rules, registry);
      let alerts = 0;
      for (const r of splitRecords(bytes).records) alerts += rs.process(st.apply(r)).length;
      return alerts;
    },
  };
  const times: Record<string, number[]> = {};
  const results: Record<string, number> = {};
  for (let round = 0; round < ROUNDS + 1; round++) {
    for (const [name, fn] of Object.entries(runs)) {
      const t0 = process.hrtime.bigint();
      results[name] = fn();
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (round > 0) (times[name] ??= []).push(ms);
    }
  }
  const n = s.recordCount;
  const base = median(times['decode only']!);
  const rows = Object.entries(times).map(([name, ms]) => {
    const m = median(ms);
    return { name, perSec: Math.round(n / (m / 1000)), ratio: base / m };
  });
  const table = [
    '| run | records/s | ratio to decode only |',
    '|---|---:|---:|',
    ...rows.map((r) => `| ${r.name} | ${r.perSec.toLocaleString('en-US')} | ${r.ratio.toFixed(2)} |`),
  ].join('\n');
  const state = rows.find((r) => r.name === 'decode + state')!.perSec;
  const rules = rows.find((r) => r.name === 'decode + state + falco_rules.yaml')!.perSec;
  const header1 = `${n.toLocaleString('en-US')} records (${(bytes.length / 1e6).toFixed(0)} MB uncompressed, ` +
    `${(readFileSync(file).length / 1e6).toFixed(1)} MB as a capture file), ${results['decode + state + falco_rules.yaml']} alerts per pass; ` +
    `median of ${ROUNDS} rounds after a warm-up; Node ${process.version}, ${new Date().toISOString().slice(0, 10)}.`;
  const verdict = `Goals: decode + state >= 500k records/s: ${state >= 500_000 ? 'met' : 'NOT met'} (${state.toLocaleString('en-US')}); ` +
    `with the rules >= 300k records/s: ${rules >= 300_000 ? 'met' : 'NOT met'} (${rules.toLocaleString('en-US')}).`;
  process.stdout.write(`${header1}\n\n${table}\n\n${verdict}\n`);
  if (process.argv.includes('--write')) {
    const readme = join(PACKAGE_ROOT, 'bench', 'README.md');
    const text = readFileSync(readme, 'utf8');
    const begin = '<!-- syscall-throughput:begin -->';
    const end = '<!-- syscall-throughput:end -->';
    const i = text.indexOf(begin);
    const j = text.indexOf(end);
    if (i < 0 || j < 0) throw new Error('markers not found in bench/README.md');
    writeFileSync(readme, text.slice(0, i + begin.length) + `\n${header1}\n\n${table}\n\n${verdict}\n` + text.slice(j));
  }
}

await main();
