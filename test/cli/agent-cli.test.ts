/**
 * Black-box tests of `tiercel agent` and `tiercel capture`: the real CLI as a
 * child process. Options, configuration errors, what an unprivileged run says
 * is missing, capture's argument checks, and (as root, with the sensor built)
 * the agent running with exactly the capabilities the DaemonSet grants.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse } from 'yaml';
import { tryLoadNative } from '../../src/syscall/native/index.js';
import { BIN, ROOT, runCli } from '../helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'tiercel-agent-cli-'));
const isRoot = process.getuid?.() === 0;
const hasSetpriv = spawnSync('setpriv', ['--version'], { stdio: 'ignore' }).status === 0;
/** Temporary directories to remove at the end (a copy of the package for the unprivileged user is big). */
const cleanup: string[] = [tmp];
after(() => {
  for (const d of cleanup) rmSync(d, { recursive: true, force: true });
});

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion (killed after `timeoutMs`). */
function run(cmd: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: options.cwd ?? ROOT, env: { ...process.env, TZ: 'UTC', ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

function writeTmp(name: string, content: string): string {
  const p = join(tmp, name);
  writeFileSync(p, content);
  return p;
}

/** Effective capabilities of this process (a bit mask). */
function effectiveCaps(pid: number | 'self' = 'self'): bigint {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? BigInt(`0x${m[1]}`) : 0n;
}

const CAP_BITS: Record<string, number> = {
  DAC_READ_SEARCH: 2, SYS_PTRACE: 19, SYS_ADMIN: 21, SYS_RESOURCE: 24, PERFMON: 38, BPF: 39,
};

describe('tiercel agent: options and configuration', () => {
  it('--help lists every option', async () => {
    const res = await runCli(['agent', '--help']);
    assert.equal(res.code, 0, res.stderr);
    for (const opt of ['--config', '--rules', '--rule-matching', '--output', '--priority', '--enable-rule', '--disable-rule',
      '--enable-tag', '--disable-tag', '--option', '--listen', '--capture', '--metadata', '--log-level', '--log-format']) {
      assert.ok(res.stdout.includes(opt), `${opt} in:\n${res.stdout}`);
    }
    assert.match(res.stdout, /CAP_BPF\+CAP_PERFMON/, 'the privileges it needs');
  });

  it('an invalid --option exits 1 naming the key, before touching the kernel', async () => {
    const res = await runCli(['agent', '--option', 'agent.ring_buffer_bytes=3000']);
    assert.equal(res.code, 1);
    assert.equal(res.stderr, 'tiercel: invalid configuration: agent.ring_buffer_bytes: must be between 65536 and 1073741824 bytes, got 3000\n');
    assert.equal(res.stdout, '');
  });

  it('an invalid config file exits 1 naming the file and the key', async () => {
    const f = writeTmp('bad-drops.yaml', 'syscall_event_drops:\n  actions: [log, shout]\n');
    const res = await runCli(['agent', '--config', f]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, new RegExp(`^tiercel: invalid configuration: ${f.replace(/[.]/g, '\\.')}: syscall_event_drops\\.actions\\[1\\]: expected one of ignore, log, alert, exit, got "shout"\\n$`));
  });

  it('a malformed --listen is a usage error (exit 2)', async () => {
    const res = await runCli(['agent', '--listen', 'nope']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /--listen: expected HOST:PORT/);
  });

  it('rules that do not load exit 1 with file:line:column', async () => {
    const f = writeTmp('broken-rules.yaml', '- rule: r\n  desc: d\n  condition: evt.type = = open\n  output: o\n  priority: DEBUG\n');
    const res = await runCli(['agent', '-r', f]);
    assert.equal(res.code, 1);
    assert.ok(res.stderr.includes(`${f}:3:`), res.stderr);
    assert.match(res.stderr, /tiercel: rules could not be loaded \(1 errors\)/);
  });
});

/**
 * A directory the unprivileged user can run the CLI from: the checkout when
 * that user can read it, else a copy (a fresh clone may sit under a 0700
 * directory).
 */
function unprivilegedRoot(asUser: (cmd: string, args: string[]) => [string, string[]]): string {
  const [cmd, args] = asUser(process.execPath, [BIN, '--version']);
  if (spawnSync(cmd, args, { cwd: '/', stdio: 'ignore' }).status === 0) return ROOT;
  const copy = mkdtempSync(join(tmpdir(), 'tiercel-unprivileged-'));
  cleanup.push(copy);
  for (const d of ['bin', 'dist', 'rules', 'samples', 'node_modules', 'package.json']) {
    if (existsSync(join(ROOT, d))) cpSync(join(ROOT, d), join(copy, d), { recursive: true });
  }
  const addon = join(ROOT, 'build/Release/tiercel_sensor.node');
  if (existsSync(addon)) {
    mkdirSync(join(copy, 'build/Release'), { recursive: true });
    cpSync(addon, join(copy, 'build/Release/tiercel_sensor.node'));
  }
  chmodSync(copy, 0o755);
  return copy;
}

describe('tiercel agent without privileges', () => {
  it('an unprivileged user: exit 1, and stderr names what is missing', async () => {
    let cmd: string;
    let args: string[];
    let uid: number;
    if (isRoot) {
      // As nobody, with no capabilities in any set.
      const asNobody = (c: string, a: string[]): [string, string[]] => hasSetpriv
        ? ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', c, ...a]]
        : [c, a];
      const root = unprivilegedRoot(asNobody);
      [cmd, args] = asNobody(process.execPath, [join(root, 'bin', 'tiercel.js'), 'agent', '--listen', '127.0.0.1:0', '--log-level', 'error']);
      uid = 65534;
      if (!hasSetpriv) {
        // Node drops to the user itself (setgroups, setgid, setuid): the same result.
        const res = await new Promise<Result>((resolve, reject) => {
          const child = spawn(cmd, args, { cwd: '/', uid, gid: uid, stdio: ['ignore', 'pipe', 'pipe'] });
          let out = '';
          let err = '';
          child.stdout.on('data', (d: Buffer) => (out += d));
          child.stderr.on('data', (d: Buffer) => (err += d));
          child.on('error', reject);
          child.on('close', (code) => resolve({ code, stdout: out, stderr: err }));
        });
        assertUnprivileged(res, uid);
        return;
      }
    } else {
      const caps = effectiveCaps();
      const bit = (n: number): boolean => ((caps >> BigInt(n)) & 1n) === 1n;
      if (bit(CAP_BITS.SYS_ADMIN!) || (bit(CAP_BITS.BPF!) && bit(CAP_BITS.PERFMON!))) {
        assert.fail('this user has the capabilities the sensor needs: run the tests as root or as a plain user');
      }
      [cmd, args] = [process.execPath, [BIN, 'agent', '--listen', '127.0.0.1:0', '--log-level', 'error']];
      uid = process.getuid!();
    }
    assertUnprivileged(await run(cmd, args, { cwd: '/' }), uid);
  });

  it('root without CAP_BPF and CAP_PERFMON (every capability dropped): exit 1, and stderr says so', {
    skip: !isRoot ? 'needs root to drop capabilities' : !hasSetpriv ? 'setpriv (util-linux) is not installed' : false,
  }, async () => {
    for (const bounding of ['-all', '-all,+bpf', '-all,+perfmon,+sys_ptrace,+dac_read_search']) {
      const res = await run('setpriv', [`--bounding-set=${bounding}`, '--inh-caps=-all', process.execPath, BIN, 'agent', '--listen', '127.0.0.1:0', '--log-level', 'error'], { cwd: '/' });
      assert.equal(res.code, 1, `${bounding}: ${res.stderr}`);
      assert.match(res.stderr, /running as uid 0 without CAP_SYS_ADMIN or CAP_BPF\+CAP_PERFMON \(run as root, or grant CAP_BPF, CAP_PERFMON and CAP_SYS_RESOURCE\)/, bounding);
      assert.match(res.stderr, /^tiercel: the eBPF sensor (cannot run here|is not available)$/m, bounding);
    }
  });
});

function assertUnprivileged(res: Result, uid: number): void {
  assert.equal(res.code, 1, res.stdout + res.stderr);
  assert.match(res.stderr, new RegExp(`running as uid ${uid} without CAP_SYS_ADMIN or CAP_BPF\\+CAP_PERFMON`), res.stderr);
  assert.match(res.stderr, /run as root, or grant CAP_BPF, CAP_PERFMON and CAP_SYS_RESOURCE/);
  // Built addon: the prerequisites check stops it; no addon: the loader's report says the same and more.
  assert.match(res.stderr, /^tiercel: the eBPF sensor (cannot run here|is not available)$/m);
  assert.equal(res.stdout, '', 'no alert output');
}

describe('tiercel capture: arguments', () => {
  it('--duration 0 (or anything but a positive number) is a usage error: exit 2', async () => {
    for (const d of ['0', '-1', 'soon']) {
      const out = join(tmp, `d${d}.tcap`);
      const res = await runCli(['capture', '-w', out, '--duration', d]);
      assert.equal(res.code, 2, `--duration ${d}: ${res.stderr}`);
      assert.equal(res.stderr, `tiercel: --duration: expected a positive number of seconds, got "${d}"\n`);
      assert.equal(existsSync(out), false, 'no file written');
    }
  });

  it('-w is required', async () => {
    const res = await runCli(['capture', '--duration', '1']);
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /required option '-w, --write <file>' not specified/);
  });

  it('a filter that does not compile exits 1 with its error location, before the sensor is opened', async () => {
    const out = join(tmp, 'filtered.tcap');
    const res = await runCli(['capture', '-w', out, '--filter', 'evt.type = = x']);
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /^--filter:\d+:\d+: LOAD_ERR_COMPILE_CONDITION: .*\(rule 'tiercel capture filter'\)$/m);
    assert.match(res.stderr, /^tiercel: the rules or the filter could not be loaded \(1 errors\)$/m);
    assert.equal(existsSync(out), false, 'no file written');
  });

  it('a filter naming an unknown field exits 1 and names the field', async () => {
    const res = await runCli(['capture', '-w', join(tmp, 'f2.tcap'), '--filter', 'evt.tpye = open']);
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /^--filter:\d+:\d+: LOAD_ERR_\w+: .*evt\.tpye/m);
  });
});

// ---------------------------------------------------------------------------
// The DaemonSet's capabilities, for real: as root, every other capability dropped.

const native = tryLoadNative();
const btf = existsSync('/sys/kernel/btf/vmlinux');
const realSensor = !isRoot ? 'needs root (to start the agent with a chosen set of capabilities)'
  : !hasSetpriv ? 'setpriv (util-linux) is not installed'
    : native.error ? `the eBPF sensor addon is not built: ${native.error.message.split('\n')[0]}`
      : !btf ? 'no kernel BTF' : false;

/** The capabilities manifests/agent/daemonset.yaml adds (after dropping ALL). */
function daemonSetCapabilities(): string[] {
  const ds = parse(readFileSync(join(ROOT, 'manifests', 'agent', 'daemonset.yaml'), 'utf8'));
  const sc = ds.spec.template.spec.containers[0].securityContext;
  assert.deepEqual(sc.capabilities.drop, ['ALL']);
  return sc.capabilities.add as string[];
}

function waitForUrl(child: ChildProcess, stderr: { text: string }, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the agent did not start in ${timeoutMs} ms:\n${stderr.text}`)), timeoutMs);
    const check = (): void => {
      const m = /health and metrics at (http:\/\/[^"\s;]+)/.exec(stderr.text);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stderr!.on('data', check);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the agent exited (${code}):\n${stderr.text}`));
    });
  });
}

describe('tiercel agent with the DaemonSet capabilities', () => {
  it('starts, is ready and serves metrics with exactly those capabilities and no new privileges; stops on SIGTERM', { skip: realSensor, timeout: 90_000 }, async () => {
    const caps = daemonSetCapabilities();
    // A rule on execve only and base_syscalls.repair: the sensor records the process lifecycle and
    // nothing else, so a busy machine (other tests) cannot slow the test down.
    const rules = writeTmp('exec-only.yaml', [
      '- rule: tiercel test exec',
      '  desc: never matches',
      '  condition: evt.type = execve and proc.name = tiercel-test-never',
      '  output: "exec %proc.name"',
      '  priority: DEBUG',
      '  source: syscall',
    ].join('\n') + '\n');
    const bounding = ['-all', ...caps.map((c) => `+${c.toLowerCase()}`)].join(',');
    const child = spawn('setpriv', [`--bounding-set=${bounding}`, '--inh-caps=-all', '--no-new-privs',
      process.execPath, BIN, 'agent', '-r', rules, '--listen', '127.0.0.1:0', '--log-format', 'json',
      '--option', 'base_syscalls.repair=true', '--option', 'stdout_output.enabled=false', '--option', 'watch_config_files=false'],
    { cwd: '/', stdio: ['ignore', 'ignore', 'pipe'] });
    const stderr = { text: '' };
    child.stderr!.on('data', (d: Buffer) => (stderr.text += d.toString()));
    try {
      const url = await waitForUrl(child, stderr, 60_000);
      const ready = await fetch(`${url}/readyz`);
      assert.equal(ready.status, 200, await ready.text());

      // What the kernel says the agent holds: the DaemonSet's set, as far as this machine's bounding set allows.
      const want = caps.reduce((m, c) => m | (1n << BigInt(CAP_BITS[c]!)), 0n) & effectiveCaps();
      assert.equal(effectiveCaps(child.pid!).toString(16), want.toString(16), `CapEff of the agent (${caps.join(', ')})`);
      assert.match(readFileSync(`/proc/${child.pid}/status`, 'utf8'), /^NoNewPrivs:\s*1$/m);

      const metrics = await (await fetch(`${url}/metrics`)).text();
      assert.match(metrics, /^tiercel_sensor_ring_size_bytes\{ring="0"\} 8388608$/m);
      assert.match(metrics, /^tiercel_rules_enabled 1$/m);
      assert.match(stderr.text, /state seeded from \/proc/);
    } finally {
      const exited = new Promise<number | null>((resolve) => {
        if (child.exitCode !== null) resolve(child.exitCode);
        else child.on('exit', (code) => resolve(code));
      });
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(timer);
      assert.equal(code, 0, `exit status after SIGTERM:\n${stderr.text.slice(-2000)}`);
    }
  });
});
