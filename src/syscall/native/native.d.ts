/**
 * What the native addon (build/Release/tiercel_sensor.node, built from
 * addon.c + sensor_core.c + sensor.bpf.c) exports, exactly. Load it through
 * `loadNative()` in ./index.ts. docs/sensor.md describes the sensor.
 */

/** Options of {@link NativeAddon.openSensor}. */
export interface SensorOptions {
  /**
   * Event types to record: x86_64 syscall numbers (the record type) and
   * pseudo events (procexit = 1024); every code must be below
   * `layout().interestingSize`. The exec, fork and exit tracepoints are gated
   * by the codes of the records they emit: execve (59) / execveat (322),
   * clone (56) / fork (57) / vfork (58) / clone3 (435), procexit (1024).
   */
  interesting: number[];
  /** Bytes per ring buffer: a power of two and a multiple of the page size. Default 8 MiB. */
  ringBytes?: number;
  /** CPUs sharing one ring buffer (Falco's cpus_for_each_buffer). Default 1: one ring per possible CPU. */
  cpusPerRing?: number;
  /** Process whose threads are never recorded (host pid namespace). Default: this process. */
  excludeTgid?: number;
  /** Epoch ns at boot, added to bpf_ktime_get_boot_ns() for record timestamps. Default: `bootTimeNs()`. */
  bootTimeNs?: bigint;
  /** Largest batch handed to JS, bytes (at least 65536). Default 1 MiB. */
  maxBatchBytes?: number;
  /** Longest a record waits in a partly filled batch while the rings keep delivering, ms. Default 5. */
  maxBatchDelayMs?: number;
  /** Batches that may wait for JS; past that whole batches are dropped and counted. Default 64. */
  maxQueuedBatches?: number;
  /**
   * How syscalls are recorded (docs/agent.md, `agent.syscall_attach`). `fexit`: a fexit program
   * on each interesting syscall's kernel function (`__x64_sys_<name>`), so the others cost
   * nothing; opening (and setInteresting) fails when one has none or the kernel refuses them.
   * `sys_exit`: the one tp_btf/sys_exit program, which puts every syscall of every task on the
   * kernel's slow exit path. `auto` (default): fexit when possible, else sys_exit, with the
   * reason in {@link Sensor.attachment}.
   */
  attach?: SyscallAttachMode;
}

export type SyscallAttachMode = 'auto' | 'fexit' | 'sys_exit';

/** How a sensor records syscalls now. */
export interface SensorAttachment {
  mode: 'fexit' | 'sys_exit';
  /** Why `auto` records through sys_exit; empty otherwise. */
  fallbackReason: string;
  /** Syscall numbers with a fexit program attached (empty in sys_exit mode). */
  fexitSyscalls: number[];
  /** Syscall numbers a fexit program can be attached to on this kernel (loaded programs). */
  fexitAvailable: number[];
  /** Loading the BPF object at open, and attaching the syscall programs, ms. */
  loadMs: number;
  attachMs: number;
}

/** Kernel-side drop counters of one CPU, by Falco's categories. */
export interface DropCounters {
  clone_fork_exit: bigint;
  execve: bigint;
  connect: bigint;
  open: bigint;
  dir_file: bigint;
  other: bigint;
  close: bigint;
  procexit: bigint;
  /** Records larger than the 64 KiB wire limit. */
  max_event_size: bigint;
  /** No ring buffer for the CPU (should never happen). */
  no_ring: bigint;
}

export interface SensorStats {
  /** One entry per possible CPU. */
  perCpu: { cpu: number; events: bigint; drops: DropCounters & Record<string, bigint> }[];
  /** Records discarded because JS fell more than maxQueuedBatches batches behind. */
  userspaceDrops: bigint;
  /** Batches, records and bytes handed to JS. */
  batches: bigint;
  records: bigint;
  bytes: bigint;
  /** Batches handed over and not yet delivered to the callback. */
  queuedBatches: number;
  /** Each ring buffer's size and the bytes written but not yet consumed. */
  rings: { size: number; used: number }[];
}

/** A loaded and attached sensor. */
export interface Sensor {
  /**
   * Starts the consumer thread. `onBatch` receives back-to-back wire records
   * (src/syscall/record.ts `splitRecords`), oldest first; the buffer is the
   * callee's to keep. Once per sensor.
   */
  start(onBatch: (batch: ArrayBuffer) => void): void;
  /**
   * Replaces the interesting set while running, attaching fexit programs for syscalls that
   * become interesting and detaching the others (in `auto`, switching between fexit and
   * sys_exit as the set requires). Throws, keeping the previous set, when `fexit` was asked
   * and a syscall of the set has no fexit program.
   */
  setInteresting(ids: number[]): void;
  /** What records syscalls now. */
  attachMode(): 'fexit' | 'sys_exit';
  attachment(): SensorAttachment;
  stats(): SensorStats;
  /** Stops the thread, detaches the programs and frees everything. Idempotent; no callback after it returns. */
  stop(): void;
}

/** The wire constants the addon was compiled with (wire.h, sensor.h). */
export interface WireLayout {
  version: number;
  maxRecordSize: number;
  pseudoBase: number;
  interestingSize: number;
  /** Header offsets, and SIZE: TS, TID, TGID, LEN, TYPE, CPU, RES, NPARAMS, SIZE. */
  header: Record<string, number>;
  /** Pseudo event codes: procexit, drop, switch, signaldeliver. */
  pseudo: Record<string, number>;
  /** Parameter encodings: u64, i64, u32, i32, u16, str, strv, sockaddr, socktuple, bytes. */
  encodings: Record<string, number>;
  /** Address families in SOCKADDR/SOCKTUPLE: unix, inet, inet6. */
  families: Record<string, number>;
  /** The syscalls whose parameters the programs fill, by name. */
  syscalls: Record<string, number>;
}

export interface NativeAddon {
  /** Loads and attaches the BPF programs; throws with the reason (libbpf's log, BTF, privileges). */
  openSensor(options: SensorOptions): Sensor;
  layout(): WireLayout;
  /** CLOCK_REALTIME - CLOCK_BOOTTIME, ns. */
  bootTimeNs(): bigint;
  /** The class of the objects openSensor returns (not constructible from JS). */
  Sensor: abstract new () => Sensor;
}
