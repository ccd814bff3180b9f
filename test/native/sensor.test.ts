/**
 * The eBPF sensor on the real kernel: real processes run from here, and the
 * records the sensor delivers for them are decoded with splitRecords() and
 * checked field by field. Needs the addon built, kernel BTF and root (or
 * CAP_BPF+CAP_PERFMON); skips with the reason otherwise (a failure in CI).
 * Child processes are started asynchronously: a blocked event loop would let
 * the rings fill.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PSEUDO_EVENTS } from '../../src/syscall/event-types.js';
import { O_F_CREATED } from '../../src/syscall/flags.js';
import { type Sensor } from '../../src/syscall/native/index.js';
import { sensorForTests } from '../helpers/sensor.js';
import { type SockAddr, type SockTuple, type SyscallRecord, splitRecords } from '../../src/syscall/record.js';
import { EXE_FLAGS } from '../../src/syscall/schema.js';
import { SYSCALLS_X86_64 } from '../../src/syscall/syscall-table.js';

const WORKLOAD = join(import.meta.dirname, 'fixtures', 'workload.py');
const PROCEXIT = PSEUDO_EVENTS.procexit;
const CLONE_THREAD = 0x10000n;
const CLONE_NEWNS = 0x20000n;
const CLONE_NEWPID = 0x20000000n;
const nr = (name: string): number => {
  const n = SYSCALLS_X86_64[name];
  assert.ok(n !== undefined, name);
  return n;
};
const CLONES = new Set(['clone', 'clone3', 'fork', 'vfork'].map(nr));

const TRACED = [
  'open', 'openat', 'openat2', 'creat', 'close', 'execve', 'execveat', 'clone', 'clone3', 'fork', 'vfork',
  'chdir', 'fchdir', 'mkdir', 'mkdirat', 'rename', 'renameat', 'renameat2', 'link', 'linkat', 'symlink',
  'symlinkat', 'unlink', 'unlinkat', 'rmdir', 'chmod', 'fchmod', 'fchmodat', 'chown', 'fchown', 'lchown',
  'fchownat', 'dup2', 'dup3', 'pipe', 'pipe2', 'socket', 'connect', 'accept', 'accept4', 'bind', 'listen',
  'sendto', 'kill', 'setresuid', 'setgid', 'prctl', 'ptrace', 'bpf', 'userfaultfd', 'init_module',
  'finit_module', 'memfd_create', 'unshare', 'setns', 'mount', 'umount2',
].map(nr);

// ---- availability ---------------------------------------------------------------

const { addon, skip } = sensorForTests();

// ---- collecting ---------------------------------------------------------------------

let all: SyscallRecord[] = [];

function collect(batch: ArrayBuffer): void {
  const { records, consumed } = splitRecords(Buffer.from(batch));
  assert.equal(consumed, batch.byteLength, 'a batch holds whole records');
  for (const r of records) all.push(r);
}

async function waitFor(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The records of a process and of every process it forked (clone records come first). */
function tree(pid: number, from: SyscallRecord[] = all): SyscallRecord[] {
  const pids = new Set([pid]);
  for (const r of from) {
    if (!CLONES.has(r.type) || !pids.has(r.tgid) || r.result <= 0) continue;
    const flags = r.param(0);
    if (typeof flags === 'bigint' && (flags & CLONE_THREAD) !== 0n) continue;
    pids.add(r.result);
  }
  return from.filter((r) => pids.has(r.tgid));
}

interface Run {
  pid: number;
  code: number | null;
  stdout: string;
  stderr: string;
  recs: SyscallRecord[];
}

/** Runs a command to completion and returns the records of its process tree (after its procexit arrived). */
async function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<Run> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c) => resolve(c));
  });
  const pid = child.pid!;
  await waitFor(() => all.some((r) => r.type === PROCEXIT && r.tid === pid), `the procexit of ${cmd} (pid ${pid})`);
  return { pid, code, stdout, stderr, recs: tree(pid) };
}

function named(recs: SyscallRecord[], type: string): SyscallRecord[] {
  const code = type === 'procexit' ? PROCEXIT : nr(type);
  return recs.filter((r) => r.type === code);
}

function one(recs: SyscallRecord[], type: string, pred: (r: SyscallRecord) => boolean, what: string): SyscallRecord {
  const hit = named(recs, type).find(pred);
  assert.ok(hit, `no ${type} record ${what}; got: ${describeAll(recs)}`);
  return hit;
}

function describeAll(recs: SyscallRecord[]): string {
  return recs
    .slice(0, 80)
    .map((r) => `${r.typeName}(${r.result})`)
    .join(' ');
}

const p = (r: SyscallRecord, name: string): unknown => r.paramByName(name);

function procSelf(): { status: string; stat: string[] } {
  const status = readFileSync('/proc/self/status', 'utf8');
  const statText = readFileSync('/proc/self/stat', 'utf8');
  // fields after "(comm)": state is index 0, ppid 1, pgrp 2, session 3, tty_nr 4
  const stat = statText.slice(statText.lastIndexOf(')') + 2).split(' ');
  return { status, stat };
}

function statusField(status: string, key: string): string {
  const m = new RegExp(`^${key}:\\s*(.*)$`, 'm').exec(status);
  assert.ok(m, key);
  return m[1]!.trim();
}

async function which(cmd: string): Promise<string | undefined> {
  const r = await new Promise<string>((resolve) => {
    const c = spawn('sh', ['-c', `command -v ${cmd}`], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.on('close', () => resolve(out.trim()));
  });
  return r || undefined;
}

// ---- the tests --------------------------------------------------------------------------

describe('eBPF sensor on the running kernel', { skip }, () => {
  let sensor: Sensor;
  let python: string | undefined;
  let tmp: string;
  const startNs = BigInt(Date.now()) * 1_000_000n;

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'tiercel-native-'));
    // The real interpreter (not a version-manager shim), so traces stay small.
    const py = await which('python3');
    if (py) {
      const out = await new Promise<string>((resolve) => {
        const c = spawn(py, ['-c', 'import sys; print(sys.executable)'], { stdio: ['ignore', 'pipe', 'ignore'] });
        let s = '';
        c.stdout.on('data', (d: Buffer) => (s += d.toString()));
        c.on('close', () => resolve(s.trim()));
      });
      python = out || py;
    }
    // The default attach mode (auto): fexit programs where the kernel runs them (every syscall of TRACED has one).
    sensor = addon!.openSensor({ interesting: [...TRACED, PROCEXIT], bootTimeNs: addon!.bootTimeNs() });
    sensor.start(collect);
  });

  it('records through a fexit program per syscall, or says why auto chose sys_exit', (t) => {
    const a = sensor.attachment();
    t.diagnostic(`attach mode ${a.mode}${a.fallbackReason ? `: ${a.fallbackReason}` : ''} (load ${a.loadMs.toFixed(0)} ms, attach ${a.attachMs.toFixed(0)} ms)`);
    if (a.mode === 'fexit') assert.deepEqual(a.fexitSyscalls, [...TRACED].sort((x, y) => x - y));
    // Only a kernel that refuses fexit programs altogether is a reason to fall back for this set.
    else assert.match(a.fallbackReason, /refuses fexit programs|loading the fexit programs failed/);
  });

  after(() => {
    sensor?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('records a shell: its exec with the new program, the fork of cat, opens with dev/ino, exits', async () => {
    const script = 'cat /etc/hostname > /dev/null; exit 3';
    const { pid, code, recs } = await run('sh', ['-c', script], { env: { ...process.env, TIERCEL_NATIVE_TEST: '1' } });
    assert.equal(code, 3);
    const self = procSelf();
    const now = BigInt(Date.now()) * 1_000_000n;

    const exec = one(recs, 'execve', (r) => r.tid === pid && r.result === 0, 'for sh');
    assert.equal(exec.tgid, pid);
    assert.ok(exec.ts >= startNs - 1_000_000_000n && exec.ts <= now + 1_000_000_000n, `ts ${exec.ts} near now ${now}`);
    assert.equal(exec.nparams, exec.schema.length);
    assert.equal(p(exec, 'exe'), 'sh');
    assert.deepEqual(p(exec, 'args'), ['-c', script]);
    assert.equal(p(exec, 'comm'), 'sh');
    assert.equal(p(exec, 'tid'), pid);
    assert.equal(p(exec, 'pid'), pid);
    assert.equal(p(exec, 'ptid'), process.pid);
    const filename = p(exec, 'filename') as string;
    assert.ok(filename.startsWith('/') && filename.endsWith('/sh'), filename);
    const exepath = realpathSync(filename);
    assert.equal(p(exec, 'trusted_exepath'), exepath);
    const st = statSync(exepath, { bigint: true });
    assert.equal(p(exec, 'exe_ino'), st.ino);
    assert.equal(p(exec, 'exe_ino_mtime'), st.mtimeNs);
    assert.equal(p(exec, 'exe_ino_ctime'), st.ctimeNs);
    assert.equal((p(exec, 'flags') as number) & EXE_FLAGS.FROM_MEMFD, 0);
    assert.ok((p(exec, 'env') as string[]).includes('TIERCEL_NATIVE_TEST=1'));
    assert.equal(p(exec, 'uid'), process.geteuid!());
    assert.equal(p(exec, 'gid'), process.getegid!());
    assert.equal(p(exec, 'ruid'), process.getuid!());
    assert.equal(p(exec, 'rgid'), process.getgid!());
    assert.equal(p(exec, 'loginuid'), Number(readFileSync('/proc/self/loginuid', 'utf8')) >>> 0);
    assert.equal(p(exec, 'pgid'), Number(self.stat[2]));
    assert.equal(p(exec, 'sid'), Number(self.stat[3]));
    assert.equal(p(exec, 'tty'), Number(self.stat[4]));
    assert.equal(p(exec, 'pidns'), statSync('/proc/self/ns/pid', { bigint: true }).ino);
    assert.equal(p(exec, 'mntns'), statSync('/proc/self/ns/mnt', { bigint: true }).ino);
    const nspid = statusField(self.status, 'NSpid').split(/\s+/);
    if (nspid.length === 1) {
      assert.equal(p(exec, 'vpid'), pid);
      assert.equal(p(exec, 'vtid'), pid);
      assert.equal(p(exec, 'vpgid'), Number(self.stat[2]));
    }
    assert.equal(p(exec, 'cap_effective'), BigInt(`0x${statusField(self.status, 'CapEff')}`));
    assert.equal(p(exec, 'cap_permitted'), BigInt(`0x${statusField(self.status, 'CapPrm')}`));
    assert.equal(p(exec, 'cwd'), undefined, 'cwd is tracked in userspace');

    // The child is in our cgroups: each non-root line of /proc/self/cgroup appears as `ctl=path`.
    const cgroups = p(exec, 'cgroups') as string[];
    assert.ok(cgroups.some((c) => c.startsWith('unified=/')), cgroups.join(' '));
    for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n').filter(Boolean)) {
      const [h, ctl, ...rest] = line.split(':');
      const path = rest.join(':');
      if (h === '0') {
        assert.ok(cgroups.some((c) => c.startsWith('unified=') && c.endsWith(path)), `${line} in ${cgroups.join(' ')}`);
      } else if (path !== '/') {
        assert.ok(cgroups.some((c) => c.startsWith(`${ctl}=`) && c.endsWith(path)), `${line} in ${cgroups.join(' ')}`);
      }
    }

    // sh forks cat (fork, vfork or clone): the record is the parent's, res = the child.
    const fork = recs.find((r) => CLONES.has(r.type) && r.tgid === pid && r.result > 0);
    assert.ok(fork, `no fork record from sh: ${describeAll(recs)}`);
    const catPid = fork.result;
    assert.equal(fork.tid, pid);
    assert.equal(fork.nparams, 4);
    assert.equal((p(fork, 'flags') as bigint) & CLONE_THREAD, 0n);
    if (nspid.length === 1) assert.equal(p(fork, 'vpid'), catPid);
    assert.deepEqual(p(fork, 'cgroups'), cgroups);

    const catExec = one(recs, 'execve', (r) => r.tgid === catPid && r.result === 0, 'for cat');
    assert.equal(p(catExec, 'comm'), 'cat');
    assert.equal(p(catExec, 'exe'), 'cat');
    assert.deepEqual(p(catExec, 'args'), ['/etc/hostname']);
    assert.equal(p(catExec, 'ptid'), pid);

    const open = one(recs, 'openat', (r) => r.tgid === catPid && p(r, 'name') === '/etc/hostname', 'of /etc/hostname by cat');
    assert.ok(open.result >= 0);
    const hst = statSync('/etc/hostname', { bigint: true });
    assert.equal(p(open, 'ino'), hst.ino);
    assert.equal(BigInt(p(open, 'dev') as number), hst.dev);
    assert.equal((p(open, 'flags') as number) & 3, 0, 'O_RDONLY');
    assert.equal(p(open, 'dirfd'), -100n, 'AT_FDCWD');

    const redirect = one(recs, 'openat', (r) => p(r, 'name') === '/dev/null' && ((p(r, 'flags') as number) & 3) === 1, 'of /dev/null for writing');
    assert.equal((p(redirect, 'flags') as number) & 0o1101, 0o1101, 'O_WRONLY|O_CREAT|O_TRUNC');
    assert.equal((p(redirect, 'flags') as number) & O_F_CREATED, 0, '/dev/null existed');

    const catExit = one(recs, 'procexit', (r) => r.tid === catPid, 'for cat');
    assert.equal(p(catExit, 'status'), 0n);
    const shExit = one(recs, 'procexit', (r) => r.tid === pid, 'for sh');
    assert.equal(p(shExit, 'status'), 3n << 8n);
    assert.equal(p(shExit, 'ret'), 3n);
    assert.equal(p(shExit, 'sig'), 0);
    assert.ok((p(shExit, 'reaper_tid') as number) > 0, 'the process that adopts its children');
  });

  it('sets O_F_CREATED when an open creates the file, and reads /etc/shadow', async () => {
    const file = join(tmp, 'created');
    const { recs } = await run('sh', ['-c', `echo x > ${file}; echo y > ${file}; cat /etc/shadow > /dev/null`]);
    const opens = named(recs, 'openat').filter((r) => p(r, 'name') === file);
    assert.equal(opens.length, 2, describeAll(recs));
    assert.notEqual((p(opens[0]!, 'flags') as number) & O_F_CREATED, 0, 'first open created it');
    assert.equal((p(opens[1]!, 'flags') as number) & O_F_CREATED, 0, 'second open did not');
    assert.equal(p(opens[0]!, 'ino'), statSync(file, { bigint: true }).ino);
    const shadow = one(recs, 'openat', (r) => p(r, 'name') === '/etc/shadow', 'of /etc/shadow');
    assert.ok(shadow.result >= 0, 'root reads /etc/shadow');
  });

  it('records a failed exec with the path tried, and a syscall without parameters with its result', async () => {
    const { recs } = await run('sh', ['-c', '/nonexistent/tiercel-native; true']);
    const failed = one(recs, 'execve', (r) => p(r, 'filename') === '/nonexistent/tiercel-native', 'for the missing file');
    assert.equal(failed.result, -2, 'ENOENT');
    assert.equal(failed.nparams, failed.schema.length);
    assert.equal(p(failed, 'exe'), undefined);
    assert.equal(p(failed, 'args'), undefined);
  });

  it('records connect and accept with tuples read from the socket, on loopback', async (t) => {
    if (!python) return t.skip('python3 is not installed');
    const server = createServer((c) => c.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const { stdout, recs, code } = await run(python, [WORKLOAD, 'net', String(port), tmp]);
      assert.equal(code, 0);
      const lines = stdout.trim().split('\n').map((l) => l.split(' '));

      // To our listener: source = the client's end, destination = 127.0.0.1:port.
      const c1 = one(recs, 'connect', (r) => (p(r, 'addr') as { port?: number } | undefined)?.port === port, `to port ${port}`);
      assert.equal(c1.result, 0);
      assert.deepEqual(p(c1, 'addr'), { family: 2, ip: '127.0.0.1', port });
      const t1 = p(c1, 'tuple') as SockTuple & { sip: string; sport: number; dip: string; dport: number };
      assert.equal(t1.family, 2);
      assert.equal(t1.sip, '127.0.0.1');
      assert.ok(t1.sport > 0);
      assert.equal(t1.dip, '127.0.0.1');
      assert.equal(t1.dport, port);
      assert.equal(typeof p(c1, 'fd'), 'bigint');

      for (const [host, srvPort, cliPort] of lines) {
        const family = host === '::1' ? 10 : 2;
        const sp = Number(srvPort);
        const cp = Number(cliPort);
        const bind = one(recs, 'bind', (r) => (p(r, 'addr') as SockAddr & { port?: number }).family === family, `on ${host}`);
        assert.deepEqual(p(bind, 'addr'), { family, ip: host, port: 0 });
        one(recs, 'listen', (r) => p(r, 'fd') === p(bind, 'fd'), `on ${host}`);
        const conn = one(recs, 'connect', (r) => (p(r, 'tuple') as { dport?: number } | undefined)?.dport === sp, `to ${host}:${sp}`);
        assert.deepEqual(p(conn, 'tuple'), { family, sip: host, sport: cp, dip: host, dport: sp });
        // The accepted socket: source = the client (remote end), destination = the server (us).
        const acc = recs.find((r) => (r.typeName === 'accept4' || r.typeName === 'accept') && r.result >= 0
          && (p(r, 'tuple') as { dport?: number } | undefined)?.dport === sp);
        assert.ok(acc, `no accept on ${host}:${sp}: ${describeAll(recs)}`);
        assert.deepEqual(p(acc, 'tuple'), { family, sip: host, sport: cp, dip: host, dport: sp });
        assert.equal(p(acc, 'fd'), BigInt(acc.result));
        assert.equal(p(acc, 'listen_fd'), p(bind, 'fd'));
      }

      const path = join(tmp, 's.sock');
      const ubind = one(recs, 'bind', (r) => (p(r, 'addr') as SockAddr).family === 1, 'of the unix socket');
      assert.deepEqual(p(ubind, 'addr'), { family: 1, path });
      const uconn = one(recs, 'connect', (r) => (p(r, 'tuple') as SockTuple | undefined)?.family === 1, 'to the unix socket');
      const ut = p(uconn, 'tuple') as { family: 1; source: bigint; dest: bigint; path: string };
      assert.equal(ut.path, path);
      assert.notEqual(ut.source, 0n);
      assert.notEqual(ut.dest, 0n);

      // Unconnected UDP: the destination comes from the sendto address.
      const send = one(recs, 'sendto', (r) => (p(r, 'tuple') as { dport?: number } | undefined)?.dport === port, 'over UDP');
      assert.equal(p(send, 'size'), 1);
      assert.equal((p(send, 'tuple') as { dip: string }).dip, '127.0.0.1');
      assert.equal(p(send, 'data'), undefined, 'data is not captured');
      const sock = one(recs, 'socket', (r) => ((p(r, 'type') as number) & 0xf) === 2, 'for UDP');
      assert.equal(p(sock, 'domain'), 2);
    } finally {
      server.close();
    }
  });

  it('records file, id and process syscalls with their parameters', async (t) => {
    if (!python) return t.skip('python3 is not installed');
    const dir = mkdtempSync(join(tmp, 'files-'));
    const { recs, code, stderr } = await run(python, [WORKLOAD, 'files', dir]);
    assert.equal(code, 0, stderr);
    const byName = (type: string, name: string, value: unknown): SyscallRecord =>
      one(recs, type, (r) => p(r, name) === value, `with ${name}=${String(value)}`);
    const chdir = byName('chdir', 'path', dir);
    assert.equal(chdir.result, 0);
    assert.equal(p(byName('mkdir', 'path', 'sub'), 'mode'), 0o750);
    const mkdirat = byName('mkdirat', 'path', 'sub2');
    assert.equal(p(mkdirat, 'mode'), 0o700);
    assert.ok((p(mkdirat, 'dirfd') as bigint) >= 0n);
    assert.equal(p(byName('rename', 'oldpath', 'a'), 'newpath'), 'b');
    assert.equal(p(byName('link', 'oldpath', 'b'), 'newpath'), 'c');
    assert.equal(p(byName('symlink', 'target', 'b'), 'linkpath'), 'd');
    const chmod = recs.find((r) => (r.typeName === 'chmod' || r.typeName === 'fchmodat') && p(r, 'filename') === 'b');
    assert.ok(chmod, describeAll(recs));
    assert.equal(p(chmod, 'mode'), 0o640);
    assert.equal(p(one(recs, 'fchmod', () => true, ''), 'mode'), 0o600);
    const chown = recs.find((r) => (r.typeName === 'chown' || r.typeName === 'fchownat') && (p(r, 'path') ?? p(r, 'pathname')) === 'b');
    assert.ok(chown, describeAll(recs));
    assert.equal(p(chown, 'uid'), 0);
    assert.equal(p(one(recs, 'fchown', () => true, ''), 'gid'), 0);
    const dup = recs.find((r) => (r.typeName === 'dup2' || r.typeName === 'dup3') && p(r, 'newfd') === 100n);
    assert.ok(dup, describeAll(recs));
    assert.equal(dup.result, 100);
    one(recs, 'close', (r) => p(r, 'fd') === 100n, 'of fd 100');
    const unlink = recs.find((r) => (r.typeName === 'unlink' || r.typeName === 'unlinkat') && (p(r, 'path') ?? p(r, 'name')) === 'c');
    assert.ok(unlink, describeAll(recs));
    const rmdir = recs.find((r) => (r.typeName === 'rmdir' || r.typeName === 'unlinkat') && (p(r, 'path') ?? p(r, 'name')) === 'sub');
    assert.ok(rmdir, describeAll(recs));
    const pipe = one(recs, 'pipe2', (r) => p(r, 'flags') === 0, 'from os.pipe()');
    assert.ok(typeof p(pipe, 'fd1') === 'bigint' && typeof p(pipe, 'fd2') === 'bigint');
    assert.ok((p(pipe, 'ino') as bigint) > 0n);
    assert.equal(p(one(recs, 'pipe2', (r) => p(r, 'flags') === 0o2000000, 'with O_CLOEXEC'), 'fd1') !== undefined, true);
    one(recs, 'fchdir', (r) => r.result === 0, '');
    const kill = one(recs, 'kill', (r) => p(r, 'sig') === 0, 'with signal 0');
    assert.equal(p(kill, 'pid'), BigInt(kill.tgid));
    const setresuid = one(recs, 'setresuid', () => true, '');
    assert.deepEqual([p(setresuid, 'ruid'), p(setresuid, 'euid'), p(setresuid, 'suid')], [0, 0, 0]);
    assert.equal(p(one(recs, 'setgid', () => true, ''), 'gid'), 0);
    const prctl = one(recs, 'prctl', (r) => p(r, 'option') === 15, 'PR_SET_NAME');
    assert.equal(p(prctl, 'arg2_str'), 'tiercel-pr');
    const ptrace = one(recs, 'ptrace', () => true, '');
    assert.ok(ptrace.result < 0);
    assert.deepEqual([p(ptrace, 'request'), p(ptrace, 'pid'), p(ptrace, 'addr')], [2, 1, 0x1234n]);
    const bpf = one(recs, 'bpf', () => true, '');
    assert.equal(p(bpf, 'cmd'), 5);
    assert.ok(bpf.result < 0);
    one(recs, 'userfaultfd', (r) => p(r, 'flags') === 0, '');
  });

  it('records a memfd exec with FROM_MEMFD, and a failed module load', async (t) => {
    if (!python) return t.skip('python3 is not installed');
    const { recs } = await run(python, [WORKLOAD, 'memfd', realpathSync('/bin/true')]);
    const memfd = one(recs, 'memfd_create', (r) => p(r, 'name') === 'tiercel-test', 'named tiercel-test');
    assert.ok(memfd.result >= 0);
    const exec = one(recs, 'execve', (r) => r.result === 0 && p(r, 'exe') === 'memfd-true', 'of the memfd');
    assert.notEqual((p(exec, 'flags') as number) & EXE_FLAGS.FROM_MEMFD, 0);
    assert.ok((p(exec, 'trusted_exepath') as string).startsWith('/memfd:tiercel-test'), String(p(exec, 'trusted_exepath')));
    assert.match(p(exec, 'filename') as string, /^\/proc\/self\/fd\/\d+$/);

    const mod = await run(python, [WORKLOAD, 'module']);
    const init = one(mod.recs, 'init_module', () => true, '');
    assert.ok(init.result < 0, 'not a module');
    assert.equal(p(init, 'length'), 12n);
    assert.equal(p(init, 'uargs'), 'tiercel=1');
    const finit = one(mod.recs, 'finit_module', () => true, '');
    assert.ok(finit.result < 0);
    assert.equal(p(finit, 'uargs'), 'tiercel=2');
    assert.equal(p(finit, 'flags'), 0);
  });

  it('records a thread as a clone with CLONE_THREAD and no cgroups', async (t) => {
    if (!python) return t.skip('python3 is not installed');
    const { pid, recs } = await run(python, [WORKLOAD, 'thread']);
    const clone = recs.find((r) => CLONES.has(r.type) && r.tgid === pid && typeof p(r, 'flags') === 'bigint'
      && ((p(r, 'flags') as bigint) & CLONE_THREAD) !== 0n);
    assert.ok(clone, describeAll(recs));
    assert.ok(clone.result > 0);
    assert.equal(p(clone, 'cgroups'), undefined);
    const threadExit = one(recs, 'procexit', (r) => r.tid === clone.result, 'of the thread');
    assert.equal(threadExit.tgid, pid);
    assert.equal(p(threadExit, 'reaper_tid'), undefined, 'the process lives on');
  });

  it('records an unshare into new pid and mount namespaces, with the ids inside them', async (t) => {
    const unshare = await which('unshare');
    if (!unshare) return t.skip('unshare (util-linux) is not installed');
    const { recs, code, stderr } = await run(unshare, ['--pid', '--mount', '--fork', 'sh', '-c', 'cat /etc/hostname > /dev/null; true']);
    assert.equal(code, 0, stderr);
    const call = one(recs, 'unshare', (r) => r.result === 0, 'that succeeded');
    const flags = p(call, 'flags') as bigint;
    assert.equal(flags & (CLONE_NEWPID | CLONE_NEWNS), CLONE_NEWPID | CLONE_NEWNS);
    const sh = one(recs, 'execve', (r) => r.result === 0 && p(r, 'comm') === 'sh', 'of sh inside');
    assert.equal(p(sh, 'vpid'), 1, 'sh is init of the new pid namespace');
    assert.notEqual(p(sh, 'pidns'), statSync('/proc/self/ns/pid', { bigint: true }).ino);
    assert.notEqual(p(sh, 'mntns'), statSync('/proc/self/ns/mnt', { bigint: true }).ino);
    assert.equal(p(sh, 'pid'), sh.tgid, 'host pid');
    const cat = one(recs, 'execve', (r) => r.result === 0 && p(r, 'comm') === 'cat', 'of cat inside');
    assert.ok((p(cat, 'vpid') as number) > 1 && (p(cat, 'vpid') as number) < 10, String(p(cat, 'vpid')));
    assert.equal(p(cat, 'pidns'), p(sh, 'pidns'));
    // cat is reaped by sh... and sh's children would go to sh, the namespace's init.
    const forkInside = recs.find((r) => CLONES.has(r.type) && r.tgid === sh.tgid && r.result > 0);
    assert.ok(forkInside);
    assert.equal(p(forkInside, 'vpid'), p(cat, 'vpid'));
  });

  it('puts a process in a cgroup named as containerd names pod containers, and reports that path', async (t) => {
    const v2 = ['/sys/fs/cgroup/unified', '/sys/fs/cgroup'].find((d) => {
      try {
        return statSync(join(d, 'cgroup.procs')).isFile() && readFileSync('/proc/mounts', 'utf8').includes(` ${d} cgroup2 `);
      } catch {
        return false;
      }
    });
    if (!v2) return t.skip('no cgroup v2 hierarchy mounted');
    const id = 'b'.repeat(32) + 'c0ffee'.repeat(5) + 'aa';
    const rel = `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1234abcd_5678_90ef_1234_567890abcdef.slice/cri-containerd-${id}.scope`;
    const dir = join(v2, rel);
    try {
      mkdirSync(dir, { recursive: true });
    } catch (err) {
      return t.skip(`cannot create a cgroup under ${v2}: ${(err as Error).message}`);
    }
    try {
      const { recs, code, stderr } = await run('sh', ['-c', `echo $$ > ${dir}/cgroup.procs && exec cat /etc/hostname`]);
      assert.equal(code, 0, stderr);
      const exec = one(recs, 'execve', (r) => r.result === 0 && p(r, 'comm') === 'cat', 'of cat in the pod cgroup');
      const cgroups = p(exec, 'cgroups') as string[];
      assert.ok(cgroups.some((c) => c === `unified=${rel}` || (c.startsWith('unified=') && c.endsWith(rel))), cgroups.join(' '));
    } finally {
      // Remove the leaf first, then its parents (all empty again once cat exited).
      const parts = rel.split('/').filter(Boolean);
      for (let i = parts.length; i > 0; i--) {
        for (let attempt = 0; attempt < 20; attempt++) {
          try {
            rmdirSync(join(v2, ...parts.slice(0, i)));
            break;
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'EBUSY') break;
            await new Promise((r) => setTimeout(r, 25)); // the exited task leaves the cgroup asynchronously
          }
        }
      }
    }
  });

  it('never records its own process', async () => {
    readFileSync('/etc/hostname');
    writeFileSync(join(tmp, 'own'), 'x');
    await run('true', []);
    assert.equal(all.filter((r) => r.tgid === process.pid).length, 0);
  });

  it('emits every record with the parameter count of its schema', () => {
    const known = new Set(Object.values(addon!.layout().syscalls));
    let checked = 0;
    for (const r of all) {
      if (!known.has(r.type) && r.type !== PROCEXIT) continue;
      assert.equal(r.nparams, r.schema.length, `${r.typeName}: ${r.nparams} parameters, schema has ${r.schema.length}`);
      checked++;
    }
    assert.ok(checked > 100, `checked ${checked}`);
    const getppid = all.find((r) => r.typeName === 'getppid');
    if (getppid) assert.equal(getppid.nparams, 0);
  });

  it('changes the interesting set while running', async () => {
    sensor.setInteresting([PROCEXIT]);
    const a = await run('sh', ['-c', 'cat /etc/hostname > /dev/null']);
    assert.equal(named(a.recs, 'execve').length, 0);
    assert.equal(named(a.recs, 'openat').length, 0);
    sensor.setInteresting([...TRACED, PROCEXIT]);
    const b = await run('sh', ['-c', 'cat /etc/hostname > /dev/null']);
    assert.ok(named(b.recs, 'execve').length >= 2);
    assert.throws(() => sensor.setInteresting([99999]), /not an event type code/);
  });

  it('reports per-CPU counters and ring usage', () => {
    const s = sensor.stats();
    assert.ok(s.perCpu.length >= 1);
    const events = s.perCpu.reduce((n, c) => n + c.events, 0n);
    assert.ok(events >= BigInt(all.length) - 1n, `${events} events for ${all.length} records`);
    assert.ok(s.records >= BigInt(all.length));
    assert.ok(s.batches > 0n);
    assert.equal(s.userspaceDrops, 0n);
    for (const c of s.perCpu) assert.deepEqual(Object.keys(c.drops).sort(), [
      'clone_fork_exit', 'close', 'connect', 'dir_file', 'execve', 'max_event_size', 'no_ring', 'open', 'other', 'procexit',
    ]);
    assert.ok(s.rings.length >= 1 && s.rings.every((r) => r.size === 8 << 20 && r.used >= 0));
  });

  it('stops cleanly, and a second sensor opens, records and stops', async () => {
    let afterStop = 0;
    const first = addon!.openSensor({ interesting: [nr('execve')] });
    first.start(() => afterStop++);
    first.stop();
    afterStop = 0;
    first.stop();
    assert.throws(() => first.start(() => {}), /stopped/);
    const second = addon!.openSensor({ interesting: [nr('execve'), PROCEXIT], maxBatchDelayMs: 1 });
    const got: SyscallRecord[] = [];
    second.start((b) => got.push(...splitRecords(Buffer.from(b)).records));
    try {
      const child = spawn('true', [], { stdio: 'ignore' });
      await new Promise((r) => child.on('close', r));
      await waitFor(() => got.some((r) => r.type === PROCEXIT && r.tid === child.pid), 'the second sensor to see true exit');
      assert.ok(got.some((r) => r.typeName === 'execve' && r.tgid === child.pid && r.result === 0));
    } finally {
      second.stop();
    }
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(afterStop, 0, 'no batch after stop()');
  });

  it('rejects bad options with clear errors', () => {
    assert.throws(() => addon!.openSensor({ interesting: [1], ringBytes: 5000 }), /power of two/);
    assert.throws(() => addon!.openSensor({ interesting: [-1] }), /not an event type code/);
    assert.throws(() => addon!.openSensor({} as never), /interesting/);
    assert.throws(() => addon!.openSensor({ interesting: [], maxBatchBytes: 100 }), /maxBatchBytes/);
  });

  it('counts kernel drops when a tiny ring overflows, and keeps working', async (t) => {
    if (!python) return t.skip('python3 is not installed');
    const target = join(tmp, 'burst');
    writeFileSync(target, 'x');
    const tiny = addon!.openSensor({ interesting: [nr('openat'), nr('close'), nr('execve'), PROCEXIT], ringBytes: 16384 });
    const got: SyscallRecord[] = [];
    try {
      // Attached but not consuming yet: the burst (40000 records) overflows 16 KiB per CPU.
      const child = spawn(python!, [WORKLOAD, 'burst', '20000', target], { stdio: 'ignore' });
      await new Promise((r) => child.on('close', r));
      const s = tiny.stats();
      const drops = s.perCpu.reduce((n, c) => n + c.drops.open + c.drops.close, 0n);
      assert.ok(drops > 1000n, `drops ${drops}`);
      tiny.start((b) => got.push(...splitRecords(Buffer.from(b)).records));
      // The ring records every process on the machine: with other tests running beside this one,
      // 16 KiB can overflow again and take one short process's few records with it. So a few
      // processes get the chance; any of them being recorded shows the sensor working again.
      const pids: number[] = [];
      for (let attempt = 0; attempt < 5 && !got.some((r) => pids.includes(r.tgid)); attempt++) {
        const after = spawn('true', [], { stdio: 'ignore' });
        await new Promise((r) => after.on('close', r));
        pids.push(after.pid!);
        await waitFor(() => got.some((r) => pids.includes(r.tgid)), 'records after the overflow', 2000).catch(() => undefined);
      }
      assert.ok(got.some((r) => pids.includes(r.tgid)), `records of one of ${pids.length} processes started after the overflow`);
      const events = tiny.stats().perCpu.reduce((n, c) => n + c.events, 0n);
      assert.ok(events >= 40000n, `events ${events} include the dropped ones`);
    } finally {
      tiny.stop();
    }
  });

  it('counts userspace drops when JS falls behind, instead of blocking the kernel', async (t) => {
    if (!python) return t.skip('python3 is not installed');
    const target = join(tmp, 'burst2');
    writeFileSync(target, 'x');
    const slow = addon!.openSensor({
      interesting: [nr('openat'), nr('close'), nr('execve'), PROCEXIT],
      maxBatchBytes: 65536,
      maxQueuedBatches: 1,
    });
    let first = true;
    try {
      const child = spawn(python!, [WORKLOAD, 'burst', '20000', target], { stdio: 'ignore' });
      const done = new Promise((r) => child.on('close', r));
      slow.start(() => {
        if (!first) return;
        first = false;
        // Busy until the consumer, still reading the rings, has had to discard a batch
        // (at most 10 s): the burst runs in the child meanwhile.
        const until = Date.now() + 10_000;
        while (Date.now() < until && slow.stats().userspaceDrops === 0n) {
          // spin
        }
      });
      await done;
      await waitFor(() => slow.stats().userspaceDrops > 0n, 'userspace drops', 5000);
      const s = slow.stats();
      const kernelDrops = s.perCpu.reduce((n, c) => n + Object.values(c.drops).reduce((a, b) => a + b, 0n), 0n);
      assert.equal(kernelDrops, 0n, 'the kernel rings did not overflow');
    } finally {
      slow.stop();
    }
  });
});
