/**
 * Follows a growing log file as `tail -F` does: the kube-apiserver's audit
 * log backend (`--audit-log-path`), one JSON event per line.
 *
 * - Rotation (the file renamed away and a new one created at the path, as the
 *   apiserver's lumberjack logger does): the old file is read to its end, then
 *   the new one from its start.
 * - Truncation (`copytruncate`): when the file becomes shorter than what was
 *   read, reading restarts at its start.
 * - A missing file is waited for.
 * - Lines are handed over in chunks, and the next read waits for the consumer
 *   (`onLines` is awaited), so a full evaluation queue slows reading down
 *   instead of dropping events.
 * - A line longer than `maxLineBytes` is skipped and reported.
 *
 * Known limit, shared with `tail -F`: a truncation followed, before the next
 * poll, by writes past the old length goes unnoticed.
 */
import { type FileHandle, open, stat } from 'node:fs/promises';

export interface TailOptions {
  readonly path: string;
  /**
   * Where the file found at start is read from; files that appear later
   * (rotated in, or created after a wait) are read whole.
   */
  readonly startAt: 'end' | 'beginning';
  readonly pollIntervalMs: number;
  readonly maxLineBytes: number;
  /** Complete lines (without their newline), in file order. */
  readonly onLines: (lines: Buffer[]) => Promise<void>;
  /** Things worth logging or counting. */
  readonly onNotice?: (kind: TailNotice, details: Record<string, unknown>) => void;
}

export type TailNotice = 'opened' | 'waiting' | 'rotated' | 'truncated' | 'line_too_long' | 'error';

const READ_SIZE = 1024 * 1024;

export class FileTailer {
  private fh: FileHandle | undefined;
  private ino = 0;
  private dev = 0;
  private pos = 0;
  private firstOpen = true;
  private waitingReported = false;
  private partial: Buffer[] = [];
  private partialLen = 0;
  private skipping = false;
  private stopped = false;
  private wake: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private readonly buf = Buffer.allocUnsafe(READ_SIZE);

  constructor(private readonly options: TailOptions) {}

  start(): void {
    this.running ??= this.loop();
  }

  /** Stops after the current read; resolves once the file is closed. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.running;
  }

  private notice(kind: TailNotice, details: Record<string, unknown> = {}): void {
    this.options.onNotice?.(kind, { path: this.options.path, ...details });
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      let again = false;
      try {
        again = await this.poll();
      } catch (e) {
        this.notice('error', { message: (e as Error).message });
        await this.closeFile();
      }
      if (this.stopped) break;
      if (!again) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, this.options.pollIntervalMs);
          this.wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        this.wake = undefined;
      }
    }
    await this.closeFile();
  }

  private async closeFile(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close().catch(() => {});
  }

  /** One round; true when it should run again at once (a rotated file to open). */
  private async poll(): Promise<boolean> {
    if (!this.fh) {
      try {
        this.fh = await open(this.options.path, 'r');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
          // A file that appears later is new: read it whole.
          this.firstOpen = false;
          if (!this.waitingReported) this.notice('waiting');
          this.waitingReported = true;
          return false;
        }
        throw e;
      }
      this.waitingReported = false;
      const st = await this.fh.stat();
      this.ino = st.ino;
      this.dev = st.dev;
      this.pos = this.firstOpen && this.options.startAt === 'end' ? st.size : 0;
      this.firstOpen = false;
      this.resetPartial();
      this.notice('opened', { position: this.pos });
    }

    const st = await this.fh.stat();
    if (st.size < this.pos) {
      this.notice('truncated', { size: st.size, position: this.pos });
      this.pos = 0;
      this.resetPartial();
    }
    await this.readToEnd();

    let current;
    try {
      current = await stat(this.options.path);
    } catch {
      current = undefined; // renamed away, the new file not created yet: keep reading the old one
    }
    if (current && (current.ino !== this.ino || current.dev !== this.dev)) {
      await this.readToEnd();
      await this.flushPartial();
      await this.closeFile();
      this.notice('rotated', {});
      return true;
    }
    return false;
  }

  private resetPartial(): void {
    this.partial = [];
    this.partialLen = 0;
    this.skipping = false;
  }

  private async readToEnd(): Promise<void> {
    while (!this.stopped && this.fh) {
      const { bytesRead } = await this.fh.read(this.buf, 0, READ_SIZE, this.pos);
      if (bytesRead === 0) return;
      this.pos += bytesRead;
      const lines = this.split(this.buf.subarray(0, bytesRead));
      if (lines.length) await this.options.onLines(lines);
    }
  }

  /** Splits a chunk into complete lines; the unterminated rest is kept for the next chunk. */
  private split(chunk: Buffer): Buffer[] {
    const lines: Buffer[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      const piece = chunk.subarray(start, nl);
      if (this.skipping) {
        this.skipping = false;
      } else if (this.partialLen + piece.length > this.options.maxLineBytes) {
        this.notice('line_too_long', { limit: this.options.maxLineBytes });
      } else if (this.partialLen > 0) {
        this.partial.push(piece);
        lines.push(Buffer.concat(this.partial, this.partialLen + piece.length));
      } else {
        // Copied: the read buffer is reused.
        lines.push(Buffer.from(piece));
      }
      this.partial = [];
      this.partialLen = 0;
      start = nl + 1;
    }
    if (start < chunk.length && !this.skipping) {
      const rest = chunk.subarray(start);
      if (this.partialLen + rest.length > this.options.maxLineBytes) {
        this.notice('line_too_long', { limit: this.options.maxLineBytes });
        this.partial = [];
        this.partialLen = 0;
        this.skipping = true;
      } else {
        this.partial.push(Buffer.from(rest));
        this.partialLen += rest.length;
      }
    }
    return lines;
  }

  /** At rotation: an unterminated last line of the old file is still a line. */
  private async flushPartial(): Promise<void> {
    if (this.partialLen > 0 && !this.skipping) {
      const line = Buffer.concat(this.partial, this.partialLen);
      this.resetPartial();
      await this.options.onLines([line]);
    }
    this.resetPartial();
  }
}
