/**
 * A live /proc scan producing a {@link HostSnapshot}: every process with its
 * threads and open files, as libscap's `scap_procs.c`/`scap_fds.c` read them,
 * to seed the thread and fd tables (and the header of a capture file).
 *
 * - Asynchronous throughout: every read goes through libuv's thread pool, so a
 *   read that blocks (reading `cmdline` or `environ` of a process whose memory
 *   map is locked can hang) stalls one pool thread, never the event loop; a
 *   few processes are read at once (`concurrency`).
 * - Bounded: processes, threads per process, fds per process, bytes of
 *   cmdline and environ, bytes of each socket table.
 * - Tolerant: a process that exits while it is read (ENOENT/ESRCH) is left out
 *   quietly; permission errors leave the unreadable parts empty.
 *
 * Socket fds are resolved through the tables of the process's network
 * namespace (`/proc/<pid>/net/{tcp,tcp6,udp,udp6,raw,raw6,icmp,icmp6,unix,netlink}`),
 * read once per namespace per scan.
 */
import { constants as fsConstants } from 'node:fs';
import { open, readdir, readlink, stat } from 'node:fs/promises';
import { endianness, hostname as osHostname, release } from 'node:os';
import { join } from 'node:path';
import type { FdSnapshot, HostSnapshot, ProcessSnapshot, ThreadSnapshot } from './snapshot.js';
import { UserDatabase } from './users.js';

/** Variables kept from every environment whatever the size cap: they tie processes to audit events. */
export const DEFAULT_ENV_ALLOW_LIST: readonly string[] = Object.freeze([
  'KUBERNETES_EXEC_AUDIT_ID',
  'SPO_EXEC_REQUEST_UID',
]);

export interface ProcScanOptions {
  /** Where the host's filesystem is mounted (`/host` in a pod). Default `/`. */
  readonly hostRoot?: string;
  /** The procfs to read. Default `<hostRoot>/proc`. */
  readonly procRoot?: string;
  /** Default `os.hostname()`. */
  readonly hostname?: string;
  /** Users and groups for the snapshot. Default: a live database on `hostRoot`. */
  readonly users?: UserDatabase;
  /** Processes read at most (lowest pids first). Default 65 536. */
  readonly maxProcesses?: number;
  /** Threads listed per process at most. Default 4096. */
  readonly maxThreadsPerProcess?: number;
  /** Fds read per process at most (lowest first). Default 1024. */
  readonly maxFdsPerProcess?: number;
  /** Bytes of `/proc/<pid>/cmdline` read at most. Default 32 KiB. */
  readonly maxCmdlineBytes?: number;
  /** Bytes of environment kept per process (allow-listed variables come on top). Default 16 KiB. */
  readonly envMaxBytes?: number;
  /** Bytes of `/proc/<pid>/environ` searched for allow-listed variables. Default 1 MiB. */
  readonly envReadBytes?: number;
  /** Variables always kept. Default {@link DEFAULT_ENV_ALLOW_LIST}. */
  readonly envAllowList?: readonly string[];
  /** Bytes of one socket table read at most. Default 32 MiB. */
  readonly maxSocketTableBytes?: number;
  /** Read the open flags of file fds from `fdinfo`. Default true. */
  readonly fdFlags?: boolean;
  /** Processes read at once. Default 4 (libuv's default pool size). */
  readonly concurrency?: number;
  /** Clock ticks per second of `/proc/<pid>/stat` times (USER_HZ). Default 100. */
  readonly clockTicks?: number;
  /** Cancels the scan (it rejects with the signal's reason). */
  readonly signal?: AbortSignal;
  /** Test seam: awaited after a process's `stat` was read, before the rest. */
  readonly afterStat?: (pid: number) => void | Promise<void>;
}

/** What happened during a scan. */
export interface ProcScanStats {
  /** Processes in the snapshot. */
  processes: number;
  threads: number;
  fds: number;
  /** Processes that exited while being read, left out. */
  vanished: number;
  /** Processes with a part that could not be read for lack of permission. */
  permissionDenied: number;
  /** Processes left out by `maxProcesses`. */
  processesDropped: number;
  /** Processes whose fd or thread list was cut by the bounds. */
  truncated: number;
  /** Processes left out after an unexpected read error. */
  failed: number;
  durationMs: number;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const UNSET_LOGINUID = 4294967295;
const NS_PER_SEC = 1_000_000_000n;

/** Raised inside a process read when the process is gone. */
class Vanished extends Error {}

function errCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null ? (e as NodeJS.ErrnoException).code : undefined;
}

const isGone = (code: string | undefined): boolean => code === 'ENOENT' || code === 'ESRCH';
const isDenied = (code: string | undefined): boolean => code === 'EACCES' || code === 'EPERM';

/** Reads at most `max` bytes of a (proc) file, which reports size 0, until EOF. */
async function readBounded(path: string, max: number): Promise<Buffer> {
  const fh = await open(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    let chunkSize = Math.min(max, 4096);
    while (total < max) {
      const buf = Buffer.allocUnsafe(Math.min(chunkSize, max - total));
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      chunks.push(bytesRead === buf.length ? buf : buf.subarray(0, bytesRead));
      total += bytesRead;
      chunkSize = Math.min(chunkSize * 2, 1 << 20);
    }
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
  } finally {
    await fh.close();
  }
}

/** `/proc/<pid>/ns/pid` → `pid:[4026531836]` → 4026531836. */
function nsInode(link: string): number {
  const a = link.indexOf('[');
  const b = link.lastIndexOf(']');
  if (a < 0 || b < a) return 0;
  const n = Number(link.slice(a + 1, b));
  return Number.isFinite(n) ? n : 0;
}

function hexMaskToDecimal(hex: string | undefined): string {
  if (!hex || !/^[0-9a-fA-F]{1,16}$/.test(hex)) return '0';
  return BigInt(`0x${hex}`).toString();
}

function lastNumber(field: string | undefined, fallback: number): number {
  if (!field) return fallback;
  const parts = field.trim().split(/\s+/);
  const n = Number(parts[parts.length - 1]);
  return Number.isFinite(n) ? n : fallback;
}

/** The fields of `/proc/<pid>/stat` we use. */
export interface StatFields {
  readonly comm: string;
  readonly state: string;
  readonly ppid: number;
  readonly pgrp: number;
  readonly session: number;
  readonly ttyNr: number;
  readonly startTicks: bigint;
}

/** Parses `/proc/<pid>/stat`. The comm is between the first `(` and the last `)`: it may contain both. */
export function parseProcStat(text: string): StatFields | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const f = text.slice(close + 2).trim().split(' ');
  // f[0] is field 3 (state); field N is f[N - 3].
  if (f.length < 20) return undefined;
  const num = (i: number): number => Number(f[i]);
  let startTicks: bigint;
  try {
    startTicks = BigInt(f[19]!);
  } catch {
    return undefined;
  }
  return {
    comm: text.slice(open + 1, close),
    state: f[0]!,
    ppid: num(1),
    pgrp: num(2),
    session: num(3),
    ttyNr: num(4),
    startTicks,
  };
}

/** Parses `/proc/<pid>/status` into key → value. */
export function parseProcStatus(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const c = line.indexOf(':');
    if (c > 0) out.set(line.slice(0, c), line.slice(c + 1).trim());
  }
  return out;
}

/** `Uid:\t0\t1\t2\t3` → [real, effective, saved, fs]. */
function ids(v: string | undefined): number[] {
  if (!v) return [];
  return v.split(/\s+/).map(Number);
}

/** Splits NUL-separated text; a trailing NUL does not make an empty last element. */
function splitNul(buf: Buffer, truncated: boolean): string[] {
  let end = buf.length;
  if (end > 0 && buf[end - 1] === 0) end--;
  if (end === 0) return [];
  const parts = buf.toString('utf8', 0, end).split('\0');
  // A cut read ends mid-string: drop the piece.
  if (truncated && buf[buf.length - 1] !== 0) parts.pop();
  return parts;
}

/**
 * Keeps environment variables in order until `maxBytes`, plus every
 * allow-listed variable wherever it is.
 */
export function boundEnvironment(vars: readonly string[], maxBytes: number, allow: ReadonlySet<string>): string[] {
  const out: string[] = [];
  let bytes = 0;
  for (const v of vars) {
    const size = Buffer.byteLength(v) + 1;
    if (bytes + size <= maxBytes) {
      out.push(v);
      bytes += size;
      continue;
    }
    bytes = maxBytes; // once over, keep nothing but allow-listed variables
    const eq = v.indexOf('=');
    if (eq > 0 && allow.has(v.slice(0, eq))) out.push(v);
  }
  return out;
}

// --- sockets -------------------------------------------------------------------

interface InetSocket {
  readonly kind: 'inet';
  readonly family: 'ipv4' | 'ipv6';
  readonly l4proto: 'tcp' | 'udp' | 'raw' | 'icmp';
  readonly sip: string;
  readonly sport: number;
  readonly dip: string;
  readonly dport: number;
  readonly listening: boolean;
}
interface UnixSocket {
  readonly kind: 'unix';
  readonly path: string;
  readonly listening: boolean;
}
interface NetlinkSocket {
  readonly kind: 'netlink';
}
type SocketInfo = InetSocket | UnixSocket | NetlinkSocket;
type SocketTable = Map<number, SocketInfo>;

const LITTLE_ENDIAN = endianness() === 'LE';
const TCP_LISTEN = '0A';
/** `__SO_ACCEPTCON` in /proc/net/unix Flags: a listening unix socket. */
const SO_ACCEPTCON = 0x10000;

/** The kernel prints each 32-bit word of an address with %08X in host byte order. */
function wordBytes(hex8: string, out: number[]): void {
  const n = Number.parseInt(hex8, 16);
  if (LITTLE_ENDIAN) out.push(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24);
  else out.push(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

/** Formats 16 bytes as RFC 5952 text (longest run of zero groups compressed). */
export function formatIpv6(bytes: readonly number[]): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestAt < 0) return hex.join(':');
  return `${hex.slice(0, bestAt).join(':')}::${hex.slice(bestAt + bestLen).join(':')}`;
}

/** `0100007F:1F90` (or the 32-hex IPv6 form) → address, port, and whether it is IPv4 (incl. v4-mapped). */
export function parseProcNetAddress(text: string): { ip: string; port: number; v4: boolean } | undefined {
  const c = text.indexOf(':');
  if (c < 0) return undefined;
  const hex = text.slice(0, c);
  const port = Number.parseInt(text.slice(c + 1), 16);
  if (!Number.isFinite(port)) return undefined;
  const bytes: number[] = [];
  if (hex.length === 8) {
    wordBytes(hex, bytes);
    return { ip: bytes.join('.'), port, v4: true };
  }
  if (hex.length !== 32) return undefined;
  for (let i = 0; i < 32; i += 8) wordBytes(hex.slice(i, i + 8), bytes);
  // ::ffff:a.b.c.d — an IPv4 peer on a dual-stack socket: libscap reports it as IPv4.
  const mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (mapped) return { ip: bytes.slice(12).join('.'), port, v4: true };
  return { ip: formatIpv6(bytes), port, v4: false };
}

function parseInetTable(text: string, l4proto: InetSocket['l4proto'], into: SocketTable): void {
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const f = lines[i]!.trim().split(/\s+/);
    if (f.length < 10) continue;
    const ino = Number(f[9]);
    if (!ino) continue; // 0: a socket in TIME_WAIT etc., owned by no fd
    const local = parseProcNetAddress(f[1]!);
    const remote = parseProcNetAddress(f[2]!);
    if (!local || !remote) continue;
    into.set(ino, {
      kind: 'inet',
      family: local.v4 && remote.v4 ? 'ipv4' : 'ipv6',
      l4proto,
      sip: local.ip,
      sport: local.port,
      dip: remote.ip,
      dport: remote.port,
      listening: l4proto === 'tcp' && f[3] === TCP_LISTEN,
    });
  }
}

function parseUnixTable(text: string, into: SocketTable): void {
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    // Num RefCount Protocol Flags Type St Inode [Path]; the path may contain spaces.
    const m = /^\s*\S+\s+\S+\s+\S+\s+([0-9A-Fa-f]+)\s+\S+\s+\S+\s+(\d+)(?: (.*))?$/.exec(line);
    if (!m) continue;
    const ino = Number(m[2]);
    if (!ino) continue;
    into.set(ino, {
      kind: 'unix',
      path: m[3] ?? '',
      listening: (Number.parseInt(m[1]!, 16) & SO_ACCEPTCON) !== 0,
    });
  }
}

function parseNetlinkTable(text: string, into: SocketTable): void {
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const f = lines[i]!.trim().split(/\s+/);
    if (f.length < 10) continue;
    const ino = Number(f[9]);
    if (ino) into.set(ino, { kind: 'netlink' });
  }
}

const INET_TABLES: readonly (readonly [string, InetSocket['l4proto']])[] = [
  ['tcp', 'tcp'],
  ['tcp6', 'tcp'],
  ['udp', 'udp'],
  ['udp6', 'udp'],
  ['raw', 'raw'],
  ['raw6', 'raw'],
  ['icmp', 'icmp'],
  ['icmp6', 'icmp'],
];

// --- fds -------------------------------------------------------------------------

/** `anon_inode:[eventfd]` names → snapshot fd types. */
function anonInodeType(name: string): string {
  const inner = name.slice('anon_inode:'.length).replace(/^\[|\]$/g, '');
  switch (inner) {
    case 'eventfd':
      return 'event';
    case 'signalfd':
      return 'signalfd';
    case 'inotify':
      return 'inotify';
    case 'timerfd':
      return 'timerfd';
    case 'userfaultfd':
      return 'userfaultfd';
    case 'io_uring':
      return 'io_uring';
    default:
      return inner.startsWith('bpf') ? 'bpf' : 'unknown';
  }
}

function bracketInode(link: string): number | undefined {
  const n = nsInode(link);
  return n > 0 ? n : undefined;
}

// --- the scanner -------------------------------------------------------------

/** Per-scan state shared by the processes being read. */
interface ScanContext {
  readonly btimeNs: bigint;
  /** Socket tables by network namespace inode. */
  readonly netTables: Map<number, Promise<SocketTable>>;
  readonly stats: ProcScanStats;
}

interface ProcessReadState {
  gone: boolean;
  denied: boolean;
}

/**
 * Reads /proc. {@link ProcScanner.scan} for the whole host;
 * {@link ProcScanner.readProcess} for one process (e.g. a thread the tables
 * have never seen).
 */
export class ProcScanner {
  private readonly procRoot: string;
  private readonly hostRoot: string;
  private readonly maxProcesses: number;
  private readonly maxThreads: number;
  private readonly maxFds: number;
  private readonly maxCmdline: number;
  private readonly envMax: number;
  private readonly envRead: number;
  private readonly envAllow: ReadonlySet<string>;
  private readonly maxTable: number;
  private readonly fdFlags: boolean;
  private readonly concurrency: number;
  private readonly nsPerTick: bigint;
  private readonly options: ProcScanOptions;
  /** Statistics of the last scan. */
  lastStats: ProcScanStats | undefined;

  constructor(options: ProcScanOptions = {}) {
    this.options = options;
    this.hostRoot = options.hostRoot ?? '/';
    this.procRoot = options.procRoot ?? join(this.hostRoot, 'proc');
    this.maxProcesses = Math.max(1, options.maxProcesses ?? 65_536);
    this.maxThreads = Math.max(1, options.maxThreadsPerProcess ?? 4096);
    this.maxFds = Math.max(0, options.maxFdsPerProcess ?? 1024);
    this.maxCmdline = Math.max(16, options.maxCmdlineBytes ?? 32 * 1024);
    this.envMax = Math.max(0, options.envMaxBytes ?? 16 * 1024);
    this.envRead = Math.max(this.envMax, options.envReadBytes ?? 1024 * 1024);
    this.envAllow = new Set(options.envAllowList ?? DEFAULT_ENV_ALLOW_LIST);
    this.maxTable = Math.max(4096, options.maxSocketTableBytes ?? 32 * 1024 * 1024);
    this.fdFlags = options.fdFlags ?? true;
    this.concurrency = Math.max(1, options.concurrency ?? 4);
    const ticks = Math.max(1, options.clockTicks ?? 100);
    this.nsPerTick = NS_PER_SEC / BigInt(ticks);
  }

  /** Scans every process. Never rejects for a process that vanishes; rejects if /proc itself is unreadable or on abort. */
  async scan(): Promise<HostSnapshot> {
    const started = performance.now();
    const takenAt = (BigInt(Date.now()) * 1_000_000n).toString();
    const ctx = await this.context();
    const names = await readdir(this.procRoot);
    const pids = names
      .filter((n) => /^\d+$/.test(n))
      .map(Number)
      .sort((a, b) => a - b);
    ctx.stats.processesDropped = Math.max(0, pids.length - this.maxProcesses);
    const todo = pids.slice(0, this.maxProcesses);
    const results: (ProcessSnapshot | undefined)[] = new Array(todo.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < todo.length) {
        this.options.signal?.throwIfAborted();
        const i = next++;
        results[i] = await this.readOne(todo[i]!, ctx);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, todo.length) }, worker));
    const processes = results.filter((p): p is ProcessSnapshot => p !== undefined);
    ctx.stats.processes = processes.length;
    for (const p of processes) {
      ctx.stats.threads += p.threads.length;
      ctx.stats.fds += p.fds.length;
    }
    const users = this.options.users ?? new UserDatabase({ hostRoot: this.hostRoot });
    const accounts = users.snapshotHost();
    ctx.stats.durationMs = performance.now() - started;
    this.lastStats = ctx.stats;
    return {
      hostname: this.options.hostname ?? osHostname(),
      kernel: release(),
      bootTime: ctx.btimeNs.toString(),
      takenAt,
      processes,
      users: accounts.users,
      groups: accounts.groups,
    };
  }

  /** Reads one process; `undefined` if it does not exist (or vanished while read). */
  async readProcess(pid: number): Promise<ProcessSnapshot | undefined> {
    const ctx = await this.context();
    return this.readOne(pid, ctx);
  }

  private async context(): Promise<ScanContext> {
    let btimeNs = 0n;
    try {
      const text = (await readBounded(join(this.procRoot, 'stat'), 1 << 20)).toString('utf8');
      const m = /^btime\s+(\d+)$/m.exec(text);
      if (m) btimeNs = BigInt(m[1]!) * NS_PER_SEC;
    } catch {
      // No /proc/stat (unusual): start times stay relative to boot.
    }
    return {
      btimeNs,
      netTables: new Map(),
      stats: {
        processes: 0,
        threads: 0,
        fds: 0,
        vanished: 0,
        permissionDenied: 0,
        processesDropped: 0,
        truncated: 0,
        failed: 0,
        durationMs: 0,
      },
    };
  }

  private async readOne(pid: number, ctx: ScanContext): Promise<ProcessSnapshot | undefined> {
    const st: ProcessReadState = { gone: false, denied: false };
    let p: ProcessSnapshot | undefined;
    let startTicks: bigint | undefined;
    try {
      const r = await this.readProcessInner(pid, ctx, st);
      p = r?.process;
      startTicks = r?.startTicks;
    } catch (e) {
      if (e instanceof Vanished || isGone(errCode(e))) {
        ctx.stats.vanished++;
        return undefined;
      }
      if (isDenied(errCode(e))) {
        ctx.stats.permissionDenied++;
        return undefined;
      }
      if (this.options.signal?.aborted) throw e;
      // Anything else (EIO, an unparsable file, a throwing test hook) costs this
      // process, not the scan.
      ctx.stats.failed++;
      return undefined;
    }
    if (!p) return undefined;
    if (st.gone) {
      // Something was missing: was it the process (exited, or its pid reused)?
      const again = await this.readStat(pid).catch(() => undefined);
      if (!again || again.startTicks !== startTicks) {
        ctx.stats.vanished++;
        return undefined;
      }
    }
    if (st.denied) ctx.stats.permissionDenied++;
    return p;
  }

  private async readStat(pid: number): Promise<StatFields | undefined> {
    const text = (await readBounded(join(this.procRoot, String(pid), 'stat'), 4096)).toString('utf8');
    return parseProcStat(text);
  }

  /** An optional part: `undefined` when missing or unreadable, noting why in `st`. */
  private async optional<T>(st: ProcessReadState, f: () => Promise<T>): Promise<T | undefined> {
    try {
      return await f();
    } catch (e) {
      const code = errCode(e);
      if (isGone(code)) st.gone = true;
      else if (isDenied(code)) st.denied = true;
      return undefined;
    }
  }

  private async readProcessInner(
    pid: number,
    ctx: ScanContext,
    st: ProcessReadState,
  ): Promise<{ process: ProcessSnapshot; startTicks: bigint } | undefined> {
    const dir = join(this.procRoot, String(pid));
    const stat0 = await this.readStat(pid); // throws ENOENT if gone: the caller counts it
    if (!stat0) return undefined;
    await this.options.afterStat?.(pid);
    const statusText = (await readBounded(join(dir, 'status'), 64 * 1024)).toString('utf8');
    const status = parseProcStatus(statusText);

    const [cmdline, environ, cgroupText, loginuidText, exepath, cwd, pidnsLink, mntnsLink] = await Promise.all([
      this.optional(st, () => readBounded(join(dir, 'cmdline'), this.maxCmdline)),
      this.optional(st, () => readBounded(join(dir, 'environ'), this.envRead)),
      this.optional(st, () => readBounded(join(dir, 'cgroup'), 64 * 1024)),
      this.optional(st, () => readBounded(join(dir, 'loginuid'), 64)),
      this.optional(st, () => readlink(join(dir, 'exe'))),
      this.optional(st, () => readlink(join(dir, 'cwd'))),
      this.optional(st, () => readlink(join(dir, 'ns', 'pid'))),
      this.optional(st, () => readlink(join(dir, 'ns', 'mnt'))),
    ]);

    const argv = cmdline ? splitNul(cmdline, cmdline.length >= this.maxCmdline) : [];
    const env = environ
      ? boundEnvironment(splitNul(environ, environ.length >= this.envRead), this.envMax, this.envAllow)
      : [];
    const uids = ids(status.get('Uid'));
    const gids = ids(status.get('Gid'));
    const nspid = status.get('NSpid');
    const nested = nspid !== undefined && nspid.trim().split(/\s+/).length > 1;
    const loginuid = loginuidText ? Number(loginuidText.toString('utf8').trim()) : UNSET_LOGINUID;

    const [threads, fds] = await Promise.all([
      this.readThreads(pid, dir, stat0.comm, lastNumber(nspid, pid), nested, st, ctx),
      this.readFds(pid, dir, st, ctx),
    ]);

    const process: ProcessSnapshot = {
      pid,
      ppid: Number(status.get('PPid') ?? stat0.ppid),
      comm: stat0.comm,
      exe: argv.length > 0 ? argv[0]! : stat0.comm,
      exepath: exepath ?? '',
      args: argv.slice(1),
      env,
      cwd: cwd ?? '',
      uid: uids[0] ?? 0,
      gid: gids[0] ?? 0,
      euid: uids[1] ?? uids[0] ?? 0,
      egid: gids[1] ?? gids[0] ?? 0,
      loginuid: Number.isFinite(loginuid) ? loginuid : UNSET_LOGINUID,
      tty: stat0.ttyNr,
      sid: stat0.session,
      pgid: stat0.pgrp,
      vpid: lastNumber(nspid, pid),
      vpgid: lastNumber(status.get('NSpgid'), stat0.pgrp),
      cgroups: cgroupText
        ? cgroupText
            .toString('utf8')
            .split('\n')
            .filter((l) => l !== '')
        : [],
      pidns: pidnsLink ? nsInode(pidnsLink) : 0,
      mntns: mntnsLink ? nsInode(mntnsLink) : 0,
      startTs: (ctx.btimeNs + stat0.startTicks * this.nsPerTick).toString(),
      capPermitted: hexMaskToDecimal(status.get('CapPrm')),
      capEffective: hexMaskToDecimal(status.get('CapEff')),
      capInheritable: hexMaskToDecimal(status.get('CapInh')),
      threads,
      fds,
    };
    return { process, startTicks: stat0.startTicks };
  }

  private async readThreads(
    pid: number,
    dir: string,
    comm: string,
    vpid: number,
    nested: boolean,
    st: ProcessReadState,
    ctx: ScanContext,
  ): Promise<ThreadSnapshot[]> {
    const names = await this.optional(st, () => readdir(join(dir, 'task')));
    const main: ThreadSnapshot = { tid: pid, comm, vtid: vpid };
    if (!names) return [main];
    let tids = names
      .filter((n) => /^\d+$/.test(n))
      .map(Number)
      .sort((a, b) => a - b);
    if (tids.length > this.maxThreads) {
      tids = tids.slice(0, this.maxThreads);
      ctx.stats.truncated++;
    }
    const out = await Promise.all(
      tids.map(async (tid): Promise<ThreadSnapshot | undefined> => {
        if (tid === pid) return main;
        const tdir = join(dir, 'task', String(tid));
        const tcomm = await this.optional(st, () => readBounded(join(tdir, 'comm'), 64));
        if (tcomm === undefined) return undefined; // the thread exited
        let vtid = tid;
        if (nested) {
          // Only a process in a nested pid namespace needs each thread's own NSpid.
          const s = await this.optional(st, () => readBounded(join(tdir, 'status'), 64 * 1024));
          if (s) vtid = lastNumber(parseProcStatus(s.toString('utf8')).get('NSpid'), tid);
        }
        return { tid, comm: tcomm.toString('utf8').replace(/\n$/, ''), vtid };
      }),
    );
    const threads = out.filter((t): t is ThreadSnapshot => t !== undefined);
    if (!threads.some((t) => t.tid === pid)) threads.unshift(main);
    return threads;
  }

  private async readFds(pid: number, dir: string, st: ProcessReadState, ctx: ScanContext): Promise<FdSnapshot[]> {
    if (this.maxFds === 0) return [];
    const names = await this.optional(st, () => readdir(join(dir, 'fd')));
    if (!names) return [];
    let fdNums = names
      .filter((n) => /^\d+$/.test(n))
      .map(Number)
      .sort((a, b) => a - b);
    if (fdNums.length > this.maxFds) {
      fdNums = fdNums.slice(0, this.maxFds);
      ctx.stats.truncated++;
    }
    const links = await Promise.all(
      fdNums.map((fd) => this.optional(st, () => readlink(join(dir, 'fd', String(fd))))),
    );
    let sockets: SocketTable | undefined;
    if (links.some((l) => l !== undefined && l.startsWith('socket:['))) {
      sockets = await this.socketTable(pid, dir, st, ctx);
    }
    const fds = await Promise.all(
      fdNums.map(async (fd, i): Promise<FdSnapshot | undefined> => {
        const link = links[i];
        if (link === undefined) return undefined; // closed meanwhile
        return this.describeFd(fd, link, dir, sockets, st);
      }),
    );
    return fds.filter((f): f is FdSnapshot => f !== undefined);
  }

  private async describeFd(
    fd: number,
    link: string,
    dir: string,
    sockets: SocketTable | undefined,
    st: ProcessReadState,
  ): Promise<FdSnapshot> {
    if (link.startsWith('socket:[')) {
      const ino = bracketInode(link);
      const s = ino !== undefined ? sockets?.get(ino) : undefined;
      const out: Mutable<FdSnapshot> = { fd, type: 'unknown', name: link };
      if (ino !== undefined) out.ino = ino;
      if (!s) return out;
      if (s.kind === 'netlink') out.type = 'netlink';
      else if (s.kind === 'unix') {
        out.type = 'unix';
        if (s.path) out.name = s.path;
        if (s.listening) out.listening = true;
      } else {
        out.type = s.family;
        out.l4proto = s.l4proto;
        out.sip = s.sip;
        out.sport = s.sport;
        // A listening or unconnected socket has no peer (the table shows 0.0.0.0:0).
        if (s.listening) out.listening = true;
        else if (s.dport !== 0) {
          out.dip = s.dip;
          out.dport = s.dport;
        }
      }
      return out;
    }
    if (link.startsWith('pipe:[')) {
      const out: Mutable<FdSnapshot> = { fd, type: 'pipe', name: link };
      const ino = bracketInode(link);
      if (ino !== undefined) out.ino = ino;
      return out;
    }
    if (link.startsWith('anon_inode:')) return { fd, type: anonInodeType(link), name: link };
    if (link.startsWith('/memfd:')) {
      // `/memfd:<name> (deleted)`: Falco names it `memfd:<name>`.
      const name = link.slice(1).replace(/ \(deleted\)$/, '');
      const out: Mutable<FdSnapshot> = { fd, type: 'memfd', name };
      const flags = await this.fdFlagsOf(fd, dir, st);
      if (flags !== undefined) out.flags = flags;
      return out;
    }
    if (link.startsWith('/')) {
      const path = join(dir, 'fd', String(fd));
      const [s, flags] = await Promise.all([this.optional(st, () => stat(path)), this.fdFlagsOf(fd, dir, st)]);
      const out: Mutable<FdSnapshot> = { fd, type: s?.isDirectory() ? 'directory' : 'file', name: link };
      if (flags !== undefined) out.flags = flags;
      return out;
    }
    // nsfs (`net:[4026531992]`) and anything newer.
    return { fd, type: 'unknown', name: link };
  }

  private async fdFlagsOf(fd: number, dir: string, st: ProcessReadState): Promise<number | undefined> {
    if (!this.fdFlags) return undefined;
    const info = await this.optional(st, () => readBounded(join(dir, 'fdinfo', String(fd)), 4096));
    if (!info) return undefined;
    const m = /^flags:\s*([0-7]+)$/m.exec(info.toString('utf8'));
    return m ? Number.parseInt(m[1]!, 8) : undefined;
  }

  /** The socket tables of the process's network namespace, read once per namespace. */
  private async socketTable(pid: number, dir: string, st: ProcessReadState, ctx: ScanContext): Promise<SocketTable> {
    const nsLink = await this.optional(st, () => readlink(join(dir, 'ns', 'net')));
    const ns = nsLink ? nsInode(nsLink) : 0;
    if (ns === 0) return this.loadSocketTables(join(dir, 'net'));
    let p = ctx.netTables.get(ns);
    if (!p) {
      p = this.loadSocketTables(join(dir, 'net'));
      ctx.netTables.set(ns, p);
    }
    return p;
  }

  private async loadSocketTables(netDir: string): Promise<SocketTable> {
    const table: SocketTable = new Map();
    const read = async (name: string): Promise<string | undefined> => {
      try {
        return (await readBounded(join(netDir, name), this.maxTable)).toString('utf8');
      } catch {
        return undefined; // no IPv6, no such protocol, or the process is gone
      }
    };
    const texts = await Promise.all([...INET_TABLES.map(([n]) => read(n)), read('unix'), read('netlink')]);
    INET_TABLES.forEach(([, proto], i) => {
      const t = texts[i];
      if (t) parseInetTable(t, proto, table);
    });
    const unix = texts[INET_TABLES.length];
    if (unix) parseUnixTable(unix, table);
    const netlink = texts[INET_TABLES.length + 1];
    if (netlink) parseNetlinkTable(netlink, table);
    return table;
  }
}

/** Scans the host's /proc (see {@link ProcScanner}). */
export async function scanHost(options: ProcScanOptions = {}): Promise<HostSnapshot> {
  return new ProcScanner(options).scan();
}

/** Scans and also returns what happened (vanished processes, truncation, duration). */
export async function scanHostWithStats(
  options: ProcScanOptions = {},
): Promise<{ snapshot: HostSnapshot; stats: ProcScanStats }> {
  const scanner = new ProcScanner(options);
  const snapshot = await scanner.scan();
  return { snapshot, stats: scanner.lastStats! };
}
