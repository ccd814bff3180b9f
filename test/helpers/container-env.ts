/**
 * A container-like environment for tests that run real workloads under the
 * agent: its own PID, mount and UTS namespaces, an optional overlay
 * filesystem, a private /dev/shm, and a cgroup named as the kubelet names pod
 * containers, entered the way `kubectl exec` enters a container (setns +
 * cgroup.procs, from a parent named containerd-shim). The namespaces and
 * cgroups are made by test/agent/fixtures/attack.py (ctr-init, ctr-exec).
 * Needs root.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './cli.js';

export const ATTACK_FIXTURE = join(ROOT, 'test', 'agent', 'fixtures', 'attack.py');
/** The real interpreter, not a version manager's shell shim (which would add a bash parent). */
export const PY = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ---- running scenario programs ----------------------------------------------------------

export interface Ran {
  readonly pid: number;
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** When the program had exited (ms since the epoch): every syscall of the scenario happened before. */
  readonly end: number;
}

/** Runs a program to completion, asynchronously (never spawnSync: the test's event loop must stay free). */
export function run(cmd: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ pid: child.pid!, code, stdout, stderr, end: Date.now() });
    });
  });
}

// ---- cgroups --------------------------------------------------------------------------------

export interface CgroupMounts {
  /** The cgroup v2 hierarchy. */
  readonly v2?: string;
  /** The cgroup v1 pids hierarchy. */
  readonly pids?: string;
}

export function cgroupMounts(): CgroupMounts {
  let v2: string | undefined;
  let pids: string | undefined;
  for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
    const [, dir, type, opts] = line.split(' ');
    if (type === 'cgroup2') v2 ??= dir;
    if (type === 'cgroup' && opts?.split(',').includes('pids')) pids ??= dir;
  }
  return { ...(v2 ? { v2 } : {}), ...(pids ? { pids } : {}) };
}

/** A cgroup path created for the test; removes what did not exist before, leaf first. */
export class TestCgroup {
  readonly dir: string;
  private readonly created: string[] = [];

  constructor(readonly root: string, readonly rel: string) {
    const parts = rel.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) {
      const d = join(root, ...parts.slice(0, i));
      if (!existsSync(d)) this.created.push(d);
    }
    this.dir = join(root, ...parts);
    mkdirSync(this.dir, { recursive: true });
  }

  /**
   * Removes the directories this test created, leaf first. Returns the leaf
   * if it could not be removed (a process of ours is still in it). A parent
   * that stays busy is in use by someone else (test/native/sensor.test.ts
   * creates kubepods.slice too), who removes it: it is left alone.
   */
  async remove(): Promise<string[]> {
    const left: string[] = [];
    for (const d of [...this.created].reverse()) {
      for (let attempt = 0; ; attempt++) {
        try {
          rmdirSync(d);
          break;
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'ENOENT') break;
          if (code !== 'EBUSY' || attempt >= 80) {
            if (d === this.dir || code !== 'EBUSY') left.push(`${d}: ${code}`);
            break;
          }
          await sleep(25); // an exited task leaves its cgroup asynchronously
        }
      }
    }
    return left;
  }
}

// ---- the container-like environment ---------------------------------------------------------

/** Who a container is: chosen before the agent starts, so the metadata file can name it. */
export interface ContainerIdentity {
  /** Full 64-hex id, as in the cgroup name. */
  readonly fullId: string;
  readonly podUid: string;
  /** What the agent's metadata file says about it (container A), if anything. */
  readonly meta?: { readonly name: string; readonly image: string; readonly pod: string; readonly namespace: string };
}

export function newIdentity(meta?: ContainerIdentity['meta']): ContainerIdentity {
  return { fullId: randomBytes(32).toString('hex'), podUid: randomUUID(), ...(meta ? { meta } : {}) };
}

export interface Container {
  readonly label: string;
  readonly meta?: ContainerIdentity['meta'];
  /** Full 64-hex id, as in the cgroup name. */
  readonly fullId: string;
  /** container.id: the first 12 hex digits. */
  readonly id: string;
  readonly podUid: string;
  /** container.type the cgroup path implies. */
  readonly runtime: string;
  readonly cgroup: TestCgroup;
  /** Host pid of the container's pid 1. */
  readonly initPid: number;
  readonly overlay?: { readonly merged: string };
  readonly init: ChildProcess;
}

export async function startContainer(label: string, who: ContainerIdentity, opts: {
  cgroupRoot: string;
  rel: (uid: string, id: string) => string;
  runtime: string;
  tmp: string;
  overlay: boolean;
}): Promise<Container> {
  const { podUid, fullId } = who;
  const cgroup = new TestCgroup(opts.cgroupRoot, opts.rel(podUid, fullId));
  const args = [ATTACK_FIXTURE, 'ctr-init', '--cgroup', cgroup.dir, '--hostname', `tiercel-${label}`, '--shm'];
  let overlay: { merged: string } | undefined;
  if (opts.overlay) {
    const base = join(opts.tmp, `overlay-${label}`);
    const [lower, upper, work, merged] = ['lower', 'upper', 'work', 'merged'].map((d) => join(base, d));
    for (const d of [lower!, upper!, work!, merged!]) mkdirSync(d, { recursive: true });
    args.push('--overlay', `${lower}:${upper}:${work}:${merged}`);
    overlay = { merged: merged! };
  }
  const init = spawn(PY, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  init.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  init.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const deadline = Date.now() + 20_000;
  let initPid: number | undefined;
  while (initPid === undefined) {
    const m = /READY (\d+)/.exec(out);
    if (m) initPid = Number(m[1]);
    else if (init.exitCode !== null || init.signalCode !== null) throw new Error(`container ${label} did not start: ${err}${out}`);
    else if (Date.now() > deadline) throw new Error(`container ${label} did not start within 20 s: ${err}${out}`);
    else await sleep(10);
  }
  return {
    label, fullId, id: fullId.slice(0, 12), podUid, runtime: opts.runtime, cgroup, initPid, init,
    ...(overlay ? { overlay } : {}), ...(who.meta ? { meta: who.meta } : {}),
  };
}

export async function stopContainer(c: Container): Promise<string[]> {
  if (c.init.exitCode === null && c.init.signalCode === null) {
    const exited = new Promise((r) => c.init.on('exit', r));
    c.init.kill('SIGTERM');
    const timer = setTimeout(() => {
      try {
        process.kill(c.initPid, 'SIGKILL');
      } catch {
        // gone
      }
      c.init.kill('SIGKILL');
    }, 5000);
    await exited;
    clearTimeout(timer);
  }
  return c.cgroup.remove();
}

export interface Exec extends Ran {
  /** Host pid of the program started in the container. */
  readonly childPid: number;
}

/** Runs ARGV in the container as `kubectl exec` does: setns into its namespaces, join its cgroup, from "containerd-shim". */
export async function ctrExec(c: Container, argv: readonly string[], opts: { tty?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<Exec> {
  const r = await run(PY, [ATTACK_FIXTURE, 'ctr-exec', '--target', String(c.initPid), '--cgroup', c.cgroup.dir, ...(opts.tty ? ['--tty'] : []), '--', ...argv],
    opts.env ? { env: opts.env } : {});
  const m = /^PID (\d+)$/m.exec(r.stderr);
  assert.ok(m, `ctr-exec did not report its child's pid: ${r.stderr}`);
  return { ...r, childPid: Number(m[1]) };
}

