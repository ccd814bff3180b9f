/**
 * Rendering of syscall parameters as text, as Falco's `evt.arg.NAME` and
 * `evt.args` print them: flags and enums by name, fds with what they point
 * to, uids as user names, relative paths resolved.
 */
import type { SyscallEvent } from '../event.js';
import {
  AT_FLAGS, BPF_COMMANDS, CLONE_FLAGS, MEMFD_FLAGS, MOUNT_FLAGS, PRCTL_OPTIONS, PTRACE_REQUESTS, RENAME_FLAGS,
  SIGNALS, SOCKET_FAMILIES, UMOUNT_FLAGS, renderEnum, renderFlags, renderMode, renderOpenFlags, renderResult,
  renderSocketType,
} from '../flags.js';
import { AT_FDCWD, resolvePath } from '../paths.js';
import type { ParamValue, SockAddr, SockTuple } from '../record.js';
import { FD_TYPECHARS, hostPort } from '../state/fds.js';
import type { ParamSpec } from '../schema.js';

function asNumber(v: ParamValue): number {
  return typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : 0;
}

function renderFd(e: SyscallEvent, fd: number): string {
  const info = e.proc.fds.get(fd);
  return info ? `${fd}(<${FD_TYPECHARS[info.type]}>${info.name})` : String(fd);
}

function renderSockAddr(a: SockAddr): string {
  if ('ip' in a) return hostPort(a.ip, a.port);
  if ('path' in a) return a.path;
  return renderEnum(SOCKET_FAMILIES, a.family);
}

function renderTuple(t: SockTuple): string {
  if ('sip' in t) return `${hostPort(t.sip, t.sport)}->${hostPort(t.dip, t.dport)}`;
  if ('path' in t) return `${t.source.toString(16)}->${t.dest.toString(16)} ${t.path}`;
  return renderEnum(SOCKET_FAMILIES, t.family);
}

/** The directory a path parameter at `index` is relative to: the nearest preceding dirfd, else the cwd. */
function baseDir(e: SyscallEvent, schema: readonly ParamSpec[], index: number): string {
  for (let i = index - 1; i >= 0; i--) {
    if (schema[i]!.render === 'dirfd') {
      const dirfd = e.record.param(i);
      if (dirfd === undefined) break;
      return e.state.dirOf(e.proc, asNumber(dirfd));
    }
  }
  return e.proc.cwd;
}

/** The path parameter at `index`, resolved to an absolute path when possible. */
export function resolvedPathParam(e: SyscallEvent, index: number): string | undefined {
  const v = e.record.param(index);
  if (typeof v !== 'string') return undefined;
  if (v.startsWith('/')) return resolvePath('/', v);
  const base = baseDir(e, e.record.schema, index);
  return base ? resolvePath(base, v) : v;
}

/** Renders parameter `index` of the event's record; undefined when absent. */
export function renderParam(e: SyscallEvent, index: number): string | undefined {
  const spec = e.record.schema[index];
  if (!spec) return undefined;
  const v = e.record.param(index);
  if (v === undefined) return undefined;
  switch (spec.render) {
    case 'dec': return String(v);
    case 'hex': return `0x${(typeof v === 'bigint' ? v : BigInt(asNumber(v))).toString(16)}`;
    case 'oct': return '0' + asNumber(v).toString(8);
    case 'fd': return renderFd(e, asNumber(v));
    case 'dirfd': return asNumber(v) === AT_FDCWD ? `${AT_FDCWD}(AT_FDCWD)` : renderFd(e, asNumber(v));
    case 'path': return resolvedPathParam(e, index);
    case 'str': return String(v);
    case 'strv': return (v as readonly string[]).join(' ');
    case 'uid': {
      const uid = asNumber(v);
      return e.state.users.user(uid, containerRef(e))?.name ?? String(uid);
    }
    case 'gid': {
      const gid = asNumber(v);
      return e.state.users.group(gid, containerRef(e))?.name ?? String(gid);
    }
    case 'pid': return String(v);
    case 'oflags': return renderOpenFlags(asNumber(v));
    case 'mode': return renderMode(asNumber(v));
    case 'ptrace': return renderEnum(PTRACE_REQUESTS, asNumber(v));
    case 'sockfamily': return renderEnum(SOCKET_FAMILIES, asNumber(v));
    case 'socktype': return renderSocketType(asNumber(v));
    case 'clone': return renderFlags(CLONE_FLAGS, typeof v === 'bigint' ? v : asNumber(v));
    case 'mount': return renderFlags(MOUNT_FLAGS, typeof v === 'bigint' ? v : asNumber(v));
    case 'umount': return renderFlags(UMOUNT_FLAGS, asNumber(v));
    case 'at': return renderFlags(AT_FLAGS, asNumber(v));
    case 'rename': return renderFlags(RENAME_FLAGS, asNumber(v));
    case 'memfd': return renderFlags(MEMFD_FLAGS, asNumber(v));
    case 'bpfcmd': return renderEnum(BPF_COMMANDS, asNumber(v));
    case 'prctl': return renderEnum(PRCTL_OPTIONS, asNumber(v));
    case 'signal': return renderEnum(SIGNALS, asNumber(v));
    case 'sockaddr': return renderSockAddr(v as SockAddr);
    case 'tuple': return renderTuple(v as SockTuple);
    case 'bytes': return Buffer.from(v as Buffer).toString('latin1').replace(/[^\x20-\x7e]/g, '.');
    case 'errno': return renderResult(typeof v === 'bigint' ? v : BigInt(asNumber(v)));
  }
}

/** The raw value of parameter `index` (numbers as numbers, strings as text). */
export function rawParam(e: SyscallEvent, index: number): string | number | undefined {
  const v = e.record.param(index);
  if (v === undefined) return undefined;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number' || typeof v === 'string') return v;
  return renderParam(e, index);
}

/** `res=... name=value ...`, Falco's `evt.args`. */
export function renderArgs(e: SyscallEvent): string {
  const parts: string[] = [];
  const res = e.record.res;
  parts.push(`res=${res < 0n ? `${res}(${renderResult(res)})` : String(res)}`);
  const schema = e.record.schema;
  for (let i = 0; i < schema.length; i++) {
    const r = renderParam(e, i);
    if (r !== undefined) parts.push(`${schema[i]!.name}=${r}`);
  }
  return parts.join(' ');
}

function containerRef(e: SyscallEvent): { id: string; rootPid?: number } | undefined {
  const c = e.proc.container;
  return c.id === 'host' ? undefined : { id: c.id, rootPid: e.proc.pid };
}
