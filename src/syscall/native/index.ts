/**
 * Loads the eBPF sensor addon (native.d.ts says what it exports; docs/sensor.md
 * how it works). The addon is optional: a machine without clang, libbpf or
 * bpftool installs Tiercel without it, and `loadNative()` then fails with an
 * error that lists every path tried, the Debian packages missing to build it,
 * and whether this process has the privileges and the kernel BTF the sensor
 * needs, so `tiercel agent` can tell the user what to fix.
 */
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, release } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NativeAddon } from './native.js';

export type {
  DropCounters, NativeAddon, Sensor, SensorAttachment, SensorOptions, SensorStats, SyscallAttachMode, WireLayout,
} from './native.js';

/** Repository (package) root: the same three levels up from src/syscall/native and dist/syscall/native. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Where the addon is looked for, in order (TIERCEL_NATIVE_PATH first when set). */
export function addonPaths(): string[] {
  const paths = [join(ROOT, 'build/Release/tiercel_sensor.node'), join(ROOT, 'build/Debug/tiercel_sensor.node')];
  const override = process.env.TIERCEL_NATIVE_PATH;
  return override ? [override, ...paths] : paths;
}

/** Kernel BTF, the input of the CO-RE build and of loading. */
export const KERNEL_BTF = '/sys/kernel/btf/vmlinux';

/** Capability bits (linux/capability.h). */
const CAP_SYS_ADMIN = 21;
const CAP_SYS_RESOURCE = 24;
const CAP_PERFMON = 38;
const CAP_BPF = 39;

/** What the sensor needs from this machine and process, as far as can be told without loading it. */
export interface SensorPrerequisites {
  kernel: string;
  arch: string;
  /** x86_64 only: record types are x86_64 syscall numbers. */
  supportedArch: boolean;
  /** Kernel BTF readable at {@link KERNEL_BTF}. */
  btf: boolean;
  uid: number;
  capabilities: { bpf: boolean; perfmon: boolean; sysAdmin: boolean; sysResource: boolean };
  /** Can load tracing programs: CAP_SYS_ADMIN, or CAP_BPF with CAP_PERFMON. */
  privileged: boolean;
  /** Debian packages missing to build the addon (empty when it can be built). */
  missingPackages: string[];
  /** One sentence per unmet prerequisite. */
  problems: string[];
}

function onPath(cmd: string): boolean {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin:/usr/sbin:/sbin').split(delimiter).concat(['/usr/sbin', '/sbin'])) {
    try {
      accessSync(join(dir, cmd), constants.X_OK);
      return true;
    } catch {
      // next
    }
  }
  return false;
}

function effectiveCaps(): bigint {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? BigInt(`0x${m[1]}`) : 0n;
  } catch {
    return 0n;
  }
}

/** Checks the build tools, privileges, BTF and architecture. */
export function checkPrerequisites(): SensorPrerequisites {
  const caps = effectiveCaps();
  const bit = (n: number): boolean => ((caps >> BigInt(n)) & 1n) === 1n;
  const capabilities = { bpf: bit(CAP_BPF), perfmon: bit(CAP_PERFMON), sysAdmin: bit(CAP_SYS_ADMIN), sysResource: bit(CAP_SYS_RESOURCE) };
  const privileged = capabilities.sysAdmin || (capabilities.bpf && capabilities.perfmon);
  let btf = false;
  try {
    accessSync(KERNEL_BTF, constants.R_OK);
    btf = true;
  } catch {
    btf = false;
  }
  const missingPackages: string[] = [];
  if (!onPath('clang')) missingPackages.push('clang');
  if (!onPath('bpftool')) missingPackages.push('bpftool');
  if (!existsSync('/usr/include/bpf/libbpf.h')) missingPackages.push('libbpf-dev');
  if (!existsSync('/usr/include/libelf.h') && !existsSync('/usr/include/gelf.h')) missingPackages.push('libelf-dev');
  if (!existsSync('/usr/include/zlib.h')) missingPackages.push('zlib1g-dev');
  const supportedArch = process.platform === 'linux' && arch() === 'x64';
  const uid = process.getuid?.() ?? -1;
  const problems: string[] = [];
  if (!supportedArch) problems.push(`the sensor supports x86_64 Linux only (this is ${process.platform}/${arch()})`);
  if (!btf) problems.push(`no kernel BTF at ${KERNEL_BTF} (the kernel needs CONFIG_DEBUG_INFO_BTF=y)`);
  if (!privileged) {
    problems.push(
      `running as uid ${uid} without CAP_SYS_ADMIN or CAP_BPF+CAP_PERFMON (run as root, or grant CAP_BPF, CAP_PERFMON and CAP_SYS_RESOURCE)`,
    );
  }
  if (missingPackages.length) {
    problems.push(`missing Debian packages to build the addon: ${missingPackages.join(' ')} (apt-get install -y ${missingPackages.join(' ')})`);
  }
  return { kernel: release(), arch: arch(), supportedArch, btf, uid, capabilities, privileged, missingPackages, problems };
}

/** The addon could not be loaded; `message` says why and what to do. */
export class NativeLoadError extends Error {
  constructor(
    message: string,
    /** Each path tried, with why it failed. */
    readonly tried: readonly { path: string; error: string }[],
    readonly prerequisites: SensorPrerequisites,
  ) {
    super(message);
    this.name = 'NativeLoadError';
  }
}

let cached: NativeAddon | undefined;

/**
 * Loads the addon from the first of `paths` that loads (by default
 * {@link addonPaths}, and then only once), or throws {@link NativeLoadError}.
 */
export function loadNative(paths?: readonly string[]): NativeAddon {
  if (!paths && cached) return cached;
  const require = createRequire(import.meta.url);
  const tried: { path: string; error: string }[] = [];
  for (const path of paths ?? addonPaths()) {
    if (!existsSync(path)) {
      tried.push({ path, error: 'not found' });
      continue;
    }
    try {
      const addon = require(path) as NativeAddon;
      if (!paths) cached = addon;
      return addon;
    } catch (err) {
      tried.push({ path, error: (err as Error).message.split('\n')[0] ?? String(err) });
    }
  }
  const pre = checkPrerequisites();
  const lines = [
    'the eBPF sensor addon is not available; tried:',
    ...tried.map((t) => `  ${t.path}: ${t.error}`),
    pre.missingPackages.length
      ? `it cannot be built here: missing Debian packages ${pre.missingPackages.join(' ')} (apt-get install -y ${pre.missingPackages.join(' ')}), then run \`node scripts/build-native.mjs\``
      : 'build it with `node scripts/build-native.mjs` (npm install runs it)',
    `kernel ${pre.kernel}; kernel BTF at ${KERNEL_BTF}: ${pre.btf ? 'present' : 'missing'}; ` +
      `uid ${pre.uid}, CAP_BPF: ${pre.capabilities.bpf ? 'yes' : 'no'}, CAP_PERFMON: ${pre.capabilities.perfmon ? 'yes' : 'no'}, ` +
      `CAP_SYS_ADMIN: ${pre.capabilities.sysAdmin ? 'yes' : 'no'}, CAP_SYS_RESOURCE: ${pre.capabilities.sysResource ? 'yes' : 'no'}`,
    ...pre.problems.filter((p) => !p.startsWith('missing Debian packages')),
  ];
  throw new NativeLoadError(lines.join('\n'), tried, pre);
}

/** The addon, or the error that explains why it is unavailable. */
export function tryLoadNative(): { addon: NativeAddon; error?: undefined } | { addon?: undefined; error: NativeLoadError } {
  try {
    return { addon: loadNative() };
  } catch (err) {
    if (err instanceof NativeLoadError) return { error: err };
    throw err;
  }
}
