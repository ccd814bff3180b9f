/**
 * `proc.*` and `thread.*`: the process and thread an event belongs to, its
 * parent and ancestors, session and process group. Values follow libsinsp
 * (sinsp_filtercheck_thread.cpp): `proc.name` is the comm, `proc.exe` is
 * argv[0], `proc.cmdline` is the name followed by the arguments.
 */
import type { Scalar } from '../../engine/fields.js';
import type { SyscallEvent } from '../event.js';
import { EXE_FLAGS } from '../schema.js';
import type { Process } from '../state/threads.js';
import { type SysField, f, fa } from './define.js';
import { capabilityNames } from './capabilities.js';

const cmdline = (p: Process): string => (p.args.length ? `${p.comm} ${p.args.join(' ')}` : p.comm);
const exeline = (p: Process): string => (p.args.length ? `${p.exe} ${p.args.join(' ')}` : p.exe);

function parent(e: SyscallEvent): Process | undefined {
  const p = e.proc;
  return p.ppid > 0 ? e.state.threads.process(p.ppid) : undefined;
}

/** The Nth ancestor (0 = the process itself). */
function ancestor(e: SyscallEvent, n: number): Process | undefined {
  if (n === 0) return e.proc;
  let i = 0;
  for (const a of e.state.threads.ancestors(e.proc)) if (++i === n) return a;
  return undefined;
}

/** Falco's `proc.aname[N]` family: with an index, one ancestor; without, every ancestor (compared one by one). */
function ancestorField(name: string, desc: string, get: (p: Process) => Scalar | undefined): SysField {
  return fa(name, 'string', 'index', desc, (arg) => {
    if (arg !== undefined) {
      const n = Number(arg);
      return (e) => {
        const a = ancestor(e, n);
        return a ? get(a) : undefined;
      };
    }
    return (e) => {
      const out: Scalar[] = [];
      for (const a of e.state.threads.ancestors(e.proc)) {
        const v = get(a);
        if (v !== undefined) out.push(v);
      }
      return out.length ? out : undefined;
    };
  }, { anyOf: { notEqualNeedsAll: false } });
}

function session(e: SyscallEvent): Process | undefined {
  return e.proc.sid > 0 ? e.state.threads.process(e.proc.sid) : undefined;
}

/** The process-group leader as seen in the process's own pid namespace. */
function vpgidLeader(e: SyscallEvent): Process | undefined {
  const p = e.proc;
  if (p.vpgid === p.vpid) return p;
  for (const a of e.state.threads.ancestors(p)) if (a.vpid === p.vpgid) return a;
  return p.pgid > 0 ? e.state.threads.process(p.pgid) : undefined;
}

function envValue(p: Process, name: string): string | undefined {
  const prefix = name + '=';
  for (const kv of p.env) if (kv.startsWith(prefix)) return kv.slice(prefix.length);
  return undefined;
}

function durationSince(e: SyscallEvent, start: bigint): bigint | undefined {
  return start > 0n ? e.time - start : undefined;
}

function stdio(fd: number, what: 'type' | 'name') {
  return (e: SyscallEvent): string | undefined => {
    const info = e.proc.fds.get(fd);
    if (!info) return undefined;
    return what === 'type' ? info.type : info.name;
  };
}

export const PROC_FIELDS: readonly SysField[] = [
  f('proc.pid', 'int', 'Process id', (e) => e.proc.pid),
  f('proc.exe', 'string', 'First command-line argument (argv[0], usually the executable path or name)', (e) => e.proc.exe),
  f('proc.name', 'string', 'Process name (the kernel comm, at most 15 characters)', (e) => e.proc.comm),
  f('proc.args', 'string', 'Command-line arguments after argv[0], joined by spaces', (e) => e.proc.args.join(' ')),
  fa('proc.env', 'string', 'key-optional', 'Environment: all variables, or the value of one (proc.env[HOME])', (arg) =>
    arg === undefined ? (e) => e.proc.env.join(' ') : (e) => envValue(e.proc, arg)),
  fa('proc.aenv', 'string', 'key', 'Value of an environment variable in the process or its nearest ancestor that has it', (arg) => (e) => {
    const name = arg!;
    const own = envValue(e.proc, name);
    if (own !== undefined) return own;
    for (const a of e.state.threads.ancestors(e.proc)) {
      const v = envValue(a, name);
      if (v !== undefined) return v;
    }
    return undefined;
  }),
  f('proc.cmdline', 'string', 'Process name followed by its arguments', (e) => cmdline(e.proc)),
  f('proc.exeline', 'string', 'argv[0] followed by the arguments', (e) => exeline(e.proc)),
  f('proc.cwd', 'path', 'Current working directory', (e) => e.proc.cwd || undefined),
  f('proc.nthreads', 'uint', 'Number of threads of the process', (e) => e.proc.threads.size),
  f('proc.nchilds', 'uint', 'Number of child processes known', (e) => e.proc.children.size),
  f('proc.ppid', 'int', 'Parent process id', (e) => (e.proc.ppid > 0 ? e.proc.ppid : undefined)),
  f('proc.pname', 'string', 'Name of the parent process', (e) => parent(e)?.comm),
  f('proc.pcmdline', 'string', 'Command line of the parent process', (e) => {
    const p = parent(e);
    return p ? cmdline(p) : undefined;
  }),
  f('proc.pexe', 'string', 'argv[0] of the parent process', (e) => parent(e)?.exe),
  f('proc.pexepath', 'path', 'Executable path of the parent process', (e) => parent(e)?.exepath || undefined),
  f('proc.pvpid', 'int', 'Parent process id in its own pid namespace', (e) => parent(e)?.vpid),
  ancestorField('proc.aname', 'Name of an ancestor: proc.aname[1] is the parent; without index, any ancestor matches', (p) => p.comm),
  ancestorField('proc.apid', 'Pid of an ancestor (proc.apid[1] is the parent; without index, any)', (p) => String(p.pid)),
  ancestorField('proc.aexe', 'argv[0] of an ancestor (without index, any)', (p) => p.exe),
  ancestorField('proc.aexepath', 'Executable path of an ancestor (without index, any)', (p) => p.exepath || undefined),
  ancestorField('proc.acmdline', 'Command line of an ancestor (without index, any)', cmdline),
  f('proc.exepath', 'path', 'Full path of the executable', (e) => e.proc.exepath || undefined),
  f('proc.tty', 'uint', 'Controlling terminal device number (0 when none)', (e) => e.proc.tty),
  f('proc.sid', 'int', 'Session id', (e) => e.proc.sid),
  f('proc.sname', 'string', 'Name of the session leader', (e) => session(e)?.comm),
  f('proc.sid.exe', 'string', 'argv[0] of the session leader', (e) => session(e)?.exe),
  f('proc.sid.exepath', 'path', 'Executable path of the session leader', (e) => session(e)?.exepath || undefined),
  f('proc.is_sid_leader', 'bool', 'True for the leader of its session', (e) => e.proc.sid === e.proc.pid),
  f('proc.vpid', 'int', 'Process id in its own pid namespace', (e) => e.proc.vpid),
  f('proc.vpgid', 'int', 'Process group id in its own pid namespace', (e) => e.proc.vpgid),
  f('proc.vpgid.name', 'string', 'Name of the process group leader', (e) => vpgidLeader(e)?.comm),
  f('proc.vpgid.exe', 'string', 'argv[0] of the process group leader', (e) => vpgidLeader(e)?.exe),
  f('proc.vpgid.exepath', 'path', 'Executable path of the process group leader', (e) => vpgidLeader(e)?.exepath || undefined),
  f('proc.is_vpgid_leader', 'bool', 'True for the leader of its process group', (e) => e.proc.vpgid !== 0 && e.proc.vpgid === e.proc.vpid),
  f('proc.loginshellid', 'int', 'Pid of the outermost shell among the ancestors', (e) => {
    let found: number | undefined;
    const shells = /^(ash|bash|csh|ksh|sh|tcsh|zsh|dash|fish)$/;
    if (shells.test(e.proc.comm)) found = e.proc.pid;
    for (const a of e.state.threads.ancestors(e.proc)) if (shells.test(a.comm)) found = a.pid;
    return found;
  }),
  f('proc.duration', 'reltime', 'Time since the process started, in ns', (e) => durationSince(e, e.proc.startTs)),
  f('proc.start_ts', 'abstime', 'Process start time, ns since the epoch', (e) => (e.proc.startTs > 0n ? e.proc.startTs : undefined)),
  f('proc.ppid.duration', 'reltime', 'Time since the parent process started, in ns', (e) => {
    const p = parent(e);
    return p ? durationSince(e, p.startTs) : undefined;
  }),
  f('proc.fdopencount', 'uint', 'Number of open file descriptors', (e) => e.proc.fds.size),
  f('proc.is_exe_writable', 'bool', 'True when the executable file is writable by the process user', (e) => (e.proc.exeFlags & EXE_FLAGS.WRITABLE) !== 0),
  f('proc.is_exe_upper_layer', 'bool', 'True when the executable comes from the upper (writable) layer of an overlay filesystem', (e) => (e.proc.exeFlags & EXE_FLAGS.UPPER_LAYER) !== 0),
  f('proc.is_exe_lower_layer', 'bool', 'True when the executable comes from a lower (image) layer of an overlay filesystem', (e) => (e.proc.exeFlags & EXE_FLAGS.LOWER_LAYER) !== 0),
  f('proc.is_exe_from_memfd', 'bool', 'True when the executable is a memfd (fileless execution)', (e) => (e.proc.exeFlags & EXE_FLAGS.FROM_MEMFD) !== 0),
  f('proc.exe_ino', 'uint', 'Inode of the executable', (e) => (e.proc.exeIno > 0n ? Number(e.proc.exeIno) : undefined)),
  f('proc.exe_ino.ctime', 'abstime', 'Change time of the executable inode', (e) => (e.proc.exeInoCtime > 0n ? e.proc.exeInoCtime : undefined)),
  f('proc.exe_ino.mtime', 'abstime', 'Modification time of the executable inode', (e) => (e.proc.exeInoMtime > 0n ? e.proc.exeInoMtime : undefined)),
  f('proc.exe_ino.ctime_duration_proc_start', 'reltime', 'Time between the executable inode change and the process start',
    (e) => (e.proc.exeInoCtime > 0n && e.proc.startTs > 0n ? e.proc.startTs - e.proc.exeInoCtime : undefined)),
  f('proc.is_container_healthcheck', 'bool', 'True for a container health check (not known without runtime metadata)', () => false),
  f('proc.is_container_liveness_probe', 'bool', 'True for a Kubernetes liveness probe (not known without runtime metadata)', () => false),
  f('proc.is_container_readiness_probe', 'bool', 'True for a Kubernetes readiness probe (not known without runtime metadata)', () => false),
  f('proc.stdin.type', 'string', 'Type of the fd 0', stdio(0, 'type')),
  f('proc.stdout.type', 'string', 'Type of the fd 1', stdio(1, 'type')),
  f('proc.stderr.type', 'string', 'Type of the fd 2', stdio(2, 'type')),
  f('proc.stdin.name', 'string', 'Name of the fd 0', stdio(0, 'name')),
  f('proc.stdout.name', 'string', 'Name of the fd 1', stdio(1, 'name')),
  f('proc.stderr.name', 'string', 'Name of the fd 2', stdio(2, 'name')),
  fa('fd.types', 'string', 'index', 'Types of the open fds of the process (fd.types[N]: of fd N)', (arg) => (e) => {
    if (arg !== undefined) {
      const info = e.proc.fds.get(Number(arg));
      return info ? [info.type] : undefined;
    }
    const types = new Set<string>();
    for (const [, info] of e.proc.fds.entries()) types.add(info.type);
    return types.size ? [...types] : undefined;
  }, { list: true }),

  f('thread.tid', 'int', 'Thread id', (e) => e.thread.tid),
  f('thread.vtid', 'int', 'Thread id in its own pid namespace', (e) => e.thread.vtid),
  f('thread.ismain', 'bool', 'True for the main thread of the process', (e) => e.thread.tid === e.proc.pid),
  f('thread.name', 'string', 'Thread name (comm)', (e) => e.thread.comm),
  f('thread.cap_permitted', 'string', 'Permitted capabilities (CAP_SYS_ADMIN CAP_NET_RAW ...)', (e) => capabilityNames(e.proc.capPermitted)),
  f('thread.cap_effective', 'string', 'Effective capabilities', (e) => capabilityNames(e.proc.capEffective)),
  f('thread.cap_inheritable', 'string', 'Inheritable capabilities', (e) => capabilityNames(e.proc.capInheritable)),
];
