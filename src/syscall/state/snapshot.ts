/**
 * The initial state of a host, as captured from /proc (live, or stored in a
 * capture file's header): processes with their threads and open files, and
 * the host's users and groups. The state tables are seeded from it; records
 * then keep them current.
 *
 * These are plain JSON-able objects: a capture file stores them as they are.
 */

/** One open file descriptor, as /proc/<pid>/fd and /proc/<pid>/net describe it. */
export interface FdSnapshot {
  readonly fd: number;
  /** `file`, `directory`, `ipv4`, `ipv6`, `unix`, `pipe`, `memfd`, `event`, `signalfd`, `inotify`, `timerfd`, `netlink`, `bpf`, `userfaultfd`, `io_uring`, `unknown`. */
  readonly type: string;
  /** Path for files, `pipe:[ino]`-style names for others (as the /proc link reads). */
  readonly name: string;
  /** Open flags (O_*), when known (from /proc/<pid>/fdinfo). */
  readonly flags?: number;
  /** For sockets: layer-4 protocol and endpoints. */
  readonly l4proto?: 'tcp' | 'udp' | 'raw' | 'icmp';
  readonly sip?: string;
  readonly sport?: number;
  readonly dip?: string;
  readonly dport?: number;
  /** True when the socket is a listening (server) socket. */
  readonly listening?: boolean;
  /** Inode, for sockets and pipes. */
  readonly ino?: number;
}

/** One thread. The first thread of a process has tid === pid. */
export interface ThreadSnapshot {
  readonly tid: number;
  /** Thread name (comm). */
  readonly comm: string;
  /** Thread id in its own pid namespace. */
  readonly vtid: number;
}

/** One process (thread group). */
export interface ProcessSnapshot {
  readonly pid: number;
  readonly ppid: number;
  /** Process name (comm of the main thread, at most 15 chars). */
  readonly comm: string;
  /** argv[0]. */
  readonly exe: string;
  /** Full path of the executable (/proc/<pid>/exe). */
  readonly exepath: string;
  /** argv[1..]. */
  readonly args: readonly string[];
  /** Environment as NAME=value strings (may be bounded by the capturer). */
  readonly env: readonly string[];
  readonly cwd: string;
  readonly uid: number;
  readonly gid: number;
  readonly euid: number;
  readonly egid: number;
  /** Audit login uid; 4294967295 when unset. */
  readonly loginuid: number;
  /** Controlling tty device number (0 when none). */
  readonly tty: number;
  readonly sid: number;
  readonly pgid: number;
  /** Pid, session and process group in the process's own pid namespace. */
  readonly vpid: number;
  readonly vpgid: number;
  /** /proc/<pid>/cgroup lines, as `hierarchy-id:controllers:path`. */
  readonly cgroups: readonly string[];
  /** Namespace inode numbers. */
  readonly pidns: number;
  readonly mntns: number;
  /** Process start time, ns since the epoch, as decimal text (exceeds JSON number precision). */
  readonly startTs: string;
  /** Capability sets, as 64-bit masks in decimal text (JSON numbers cannot hold them exactly). */
  readonly capPermitted: string;
  readonly capEffective: string;
  readonly capInheritable: string;
  readonly threads: readonly ThreadSnapshot[];
  readonly fds: readonly FdSnapshot[];
}

export interface UserEntry {
  readonly uid: number;
  readonly gid: number;
  readonly name: string;
  readonly homedir: string;
  readonly shell: string;
}

export interface GroupEntry {
  readonly gid: number;
  readonly name: string;
}

/** What a capture header (or a live /proc scan) provides. */
export interface HostSnapshot {
  readonly hostname: string;
  /** `uname -r`. */
  readonly kernel: string;
  /** Boot time, ns since the epoch as decimal text (turns kernel timestamps into wall time). */
  readonly bootTime: string;
  /** When the snapshot was taken, ns since the epoch as decimal text. */
  readonly takenAt: string;
  readonly processes: readonly ProcessSnapshot[];
  /** The host's /etc/passwd and /etc/group, so a replay elsewhere resolves names the same way. */
  readonly users: readonly UserEntry[];
  readonly groups: readonly GroupEntry[];
  /** Users and groups of containers (their own /etc), by 12-char container id. */
  readonly containerUsers?: Readonly<Record<string, { readonly users: readonly UserEntry[]; readonly groups: readonly GroupEntry[] }>>;
}
