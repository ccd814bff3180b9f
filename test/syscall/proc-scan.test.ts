import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { endianness, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  ProcScanner,
  boundEnvironment,
  formatIpv6,
  parseProcNetAddress,
  parseProcStat,
  scanHost,
  scanHostWithStats,
} from '../../src/syscall/state/proc-scan.js';
import type { FdSnapshot, HostSnapshot, ProcessSnapshot } from '../../src/syscall/state/snapshot.js';
import { UserDatabase } from '../../src/syscall/state/users.js';

const temp: string[] = [];
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of temp) rmSync(d, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  temp.push(d);
  return d;
}

function sleeper(env?: NodeJS.ProcessEnv): ChildProcess {
  const c = spawn('sleep', ['60'], { stdio: 'ignore', ...(env ? { env } : {}) });
  children.push(c);
  return c;
}

const NO_USERS = new UserDatabase({ users: [], groups: [] });

describe('scanning the live machine', () => {
  let snapshot: HostSnapshot;
  let me: ProcessSnapshot;
  let filePath: string;
  let fileFd: number;
  let dirFd: number;
  let tcpServer: net.Server;
  let tcpPort: number;
  let client: net.Socket;
  let accepted: net.Socket | undefined;
  let udp: dgram.Socket;
  let udpPort: number;
  let unixServer: net.Server;
  let unixPath: string;
  let envChild: ChildProcess;

  before(async () => {
    const dir = tempDir('tiercel-scan-');
    filePath = join(dir, 'opened by the test.txt');
    fileFd = openSync(filePath, 'w');
    dirFd = openSync(dir, 'r');
    tcpServer = net.createServer();
    tcpServer.listen(0, '127.0.0.1');
    await once(tcpServer, 'listening');
    tcpPort = (tcpServer.address() as net.AddressInfo).port;
    const connection = once(tcpServer, 'connection');
    client = net.connect(tcpPort, '127.0.0.1');
    await once(client, 'connect');
    accepted = (await connection)[0] as net.Socket; // accepted: the server end now has an fd
    udp = dgram.createSocket('udp4');
    udp.bind(0, '127.0.0.1');
    await once(udp, 'listening');
    udpPort = udp.address().port;
    unixPath = join(dir, 'listen.sock');
    unixServer = net.createServer().listen(unixPath);
    await once(unixServer, 'listening');
    envChild = sleeper({
      PATH: process.env.PATH,
      PADDING: 'x'.repeat(5000),
      KUBERNETES_EXEC_AUDIT_ID: '7a1c3b9e-0f1d-4a57-9c2e-2b8e5d7f6a10',
      AFTER: 'y',
    });
    await once(envChild, 'spawn');
    snapshot = await scanHost({ envMaxBytes: 1024 });
    me = snapshot.processes.find((p) => p.pid === process.pid)!;
  });

  after(async () => {
    closeSync(fileFd);
    closeSync(dirFd);
    client.destroy();
    accepted?.destroy();
    udp.close();
    await new Promise<void>((r) => tcpServer.close(() => r()));
    await new Promise<void>((r) => unixServer.close(() => r()));
  });

  test('finds this test process with its pid, parent, cwd, uid and arguments', () => {
    assert.ok(me, 'the test process is in the snapshot');
    assert.equal(me.ppid, process.ppid);
    assert.equal(me.cwd, process.cwd());
    assert.equal(me.uid, process.getuid!());
    assert.equal(me.gid, process.getgid!());
    assert.equal(me.euid, process.geteuid!());
    const cmdline = readFileSync('/proc/self/cmdline', 'utf8').split('\0').slice(0, -1);
    assert.equal(me.exe, cmdline[0]);
    assert.deepEqual(me.args, cmdline.slice(1));
    assert.ok(
      me.args.some((a) => a.endsWith('proc-scan.test.ts')),
      `args name this test file: ${JSON.stringify(me.args)}`,
    );
    assert.equal(me.exepath, process.execPath);
    assert.equal(me.comm, readFileSync('/proc/self/comm', 'utf8').trim());
    assert.ok(me.threads.some((t) => t.tid === process.pid && t.vtid === me.vpid));
    assert.ok(me.threads.length > 1, 'node has worker threads');
    assert.ok(me.cgroups.length > 0);
    assert.ok(me.pidns > 0 && me.mntns > 0);
    assert.equal(me.capEffective, BigInt(`0x${/CapEff:\s*(\w+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]}`).toString());
  });

  test('dates the process start from boot time and clock ticks', () => {
    const started = Date.now() - process.uptime() * 1000;
    const ts = Number(BigInt(me.startTs) / 1_000_000n);
    assert.ok(Math.abs(ts - started) < 3000, `start ${ts} vs ${started}`);
    assert.ok(BigInt(snapshot.bootTime) > 0n);
    assert.ok(BigInt(snapshot.takenAt) >= BigInt(me.startTs));
  });

  test('lists the file and directory the test opened', () => {
    const f = me.fds.find((x) => x.fd === fileFd);
    assert.equal(f?.type, 'file');
    assert.equal(f?.name, filePath);
    assert.equal((f!.flags! & 3), 1, 'opened write-only');
    const d = me.fds.find((x) => x.fd === dirFd);
    assert.equal(d?.type, 'directory');
  });

  test('resolves the TCP listening socket on 127.0.0.1, and a connection from both ends', () => {
    const listen = me.fds.find((x) => x.type === 'ipv4' && x.sport === tcpPort && x.listening);
    assert.deepEqual(
      { type: listen?.type, l4proto: listen?.l4proto, sip: listen?.sip, dip: listen?.dip, listening: listen?.listening },
      { type: 'ipv4', l4proto: 'tcp', sip: '127.0.0.1', dip: undefined, listening: true },
    );
    assert.ok(listen!.ino! > 0);
    const out = me.fds.find((x) => x.type === 'ipv4' && x.dport === tcpPort && !x.listening);
    assert.equal(out?.sip, '127.0.0.1');
    assert.equal(out?.sport, client.localPort);
    const inbound = me.fds.find((x) => x.type === 'ipv4' && x.sport === tcpPort && !x.listening);
    assert.equal(inbound?.dport, client.localPort, 'the accepted end: local is the server port');
  });

  test('resolves the bound UDP socket and the listening unix socket', () => {
    const u = me.fds.find((x) => x.l4proto === 'udp' && x.sport === udpPort);
    assert.equal(u?.sip, '127.0.0.1');
    assert.equal(u?.dip, undefined);
    const s = me.fds.find((x) => x.type === 'unix' && x.name === unixPath);
    assert.equal(s?.listening, true);
  });

  test('recognizes pipes and eventfds (libuv uses both)', () => {
    assert.ok(me.fds.some((x) => x.type === 'pipe' && x.ino! > 0));
    assert.ok(me.fds.some((x) => x.type === 'event'));
  });

  test('bounds the environment but keeps allow-listed variables', () => {
    const c = snapshot.processes.find((p) => p.pid === envChild.pid);
    assert.ok(c, 'the child is in the snapshot');
    assert.equal(c.comm, 'sleep');
    assert.equal(c.ppid, process.pid);
    assert.ok(c.env.includes('KUBERNETES_EXEC_AUDIT_ID=7a1c3b9e-0f1d-4a57-9c2e-2b8e5d7f6a10'));
    assert.ok(!c.env.some((v) => v.startsWith('PADDING=')), 'the 5000-byte variable is over the 1024-byte cap');
    assert.ok(!c.env.includes('AFTER=y'), 'nothing but allow-listed variables after the cap');
  });

  test('includes hostname, kernel and users, and is plain JSON apart from nothing', () => {
    assert.ok(snapshot.hostname.length > 0);
    assert.match(snapshot.kernel, /^\d+\.\d+/);
    assert.ok(snapshot.users.some((u) => u.uid === 0));
    const round = JSON.parse(JSON.stringify(snapshot)) as HostSnapshot;
    assert.equal(round.processes.length, snapshot.processes.length);
  });
});

describe('processes that come and go', () => {
  test('a process that exits while it is being read is left out quietly', async () => {
    const victim = sleeper();
    await once(victim, 'spawn');
    const { snapshot, stats } = await scanHostWithStats({
      users: NO_USERS,
      afterStat: async (pid) => {
        if (pid !== victim.pid) return;
        victim.kill('SIGKILL');
        await once(victim, 'exit'); // reaped: its /proc entry is gone
      },
    });
    assert.equal(snapshot.processes.find((p) => p.pid === victim.pid), undefined);
    assert.ok(stats.vanished >= 1);
    assert.ok(snapshot.processes.some((p) => p.pid === process.pid));
  });

  test('a scan survives processes starting and exiting all through it', async () => {
    let running = true;
    const churn = (async () => {
      let n = 0;
      while (running && n < 200) {
        const c = spawn('true', { stdio: 'ignore' });
        await once(c, 'exit');
        n++;
      }
      return n;
    })();
    const results = await Promise.all([scanHost({ users: NO_USERS }), scanHost({ users: NO_USERS, concurrency: 1 })]);
    running = false;
    const spawned = await churn;
    assert.ok(spawned > 0);
    for (const s of results) assert.ok(s.processes.some((p) => p.pid === process.pid));
  });

  test('does not hold the event loop: other callbacks run while it scans', async () => {
    let ran = false;
    const scan = scanHost({ users: NO_USERS });
    setImmediate(() => {
      ran = true;
    });
    const s = await scan;
    assert.ok(ran);
    assert.ok(s.processes.length > 0);
  });

  test('an unexpected error while reading one process costs that process, not the scan', async () => {
    const { snapshot, stats } = await scanHostWithStats({
      users: NO_USERS,
      afterStat: (pid) => {
        if (pid === process.pid) throw new Error('boom');
      },
    });
    assert.equal(snapshot.processes.find((p) => p.pid === process.pid), undefined);
    assert.equal(stats.failed, 1);
    assert.ok(snapshot.processes.length > 1);
  });

  test('can be cancelled', async () => {
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await assert.rejects(scanHost({ users: NO_USERS, signal: ac.signal }), /stop/);
  });

  test('reads a single process on demand', async () => {
    const scanner = new ProcScanner({ users: NO_USERS });
    const p = await scanner.readProcess(process.pid);
    assert.equal(p?.pid, process.pid);
    assert.equal(await scanner.readProcess(2 ** 22 + 12345), undefined);
  });
});

// --- a fake /proc, for exact and edge-case parsing ------------------------------

/** /proc/net hex for an address, in this machine's byte order. */
function procHex(bytes: number[]): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 4) {
    const w = bytes.slice(i, i + 4);
    const n = endianness() === 'LE' ? (w[0]! | (w[1]! << 8) | (w[2]! << 16) | (w[3]! << 24)) >>> 0 : ((w[0]! << 24) | (w[1]! << 16) | (w[2]! << 8) | w[3]!) >>> 0;
    out += n.toString(16).toUpperCase().padStart(8, '0');
  }
  return out;
}
const port = (p: number): string => p.toString(16).toUpperCase().padStart(4, '0');
const v4 = (s: string): number[] => s.split('.').map(Number);
const V6_LOOPBACK = [...new Array<number>(15).fill(0), 1];
const v4mapped = (s: string): number[] => [...new Array<number>(10).fill(0), 0xff, 0xff, ...v4(s)];

function tcpLine(ino: number, local: number[], lport: number, remote: number[], rport: number, st: string): string {
  return `   0: ${procHex(local)}:${port(lport)} ${procHex(remote)}:${port(rport)} ${st} 00000000:00000000 00:00000000 00000000     0        0 ${ino} 1 0000000000000000 100 0 0 10 0`;
}
const TCP_HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';

function statLine(pid: number, comm: string, ppid: number, pgrp: number, session: number, tty: number, start: number): string {
  return `${pid} (${comm}) S ${ppid} ${pgrp} ${session} ${tty} -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 ${start} 0 0 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n`;
}

function write(path: string, content: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
}

function link(path: string, target: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  symlinkSync(target, path);
}

function buildFakeProc(): { proc: string; realFile: string; realDir: string } {
  const root = tempDir('tiercel-fakeproc-');
  const proc = join(root, 'proc');
  const realDir = join(root, 'data');
  const realFile = join(realDir, 'app.log');
  write(realFile, 'log\n');
  write(join(proc, 'stat'), 'cpu  1 2 3 4\nbtime 1700000000\nprocesses 1\n');

  // pid 100: a containerized process (nested pid namespace) with every kind of fd.
  const p = join(proc, '100');
  write(join(p, 'stat'), statLine(100, 'my (weird) proc', 1, 100, 90, 34817, 12345));
  write(
    join(p, 'status'),
    [
      'Name:\tmy (weird) proc',
      'Tgid:\t100',
      'PPid:\t1',
      'Uid:\t1000\t1001\t1001\t1001',
      'Gid:\t2000\t2001\t2001\t2001',
      'NSpid:\t100\t1',
      'NSpgid:\t100\t1',
      'NSsid:\t90\t1',
      'CapInh:\t0000000000000000',
      'CapPrm:\t00000000a80425fb',
      'CapEff:\t000001ffffffffff',
      '',
    ].join('\n'),
  );
  write(join(p, 'cmdline'), '/usr/bin/app\0--flag\0value with space\0');
  write(join(p, 'environ'), ['A=1', 'B=2', `BIG=${'z'.repeat(100)}`, 'SPO_EXEC_REQUEST_UID=req-1', 'C=3', 'KUBERNETES_EXEC_AUDIT_ID=audit-9', ''].join('\0'));
  write(join(p, 'cgroup'), '0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod8ca306fa_3c03_47fa_97dd_19979c345572.slice/crio-d6d725b909f37c3e232aadfbafa950a58bfe7baa579ba8c47a12be88bb921607.scope\n');
  write(join(p, 'loginuid'), '1000');
  link(join(p, 'exe'), '/usr/bin/app');
  link(join(p, 'cwd'), '/srv/app');
  link(join(p, 'ns', 'pid'), 'pid:[4026532000]');
  link(join(p, 'ns', 'mnt'), 'mnt:[4026532001]');
  link(join(p, 'ns', 'net'), 'net:[4026532100]');
  write(join(p, 'task', '100', 'comm'), 'my (weird) proc\n');
  write(join(p, 'task', '101', 'comm'), 'worker\n');
  write(join(p, 'task', '101', 'status'), 'Name:\tworker\nNSpid:\t101\t2\n');
  const fds: Record<number, string> = {
    0: realFile,
    1: realDir,
    3: 'socket:[1001]',
    4: 'socket:[1002]',
    5: 'socket:[1003]',
    6: 'socket:[1004]',
    7: 'socket:[1005]',
    8: 'socket:[9999]',
    9: 'pipe:[555]',
    10: 'anon_inode:[eventfd]',
    11: '/memfd:payload (deleted)',
    12: 'anon_inode:inotify',
    13: 'anon_inode:bpf-map',
    14: 'net:[4026531992]',
    15: 'anon_inode:[signalfd]',
    16: 'socket:[1006]',
    17: 'socket:[1007]',
    18: 'socket:[1008]',
    19: `${realFile} (deleted)`,
  };
  for (const [fd, target] of Object.entries(fds)) link(join(p, 'fd', fd), target);
  write(join(p, 'fdinfo', '0'), 'pos:\t0\nflags:\t0100001\nmnt_id:\t24\nino:\t3\n');
  write(join(p, 'fdinfo', '11'), 'pos:\t0\nflags:\t0100002\n');
  write(
    join(p, 'net', 'tcp'),
    [
      TCP_HEADER,
      tcpLine(1001, v4('127.0.0.1'), 8080, v4('0.0.0.0'), 0, '0A'),
      tcpLine(1002, v4('10.0.0.1'), 40000, v4('10.0.0.2'), 443, '01'),
      tcpLine(0, v4('10.0.0.1'), 40001, v4('10.0.0.2'), 443, '06'),
      '',
    ].join('\n'),
  );
  write(
    join(p, 'net', 'tcp6'),
    [
      TCP_HEADER,
      tcpLine(1003, v4mapped('10.0.0.5'), 8443, v4mapped('10.0.0.9'), 51000, '01'),
      tcpLine(1004, V6_LOOPBACK, 9090, new Array<number>(16).fill(0), 0, '0A'),
      '',
    ].join('\n'),
  );
  write(join(p, 'net', 'udp'), [TCP_HEADER, tcpLine(1006, v4('0.0.0.0'), 53, v4('0.0.0.0'), 0, '07'), ''].join('\n'));
  write(
    join(p, 'net', 'unix'),
    [
      'Num       RefCount Protocol Flags    Type St Inode Path',
      '0000000000000000: 00000002 00000000 00010000 0001 01  1007 /run/my app.sock',
      '0000000000000000: 00000003 00000000 00000000 0001 03  1008',
      '',
    ].join('\n'),
  );
  write(
    join(p, 'net', 'netlink'),
    ['sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode', '0000000000000000 0   100        00000000 0        0        0     2        0        1005', ''].join('\n'),
  );

  // pid 200: listed, but gone before its stat could be read.
  write(join(proc, '200', 'cmdline'), '');

  // pid 300: a kernel thread (no cmdline, no exe).
  const k = join(proc, '300');
  write(join(k, 'stat'), statLine(300, 'kworker/0:1', 2, 0, 0, 0, 5));
  write(join(k, 'status'), 'Name:\tkworker/0:1\nPPid:\t2\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nNSpid:\t300\n');
  write(join(k, 'cmdline'), '');
  write(join(k, 'task', '300', 'comm'), 'kworker/0:1\n');
  mkdirSync(join(k, 'fd'), { recursive: true });

  // Not processes.
  mkdirSync(join(proc, 'self'), { recursive: true });
  mkdirSync(join(proc, 'sys'), { recursive: true });
  return { proc, realFile, realDir };
}

describe('scanning a fake /proc', () => {
  let fake: ReturnType<typeof buildFakeProc>;
  let snap: HostSnapshot;
  let stats: Awaited<ReturnType<typeof scanHostWithStats>>['stats'];
  let p: ProcessSnapshot;
  const fd = (n: number): FdSnapshot | undefined => p.fds.find((f) => f.fd === n);

  before(async () => {
    fake = buildFakeProc();
    ({ snapshot: snap, stats } = await scanHostWithStats({
      procRoot: fake.proc,
      users: NO_USERS,
      hostname: 'node-1',
      envMaxBytes: 8,
    }));
    p = snap.processes.find((x) => x.pid === 100)!;
  });

  test('reads every field of a process', () => {
    assert.deepEqual(
      { ...p, threads: undefined, fds: undefined, env: undefined },
      {
        pid: 100,
        ppid: 1,
        comm: 'my (weird) proc',
        exe: '/usr/bin/app',
        exepath: '/usr/bin/app',
        args: ['--flag', 'value with space'],
        cwd: '/srv/app',
        uid: 1000,
        gid: 2000,
        euid: 1001,
        egid: 2001,
        loginuid: 1000,
        tty: 34817,
        sid: 90,
        pgid: 100,
        vpid: 1,
        vpgid: 1,
        cgroups: [
          '0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod8ca306fa_3c03_47fa_97dd_19979c345572.slice/crio-d6d725b909f37c3e232aadfbafa950a58bfe7baa579ba8c47a12be88bb921607.scope',
        ],
        pidns: 4026532000,
        mntns: 4026532001,
        startTs: (1_700_000_000n * 1_000_000_000n + 12345n * 10_000_000n).toString(),
        capPermitted: BigInt('0xa80425fb').toString(),
        capEffective: BigInt('0x1ffffffffff').toString(),
        capInheritable: '0',
        threads: undefined,
        fds: undefined,
        env: undefined,
      },
    );
    assert.equal(snap.hostname, 'node-1');
    assert.equal(snap.bootTime, '1700000000000000000');
  });

  test('gives each thread its name and its id in the process\'s pid namespace', () => {
    assert.deepEqual(p.threads, [
      { tid: 100, comm: 'my (weird) proc', vtid: 1 },
      { tid: 101, comm: 'worker', vtid: 2 },
    ]);
  });

  test('keeps the environment within the cap plus the allow-listed variables', () => {
    assert.deepEqual(p.env, ['A=1', 'B=2', 'SPO_EXEC_REQUEST_UID=req-1', 'KUBERNETES_EXEC_AUDIT_ID=audit-9']);
  });

  test('classifies files, directories, pipes, memfds and anonymous inodes', () => {
    assert.deepEqual(fd(0), { fd: 0, type: 'file', name: fake.realFile, flags: 0o100001 });
    assert.equal(fd(1)?.type, 'directory');
    assert.deepEqual(fd(9), { fd: 9, type: 'pipe', name: 'pipe:[555]', ino: 555 });
    assert.deepEqual(fd(10), { fd: 10, type: 'event', name: 'anon_inode:[eventfd]' });
    assert.deepEqual(fd(11), { fd: 11, type: 'memfd', name: 'memfd:payload', flags: 0o100002 });
    assert.equal(fd(12)?.type, 'inotify');
    assert.equal(fd(13)?.type, 'bpf');
    assert.equal(fd(14)?.type, 'unknown');
    assert.equal(fd(15)?.type, 'signalfd');
    assert.equal(fd(19)?.name, `${fake.realFile} (deleted)`);
  });

  test('resolves sockets through the namespace\'s tables', () => {
    assert.deepEqual(fd(3), { fd: 3, type: 'ipv4', name: 'socket:[1001]', ino: 1001, l4proto: 'tcp', sip: '127.0.0.1', sport: 8080, listening: true });
    assert.deepEqual(fd(4), {
      fd: 4,
      type: 'ipv4',
      name: 'socket:[1002]',
      ino: 1002,
      l4proto: 'tcp',
      sip: '10.0.0.1',
      sport: 40000,
      dip: '10.0.0.2',
      dport: 443,
    });
    assert.deepEqual(
      { type: fd(5)?.type, sip: fd(5)?.sip, dip: fd(5)?.dip, dport: fd(5)?.dport },
      { type: 'ipv4', sip: '10.0.0.5', dip: '10.0.0.9', dport: 51000 },
      'a v4-mapped address on a tcp6 socket is IPv4',
    );
    assert.deepEqual({ type: fd(6)?.type, sip: fd(6)?.sip, sport: fd(6)?.sport, listening: fd(6)?.listening }, { type: 'ipv6', sip: '::1', sport: 9090, listening: true });
    assert.deepEqual(fd(7), { fd: 7, type: 'netlink', name: 'socket:[1005]', ino: 1005 });
    assert.deepEqual(fd(8), { fd: 8, type: 'unknown', name: 'socket:[9999]', ino: 9999 });
    assert.deepEqual(fd(16), { fd: 16, type: 'ipv4', name: 'socket:[1006]', ino: 1006, l4proto: 'udp', sip: '0.0.0.0', sport: 53 });
    assert.deepEqual(fd(17), { fd: 17, type: 'unix', name: '/run/my app.sock', ino: 1007, listening: true });
    assert.deepEqual(fd(18), { fd: 18, type: 'unix', name: 'socket:[1008]', ino: 1008 });
  });

  test('leaves out a listed process that is gone, and keeps a kernel thread', () => {
    assert.deepEqual(snap.processes.map((x) => x.pid), [100, 300]);
    assert.equal(stats.vanished, 1);
    const k = snap.processes.find((x) => x.pid === 300)!;
    assert.equal(k.exe, 'kworker/0:1', 'no cmdline: exe is the comm');
    assert.equal(k.exepath, '');
    assert.deepEqual(k.args, []);
    assert.equal(k.loginuid, 4294967295, 'no loginuid file: unset');
    assert.deepEqual(k.fds, []);
  });

  test('honours the process, fd and thread bounds', async () => {
    const s = await scanHostWithStats({ procRoot: fake.proc, users: NO_USERS, maxFdsPerProcess: 3, maxThreadsPerProcess: 1, maxProcesses: 2 });
    const q = s.snapshot.processes.find((x) => x.pid === 100)!;
    assert.deepEqual(q.fds.map((f) => f.fd), [0, 1, 3]);
    assert.deepEqual(q.threads.map((t) => t.tid), [100]);
    assert.equal(s.stats.processesDropped, 1);
    assert.ok(s.stats.truncated >= 2);
  });

  test('can skip fdinfo reads', async () => {
    const s = await scanHost({ procRoot: fake.proc, users: NO_USERS, fdFlags: false });
    assert.equal(s.processes.find((x) => x.pid === 100)!.fds.find((f) => f.fd === 0)?.flags, undefined);
  });
});

describe('parsing helpers', () => {
  test('/proc/<pid>/stat with a comm holding spaces and parentheses', () => {
    const s = parseProcStat(statLine(7, ') x (', 1, 7, 7, 0, 99));
    assert.equal(s?.comm, ') x (');
    assert.equal(s?.ppid, 1);
    assert.equal(s?.startTicks, 99n);
    assert.equal(parseProcStat('garbage'), undefined);
  });

  test('/proc/net addresses in this machine\'s byte order; IPv6 text as RFC 5952', () => {
    assert.deepEqual(parseProcNetAddress(`${procHex(v4('192.168.1.20'))}:0050`), { ip: '192.168.1.20', port: 80, v4: true });
    assert.deepEqual(parseProcNetAddress(`${procHex(V6_LOOPBACK)}:1F90`), { ip: '::1', port: 8080, v4: false });
    assert.equal(formatIpv6([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1]), '2001:db8::1:0:0:1');
    assert.equal(formatIpv6(new Array<number>(16).fill(0)), '::');
    assert.equal(formatIpv6([0xfe, 0x80, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7]), 'fe80:1:2:3:4:5:6:7');
    assert.equal(parseProcNetAddress('zz'), undefined);
  });

  test('environment bound', () => {
    const allow = new Set(['KEEP']);
    assert.deepEqual(boundEnvironment(['A=1', 'B=2', 'KEEP=x', 'C=3'], 4, allow), ['A=1', 'KEEP=x']);
    assert.deepEqual(boundEnvironment([], 4, allow), []);
  });
});
