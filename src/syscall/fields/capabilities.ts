/**
 * Linux capability names by bit, for `thread.cap_*` (rendered as Falco does:
 * names separated by spaces).
 */
const CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN',
  'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
] as const;

const cache = new Map<bigint, string>();

export function capabilityNames(mask: bigint): string {
  let s = cache.get(mask);
  if (s !== undefined) return s;
  const names: string[] = [];
  for (let i = 0; i < CAPABILITIES.length; i++) if ((mask >> BigInt(i)) & 1n) names.push(CAPABILITIES[i]!);
  s = names.join(' ');
  if (cache.size < 1024) cache.set(mask, s);
  return s;
}

/** The mask of a list of capability names (for building fixtures). */
export function capabilityMask(names: readonly string[]): bigint {
  let m = 0n;
  for (const n of names) {
    const i = CAPABILITIES.indexOf(n as (typeof CAPABILITIES)[number]);
    if (i >= 0) m |= 1n << BigInt(i);
  }
  return m;
}
