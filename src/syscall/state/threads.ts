/**
 * The thread and process table.
 *
 * A `Process` (thread group) holds what its threads share: executable,
 * arguments, environment, credentials, working directory, fd table,
 * container. A `Thread` is a tid with its own name and a reference to its
 * process. Seeded from a snapshot, then updated by clone/exec/exit records.
 *
 * Lifecycle: an exiting process is not forgotten at once. Events of other
 * CPUs can arrive slightly later, and a parent's fields are read through its
 * children, so exited processes stay for a grace period (in event time) and
 * are reaped after it; the table is bounded, evicting exited processes
 * first, then the least recently seen.
 */
import { type ContainerIdentity, HOST_IDENTITY } from './containers.js';
import { FdTable } from './fds.js';

export class Process {
  pid: number;
  ppid: number;
  /** Name of the main thread (comm, at most 15 characters). */
  comm: string;
  /** argv[0]. */
  exe = '';
  exepath = '';
  args: readonly string[] = [];
  env: readonly string[] = [];
  cwd = '';
  uid = 0xffffffff;
  gid = 0xffffffff;
  euid = 0xffffffff;
  egid = 0xffffffff;
  loginuid = 0xffffffff;
  tty = 0;
  sid = 0;
  pgid = 0;
  vpid = 0;
  vpgid = 0;
  cgroups: readonly string[] = [];
  container: ContainerIdentity = HOST_IDENTITY;
  pidns = 0;
  mntns = 0;
  capPermitted = 0n;
  capEffective = 0n;
  capInheritable = 0n;
  /** Execve `flags` bits (writable exe, overlay upper layer, memfd). */
  exeFlags = 0;
  exeIno = 0n;
  exeInoCtime = 0n;
  exeInoMtime = 0n;
  /** Process creation and last exec times, ns since the epoch (0 when unknown). */
  startTs = 0n;
  execTs = 0n;
  fds: FdTable;
  /** Set when the whole thread group has exited (ns, event time). */
  exitedAt: bigint | undefined;
  /** Last time an event referenced the process, ms (for LRU eviction). */
  lastSeen = 0;
  /** Live threads of the group. */
  readonly threads = new Set<number>();
  /** Pids of the processes whose parent this is (kept for reparenting on exit). */
  readonly children = new Set<number>();

  constructor(pid: number, ppid: number, comm: string, fds = new FdTable()) {
    this.pid = pid;
    this.ppid = ppid;
    this.comm = comm;
    this.fds = fds;
  }

  /** A child created by fork/clone without CLONE_THREAD: inherits almost everything. */
  fork(pid: number, share: { files: boolean }): Process {
    const c = new Process(pid, this.pid, this.comm, share.files ? this.fds : this.fds.clone());
    c.exe = this.exe;
    c.exepath = this.exepath;
    c.args = this.args;
    c.env = this.env;
    c.cwd = this.cwd;
    c.uid = this.uid;
    c.gid = this.gid;
    c.euid = this.euid;
    c.egid = this.egid;
    c.loginuid = this.loginuid;
    c.tty = this.tty;
    c.sid = this.sid;
    c.pgid = this.pgid;
    c.vpgid = this.vpgid;
    c.cgroups = this.cgroups;
    c.container = this.container;
    c.pidns = this.pidns;
    c.mntns = this.mntns;
    c.capPermitted = this.capPermitted;
    c.capEffective = this.capEffective;
    c.capInheritable = this.capInheritable;
    c.exeFlags = this.exeFlags;
    c.exeIno = this.exeIno;
    c.exeInoCtime = this.exeInoCtime;
    c.exeInoMtime = this.exeInoMtime;
    c.execTs = this.execTs;
    return c;
  }
}

export class Thread {
  constructor(
    readonly tid: number,
    public proc: Process,
    public comm: string,
    public vtid: number,
  ) {}
}

export interface ThreadTableOptions {
  /** Most processes kept (default 65536). */
  readonly maxProcesses?: number;
  /** How long an exited process stays, in ns of event time (default 5 s). */
  readonly gracePeriodNs?: bigint;
}

export class ThreadTable {
  private readonly threads = new Map<number, Thread>();
  private readonly processes = new Map<number, Process>();
  private readonly exited: Process[] = [];
  private readonly maxProcesses: number;
  private readonly grace: bigint;
  /** Counters for health and tests. */
  readonly stats = { created: 0, reaped: 0, evicted: 0, unknownThreads: 0, vanished: 0 };

  constructor(options: ThreadTableOptions = {}) {
    this.maxProcesses = options.maxProcesses ?? 65536;
    this.grace = options.gracePeriodNs ?? 5_000_000_000n;
  }

  thread(tid: number): Thread | undefined {
    return this.threads.get(tid);
  }

  process(pid: number): Process | undefined {
    return this.processes.get(pid);
  }

  get processCount(): number {
    return this.processes.size;
  }

  get threadCount(): number {
    return this.threads.size;
  }

  /** Adds a process and its main thread. */
  addProcess(proc: Process, comm: string, vtid: number, now: bigint): Thread {
    this.makeRoom(now);
    const existing = this.processes.get(proc.pid);
    if (existing && existing !== proc) this.forget(existing);
    this.processes.set(proc.pid, proc);
    this.processes.get(proc.ppid)?.children.add(proc.pid);
    proc.lastSeen = Number(now / 1_000_000n);
    this.stats.created++;
    return this.addThread(proc, proc.pid, comm, vtid);
  }

  /** Adds a thread to an existing process. */
  addThread(proc: Process, tid: number, comm: string, vtid: number): Thread {
    const old = this.threads.get(tid);
    if (old && old.proc !== proc) old.proc.threads.delete(tid);
    const t = new Thread(tid, proc, comm, vtid);
    this.threads.set(tid, t);
    proc.threads.add(tid);
    return t;
  }

  /**
   * A thread exited. When it was the last of its group the process is marked
   * exited; its children are reparented to `reaper` (or init).
   */
  exitThread(tid: number, reaper: number, now: bigint): void {
    const t = this.threads.get(tid);
    if (!t) return;
    this.threads.delete(tid);
    const proc = t.proc;
    proc.threads.delete(tid);
    if (proc.threads.size > 0 || proc.exitedAt !== undefined) return;
    proc.exitedAt = now;
    this.exited.push(proc);
    const newParent = reaper > 0 ? reaper : 1;
    const adopter = this.processes.get(newParent);
    for (const childPid of proc.children) {
      const child = this.processes.get(childPid);
      if (!child || child.ppid !== proc.pid) continue;
      child.ppid = newParent;
      adopter?.children.add(childPid);
    }
    proc.children.clear();
  }

  /**
   * Marks exited the processes that no event has referenced since `idleSinceMs`
   * (event time, ms) and that `alive` says are gone. Their exit was never seen:
   * its record was dropped (a ring or the agent's queue overflowed), and
   * nothing else would remove them, so under sustained drops the table would
   * fill with the dead until `maxProcesses` evicts. They are then reaped after
   * the grace period like any exited process. Returns how many were marked.
   */
  markVanished(idleSinceMs: number, alive: (pid: number) => boolean, now: bigint): number {
    const gone: Process[] = [];
    for (const p of this.processes.values()) {
      if (p.exitedAt === undefined && p.lastSeen < idleSinceMs && p.pid > 1 && !alive(p.pid)) gone.push(p);
    }
    for (const p of gone) {
      for (const tid of [...p.threads]) this.exitThread(tid, 0, now);
      if (p.exitedAt === undefined) {
        // A process without live threads in the table (seeded, or its threads were replaced).
        p.exitedAt = now;
        this.exited.push(p);
      }
    }
    this.stats.vanished += gone.length;
    return gone.length;
  }

  /** Drops exited processes whose grace period is over. Call with the current event time. */
  reap(now: bigint): void {
    while (this.exited.length > 0) {
      const p = this.exited[0]!;
      if (p.exitedAt === undefined) {
        this.exited.shift();
        continue;
      }
      if (now - p.exitedAt < this.grace) break;
      this.exited.shift();
      if (this.processes.get(p.pid) === p) {
        this.forget(p);
        this.stats.reaped++;
      }
    }
  }

  /** Rebuilds the children sets from ppids (after seeding, where parents may come after children). */
  relinkChildren(): void {
    for (const p of this.processes.values()) p.children.clear();
    for (const p of this.processes.values()) this.processes.get(p.ppid)?.children.add(p.pid);
  }

  /**
   * A successful exec kills the other threads of the group and the exec'ing
   * thread takes over the thread-group id; returns the surviving thread.
   */
  execSurvivor(thread: Thread): Thread {
    const proc = thread.proc;
    for (const tid of [...proc.threads]) {
      if (tid !== thread.tid) {
        proc.threads.delete(tid);
        if (this.threads.get(tid)?.proc === proc) this.threads.delete(tid);
      }
    }
    if (thread.tid === proc.pid) return thread;
    proc.threads.delete(thread.tid);
    this.threads.delete(thread.tid);
    return this.addThread(proc, proc.pid, thread.comm, thread.vtid);
  }

  /** Ancestors of a process, nearest first (bounded, and safe against cycles). */
  *ancestors(proc: Process, max = 64): Generator<Process> {
    let cur: Process | undefined = proc;
    const seen = new Set<number>([proc.pid]);
    for (let i = 0; i < max; i++) {
      const parent: Process | undefined = cur.ppid > 0 ? this.processes.get(cur.ppid) : undefined;
      if (!parent || seen.has(parent.pid)) return;
      seen.add(parent.pid);
      yield parent;
      cur = parent;
    }
  }

  private forget(p: Process): void {
    this.processes.delete(p.pid);
    this.processes.get(p.ppid)?.children.delete(p.pid);
    for (const tid of p.threads) {
      if (this.threads.get(tid)?.proc === p) this.threads.delete(tid);
    }
  }

  private makeRoom(now: bigint): void {
    if (this.processes.size < this.maxProcesses) return;
    this.reap(now + this.grace);
    if (this.processes.size < this.maxProcesses) return;
    // Evict the least recently seen tenth (a rare path: only on huge or leaking hosts).
    const victims = [...this.processes.values()].sort((a, b) => (a.lastSeen < b.lastSeen ? -1 : 1))
      .slice(0, Math.max(1, Math.floor(this.maxProcesses / 10)));
    for (const v of victims) {
      this.forget(v);
      this.stats.evicted++;
    }
  }
}
