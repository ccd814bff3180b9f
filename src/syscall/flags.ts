/**
 * Symbolic names of syscall arguments (Linux x86_64 values), for rendering
 * `evt.arg.*` the way Falco does: `O_WRONLY|O_CREAT`, `PTRACE_ATTACH`,
 * `S_ISUID|S_IXUSR`, `AF_PACKET`, `ENOENT`. Rules compare against these
 * names (`evt.arg.flags contains O_TRUNC`).
 */

type Table = readonly (readonly [string, number])[];

/** Bit flags: every name whose bits are all set, in table order; `0` when none. */
export function renderFlags(table: Table, value: number | bigint): string {
  const v = BigInt(value);
  const names: string[] = [];
  let rest = v;
  for (const [name, bit] of table) {
    const b = BigInt(bit);
    if (b !== 0n && (v & b) === b) {
      names.push(name);
      rest &= ~b;
    }
  }
  if (rest !== 0n) names.push(`0x${rest.toString(16)}`);
  return names.length ? names.join('|') : '0';
}

/** An enumeration: the name of the value, or the number. */
export function renderEnum(table: Table, value: number | bigint): string {
  const n = Number(value);
  for (const [name, v] of table) if (v === n) return name;
  return String(value);
}

/** File-created marker the sensor adds to open flags (not a kernel flag). */
export const O_F_CREATED = 0x80000000;

const OPEN_FLAGS: Table = [
  ['O_CREAT', 0o100], ['O_EXCL', 0o200], ['O_NOCTTY', 0o400], ['O_TRUNC', 0o1000], ['O_APPEND', 0o2000],
  ['O_NONBLOCK', 0o4000], ['O_DSYNC', 0o10000], ['O_ASYNC', 0o20000], ['O_DIRECT', 0o40000],
  ['O_LARGEFILE', 0o100000], ['O_DIRECTORY', 0o200000], ['O_NOFOLLOW', 0o400000], ['O_NOATIME', 0o1000000],
  ['O_CLOEXEC', 0o2000000], ['O_SYNC', 0o4010000], ['O_PATH', 0o10000000], ['O_TMPFILE', 0o20200000],
  ['O_F_CREATED', O_F_CREATED],
];

export const O_ACCMODE = 3;
export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_CREAT = 0o100;
export const O_TRUNC = 0o1000;

/** open(2) flags: the access mode first, then the other flags. */
export function renderOpenFlags(flags: number): string {
  const acc = flags & O_ACCMODE;
  const mode = acc === O_WRONLY ? 'O_WRONLY' : acc === O_RDWR ? 'O_RDWR' : 'O_RDONLY';
  const rest = renderFlags(OPEN_FLAGS, (flags & ~O_ACCMODE) >>> 0);
  return rest === '0' ? mode : `${mode}|${rest}`;
}

const MODE_FLAGS: Table = [
  ['S_IXOTH', 0o1], ['S_IWOTH', 0o2], ['S_IROTH', 0o4], ['S_IXGRP', 0o10], ['S_IWGRP', 0o20], ['S_IRGRP', 0o40],
  ['S_IXUSR', 0o100], ['S_IWUSR', 0o200], ['S_IRUSR', 0o400], ['S_ISVTX', 0o1000], ['S_ISGID', 0o2000],
  ['S_ISUID', 0o4000],
];

export function renderMode(mode: number): string {
  return renderFlags(MODE_FLAGS, mode & 0o7777);
}

export const PTRACE_REQUESTS: Table = [
  ['PTRACE_TRACEME', 0], ['PTRACE_PEEKTEXT', 1], ['PTRACE_PEEKDATA', 2], ['PTRACE_PEEKUSR', 3],
  ['PTRACE_POKETEXT', 4], ['PTRACE_POKEDATA', 5], ['PTRACE_POKEUSR', 6], ['PTRACE_CONT', 7], ['PTRACE_KILL', 8],
  ['PTRACE_SINGLESTEP', 9], ['PTRACE_GETREGS', 12], ['PTRACE_SETREGS', 13], ['PTRACE_GETFPREGS', 14],
  ['PTRACE_SETFPREGS', 15], ['PTRACE_ATTACH', 16], ['PTRACE_DETACH', 17], ['PTRACE_GETFPXREGS', 18],
  ['PTRACE_SETFPXREGS', 19], ['PTRACE_SYSCALL', 24], ['PTRACE_SETOPTIONS', 0x4200],
  ['PTRACE_GETEVENTMSG', 0x4201], ['PTRACE_GETSIGINFO', 0x4202], ['PTRACE_SETSIGINFO', 0x4203],
  ['PTRACE_GETREGSET', 0x4204], ['PTRACE_SETREGSET', 0x4205], ['PTRACE_SEIZE', 0x4206],
  ['PTRACE_INTERRUPT', 0x4207], ['PTRACE_LISTEN', 0x4208], ['PTRACE_PEEKSIGINFO', 0x4209],
];

export const SOCKET_FAMILIES: Table = [
  ['AF_UNSPEC', 0], ['AF_UNIX', 1], ['AF_INET', 2], ['AF_AX25', 3], ['AF_IPX', 4], ['AF_APPLETALK', 5],
  ['AF_NETROM', 6], ['AF_BRIDGE', 7], ['AF_ATMPVC', 8], ['AF_X25', 9], ['AF_INET6', 10], ['AF_ROSE', 11],
  ['AF_DECnet', 12], ['AF_NETBEUI', 13], ['AF_SECURITY', 14], ['AF_KEY', 15], ['AF_NETLINK', 16],
  ['AF_PACKET', 17], ['AF_ASH', 18], ['AF_ECONET', 19], ['AF_ATMSVC', 20], ['AF_RDS', 21], ['AF_SNA', 22],
  ['AF_IRDA', 23], ['AF_PPPOX', 24], ['AF_WANPIPE', 25], ['AF_LLC', 26], ['AF_IB', 27], ['AF_MPLS', 28],
  ['AF_CAN', 29], ['AF_TIPC', 30], ['AF_BLUETOOTH', 31], ['AF_IUCV', 32], ['AF_RXRPC', 33], ['AF_ISDN', 34],
  ['AF_PHONET', 35], ['AF_IEEE802154', 36], ['AF_CAIF', 37], ['AF_ALG', 38], ['AF_NFC', 39], ['AF_VSOCK', 40],
  ['AF_KCM', 41], ['AF_QIPCRTR', 42], ['AF_SMC', 43], ['AF_XDP', 44], ['AF_MCTP', 45],
];

export const SOCKET_TYPES: Table = [
  ['SOCK_STREAM', 1], ['SOCK_DGRAM', 2], ['SOCK_RAW', 3], ['SOCK_RDM', 4], ['SOCK_SEQPACKET', 5],
  ['SOCK_DCCP', 6], ['SOCK_PACKET', 10],
];

/** socket(2) type: the kind, then SOCK_NONBLOCK / SOCK_CLOEXEC. */
export function renderSocketType(type: number): string {
  const kind = renderEnum(SOCKET_TYPES, type & 0xf);
  const extra = renderFlags([['SOCK_NONBLOCK', 0o4000], ['SOCK_CLOEXEC', 0o2000000]], type & ~0xf);
  return extra === '0' ? kind : `${kind}|${extra}`;
}

export const CLONE_FLAGS: Table = [
  ['CLONE_VM', 0x100], ['CLONE_FS', 0x200], ['CLONE_FILES', 0x400], ['CLONE_SIGHAND', 0x800],
  ['CLONE_PIDFD', 0x1000], ['CLONE_PTRACE', 0x2000], ['CLONE_VFORK', 0x4000], ['CLONE_PARENT', 0x8000],
  ['CLONE_THREAD', 0x10000], ['CLONE_NEWNS', 0x20000], ['CLONE_SYSVSEM', 0x40000], ['CLONE_SETTLS', 0x80000],
  ['CLONE_PARENT_SETTID', 0x100000], ['CLONE_CHILD_CLEARTID', 0x200000], ['CLONE_DETACHED', 0x400000],
  ['CLONE_UNTRACED', 0x800000], ['CLONE_CHILD_SETTID', 0x1000000], ['CLONE_NEWCGROUP', 0x2000000],
  ['CLONE_NEWUTS', 0x4000000], ['CLONE_NEWIPC', 0x8000000], ['CLONE_NEWUSER', 0x10000000],
  ['CLONE_NEWPID', 0x20000000], ['CLONE_NEWNET', 0x40000000], ['CLONE_IO', 0x80000000],
];

export const CLONE_THREAD = 0x10000;
export const CLONE_FILES = 0x400;
export const CLONE_FS = 0x200;

export const MOUNT_FLAGS: Table = [
  ['MS_RDONLY', 1], ['MS_NOSUID', 2], ['MS_NODEV', 4], ['MS_NOEXEC', 8], ['MS_SYNCHRONOUS', 16],
  ['MS_REMOUNT', 32], ['MS_MANDLOCK', 64], ['MS_DIRSYNC', 128], ['MS_NOSYMFOLLOW', 256], ['MS_NOATIME', 1024],
  ['MS_NODIRATIME', 2048], ['MS_BIND', 4096], ['MS_MOVE', 8192], ['MS_REC', 16384], ['MS_SILENT', 32768],
  ['MS_POSIXACL', 1 << 16], ['MS_UNBINDABLE', 1 << 17], ['MS_PRIVATE', 1 << 18], ['MS_SLAVE', 1 << 19],
  ['MS_SHARED', 1 << 20], ['MS_RELATIME', 1 << 21], ['MS_KERNMOUNT', 1 << 22], ['MS_I_VERSION', 1 << 23],
  ['MS_STRICTATIME', 1 << 24], ['MS_LAZYTIME', 1 << 25],
];

export const UMOUNT_FLAGS: Table = [
  ['MNT_FORCE', 1], ['MNT_DETACH', 2], ['MNT_EXPIRE', 4], ['UMOUNT_NOFOLLOW', 8],
];

export const AT_FLAGS: Table = [
  ['AT_SYMLINK_NOFOLLOW', 0x100], ['AT_REMOVEDIR', 0x200], ['AT_SYMLINK_FOLLOW', 0x400],
  ['AT_NO_AUTOMOUNT', 0x800], ['AT_EMPTY_PATH', 0x1000],
];

export const RENAME_FLAGS: Table = [
  ['RENAME_NOREPLACE', 1], ['RENAME_EXCHANGE', 2], ['RENAME_WHITEOUT', 4],
];

export const MEMFD_FLAGS: Table = [
  ['MFD_CLOEXEC', 1], ['MFD_ALLOW_SEALING', 2], ['MFD_HUGETLB', 4], ['MFD_NOEXEC_SEAL', 8], ['MFD_EXEC', 0x10],
];

export const BPF_COMMANDS: Table = [
  ['BPF_MAP_CREATE', 0], ['BPF_MAP_LOOKUP_ELEM', 1], ['BPF_MAP_UPDATE_ELEM', 2], ['BPF_MAP_DELETE_ELEM', 3],
  ['BPF_MAP_GET_NEXT_KEY', 4], ['BPF_PROG_LOAD', 5], ['BPF_OBJ_PIN', 6], ['BPF_OBJ_GET', 7],
  ['BPF_PROG_ATTACH', 8], ['BPF_PROG_DETACH', 9], ['BPF_PROG_TEST_RUN', 10], ['BPF_PROG_GET_NEXT_ID', 11],
  ['BPF_MAP_GET_NEXT_ID', 12], ['BPF_PROG_GET_FD_BY_ID', 13], ['BPF_MAP_GET_FD_BY_ID', 14],
  ['BPF_OBJ_GET_INFO_BY_FD', 15], ['BPF_PROG_QUERY', 16], ['BPF_RAW_TRACEPOINT_OPEN', 17], ['BPF_BTF_LOAD', 18],
  ['BPF_BTF_GET_FD_BY_ID', 19], ['BPF_TASK_FD_QUERY', 20], ['BPF_MAP_LOOKUP_AND_DELETE_ELEM', 21],
  ['BPF_MAP_FREEZE', 22], ['BPF_BTF_GET_NEXT_ID', 23], ['BPF_MAP_LOOKUP_BATCH', 24],
  ['BPF_MAP_LOOKUP_AND_DELETE_BATCH', 25], ['BPF_MAP_UPDATE_BATCH', 26], ['BPF_MAP_DELETE_BATCH', 27],
  ['BPF_LINK_CREATE', 28], ['BPF_LINK_UPDATE', 29], ['BPF_LINK_GET_FD_BY_ID', 30], ['BPF_LINK_GET_NEXT_ID', 31],
  ['BPF_ENABLE_STATS', 32], ['BPF_ITER_CREATE', 33], ['BPF_LINK_DETACH', 34], ['BPF_PROG_BIND_MAP', 35],
];

export const PRCTL_OPTIONS: Table = [
  ['PR_SET_PDEATHSIG', 1], ['PR_GET_PDEATHSIG', 2], ['PR_GET_DUMPABLE', 3], ['PR_SET_DUMPABLE', 4],
  ['PR_SET_KEEPCAPS', 8], ['PR_SET_NAME', 15], ['PR_GET_NAME', 16], ['PR_GET_SECCOMP', 21],
  ['PR_SET_SECCOMP', 22], ['PR_CAPBSET_READ', 23], ['PR_CAPBSET_DROP', 24], ['PR_SET_SECUREBITS', 28],
  ['PR_SET_CHILD_SUBREAPER', 36], ['PR_GET_CHILD_SUBREAPER', 37], ['PR_SET_NO_NEW_PRIVS', 38],
  ['PR_GET_NO_NEW_PRIVS', 39], ['PR_CAP_AMBIENT', 47],
];

export const SIGNALS: Table = [
  ['SIGHUP', 1], ['SIGINT', 2], ['SIGQUIT', 3], ['SIGILL', 4], ['SIGTRAP', 5], ['SIGABRT', 6], ['SIGBUS', 7],
  ['SIGFPE', 8], ['SIGKILL', 9], ['SIGUSR1', 10], ['SIGSEGV', 11], ['SIGUSR2', 12], ['SIGPIPE', 13],
  ['SIGALRM', 14], ['SIGTERM', 15], ['SIGSTKFLT', 16], ['SIGCHLD', 17], ['SIGCONT', 18], ['SIGSTOP', 19],
  ['SIGTSTP', 20], ['SIGTTIN', 21], ['SIGTTOU', 22], ['SIGURG', 23], ['SIGXCPU', 24], ['SIGXFSZ', 25],
  ['SIGVTALRM', 26], ['SIGPROF', 27], ['SIGWINCH', 28], ['SIGIO', 29], ['SIGPWR', 30], ['SIGSYS', 31],
];

const ERRNO: Table = [
  ['EPERM', 1], ['ENOENT', 2], ['ESRCH', 3], ['EINTR', 4], ['EIO', 5], ['ENXIO', 6], ['E2BIG', 7],
  ['ENOEXEC', 8], ['EBADF', 9], ['ECHILD', 10], ['EAGAIN', 11], ['ENOMEM', 12], ['EACCES', 13], ['EFAULT', 14],
  ['ENOTBLK', 15], ['EBUSY', 16], ['EEXIST', 17], ['EXDEV', 18], ['ENODEV', 19], ['ENOTDIR', 20],
  ['EISDIR', 21], ['EINVAL', 22], ['ENFILE', 23], ['EMFILE', 24], ['ENOTTY', 25], ['ETXTBSY', 26],
  ['EFBIG', 27], ['ENOSPC', 28], ['ESPIPE', 29], ['EROFS', 30], ['EMLINK', 31], ['EPIPE', 32], ['EDOM', 33],
  ['ERANGE', 34], ['EDEADLK', 35], ['ENAMETOOLONG', 36], ['ENOLCK', 37], ['ENOSYS', 38], ['ENOTEMPTY', 39],
  ['ELOOP', 40], ['ENOMSG', 42], ['EIDRM', 43], ['ENOSTR', 60], ['ENODATA', 61], ['ETIME', 62], ['ENOSR', 63],
  ['EREMOTE', 66], ['ENOLINK', 67], ['EPROTO', 71], ['EMULTIHOP', 72], ['EBADMSG', 74], ['EOVERFLOW', 75],
  ['EBADFD', 77], ['EILSEQ', 84], ['ERESTART', 85], ['EUSERS', 87], ['ENOTSOCK', 88], ['EDESTADDRREQ', 89],
  ['EMSGSIZE', 90], ['EPROTOTYPE', 91], ['ENOPROTOOPT', 92], ['EPROTONOSUPPORT', 93],
  ['ESOCKTNOSUPPORT', 94], ['EOPNOTSUPP', 95], ['EPFNOSUPPORT', 96], ['EAFNOSUPPORT', 97], ['EADDRINUSE', 98],
  ['EADDRNOTAVAIL', 99], ['ENETDOWN', 100], ['ENETUNREACH', 101], ['ENETRESET', 102], ['ECONNABORTED', 103],
  ['ECONNRESET', 104], ['ENOBUFS', 105], ['EISCONN', 106], ['ENOTCONN', 107], ['ESHUTDOWN', 108],
  ['ETOOMANYREFS', 109], ['ETIMEDOUT', 110], ['ECONNREFUSED', 111], ['EHOSTDOWN', 112], ['EHOSTUNREACH', 113],
  ['EALREADY', 114], ['EINPROGRESS', 115], ['ESTALE', 116], ['EDQUOT', 122], ['ECANCELED', 125],
  ['ENOKEY', 126], ['EKEYEXPIRED', 127], ['EKEYREVOKED', 128], ['EKEYREJECTED', 129], ['EOWNERDEAD', 130],
  ['ENOTRECOVERABLE', 131], ['ERFKILL', 132], ['EHWPOISON', 133],
];

/** `evt.res`: `SUCCESS` for a non-negative result, else the errno name (`ENOENT`). */
export function renderResult(res: bigint): string {
  if (res >= 0n) return 'SUCCESS';
  return renderEnum(ERRNO, -Number(res));
}

/** The numeric value of an errno name, for literals such as `evt.res = EINPROGRESS`. */
export function errnoValue(name: string): number | undefined {
  for (const [n, v] of ERRNO) if (n === name) return v;
  return undefined;
}
