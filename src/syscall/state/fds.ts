/**
 * File descriptors of a process: what each open fd refers to (file,
 * directory, socket with its endpoints, pipe, memfd...), kept current from
 * open/socket/connect/accept/dup/close records.
 */

/** Falco's fd types (`fd.type`) and their one-letter codes (`fd.typechar`). */
export const FD_TYPECHARS = {
  file: 'f', directory: 'd', ipv4: '4', ipv6: '6', unix: 'u', pipe: 'p', event: 'e', signalfd: 's',
  eventpoll: 'l', inotify: 'i', timerfd: 't', netlink: 'n', bpf: 'b', userfaultfd: 'r', io_uring: 'o',
  memfd: 'm', pidfd: 'P', unknown: 'o',
} as const;

export type FdType = keyof typeof FD_TYPECHARS;

export interface FdInfo {
  type: FdType;
  /** File path, `pipe:[ino]`, or the rendered connection (`1.2.3.4:5->6.7.8.9:10`). */
  name: string;
  /** The path as the process passed it (before resolution), for files. */
  nameRaw?: string;
  /** Open flags (O_*), for files. */
  flags?: number;
  dev?: number;
  ino?: number;
  /** Sockets: protocol and endpoints (client and server side, as Falco names them). */
  l4proto?: 'tcp' | 'udp' | 'raw' | 'icmp';
  cip?: string;
  cport?: number;
  sip?: string;
  sport?: number;
  /** True when this process is the server side of the connection (accept/listen/bind). */
  server?: boolean;
  /** Socket domain (AF_*), set at socket(). */
  domain?: number;
  connected?: boolean;
  /** True when the name changed since the fd was opened (rename through the fd, connect after socket). */
  nameChanged?: boolean;
}

/** The fd table of one process, shared by its threads. */
export class FdTable {
  private readonly fds = new Map<number, FdInfo>();

  get(fd: number): FdInfo | undefined {
    return this.fds.get(fd);
  }

  set(fd: number, info: FdInfo): void {
    this.fds.set(fd, info);
  }

  delete(fd: number): boolean {
    return this.fds.delete(fd);
  }

  /** dup/dup2/dup3: newfd refers to what oldfd refers to (a copy: later renames are per fd in Tiercel). */
  dup(oldfd: number, newfd: number): FdInfo | undefined {
    const info = this.fds.get(oldfd);
    if (!info) {
      this.fds.delete(newfd);
      return undefined;
    }
    const copy = { ...info };
    this.fds.set(newfd, copy);
    return copy;
  }

  /** A copy for a forked child (fork without CLONE_FILES). */
  clone(): FdTable {
    const t = new FdTable();
    for (const [fd, info] of this.fds) t.fds.set(fd, { ...info });
    return t;
  }

  get size(): number {
    return this.fds.size;
  }

  entries(): IterableIterator<[number, FdInfo]> {
    return this.fds.entries();
  }
}

/** Renders a socket as Falco does: `cip:cport->sip:sport` (IPv6 addresses in brackets). */
export function socketName(cip: string, cport: number, sip: string, sport: number): string {
  return `${hostPort(cip, cport)}->${hostPort(sip, sport)}`;
}

/** `ip:port`, with IPv6 addresses in brackets. */
export function hostPort(ip: string, port: number): string {
  return `${ip.includes(':') ? `[${ip}]` : ip}:${port}`;
}
