/**
 * Whether the eBPF sensor can run in these tests: the addon built, kernel BTF,
 * and root (or CAP_BPF + CAP_PERFMON). `skip` is the reason when not, for
 * node:test's `{ skip }` (which CI turns into a failure).
 */
import { type NativeAddon, checkPrerequisites, loadNative } from '../../src/syscall/native/index.js';

export function sensorForTests(): { addon: NativeAddon | undefined; skip: string | false } {
  try {
    const addon = loadNative();
    const pre = checkPrerequisites();
    if (!pre.btf) return { addon, skip: `no kernel BTF at /sys/kernel/btf/vmlinux (kernel ${pre.kernel})` };
    if (!pre.privileged) return { addon, skip: `loading BPF programs needs root or CAP_BPF+CAP_PERFMON (running as uid ${pre.uid})` };
    return { addon, skip: false };
  } catch (err) {
    return {
      addon: undefined,
      skip: `the eBPF sensor addon is not built (run \`node scripts/build-native.mjs\`): ${(err as Error).message.replace(/\n/g, ' | ')}`,
    };
  }
}
