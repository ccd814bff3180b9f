/**
 * The parameters each event type carries, in wire order (native/wire.h).
 * Names are Falco's (`evt.arg.flags`, `evt.arg.name`, `evt.arg.request`) so
 * upstream rules read the same arguments; `render` says how `evt.arg.NAME`
 * prints a value (Falco prints flags and enums symbolically).
 *
 * Every record is a syscall *exit* (or a pseudo event): the sensor fills
 * each parameter at exit, reading what it needs from the syscall's entry
 * arguments, so one record describes one completed call.
 */

/** Wire encoding, mirroring `enum tc_param_type`. */
export type ParamEncoding = 'u64' | 'i64' | 'u32' | 'i32' | 'u16' | 'str' | 'strv' | 'sockaddr' | 'socktuple' | 'bytes';

export const ENCODING_CODES: Readonly<Record<ParamEncoding, number>> = {
  u64: 1, i64: 2, u32: 3, i32: 4, u16: 5, str: 6, strv: 7, sockaddr: 8, socktuple: 9, bytes: 10,
};

/** How a value renders in `evt.arg.NAME` / `evt.args`. */
export type Render =
  | 'dec' | 'hex' | 'oct' | 'fd' | 'dirfd' | 'path' | 'str' | 'strv' | 'uid' | 'gid' | 'pid'
  | 'oflags' | 'mode' | 'ptrace' | 'sockfamily' | 'socktype' | 'clone' | 'mount' | 'umount' | 'at'
  | 'rename' | 'memfd' | 'bpfcmd' | 'prctl' | 'signal' | 'sockaddr' | 'tuple' | 'bytes' | 'errno';

export interface ParamSpec {
  readonly name: string;
  readonly enc: ParamEncoding;
  readonly render: Render;
}

function p(name: string, enc: ParamEncoding, render?: Render): ParamSpec {
  const def: Render = enc === 'str' ? 'str' : enc === 'strv' ? 'strv' : enc === 'sockaddr' ? 'sockaddr'
    : enc === 'socktuple' ? 'tuple' : enc === 'bytes' ? 'bytes' : 'dec';
  return { name, enc, render: render ?? def };
}

const FD = p('fd', 'i64', 'fd');
const DIRFD = p('dirfd', 'i64', 'dirfd');

/**
 * execve/execveat: everything the process looks like after the exec (from
 * sched_process_exec for successful calls). Names follow Falco's execve exit
 * event; `uid`/`gid` are the effective ids, as in Falco.
 */
const EXEC_PARAMS: readonly ParamSpec[] = [
  p('exe', 'str'), p('args', 'strv'), p('tid', 'u32', 'pid'), p('pid', 'u32', 'pid'), p('ptid', 'u32', 'pid'),
  p('cwd', 'str', 'path'), p('comm', 'str'), p('cgroups', 'strv'), p('env', 'strv'), p('tty', 'u32'),
  p('vpgid', 'u32', 'pid'), p('loginuid', 'u32', 'uid'), p('flags', 'u32', 'hex'),
  p('cap_inheritable', 'u64', 'hex'), p('cap_permitted', 'u64', 'hex'), p('cap_effective', 'u64', 'hex'),
  p('exe_ino', 'u64'), p('exe_ino_ctime', 'u64'), p('exe_ino_mtime', 'u64'), p('uid', 'u32', 'uid'),
  p('trusted_exepath', 'str', 'path'), p('pgid', 'u32', 'pid'), p('gid', 'u32', 'gid'), p('filename', 'str', 'path'),
  // Tiercel additions: ids in the process's own namespaces, session, real ids, namespaces.
  p('vpid', 'u32', 'pid'), p('vtid', 'u32', 'pid'), p('sid', 'u32', 'pid'), p('ruid', 'u32', 'uid'),
  p('rgid', 'u32', 'gid'), p('pidns', 'u64'), p('mntns', 'u64'),
];

/** Bits of the execve `flags` parameter (Falco's PPM_EXE_*). */
export const EXE_FLAGS = {
  WRITABLE: 1,
  UPPER_LAYER: 2,
  FROM_MEMFD: 4,
  LOWER_LAYER: 8,
} as const;

/** clone family, recorded for the parent: res = child tid; the child inherits the parent's state. */
const CLONE_PARAMS: readonly ParamSpec[] = [
  p('flags', 'u64', 'clone'), p('vtid', 'u32', 'pid'), p('vpid', 'u32', 'pid'), p('cgroups', 'strv'),
];

const SCHEMA: Record<string, readonly ParamSpec[]> = {
  execve: EXEC_PARAMS,
  execveat: [DIRFD, ...EXEC_PARAMS, p('at_flags', 'u32', 'at')],
  clone: CLONE_PARAMS,
  clone3: CLONE_PARAMS,
  fork: CLONE_PARAMS,
  vfork: CLONE_PARAMS,
  procexit: [p('status', 'i64'), p('ret', 'i64'), p('sig', 'u32', 'signal'), p('core', 'u32'), p('reaper_tid', 'u32', 'pid')],
  open: [p('name', 'str', 'path'), p('flags', 'u32', 'oflags'), p('mode', 'u32', 'oct'), p('dev', 'u32', 'hex'), p('ino', 'u64')],
  openat: [DIRFD, p('name', 'str', 'path'), p('flags', 'u32', 'oflags'), p('mode', 'u32', 'oct'), p('dev', 'u32', 'hex'), p('ino', 'u64')],
  openat2: [DIRFD, p('name', 'str', 'path'), p('flags', 'u32', 'oflags'), p('mode', 'u32', 'oct'), p('resolve', 'u32', 'hex'), p('dev', 'u32', 'hex'), p('ino', 'u64')],
  creat: [p('name', 'str', 'path'), p('flags', 'u32', 'oflags'), p('mode', 'u32', 'oct'), p('dev', 'u32', 'hex'), p('ino', 'u64')],
  memfd_create: [p('name', 'str'), p('flags', 'u32', 'memfd')],
  close: [FD],
  dup: [p('oldfd', 'i64', 'fd')],
  dup2: [p('oldfd', 'i64', 'fd'), p('newfd', 'i64', 'fd')],
  dup3: [p('oldfd', 'i64', 'fd'), p('newfd', 'i64', 'fd'), p('flags', 'u32', 'oflags')],
  fcntl: [FD, p('cmd', 'u32')],
  pipe: [p('fd1', 'i64', 'fd'), p('fd2', 'i64', 'fd'), p('ino', 'u64')],
  pipe2: [p('fd1', 'i64', 'fd'), p('fd2', 'i64', 'fd'), p('ino', 'u64'), p('flags', 'u32', 'oflags')],
  chdir: [p('path', 'str', 'path')],
  fchdir: [FD],
  unlink: [p('path', 'str', 'path')],
  unlinkat: [DIRFD, p('name', 'str', 'path'), p('flags', 'u32', 'at')],
  rename: [p('oldpath', 'str', 'path'), p('newpath', 'str', 'path')],
  renameat: [p('olddirfd', 'i64', 'dirfd'), p('oldpath', 'str', 'path'), p('newdirfd', 'i64', 'dirfd'), p('newpath', 'str', 'path')],
  renameat2: [p('olddirfd', 'i64', 'dirfd'), p('oldpath', 'str', 'path'), p('newdirfd', 'i64', 'dirfd'), p('newpath', 'str', 'path'), p('flags', 'u32', 'rename')],
  mkdir: [p('path', 'str', 'path'), p('mode', 'u32', 'oct')],
  mkdirat: [DIRFD, p('path', 'str', 'path'), p('mode', 'u32', 'oct')],
  rmdir: [p('path', 'str', 'path')],
  symlink: [p('target', 'str'), p('linkpath', 'str', 'path')],
  symlinkat: [p('target', 'str'), p('linkdirfd', 'i64', 'dirfd'), p('linkpath', 'str', 'path')],
  link: [p('oldpath', 'str', 'path'), p('newpath', 'str', 'path')],
  linkat: [p('olddir', 'i64', 'dirfd'), p('oldpath', 'str', 'path'), p('newdir', 'i64', 'dirfd'), p('newpath', 'str', 'path'), p('flags', 'u32', 'at')],
  chmod: [p('filename', 'str', 'path'), p('mode', 'u32', 'mode')],
  fchmod: [FD, p('mode', 'u32', 'mode')],
  fchmodat: [DIRFD, p('filename', 'str', 'path'), p('mode', 'u32', 'mode')],
  chown: [p('path', 'str', 'path'), p('uid', 'u32', 'uid'), p('gid', 'u32', 'gid')],
  lchown: [p('path', 'str', 'path'), p('uid', 'u32', 'uid'), p('gid', 'u32', 'gid')],
  fchown: [FD, p('uid', 'u32', 'uid'), p('gid', 'u32', 'gid')],
  fchownat: [DIRFD, p('pathname', 'str', 'path'), p('uid', 'u32', 'uid'), p('gid', 'u32', 'gid'), p('flags', 'u32', 'at')],
  socket: [p('domain', 'u32', 'sockfamily'), p('type', 'u32', 'socktype'), p('proto', 'u32')],
  socketpair: [p('domain', 'u32', 'sockfamily'), p('type', 'u32', 'socktype'), p('proto', 'u32'), p('fd1', 'i64', 'fd'), p('fd2', 'i64', 'fd')],
  connect: [FD, p('tuple', 'socktuple'), p('addr', 'sockaddr')],
  accept: [FD, p('tuple', 'socktuple'), p('listen_fd', 'i64', 'fd')],
  accept4: [FD, p('tuple', 'socktuple'), p('listen_fd', 'i64', 'fd'), p('flags', 'u32', 'oflags')],
  bind: [FD, p('addr', 'sockaddr')],
  listen: [FD, p('backlog', 'u32')],
  sendto: [FD, p('size', 'u32'), p('tuple', 'socktuple'), p('data', 'bytes')],
  sendmsg: [FD, p('size', 'u32'), p('tuple', 'socktuple'), p('data', 'bytes')],
  recvfrom: [FD, p('size', 'u32'), p('tuple', 'socktuple'), p('data', 'bytes')],
  recvmsg: [FD, p('size', 'u32'), p('tuple', 'socktuple'), p('data', 'bytes')],
  read: [FD, p('size', 'u32'), p('data', 'bytes')],
  write: [FD, p('size', 'u32'), p('data', 'bytes')],
  setuid: [p('uid', 'u32', 'uid')],
  setgid: [p('gid', 'u32', 'gid')],
  setreuid: [p('ruid', 'u32', 'uid'), p('euid', 'u32', 'uid')],
  setregid: [p('rgid', 'u32', 'gid'), p('egid', 'u32', 'gid')],
  setresuid: [p('ruid', 'u32', 'uid'), p('euid', 'u32', 'uid'), p('suid', 'u32', 'uid')],
  setresgid: [p('rgid', 'u32', 'gid'), p('egid', 'u32', 'gid'), p('sgid', 'u32', 'gid')],
  ptrace: [p('request', 'u32', 'ptrace'), p('pid', 'u32', 'pid'), p('addr', 'u64', 'hex'), p('data', 'u64', 'hex')],
  mount: [p('dev', 'str', 'path'), p('dir', 'str', 'path'), p('type', 'str'), p('flags', 'u64', 'mount')],
  umount2: [p('name', 'str', 'path'), p('flags', 'u32', 'umount')],
  init_module: [p('length', 'u64'), p('uargs', 'str')],
  finit_module: [FD, p('uargs', 'str'), p('flags', 'u32', 'hex')],
  bpf: [p('cmd', 'u32', 'bpfcmd')],
  unshare: [p('flags', 'u64', 'clone')],
  setns: [FD, p('nstype', 'u64', 'clone')],
  prctl: [p('option', 'u32', 'prctl'), p('arg2_str', 'str'), p('arg2_int', 'i64')],
  kill: [p('pid', 'i64', 'pid'), p('sig', 'u32', 'signal')],
  tgkill: [p('pid', 'i64', 'pid'), p('tid', 'i64', 'pid'), p('sig', 'u32', 'signal')],
  userfaultfd: [p('flags', 'u32', 'oflags')],
  pivot_root: [p('new_root', 'str', 'path'), p('put_old', 'str', 'path')],
  chroot: [p('path', 'str', 'path')],
  signaldeliver: [p('spid', 'u32', 'pid'), p('dpid', 'u32', 'pid'), p('sig', 'u32', 'signal')],
  drop: [p('ratio', 'u32'), p('buffer', 'u64'), p('max_size', 'u64')],
  capturemeta: [p('json', 'str')],
};

const EMPTY: readonly ParamSpec[] = [];

/** The parameters of an event type (none for types without a schema: only `res`). */
export function paramsOf(typeName: string): readonly ParamSpec[] {
  return SCHEMA[typeName] ?? EMPTY;
}

/** Every event type that has a parameter schema. */
export function typesWithParams(): string[] {
  return Object.keys(SCHEMA);
}

/** Index of a parameter by name, or -1. */
export function paramIndex(typeName: string, name: string): number {
  return paramsOf(typeName).findIndex((s) => s.name === name);
}
