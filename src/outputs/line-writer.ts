/**
 * Writes newline-terminated alerts through a `write` function, either one
 * write per alert (Falco's default) or coalesced (`buffered_outputs`).
 *
 * Buffered: a line is accepted at once and written with others when the
 * buffer reaches `maxBytes`, after `maxDelayMs`, or on `flush`. A failed
 * buffered write cannot be pinned on one alert: it is reported through
 * `onError` and the lines are lost, as a crashed stdio buffer would lose them.
 */
export interface LineWriterOptions {
  readonly buffered: boolean;
  readonly maxBytes?: number;
  readonly maxDelayMs?: number;
  readonly onError: (err: unknown) => void;
}

export class LineWriter {
  readonly #write: (chunk: string) => Promise<void>;
  readonly #buffered: boolean;
  readonly #maxBytes: number;
  readonly #maxDelayMs: number;
  readonly #onError: (err: unknown) => void;
  #pending: string[] = [];
  #pendingBytes = 0;
  #timer: NodeJS.Timeout | undefined;
  /** Serializes writes so lines never interleave or reorder. */
  #chain: Promise<void> = Promise.resolve();

  constructor(write: (chunk: string) => Promise<void>, options: LineWriterOptions) {
    this.#write = write;
    this.#buffered = options.buffered;
    this.#maxBytes = options.maxBytes ?? 64 * 1024;
    this.#maxDelayMs = options.maxDelayMs ?? 1000;
    this.#onError = options.onError;
  }

  /** Writes one line (a newline is appended). Unbuffered: resolves once written. */
  writeLine(line: string): Promise<void> {
    if (!this.#buffered) return this.#enqueue(line + '\n');
    this.#pending.push(line, '\n');
    this.#pendingBytes += line.length + 1;
    if (this.#pendingBytes >= this.#maxBytes) return this.flush();
    this.#timer ??= setTimeout(() => {
      this.flush().catch(this.#onError);
    }, this.#maxDelayMs);
    return Promise.resolve();
  }

  /** Writes out whatever is buffered; rejects if that write fails. */
  flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending.length === 0) return this.#chain.catch(() => {});
    const chunk = this.#pending.join('');
    this.#pending = [];
    this.#pendingBytes = 0;
    return this.#enqueue(chunk);
  }

  #enqueue(chunk: string): Promise<void> {
    const next = this.#chain.catch(() => {}).then(() => this.#write(chunk));
    this.#chain = next;
    return next;
  }
}
