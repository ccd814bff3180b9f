/**
 * A syscall event as the engine sees it: the record plus the state it was
 * resolved against (thread, process, the fd it concerns).
 */
import type { EngineEvent } from '../engine/event.js';
import type { SyscallRecord } from './record.js';
import type { FdInfo } from './state/fds.js';
import type { SyscallState } from './state/index.js';
import type { Process, Thread } from './state/threads.js';

export class SyscallEvent implements EngineEvent {
  readonly source = 'syscall';
  /** Set by the engine: sequence number of the event in this run. */
  num?: number;
  /** Per-event cache of derived values (rendered args, resolved paths, lookups). */
  private cache: Map<string, unknown> | undefined;
  /**
   * The open flags, read once: several rules on every open ask
   * evt.is_open_read/write/exec (-1 = not read yet, -2 = none).
   */
  openFlagsMemo = -1;

  constructor(
    readonly record: SyscallRecord,
    readonly thread: Thread,
    readonly state: SyscallState,
    /** The fd the event is about (opened, connected, closed, read...), if any. */
    readonly fd: FdInfo | undefined,
    /** That fd's number (negative for a failed open: the error). */
    readonly fdNum: number | undefined,
  ) {}

  /** Event time (decoded on first use: most events are never looked at by time). */
  get time(): bigint {
    return this.record.ts;
  }

  get proc(): Process {
    return this.thread.proc;
  }

  get typeName(): string {
    return this.record.typeName;
  }

  /** Caches a derived value for the lifetime of this event. */
  memo<T>(key: string, compute: () => T): T {
    let c = this.cache;
    if (!c) this.cache = c = new Map();
    if (c.has(key)) return c.get(key) as T;
    const v = compute();
    c.set(key, v);
    return v;
  }
}
