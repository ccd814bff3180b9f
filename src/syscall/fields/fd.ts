/**
 * `fd.*`: the file descriptor an event is about — a file, a directory, a
 * socket with its client and server ends, a pipe, a memfd. Client/server
 * and local/remote follow libsinsp: for a connection the client is the side
 * that called connect; local is this process's side.
 */
import type { FieldValue } from '../../engine/fields.js';
import type { SyscallEvent } from '../event.js';
import { basename, dirname } from '../paths.js';
import { FD_TYPECHARS, type FdInfo } from '../state/fds.js';
import { type SysField, f } from './define.js';

const SOCKET_TYPES = new Set(['ipv4', 'ipv6']);

function sock(e: SyscallEvent): FdInfo | undefined {
  const fd = e.fd;
  return fd && SOCKET_TYPES.has(fd.type) ? fd : undefined;
}

function local(fd: FdInfo): { ip?: string; port?: number } {
  return fd.server ? { ip: fd.sip, port: fd.sport } : { ip: fd.cip, port: fd.cport };
}

function remote(fd: FdInfo): { ip?: string; port?: number } {
  return fd.server ? { ip: fd.cip, port: fd.cport } : { ip: fd.sip, port: fd.sport };
}

/** Both endpoints, for fd.ip / fd.port / fd.net (either side matches). */
function both<T>(get: (fd: FdInfo) => [T | undefined, T | undefined]) {
  return (e: SyscallEvent): FieldValue => {
    const fd = sock(e);
    if (!fd) return undefined;
    const out = get(fd).filter((v): v is T => v !== undefined) as unknown as string[];
    return out.length ? out : undefined;
  };
}

const PORT_NAMES: Record<number, string> = {
  21: 'ftp', 22: 'ssh', 23: 'telnet', 25: 'smtp', 53: 'domain', 80: 'http', 110: 'pop3', 123: 'ntp', 143: 'imap',
  443: 'https', 465: 'smtps', 587: 'submission', 993: 'imaps', 995: 'pop3s', 2379: 'etcd-client', 3306: 'mysql',
  5432: 'postgresql', 6379: 'redis', 6443: 'sun-sr-https', 8080: 'http-alt', 10250: 'kubelet',
};

function portName(port: number | undefined): string | undefined {
  return port === undefined ? undefined : PORT_NAMES[port] ?? String(port);
}

const isFileLike = (fd: FdInfo | undefined): fd is FdInfo => fd !== undefined && (fd.type === 'file' || fd.type === 'directory' || fd.type === 'memfd');

export const FD_FIELDS: readonly SysField[] = [
  f('fd.num', 'int', 'File descriptor number (negative for a failed open: the error)', (e) => e.fdNum),
  f('fd.type', 'string', 'Type: file, directory, ipv4, ipv6, unix, pipe, event, signalfd, eventpoll, inotify, timerfd, netlink, bpf, userfaultfd, io_uring, memfd', (e) => e.fd?.type),
  f('fd.typechar', 'string', 'Type as one letter (f, d, 4, 6, u, p, e, s, l, i, t, n, b, r, o, m)', (e) => (e.fd ? FD_TYPECHARS[e.fd.type] : undefined)),
  f('fd.name', 'string', 'Full name: file path, or client->server for connections', (e) => e.fd?.name || undefined),
  f('fd.nameraw', 'string', 'Name as the process passed it (before resolving relative paths)', (e) => e.fd?.nameRaw ?? (e.fd?.name || undefined)),
  f('fd.directory', 'path', 'Directory of a file fd', (e) => (isFileLike(e.fd) ? dirname(e.fd.name) || undefined : undefined)),
  f('fd.filename', 'string', 'File name (without directory) of a file fd', (e) => (isFileLike(e.fd) ? basename(e.fd.name) : undefined)),
  f('fd.ino', 'uint', 'Inode of the file', (e) => e.fd?.ino),
  f('fd.dev', 'uint', 'Device of the file', (e) => e.fd?.dev),
  f('fd.connected', 'bool', 'True for a connected socket', (e) => e.fd?.connected ?? false),
  f('fd.name_changed', 'bool', 'True when the fd name changed during the event (e.g. a socket got its peer)', (e) => e.fd?.nameChanged ?? false),
  f('fd.is_server', 'bool', 'True when this process is the server side of the connection', (e) => (sock(e) ? e.fd!.server ?? false : undefined)),
  f('fd.l4proto', 'string', 'Protocol of a socket: tcp, udp, icmp, raw', (e) => sock(e)?.l4proto),
  f('fd.sockfamily', 'string', "Socket family: 'ip' or 'unix'", (e) => (sock(e) ? 'ip' : e.fd?.type === 'unix' ? 'unix' : undefined)),
  f('fd.cip', 'ipaddr', 'Client IP address', (e) => sock(e)?.cip),
  f('fd.sip', 'ipaddr', 'Server IP address', (e) => sock(e)?.sip),
  f('fd.lip', 'ipaddr', 'Local IP address', (e) => { const s = sock(e); return s ? local(s).ip : undefined; }),
  f('fd.rip', 'ipaddr', 'Remote IP address', (e) => { const s = sock(e); return s ? remote(s).ip : undefined; }),
  f('fd.ip', 'ipaddr', 'Either IP address of the connection (= matches either; != needs both to differ)',
    both((fd) => [fd.cip, fd.sip]), { anyOf: { notEqualNeedsAll: true } }),
  f('fd.cport', 'port', 'Client port', (e) => sock(e)?.cport),
  f('fd.sport', 'port', 'Server port', (e) => sock(e)?.sport),
  f('fd.lport', 'port', 'Local port', (e) => { const s = sock(e); return s ? local(s).port : undefined; }),
  f('fd.rport', 'port', 'Remote port', (e) => { const s = sock(e); return s ? remote(s).port : undefined; }),
  f('fd.port', 'port', 'Either port of the connection (= matches either; != needs both to differ)',
    both((fd) => [fd.cport, fd.sport]), { anyOf: { notEqualNeedsAll: true } }),
  f('fd.cnet', 'ipnet', 'Client IP, compared with networks (fd.cnet in (10.0.0.0/8))', (e) => sock(e)?.cip),
  f('fd.snet', 'ipnet', 'Server IP, compared with networks', (e) => sock(e)?.sip),
  f('fd.lnet', 'ipnet', 'Local IP, compared with networks', (e) => { const s = sock(e); return s ? local(s).ip : undefined; }),
  f('fd.rnet', 'ipnet', 'Remote IP, compared with networks', (e) => { const s = sock(e); return s ? remote(s).ip : undefined; }),
  f('fd.net', 'ipnet', 'Either IP, compared with networks (= matches either; != needs both outside)',
    both((fd) => [fd.cip, fd.sip]), { anyOf: { notEqualNeedsAll: true } }),
  f('fd.cproto', 'string', 'Service name of the client port', (e) => portName(sock(e)?.cport)),
  f('fd.sproto', 'string', 'Service name of the server port', (e) => portName(sock(e)?.sport)),
  f('fd.lproto', 'string', 'Service name of the local port', (e) => { const s = sock(e); return s ? portName(local(s).port) : undefined; }),
  f('fd.rproto', 'string', 'Service name of the remote port', (e) => { const s = sock(e); return s ? portName(remote(s).port) : undefined; }),
  // Tiercel does no reverse DNS lookups: these names are never known, so
  // checks on them are false (as in Falco when the name is unresolved).
  f('fd.cip.name', 'string', 'Domain name of the client IP (not resolved by Tiercel)', () => undefined),
  f('fd.sip.name', 'string', 'Domain name of the server IP (not resolved by Tiercel)', () => undefined),
  f('fd.lip.name', 'string', 'Domain name of the local IP (not resolved by Tiercel)', () => undefined),
  f('fd.rip.name', 'string', 'Domain name of the remote IP (not resolved by Tiercel)', () => undefined),
  f('fd.containername', 'string', 'Container id and fd name (container_id:name)', (e) => (e.fd ? `${e.proc.container.id}:${e.fd.name}` : undefined)),
  f('fd.containerdirectory', 'string', 'Container id and directory (container_id:dir)', (e) => (isFileLike(e.fd) ? `${e.proc.container.id}:${dirname(e.fd.name)}` : undefined)),
];
