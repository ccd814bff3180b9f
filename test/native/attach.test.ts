/**
 * How the sensor attaches its syscall programs (`agent.syscall_attach`): one
 * tp_btf/sys_exit program, or a fexit program per interesting syscall. Checks
 * the mode the addon reports, auto's fallback and its reason, that both modes
 * deliver the same records, that a syscall outside the set gets no program,
 * and that setInteresting attaches and detaches programs while running.
 *
 * Needs the addon built, kernel BTF and root (skips with the reason
 * otherwise). The fexit tests also need a kernel that runs fexit programs.
 * Where it refuses them (a probe load fails, as on the VM CI runs on:
 * lockdown=integrity, no trampolines) they are not registered, and the
 * fallback tests, which run everywhere, print that they were left out: a
 * skip would fail CI (TIERCEL_CI=1) on a machine that can never run them,
 * and `agent.syscall_attach` defaults to sys_exit until they have run in CI.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PSEUDO_EVENTS } from '../../src/syscall/event-types.js';
import { type Sensor, type SensorOptions } from '../../src/syscall/native/index.js';
import { sensorForTests } from '../helpers/sensor.js';
import { type SyscallRecord, splitRecords } from '../../src/syscall/record.js';
import { SYSCALLS_X86_64 } from '../../src/syscall/syscall-table.js';

const WORKLOAD = join(import.meta.dirname, 'fixtures', 'workload.py');
const PROCEXIT = PSEUDO_EVENTS.procexit;
const nr = (name: string): number => {
  const n = SYSCALLS_X86_64[name];
  assert.ok(n !== undefined, name);
  return n;
};
/** A syscall the programs know no parameters of, so it has no fexit program. */
const GETPPID = nr('getppid');

// ---- availability ---------------------------------------------------------------

const { addon, skip } = sensorForTests();

/** Whether this kernel runs the fexit programs: what auto chooses for a set they cover. */
function fexitAvailability(): string | false {
  if (skip || !addon) return skip;
  const s = addon.openSensor({ interesting: [nr('openat'), PROCEXIT] });
  try {
    const a = s.attachment();
    return a.mode === 'fexit' ? false : `this kernel does not run the fexit programs (auto fell back to sys_exit: ${a.fallbackReason})`;
  } finally {
    s.stop();
  }
}
const fexitSkip = fexitAvailability();

// ---- recording ------------------------------------------------------------------------

/** A started sensor and the records it delivered. */
class Recorder {
  readonly records: SyscallRecord[] = [];
  readonly sensor: Sensor;

  constructor(options: SensorOptions) {
    this.sensor = addon!.openSensor({ maxBatchDelayMs: 1, ...options });
    this.sensor.start((b) => this.records.push(...splitRecords(Buffer.from(b)).records));
  }

  /** The records of these processes. */
  of(pids: ReadonlySet<number>): SyscallRecord[] {
    return this.records.filter((r) => pids.has(r.tgid));
  }

  async sawExit(pid: number): Promise<void> {
    await waitFor(() => this.records.some((r) => r.type === PROCEXIT && r.tid === pid), `the procexit of ${pid}`);
  }
}

async function waitFor(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Runs a command to completion; returns its pid. */
async function run(cmd: string, args: string[], cwd?: string): Promise<number> {
  const child = spawn(cmd, args, { stdio: 'ignore', ...(cwd ? { cwd } : {}) });
  await new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', () => resolve());
  });
  return child.pid!;
}

/** The processes a run made: its pid and every child pid the clone records of `recs` name, recursively. */
function treeOf(pid: number, recs: readonly SyscallRecord[]): Set<number> {
  const pids = new Set([pid]);
  for (const r of recs) {
    if (r.typeName.startsWith('clone') || r.typeName === 'fork' || r.typeName === 'vfork') {
      if (pids.has(r.tgid) && r.result > 0) pids.add(r.result);
    }
  }
  return pids;
}

/** What must be equal between the two modes: everything but the timestamp and the CPU. */
function essence(r: SyscallRecord): string {
  const params: unknown[] = [];
  for (let i = 0; i < r.nparams; i++) params.push(r.param(i));
  return JSON.stringify([r.typeName, r.tid, r.tgid, r.result, params], (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
}

// ---- the tests --------------------------------------------------------------------------

describe('syscall attach modes', { skip }, () => {
  it('auto reports the mode it uses, and why when that is sys_exit', (t) => {
    if (fexitSkip) t.diagnostic(`the fexit record tests are not registered: ${fexitSkip}`);
    const s = addon!.openSensor({ interesting: [nr('openat'), nr('close'), PROCEXIT] });
    try {
      const a = s.attachment();
      assert.equal(s.attachMode(), a.mode);
      if (a.mode === 'fexit') {
        assert.deepEqual(a.fexitSyscalls, [nr('close'), nr('openat')].sort((x, y) => x - y));
        assert.equal(a.fallbackReason, '');
      } else {
        assert.deepEqual(a.fexitSyscalls, []);
        assert.match(a.fallbackReason, /fexit/);
      }
      assert.ok(a.loadMs > 0 && a.attachMs >= 0, JSON.stringify(a));
    } finally {
      s.stop();
    }
  });

  it('sys_exit mode attaches no fexit program and gives no reason', () => {
    const s = addon!.openSensor({ interesting: [nr('openat'), PROCEXIT], attach: 'sys_exit' });
    try {
      const a = s.attachment();
      assert.equal(a.mode, 'sys_exit');
      assert.equal(a.fallbackReason, '');
      assert.deepEqual(a.fexitSyscalls, []);
      assert.deepEqual(a.fexitAvailable, [], 'sys_exit mode loads no fexit program');
    } finally {
      s.stop();
    }
  });

  it('auto records a syscall without a fexit program through sys_exit, and says which', async () => {
    const rec = new Recorder({ interesting: [GETPPID, PROCEXIT] });
    try {
      const a = rec.sensor.attachment();
      assert.equal(a.mode, 'sys_exit');
      assert.match(a.fallbackReason, fexitSkip ? /fexit/ : /syscall 110 has no fexit program/);
      const pid = await run('sh', ['-c', 'echo $PPID > /dev/null']); // the shell asks getppid() at start
      await rec.sawExit(pid);
      assert.ok(rec.records.some((r) => r.type === GETPPID), 'getppid recorded');
    } finally {
      rec.sensor.stop();
    }
  });

  it('fexit mode fails with the reason when it cannot record the set', () => {
    assert.throws(() => addon!.openSensor({ interesting: [GETPPID, PROCEXIT], attach: 'fexit' }),
      fexitSkip ? /fexit attach mode: .*fexit/ : /fexit attach mode: syscall 110 has no fexit program/);
  });

  it('rejects an unknown attach mode', () => {
    assert.throws(() => addon!.openSensor({ interesting: [], attach: 'kprobe' as never }), /options.attach must be 'auto', 'fexit' or 'sys_exit'/);
  });
});

// Registered only where the kernel runs fexit programs (see the header).
if (!fexitSkip) describe('fexit programs', () => {
  let tmp: string;
  let python: string | undefined;

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'tiercel-attach-'));
    const found = await new Promise<string>((resolve) => {
      const c = spawn('sh', ['-c', 'command -v python3'], { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      c.stdout.on('data', (d: Buffer) => (out += d.toString()));
      c.on('close', () => resolve(out.trim()));
    });
    python = found || undefined;
  });

  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('deliver the same records as sys_exit: opens, connect, a failed exec, file syscalls', async (t) => {
    if (!python) return t.skip('python3 is not installed');
    const set = [
      'openat', 'close', 'socket', 'connect', 'execve', 'unlinkat', 'unlink', 'mkdir', 'mkdirat', 'rename', 'renameat2',
      'chmod', 'fchmod', 'link', 'symlink', 'rmdir', 'chdir', 'clone', 'clone3', 'fork', 'vfork',
    ].map(nr);
    const server = createServer((c) => c.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const viaSysExit = new Recorder({ interesting: [...set, PROCEXIT], attach: 'sys_exit' });
    const viaFexit = new Recorder({ interesting: [...set, PROCEXIT], attach: 'fexit' });
    try {
      assert.equal(viaFexit.sensor.attachMode(), 'fexit');
      assert.deepEqual(viaFexit.sensor.attachment().fexitSyscalls, [...set].sort((a, b) => a - b));
      const script = `${python} ${WORKLOAD} files ${tmp}; /nonexistent/tiercel-attach; ` +
        `exec 3<>/dev/tcp/127.0.0.1/${port}; cat /etc/hostname > /dev/null`;
      const pid = await run('bash', ['-c', script]);
      await viaSysExit.sawExit(pid);
      await viaFexit.sawExit(pid);
      const pids = treeOf(pid, viaSysExit.records);
      const want = viaSysExit.of(pids).filter((r) => r.type !== PROCEXIT).map(essence);
      const got = viaFexit.of(pids).filter((r) => r.type !== PROCEXIT).map(essence);
      assert.deepEqual(got, want);
      const types = new Set(viaFexit.of(pids).map((r) => r.typeName));
      for (const name of ['openat', 'connect', 'execve', 'unlinkat', 'mkdirat', 'renameat2', 'socket', 'close']) {
        assert.ok(types.has(name), `a ${name} record in both modes; got ${[...types].join(' ')}`);
      }
      const failedExec = viaFexit.of(pids).find((r) => r.typeName === 'execve' && r.result === -2);
      assert.equal(failedExec?.paramByName('filename'), '/nonexistent/tiercel-attach');
    } finally {
      viaSysExit.sensor.stop();
      viaFexit.sensor.stop();
      server.close();
    }
  });

  it('attach nothing to a syscall outside the set', async () => {
    const rec = new Recorder({ interesting: [nr('openat'), PROCEXIT], attach: 'fexit' });
    try {
      const a = rec.sensor.attachment();
      assert.deepEqual(a.fexitSyscalls, [nr('openat')]);
      assert.ok(a.fexitAvailable.includes(nr('mkdir')), 'mkdir has a program it could attach');
      const pid = await run('sh', ['-c', `mkdir ${join(tmp, 'outside')} && rmdir ${join(tmp, 'outside')}; cat /etc/hostname`]);
      await rec.sawExit(pid);
      const recs = rec.of(treeOf(pid, rec.records));
      assert.ok(recs.some((r) => r.typeName === 'openat'));
      assert.deepEqual(recs.filter((r) => r.typeName === 'mkdir' || r.typeName === 'rmdir'), []);
    } finally {
      rec.sensor.stop();
    }
  });

  it('follow setInteresting: programs are attached and detached while running', async () => {
    const rec = new Recorder({ interesting: [nr('openat'), PROCEXIT], attach: 'fexit' });
    const dir = join(tmp, 'live');
    const cmd = ['-c', `mkdir -p ${dir} && touch ${dir}/f && rm ${dir}/f; cat /etc/hostname`];
    const typesOf = async (): Promise<Set<string>> => {
      const pid = await run('sh', cmd);
      await rec.sawExit(pid);
      return new Set(rec.of(treeOf(pid, rec.records)).map((r) => r.typeName));
    };
    try {
      let types = await typesOf();
      assert.ok(types.has('openat') && !types.has('unlinkat'), [...types].join(' '));

      rec.sensor.setInteresting([nr('openat'), nr('unlinkat'), PROCEXIT]);
      assert.deepEqual(rec.sensor.attachment().fexitSyscalls, [nr('openat'), nr('unlinkat')]);
      types = await typesOf();
      assert.ok(types.has('openat') && types.has('unlinkat'), `unlinkat records start: ${[...types].join(' ')}`);

      rec.sensor.setInteresting([nr('unlinkat'), PROCEXIT]);
      assert.deepEqual(rec.sensor.attachment().fexitSyscalls, [nr('unlinkat')]);
      types = await typesOf();
      assert.ok(types.has('unlinkat') && !types.has('openat'), `openat records stop: ${[...types].join(' ')}`);
    } finally {
      rec.sensor.stop();
    }
  });

  it('in auto, switch to sys_exit for a set that needs it and back to fexit after', async () => {
    const rec = new Recorder({ interesting: [nr('openat'), PROCEXIT] });
    try {
      assert.equal(rec.sensor.attachMode(), 'fexit');
      rec.sensor.setInteresting([nr('openat'), GETPPID, PROCEXIT]);
      let a = rec.sensor.attachment();
      assert.equal(a.mode, 'sys_exit');
      assert.deepEqual(a.fexitSyscalls, []);
      assert.match(a.fallbackReason, /syscall 110/);
      let pid = await run('sh', ['-c', 'cat /etc/hostname > /dev/null']);
      await rec.sawExit(pid);
      const opens = (p: number): number => rec.of(treeOf(p, rec.records)).filter((r) => r.typeName === 'openat').length;
      assert.ok(opens(pid) > 0, 'openat through sys_exit');

      rec.sensor.setInteresting([nr('openat'), PROCEXIT]);
      a = rec.sensor.attachment();
      assert.equal(a.mode, 'fexit');
      assert.equal(a.fallbackReason, '');
      pid = await run('sh', ['-c', 'cat /etc/hostname > /dev/null']);
      await rec.sawExit(pid);
      // Once each: the switch never leaves both kinds recording.
      const perOpen = rec.of(treeOf(pid, rec.records)).filter((r) => r.typeName === 'openat').map(essence);
      assert.equal(new Set(perOpen).size, perOpen.length, 'no openat recorded twice');
      assert.ok(perOpen.length > 0, 'openat through fexit');
    } finally {
      rec.sensor.stop();
    }
  });

  it('in fexit mode, refuse a set with a syscall it cannot attach, keeping the running one', () => {
    const s = addon!.openSensor({ interesting: [nr('openat'), PROCEXIT], attach: 'fexit' });
    try {
      assert.throws(() => s.setInteresting([GETPPID, PROCEXIT]), /setInteresting: fexit attach mode: syscall 110 .*previous set is kept/);
      const a = s.attachment();
      assert.equal(a.mode, 'fexit');
      assert.deepEqual(a.fexitSyscalls, [nr('openat')]);
    } finally {
      s.stop();
    }
  });
});
