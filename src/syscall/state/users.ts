/**
 * Users and groups by id, for `user.name`, `user.homedir`, `user.shell`,
 * `user.loginname` and `group.name`: from the host's /etc/passwd and
 * /etc/group, and, for a process in a container, from the container's own
 * root filesystem (`/proc/<pid>/root/etc/passwd`), as libsinsp does.
 *
 * Two sources:
 * - **live** (no snapshot given): files are read lazily, at most once per
 *   `refreshIntervalMs` checked for a changed mtime/size/inode, and re-read
 *   only when they changed. Container databases sit in a bounded LRU keyed by
 *   container id.
 * - **capture** (`users`/`groups` given, from a capture header): no file is
 *   ever read, so a replay resolves names exactly as the capturing host did,
 *   wherever it runs. Containers resolve only from `containers`, when the
 *   capture stored them.
 *
 * Lookups are synchronous because field extraction is; the file reads they
 * trigger are small, bounded, rare (once per file per container, then on
 * change), and never block on a FIFO or a device a container planted in place
 * of its /etc/passwd.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { GroupEntry, UserEntry } from './snapshot.js';

export type { GroupEntry, UserEntry } from './snapshot.js';

/** A container's accounts, as a capture may store them. */
export interface ContainerAccounts {
  readonly users: readonly UserEntry[];
  readonly groups: readonly GroupEntry[];
}

/** Which container a lookup is for. `id` is the 12-char id (or `host`). */
export interface ContainerRef {
  readonly id: string;
  /** A process in the container whose root filesystem holds its /etc (live mode). */
  readonly rootPid?: number;
}

export interface UserDatabaseOptions {
  /** Where the host's filesystem is mounted (`/host` for an agent in a pod). Default `/`. */
  readonly hostRoot?: string;
  /** Host users from a capture snapshot. With `groups`, switches to capture mode: no file access. */
  readonly users?: readonly UserEntry[];
  /** Host groups from a capture snapshot (capture mode). */
  readonly groups?: readonly GroupEntry[];
  /** Container accounts from a capture, by 12-char container id (capture mode). */
  readonly containers?: ReadonlyMap<string, ContainerAccounts> | Readonly<Record<string, ContainerAccounts>>;
  /** Container databases kept (LRU). Default 256. */
  readonly maxContainers?: number;
  /** How often a file is checked for changes, at most. Default 5000 ms. */
  readonly refreshIntervalMs?: number;
  /** Bytes read from one file at most; the rest is ignored. Default 8 MiB. */
  readonly maxFileBytes?: number;
  /** Entries kept from one file at most. Default 200 000. */
  readonly maxEntries?: number;
  /** Clock in ms (tests). Default `Date.now`. */
  readonly now?: () => number;
  /**
   * Live mode: called when the host's (`undefined`) or a container's accounts
   * were read or changed, so a capture writer can record them.
   */
  readonly onAccountsChanged?: (containerId: string | undefined) => void;
}

const UINT32_MAX = 4294967295;

function parseId(s: string): number {
  // Decimal only: getpwent's strtoul would take more, but nothing legitimate writes it.
  if (s.length === 0 || s.length > 10) return -1;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
  }
  const n = Number(s);
  return n <= UINT32_MAX ? n : -1;
}

/** Calls `fn` for each line of `text` (without its `\n` or trailing `\r`), stopping when `fn` returns false. */
function eachLine(text: string, fn: (line: string) => boolean): void {
  let start = 0;
  const n = text.length;
  while (start < n) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = n;
    let line = text.slice(start, end);
    if (line.endsWith('\r')) line = line.slice(0, -1);
    start = end + 1;
    if (!fn(line)) return;
  }
}

function skippable(line: string): boolean {
  if (line.length === 0) return true;
  const c = line.charCodeAt(0);
  // `#` comments; `+`/`-` are NIS compat entries, which name no local account.
  return c === 35 || c === 43 || c === 45 || line.trim().length === 0;
}

/**
 * Parses /etc/passwd text (`name:password:uid:gid:gecos:home:shell`). Comments,
 * blank, NIS (`+`/`-`) and malformed lines (not exactly seven fields, empty
 * name, non-numeric or out-of-range ids) are skipped. At most `maxEntries`
 * entries are returned. Duplicates are kept in file order (the lookup uses the
 * first, as getpwuid does).
 */
export function parsePasswd(text: string, maxEntries = 200_000): UserEntry[] {
  const out: UserEntry[] = [];
  eachLine(text, (line) => {
    if (skippable(line)) return true;
    const f = line.split(':');
    if (f.length !== 7 || f[0] === '') return true;
    const uid = parseId(f[2]!);
    const gid = parseId(f[3]!);
    if (uid < 0 || gid < 0) return true;
    out.push({ uid, gid, name: f[0]!, homedir: f[5]!, shell: f[6]! });
    return out.length < maxEntries;
  });
  return out;
}

/**
 * Parses /etc/group text (`name:password:gid[:members]`), skipping what
 * {@link parsePasswd} skips. At most `maxEntries` entries.
 */
export function parseGroup(text: string, maxEntries = 200_000): GroupEntry[] {
  const out: GroupEntry[] = [];
  eachLine(text, (line) => {
    if (skippable(line)) return true;
    const f = line.split(':');
    if (f.length < 3 || f.length > 4 || f[0] === '') return true;
    const gid = parseId(f[2]!);
    if (gid < 0) return true;
    out.push({ gid, name: f[0]! });
    return out.length < maxEntries;
  });
  return out;
}

/** Entries indexed by id; the first entry of an id wins. */
class AccountTable<T extends { readonly name: string }> {
  readonly byId = new Map<number, T>();
  constructor(
    readonly entries: readonly T[],
    idOf: (e: T) => number,
  ) {
    for (const e of entries) {
      const id = idOf(e);
      if (!this.byId.has(id)) this.byId.set(id, e);
    }
  }
}

const userId = (u: UserEntry): number => u.uid;
const groupId = (g: GroupEntry): number => g.gid;

function freezeAll<T extends object>(list: readonly T[]): readonly T[] {
  return Object.freeze(list.map((e) => Object.freeze({ ...e })));
}

interface FileLimits {
  readonly maxFileBytes: number;
  readonly maxEntries: number;
}

/**
 * Reads a regular file without ever blocking: O_NONBLOCK so a FIFO does not
 * hang the open, fstat so nothing but a regular file is read, and a bounded
 * read. With `noFollow`, a symlink as the last component is refused.
 */
function readRegularFile(path: string, maxBytes: number, noFollow: boolean): string {
  const flags = constants.O_RDONLY | constants.O_NONBLOCK | (noFollow ? constants.O_NOFOLLOW : 0);
  const fd = openSync(path, flags);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw Object.assign(new Error(`${path}: not a regular file`), { code: 'ENOTREG' });
    const size = Math.min(st.size > 0 ? st.size : maxBytes, maxBytes);
    const buf = Buffer.allocUnsafe(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, buf, off, size - off, off);
      if (n === 0) break;
      off += n;
    }
    let text = buf.toString('utf8', 0, off);
    // A truncated read ends mid-line: drop the partial line.
    if (off >= maxBytes && st.size > maxBytes) {
      const nl = text.lastIndexOf('\n');
      text = nl >= 0 ? text.slice(0, nl + 1) : '';
    }
    return text;
  } finally {
    closeSync(fd);
  }
}

interface Signature {
  readonly dev: number;
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
}

function sameSignature(a: Signature | undefined, b: Signature | undefined): boolean {
  if (!a || !b) return a === b;
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

/**
 * One passwd or group file, re-read when its signature changes. `dir` is the
 * directory holding it; for a container it must be a real directory (not a
 * symlink) and the file must not be a symlink either: paths under
 * /proc/<pid>/root resolve absolute symlinks against *our* root, so a
 * container could otherwise point its /etc/passwd at the host's /etc/shadow.
 */
class WatchedFile<T extends { readonly name: string }> {
  private table: AccountTable<T> | undefined;
  private signature: Signature | undefined;
  private checkedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private dir: string,
    private readonly name: string,
    private readonly confined: boolean,
    private readonly parse: (text: string, max: number) => T[],
    private readonly idOf: (e: T) => number,
    /** Called whenever the entries change (first read included). */
    private readonly onChange?: () => void,
  ) {}

  /** Points at another directory (the container's root process changed); checked on next use. */
  moveTo(dir: string): void {
    if (dir === this.dir) return;
    this.dir = dir;
    this.checkedAt = Number.NEGATIVE_INFINITY;
  }

  get(now: number, intervalMs: number, limits: FileLimits): AccountTable<T> | undefined {
    // checkedAt starts at -Infinity, so the first use always reads.
    if (now - this.checkedAt >= intervalMs) {
      this.checkedAt = now;
      this.refresh(limits);
    }
    return this.table;
  }

  private stat(): Signature | undefined {
    const path = join(this.dir, this.name);
    try {
      if (this.confined) {
        const d = lstatSync(this.dir);
        if (!d.isDirectory()) return undefined;
        const s = lstatSync(path);
        return s.isFile() ? { dev: s.dev, ino: s.ino, size: s.size, mtimeMs: s.mtimeMs } : undefined;
      }
      const s = statSync(path);
      return s.isFile() ? { dev: s.dev, ino: s.ino, size: s.size, mtimeMs: s.mtimeMs } : undefined;
    } catch {
      return undefined;
    }
  }

  private refresh(limits: FileLimits): void {
    const sig = this.stat();
    if (sig === undefined) {
      // The file is gone or unreadable. A container whose root process exited
      // keeps its last known accounts; a file that never existed stays empty.
      if (this.table === undefined) this.table = new AccountTable<T>([], this.idOf);
      return;
    }
    if (this.table !== undefined && sameSignature(sig, this.signature)) return;
    try {
      const text = readRegularFile(join(this.dir, this.name), limits.maxFileBytes, this.confined);
      this.table = new AccountTable(freezeAll(this.parse(text, limits.maxEntries)), this.idOf);
      this.signature = sig;
      this.onChange?.();
    } catch {
      if (this.table === undefined) this.table = new AccountTable<T>([], this.idOf);
    }
  }
}

interface Accounts {
  users(now: number): AccountTable<UserEntry> | undefined;
  groups(now: number): AccountTable<GroupEntry> | undefined;
}

class FileAccounts implements Accounts {
  private readonly passwd: WatchedFile<UserEntry>;
  private readonly group: WatchedFile<GroupEntry>;
  constructor(
    etcDir: string,
    confined: boolean,
    private readonly intervalMs: number,
    private readonly limits: FileLimits,
    onChange?: () => void,
  ) {
    this.passwd = new WatchedFile(etcDir, 'passwd', confined, parsePasswd, userId, onChange);
    this.group = new WatchedFile(etcDir, 'group', confined, parseGroup, groupId, onChange);
  }
  moveTo(etcDir: string): void {
    this.passwd.moveTo(etcDir);
    this.group.moveTo(etcDir);
  }
  users(now: number): AccountTable<UserEntry> | undefined {
    return this.passwd.get(now, this.intervalMs, this.limits);
  }
  groups(now: number): AccountTable<GroupEntry> | undefined {
    return this.group.get(now, this.intervalMs, this.limits);
  }
}

class FixedAccounts implements Accounts {
  private readonly u: AccountTable<UserEntry>;
  private readonly g: AccountTable<GroupEntry>;
  constructor(users: readonly UserEntry[], groups: readonly GroupEntry[]) {
    this.u = new AccountTable(freezeAll(users), userId);
    this.g = new AccountTable(freezeAll(groups), groupId);
  }
  users(): AccountTable<UserEntry> {
    return this.u;
  }
  groups(): AccountTable<GroupEntry> {
    return this.g;
  }
}

interface ContainerSlot {
  readonly accounts: FileAccounts;
  rootPid: number;
}

/**
 * Users and groups of the host and of containers. See the module comment for
 * the live and capture modes.
 */
export class UserDatabase {
  /** False when built from a capture snapshot: no file is read, ever. */
  readonly live: boolean;
  private readonly hostRoot: string;
  private host: Accounts;
  private readonly captured = new Map<string, FixedAccounts>();
  private readonly containers = new Map<string, ContainerSlot>();
  private readonly maxContainers: number;
  private readonly intervalMs: number;
  private readonly limits: FileLimits;
  private readonly now: () => number;
  private readonly onAccountsChanged: ((containerId: string | undefined) => void) | undefined;

  constructor(options: UserDatabaseOptions = {}) {
    this.onAccountsChanged = options.onAccountsChanged;
    this.hostRoot = options.hostRoot ?? '/';
    this.maxContainers = Math.max(1, options.maxContainers ?? 256);
    this.intervalMs = Math.max(0, options.refreshIntervalMs ?? 5000);
    this.limits = {
      maxFileBytes: Math.max(1, options.maxFileBytes ?? 8 * 1024 * 1024),
      maxEntries: Math.max(1, options.maxEntries ?? 200_000),
    };
    this.now = options.now ?? Date.now;
    this.live = options.users === undefined && options.groups === undefined && options.containers === undefined;
    if (this.live) {
      const onChange = this.onAccountsChanged;
      this.host = new FileAccounts(join(this.hostRoot, 'etc'), false, this.intervalMs, this.limits,
        onChange ? () => onChange(undefined) : undefined);
    } else {
      this.host = new FixedAccounts(options.users ?? [], options.groups ?? []);
      const cs = options.containers;
      if (cs) {
        const entries = cs instanceof Map ? [...cs.entries()] : Object.entries(cs as Record<string, ContainerAccounts>);
        for (const [id, a] of entries) this.captured.set(id, new FixedAccounts(a.users, a.groups));
      }
    }
  }

  /** The user with this uid, on the host or in `container`; `undefined` when unknown. */
  user(uid: number, container?: ContainerRef): UserEntry | undefined {
    return this.accountsFor(container)?.users(this.now())?.byId.get(uid);
  }

  /** The group with this gid, on the host or in `container`; `undefined` when unknown. */
  group(gid: number, container?: ContainerRef): GroupEntry | undefined {
    return this.accountsFor(container)?.groups(this.now())?.byId.get(gid);
  }

  /** The host's users and groups, for a capture header. */
  snapshotHost(): { users: UserEntry[]; groups: GroupEntry[] } {
    const now = this.now();
    return { users: [...(this.host.users(now)?.entries ?? [])], groups: [...(this.host.groups(now)?.entries ?? [])] };
  }

  /**
   * A container's accounts as currently known (cached, or from the capture),
   * so a capture writer can store them; `undefined` if never looked up.
   */
  snapshotContainer(id: string): ContainerAccounts | undefined {
    const a: Accounts | undefined = this.live ? this.containers.get(id)?.accounts : this.captured.get(id);
    if (!a) return undefined;
    const now = this.now();
    return { users: [...(a.users(now)?.entries ?? [])], groups: [...(a.groups(now)?.entries ?? [])] };
  }

  /**
   * Capture mode: replaces the host's (`containerId` undefined) or a
   * container's accounts with what a capture recorded while it ran.
   */
  replaceAccounts(containerId: string | undefined, users: readonly UserEntry[], groups: readonly GroupEntry[]): void {
    if (this.live) throw new Error('replaceAccounts is for capture mode (a live database reads the files)');
    const accounts = new FixedAccounts(users, groups);
    if (containerId === undefined) this.host = accounts;
    else this.captured.set(containerId, accounts);
  }

  /** Drops a container's cached accounts (when the container is gone). */
  forgetContainer(id: string): void {
    this.containers.delete(id);
  }

  /** Number of containers cached (tests, metrics). */
  get cachedContainers(): number {
    return this.containers.size;
  }

  private accountsFor(container: ContainerRef | undefined): Accounts | undefined {
    if (container === undefined || container.id === 'host' || container.id === '') return this.host;
    if (!this.live) return this.captured.get(container.id);
    const slot = this.containers.get(container.id);
    const pid = container.rootPid;
    if (slot) {
      // LRU: move to the most recent end.
      this.containers.delete(container.id);
      this.containers.set(container.id, slot);
      if (pid !== undefined && pid > 0 && pid !== slot.rootPid) {
        slot.rootPid = pid;
        slot.accounts.moveTo(this.etcOf(pid));
      }
      return slot.accounts;
    }
    if (pid === undefined || pid <= 0 || !Number.isInteger(pid)) return undefined;
    if (this.containers.size >= this.maxContainers) {
      const oldest = this.containers.keys().next();
      if (!oldest.done) this.containers.delete(oldest.value);
    }
    const onChange = this.onAccountsChanged;
    const id = container.id;
    const created: ContainerSlot = {
      accounts: new FileAccounts(this.etcOf(pid), true, this.intervalMs, this.limits, onChange ? () => onChange(id) : undefined),
      rootPid: pid,
    };
    this.containers.set(container.id, created);
    return created.accounts;
  }

  private etcOf(pid: number): string {
    return join(this.hostRoot, 'proc', String(pid), 'root', 'etc');
  }
}
