/**
 * The syscall state machine: turns records into events with context.
 *
 * For each record, `apply` finds the thread (creating a placeholder for a
 * thread never seen), updates the tables as the syscall's effect requires
 * (clone adds a process, execve replaces its program, open adds an fd...)
 * and returns the event for the rules. Effects that must happen *after* the
 * rules saw the event (close forgets the fd, exit forgets the thread) run at
 * the start of the next `apply`, or on `flush`.
 */
import { CLONE_FILES, CLONE_THREAD, O_ACCMODE, O_F_CREATED } from '../flags.js';
import { SyscallEvent } from '../event.js';
import { AT_FDCWD, basename, resolvePath } from '../paths.js';
import type { SockAddr, SockTuple, SyscallRecord } from '../record.js';
import { AF_INET, AF_INET6, AF_UNIX } from '../record.js';
import { containerFromCgroups } from './containers.js';
import { type FdInfo, type FdType, hostPort, socketName } from './fds.js';
import type { MetadataProvider } from './metadata.js';
import type { FdSnapshot, HostSnapshot } from './snapshot.js';
import { Process, type Thread, ThreadTable, type ThreadTableOptions } from './threads.js';
import { UserDatabase } from './users.js';

export interface SyscallStateOptions extends ThreadTableOptions {
  readonly users?: UserDatabase;
  readonly metadata?: MetadataProvider;
  /** The host name reported with alerts (from a capture header, or the live host). */
  readonly hostname?: string;
}

const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;
const SOCK_RAW = 3;
const EINPROGRESS = 115;

function fdFromSnapshot(s: FdSnapshot): FdInfo {
  const type = (s.type in FD_TYPES ? s.type : 'unknown') as FdType;
  const info: FdInfo = { type, name: s.name };
  if (s.flags !== undefined) info.flags = s.flags;
  if (s.ino !== undefined) info.ino = Number(s.ino);
  if (s.l4proto) info.l4proto = s.l4proto;
  // The snapshot gives local (sip/sport) and remote (dip/dport) ends; the
  // server side is the local one for listening or server sockets.
  const server = s.listening === true;
  if (s.sip !== undefined && s.sport !== undefined) {
    if (server) { info.sip = s.sip; info.sport = s.sport; } else { info.cip = s.sip; info.cport = s.sport; }
  }
  if (s.dip !== undefined && s.dport !== undefined) {
    if (server) { info.cip = s.dip; info.cport = s.dport; } else { info.sip = s.dip; info.sport = s.dport; }
  }
  if (server) info.server = true;
  return info;
}

const FD_TYPES: Record<string, true> = {
  file: true, directory: true, ipv4: true, ipv6: true, unix: true, pipe: true, event: true, signalfd: true,
  eventpoll: true, inotify: true, timerfd: true, netlink: true, bpf: true, userfaultfd: true, io_uring: true,
  memfd: true, pidfd: true, unknown: true,
};

export class SyscallState {
  readonly threads: ThreadTable;
  readonly users: UserDatabase;
  readonly metadata: MetadataProvider | undefined;
  readonly hostname: string | undefined;
  private pending: (() => void) | undefined;
  private applied = 0;

  constructor(options: SyscallStateOptions = {}) {
    this.threads = new ThreadTable(options);
    this.users = options.users ?? new UserDatabase();
    this.metadata = options.metadata;
    this.hostname = options.hostname;
  }

  /** Seeds the tables from a snapshot (a capture header or a live /proc scan). */
  seed(snapshot: HostSnapshot): void {
    const now = BigInt(snapshot.takenAt || '0');
    for (const s of snapshot.processes) {
      const p = new Process(s.pid, s.ppid, s.comm);
      p.exe = s.exe;
      p.exepath = s.exepath;
      p.args = s.args;
      p.env = s.env;
      p.cwd = s.cwd;
      p.uid = s.uid;
      p.gid = s.gid;
      p.euid = s.euid;
      p.egid = s.egid;
      p.loginuid = s.loginuid;
      p.tty = s.tty;
      p.sid = s.sid;
      p.pgid = s.pgid;
      p.vpid = s.vpid;
      p.vpgid = s.vpgid;
      p.cgroups = s.cgroups;
      p.container = containerFromCgroups(s.cgroups);
      p.pidns = s.pidns;
      p.mntns = s.mntns;
      p.startTs = BigInt(s.startTs || '0');
      p.capPermitted = BigInt(s.capPermitted || '0');
      p.capEffective = BigInt(s.capEffective || '0');
      p.capInheritable = BigInt(s.capInheritable || '0');
      for (const fd of s.fds) p.fds.set(fd.fd, fdFromSnapshot(fd));
      const main = s.threads.find((t) => t.tid === s.pid);
      this.threads.addProcess(p, main?.comm ?? s.comm, main?.vtid ?? s.vpid, now);
      for (const t of s.threads) if (t.tid !== s.pid) this.threads.addThread(p, t.tid, t.comm, t.vtid);
    }
    this.threads.relinkChildren();
  }

  /** Runs the deferred effects of the last event (close, exit). */
  flush(): void {
    const p = this.pending;
    this.pending = undefined;
    p?.();
  }

  /** Updates the state for one record and returns the event the rules evaluate. */
  apply(rec: SyscallRecord): SyscallEvent {
    this.flush();
    if ((++this.applied & 1023) === 0) this.threads.reap(rec.ts);
    const thread = this.threadFor(rec);
    thread.proc.lastSeen = rec.tsMs;
    const name = rec.typeName;
    const handler = HANDLERS[name];
    if (handler) return handler(this, rec, thread);
    return new SyscallEvent(rec, thread, this, undefined, undefined);
  }

  /** The thread of a record, created (as an unknown process) when never seen. */
  private threadFor(rec: SyscallRecord): Thread {
    const t = this.threads.thread(rec.tid);
    if (t) return t;
    this.threads.stats.unknownThreads++;
    let proc = this.threads.process(rec.tgid);
    if (!proc) {
      proc = new Process(rec.tgid, 0, '');
      return this.threads.addProcess(proc, '', 0, rec.ts);
    }
    return this.threads.addThread(proc, rec.tid, proc.comm, 0);
  }

  /** Directory a *at() path is relative to: the dirfd's path, or the cwd for AT_FDCWD. */
  dirOf(proc: Process, dirfd: number | undefined): string {
    if (dirfd === undefined || dirfd === AT_FDCWD) return proc.cwd;
    return proc.fds.get(dirfd)?.name ?? '';
  }

  defer(fn: () => void): void {
    this.pending = fn;
  }
}

type Handler = (state: SyscallState, rec: SyscallRecord, thread: Thread) => SyscallEvent;

function ev(state: SyscallState, rec: SyscallRecord, thread: Thread, fd?: FdInfo, fdNum?: number): SyscallEvent {
  return new SyscallEvent(rec, thread, state, fd, fdNum);
}

function num(v: unknown): number | undefined {
  return typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : undefined;
}

function onClone(state: SyscallState, rec: SyscallRecord, thread: Thread): SyscallEvent {
  const childTid = rec.result;
  if (childTid <= 0 || state.threads.thread(childTid)) return ev(state, rec, thread);
  const flags = rec.num(0) ?? 0;
  const vtid = rec.num(1) ?? childTid;
  const vpid = rec.num(2);
  const parent = thread.proc;
  if (flags & CLONE_THREAD) {
    state.threads.addThread(parent, childTid, thread.comm, vtid);
  } else {
    const child = parent.fork(childTid, { files: (flags & CLONE_FILES) !== 0 });
    child.vpid = vpid ?? childTid;
    child.startTs = rec.ts;
    const cgroups = rec.strv(3);
    if (cgroups && cgroups.length) {
      child.cgroups = cgroups;
      child.container = containerFromCgroups(cgroups);
    }
    state.threads.addProcess(child, thread.comm, vtid, rec.ts);
  }
  return ev(state, rec, thread);
}

function onExec(state: SyscallState, rec: SyscallRecord, caller: Thread): SyscallEvent {
  if (rec.result !== 0) return ev(state, rec, caller);
  const thread = state.threads.execSurvivor(caller);
  const at = rec.typeName === 'execveat' ? 1 : 0;
  const get = (name: string): unknown => rec.paramByName(name);
  const proc = thread.proc;
  // After a successful exec the calling thread is the only one left and takes the pid.
  // A new program: what it was started with replaces the old one's, and an
  // absent (zero-length) argv or environment means an empty one (execve with
  // argc 0, `env -i`), not "keep the previous program's".
  const exe = get('exe');
  proc.exe = typeof exe === 'string' ? exe : '';
  const args = get('args');
  proc.args = Array.isArray(args) ? (args as string[]) : [];
  const env = get('env');
  proc.env = Array.isArray(env) ? (env as string[]) : [];
  const cwd = get('cwd');
  if (typeof cwd === 'string' && cwd) proc.cwd = cwd;
  const comm = get('comm');
  const newComm = typeof comm === 'string' && comm ? comm : basename(proc.exe).slice(0, 15);
  proc.comm = newComm;
  thread.comm = newComm;
  const trusted = get('trusted_exepath');
  const filename = get('filename');
  if (typeof trusted === 'string' && trusted) proc.exepath = trusted;
  else if (typeof filename === 'string' && filename) proc.exepath = resolvePath(state.dirOf(proc, at ? rec.num(0) : undefined), filename);
  const set = (key: keyof Process, name: string, conv: (v: unknown) => unknown = num): void => {
    const v = get(name);
    if (v !== undefined) (proc as unknown as Record<string, unknown>)[key] = conv(v);
  };
  set('euid', 'uid');
  set('egid', 'gid');
  set('uid', 'ruid');
  set('gid', 'rgid');
  if (get('ruid') === undefined && get('uid') !== undefined) proc.uid = proc.euid;
  if (get('rgid') === undefined && get('gid') !== undefined) proc.gid = proc.egid;
  set('loginuid', 'loginuid');
  set('tty', 'tty');
  set('vpgid', 'vpgid');
  set('pgid', 'pgid');
  set('sid', 'sid');
  set('vpid', 'vpid');
  set('exeFlags', 'flags');
  set('pidns', 'pidns');
  set('mntns', 'mntns');
  const big = (v: unknown): bigint => (typeof v === 'bigint' ? v : BigInt(Number(v) || 0));
  set('capPermitted', 'cap_permitted', big);
  set('capEffective', 'cap_effective', big);
  set('capInheritable', 'cap_inheritable', big);
  set('exeIno', 'exe_ino', big);
  set('exeInoCtime', 'exe_ino_ctime', big);
  set('exeInoMtime', 'exe_ino_mtime', big);
  const cgroups = get('cgroups');
  if (Array.isArray(cgroups) && cgroups.length) {
    proc.cgroups = cgroups as string[];
    proc.container = containerFromCgroups(proc.cgroups);
  }
  proc.execTs = rec.ts;
  if (proc.startTs === 0n) proc.startTs = rec.ts;
  return ev(state, rec, thread);
}

function onExit(state: SyscallState, rec: SyscallRecord, thread: Thread): SyscallEvent {
  const reaper = rec.numByName('reaper_tid') ?? 0;
  state.defer(() => state.threads.exitThread(thread.tid, reaper, rec.ts));
  return ev(state, rec, thread);
}

/** open/openat/openat2/creat: the fd (or, on failure, the attempted path). */
function onOpen(state: SyscallState, rec: SyscallRecord, thread: Thread): SyscallEvent {
  const proc = thread.proc;
  const dirfd = rec.typeName === 'openat' || rec.typeName === 'openat2' ? rec.numByName('dirfd') : undefined;
  const raw = rec.strByName('name') ?? '';
  const path = resolvePath(state.dirOf(proc, dirfd), raw);
  let flags = rec.numByName('flags') ?? 0;
  if (rec.typeName === 'creat') flags = 0o1101 | (flags & O_F_CREATED); // O_WRONLY|O_CREAT|O_TRUNC
  const info: FdInfo = { type: flags & 0o200000 ? 'directory' : 'file', name: path, nameRaw: raw, flags };
  const dev = rec.numByName('dev');
  if (dev !== undefined) info.dev = dev;
  const ino = rec.numByName('ino');
  if (ino !== undefined) info.ino = ino;
  const fd = rec.result;
  if (fd >= 0) proc.fds.set(fd, info);
  return ev(state, rec, thread, info, fd);
}

function onMemfd(state: SyscallState, rec: SyscallRecord, thread: Thread): SyscallEvent {
  const fd = rec.result;
  const info: FdInfo = { type: 'memfd', name: `memfd:${rec.strByName('name') ?? ''}`, flags: 2 };
  if (fd >= 0) thread.proc.fds.set(fd, info);
  return ev(state, rec, thread, info, fd);
}

function onClose(state: SyscallState, rec: SyscallRecord, thread: Thread): SyscallEvent {
  const fd = rec.num(0);
  if (fd === undefined) return ev(state, rec, thread);
  const info = thread.proc.fds.get(fd);
  if (rec.result === 0) state.defer(() => thread.proc.fds.delete(fd));
  return ev(state, rec, thread, info, fd);
}

function onDup(state: SyscallState, rec: SyscallRecord, thread: Thread): SyscallEvent {
  const oldfd = rec.num(0);
  const newfd = rec.result;
  if (oldfd === undefined || newfd < 0) return ev(state, rec, thread, oldfd === undefined ? undefined : thread.proc.fds.get(oldfd), oldfd);
  const info = oldfd === newfd ? thread.proc.fds.get(oldfd) : thread.proc.fds.dup(oldfd, newfd);
  return ev(state, rec, thread, info, newfd);
}

function onPipe(state: SyscallState, rec: SyscallRecord, thread: Thread): SyscallEvent {
  if (rec.result !== 0) return ev(state, rec, thread);
  const ino = rec.paramByName('ino');
  const name = `pipe:[${typeof ino === 'bigint' ? ino : 0}]`;
  const a = num(rec.paramByName('fd1'));
  const b = num(rec.paramByName('fd2'));
  if (a !== undefined) thread.proc.fds.set(a, { type: 'pipe', name, flags: 0 });
  if (b !== undefined) thread.proc.fds.set(b, { type: 'pipe', name, flags: 1 });
  return ev(state, rec, thread);
}

function socketType(domain: number): FdType {
  return domain === AF_INET ? 'ipv4' : domain === AF_INET6 ? 'ipv6' : domain === AF_UNIX ? 'unix' : domain === 16 ? 'netlink' : 'unknown';
}

function l4(type: number): FdInfo['l4proto'] {
  const kind = type & 0xf;
  return kind === SOCK_STREAM ? 'tcp' : kind === SOCK_DGRAM ? 'udp' : kind === SOCK_RAW ? 'raw' : undefined;
}

function onSocket(state: SyscallState, rec: SyscallRecord, thread: Thread): SyscallEvent {
  const fd = rec.result;
  const domain = rec.numByName('domain') ?? 0;
  const info: FdInfo = { type: socketType(domain), name: '', domain };
  const proto = l4(rec.numByName('type') ?? 0);
  if (proto && (domain === AF_INET || domain === AF_INET6)) info.l4proto = proto;
  if (fd >= 0) thread.proc.fds.set(fd, info);
  return ev(state, rec, thread, info, fd);
}

/** Applies a connection tuple to an fd; creates the fd when unknown. */
function withTuple(proc: Process, fd: number, tuple: SockTuple | undefined, server: boolean): FdInfo {
  let info = proc.fds.get(fd);
  if (!info) {
    info = { type: tuple?.family === AF_INET6 ? 'ipv6' : tuple?.family === AF_UNIX ? 'unix' : 'ipv4', name: '' };
    proc.fds.set(fd, info);
  }
  if (tuple && 'sip' in tuple) {
    // The kernel's tuple is source->destination; for connect and accept alike
    // the source is the client and the destination the server.
    info.type = tuple.family === AF_INET6 ? 'ipv6' : 'ipv4';
    info.cip = tuple.sip;
    info.cport = tuple.sport;
    info.sip = tuple.dip;
    info.sport = tuple.dport;
    info.l4proto ??= 'tcp';
    const name = socketName(tuple.sip, tuple.sport, tuple.dip, tuple.dport);
    if (info.name && info.name !== name) info.nameChanged = true;
    info.name = name;
  } else if (tuple && 'path' in tuple) {
    info.type = 'unix';
    info.name = tuple.path;
  }
  info.server = server;
  return info;
}

function onConnect(state: SyscallState, rec: SyscallRecord, thread: Thread): SyscallEvent {
  const fd = rec.num(0);
  if (fd === undefined) return ev(state, rec, thread);
  const info = withTuple(thread.proc, fd, rec.param(1) as SockTuple | undefined, false);
  info.connected = rec.result === 0 || rec.result === -EINPROGRESS;
  return ev(state, rec, thread, info, fd);
}

function onAccept(state: SyscallState, rec: SyscallRecord, thread: Thread): SyscallEvent {
  const fd = rec.result;
  const listenFd = rec.numByName('listen_fd');
  const listening = listenFd === undefined ? undefined : thread.proc.fds.get(listenFd);
  if (fd < 0) return ev(state, rec, thread, listening, listenFd);
  const info = withTuple(thread.proc, fd, rec.param(1) as SockTuple | undefined, true);
  if (listening?.l4proto) info.l4proto = listening.l4proto;
  info.connected = true;
  return ev(state, rec, thread, info, fd);
}

function onBind(state: SyscallState, rec: SyscallRecord, thread: Thread): SyscallEvent {
  const fd = rec.num(0);
  if (fd === undefined) return ev(state, rec, thread);
  const info = thread.proc.fds.get(fd);
  const addr = rec.param(1) as SockAddr | undefined;
  if (info && rec.result === 0 && addr) {
    if ('ip' in addr) {
      info.sip = addr.ip;
      info.sport = addr.port;
      info.server = true;
      info.name = hostPort(addr.ip, addr.port);
    } else if ('path' in addr) {
      info.name = addr.path;
      info.server = true;
    }
  }
  return ev(state, rec, thread, info, fd);
}

/** Events that name an fd but do not change it (listen, read, write, sendto...). */
function onFdEvent(state: SyscallState, rec: SyscallRecord, thread: Thread): SyscallEvent {
  const fd = rec.num(0);
  if (fd === undefined) return ev(state, rec, thread);
  let info = thread.proc.fds.get(fd);
  const spec = rec.schema.findIndex((s) => s.name === 'tuple');
  if (spec >= 0) {
    const tuple = rec.param(spec) as SockTuple | undefined;
    if (tuple && 'sip' in tuple && info && !info.connected) info = withTuple(thread.proc, fd, tuple, info.server ?? false);
  }
  if (rec.typeName === 'listen' && info) info.server = true;
  return ev(state, rec, thread, info, fd);
}

function onChdir(state: SyscallState, rec: SyscallRecord, thread: Thread): SyscallEvent {
  if (rec.result === 0) {
    const proc = thread.proc;
    if (rec.typeName === 'chdir') {
      const path = rec.str(0);
      if (path !== undefined) proc.cwd = resolvePath(proc.cwd, path);
    } else {
      const fd = rec.num(0);
      const dir = fd === undefined ? undefined : proc.fds.get(fd);
      if (dir) proc.cwd = dir.name;
    }
  }
  return ev(state, rec, thread);
}

function onSetuid(state: SyscallState, rec: SyscallRecord, thread: Thread): SyscallEvent {
  if (rec.result === 0) {
    const p = thread.proc;
    const keep = (v: number | undefined): v is number => v !== undefined && v !== 0xffffffff;
    switch (rec.typeName) {
      case 'setuid': { const u = rec.num(0); if (keep(u)) { p.uid = u; p.euid = u; } break; }
      case 'setgid': { const g = rec.num(0); if (keep(g)) { p.gid = g; p.egid = g; } break; }
      case 'setreuid':
      case 'setresuid': { const r = rec.num(0); const e = rec.num(1); if (keep(r)) p.uid = r; if (keep(e)) p.euid = e; break; }
      case 'setregid':
      case 'setresgid': { const r = rec.num(0); const e = rec.num(1); if (keep(r)) p.gid = r; if (keep(e)) p.egid = e; break; }
    }
  }
  return ev(state, rec, thread);
}

function onPrctl(state: SyscallState, rec: SyscallRecord, thread: Thread): SyscallEvent {
  const PR_SET_NAME = 15;
  if (rec.result === 0 && rec.num(0) === PR_SET_NAME) {
    const name = rec.str(1);
    if (name !== undefined) {
      thread.comm = name.slice(0, 15);
      if (thread.tid === thread.proc.pid) thread.proc.comm = thread.comm;
    }
  }
  return ev(state, rec, thread);
}

/** fchmod/fchown/fchdir-like calls: the event concerns the fd named by the first parameter. */
function onFdArg(state: SyscallState, rec: SyscallRecord, thread: Thread): SyscallEvent {
  const fd = rec.num(0);
  return ev(state, rec, thread, fd === undefined ? undefined : thread.proc.fds.get(fd), fd);
}

const HANDLERS: Record<string, Handler> = {
  clone: onClone, clone3: onClone, fork: onClone, vfork: onClone,
  execve: onExec, execveat: onExec,
  procexit: onExit,
  open: onOpen, openat: onOpen, openat2: onOpen, creat: onOpen,
  memfd_create: onMemfd,
  close: onClose,
  dup: onDup, dup2: onDup, dup3: onDup,
  pipe: onPipe, pipe2: onPipe,
  socket: onSocket,
  connect: onConnect,
  accept: onAccept, accept4: onAccept,
  bind: onBind,
  listen: onFdEvent, sendto: onFdEvent, sendmsg: onFdEvent, recvfrom: onFdEvent, recvmsg: onFdEvent,
  read: onFdEvent, write: onFdEvent,
  chdir: onChdir, fchdir: onChdir,
  setuid: onSetuid, setgid: onSetuid, setreuid: onSetuid, setregid: onSetuid, setresuid: onSetuid, setresgid: onSetuid,
  prctl: onPrctl,
  fchmod: onFdArg, fchown: onFdArg, finit_module: onFdArg, setns: onFdArg,
};

/** Access mode helpers for evt.is_open_read / is_open_write. */
export function openReads(flags: number): boolean {
  const acc = flags & O_ACCMODE;
  return acc === 0 || acc === 2;
}

export function openWrites(flags: number): boolean {
  const acc = flags & O_ACCMODE;
  return acc === 1 || acc === 2;
}
