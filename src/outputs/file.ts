/**
 * `file_output`: appends one alert per line to `filename`.
 *
 * As in Falco, `keep_alive: false` opens, appends and closes the file for
 * every alert, and `keep_alive: true` keeps it open. Unlike Falco (which
 * reopens only on SIGUSR1), a kept-open file is reopened when it has been
 * removed or renamed (log rotation): before each write the path is checked
 * against the open file's device and inode. `buffered_outputs` coalesces
 * writes only with `keep_alive: true`; without it every alert is its own
 * open/append/close anyway.
 *
 * Parent directories are not created unless `create_dirs: true`: a missing
 * directory is usually a typo or a missing volume, and start-up says so.
 */
import { constants, type Stats } from 'node:fs';
import { appendFile, mkdir, open, stat, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import { LineWriter } from './line-writer.js';
import { OutputSetupError, type RenderedAlert, type Sink } from './output.js';

export interface FileSinkOptions {
  readonly filename: string;
  readonly keepAlive: boolean;
  readonly buffered: boolean;
  readonly createDirs: boolean;
  readonly logger: Logger;
  /** Config key path of `filename`, for start-up errors. */
  readonly key: string;
}

/** Checks (or creates) the directory and that the file can be opened for appending. */
export async function createFileSink(options: FileSinkOptions): Promise<Sink> {
  const path = resolve(options.filename);
  const dir = dirname(path);
  if (options.createDirs) {
    try {
      await mkdir(dir, { recursive: true });
    } catch (err) {
      throw new OutputSetupError(options.key, `cannot create directory ${dir}: ${(err as Error).message}`, { cause: err });
    }
  } else {
    let dirStat: Stats | undefined;
    try {
      dirStat = await stat(dir);
    } catch {
      // reported below
    }
    if (!dirStat?.isDirectory()) {
      throw new OutputSetupError(options.key, `directory ${dir} does not exist (create it, or set create_dirs: true)`);
    }
  }
  try {
    await (await open(path, 'a')).close();
  } catch (err) {
    throw new OutputSetupError(options.key, `cannot open ${path} for appending: ${(err as Error).message}`, { cause: err });
  }
  return options.keepAlive ? new KeptOpenFile(path, options) : reopeningFile(path);
}

function reopeningFile(path: string): Sink {
  return {
    name: 'file',
    deliver: (alert: RenderedAlert) => appendFile(path, alert.line + '\n'),
    close: async () => {},
  };
}

class KeptOpenFile implements Sink {
  readonly name = 'file';
  readonly #path: string;
  readonly #writer: LineWriter;
  #handle: FileHandle | undefined;
  #identity: { dev: number; ino: number } | undefined;

  constructor(path: string, options: FileSinkOptions) {
    this.#path = path;
    this.#writer = new LineWriter((chunk) => this.#write(chunk), {
      buffered: options.buffered,
      onError: (err) => options.logger.error({ err }, 'file output: buffered write failed'),
    });
  }

  deliver(alert: RenderedAlert): Promise<void> {
    return this.#writer.writeLine(alert.line);
  }

  flush(): Promise<void> {
    return this.#writer.flush();
  }

  async close(): Promise<void> {
    await this.#writer.flush().catch(() => {});
    await this.#release();
  }

  async #write(chunk: string): Promise<void> {
    try {
      const handle = await this.#current();
      await handle.appendFile(chunk);
    } catch (err) {
      // Whatever went wrong, the next write starts from a fresh open.
      await this.#release();
      throw err;
    }
  }

  /** The open handle, reopened if the path now names another file or none. */
  async #current(): Promise<FileHandle> {
    if (this.#handle && this.#identity) {
      let same = false;
      try {
        const s = await stat(this.#path);
        same = s.dev === this.#identity.dev && s.ino === this.#identity.ino;
      } catch {
        // removed: reopen (recreate) below
      }
      if (same) return this.#handle;
      await this.#release();
    }
    const handle = await open(this.#path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o666);
    const s = await handle.stat();
    this.#handle = handle;
    this.#identity = { dev: s.dev, ino: s.ino };
    return handle;
  }

  async #release(): Promise<void> {
    const handle = this.#handle;
    this.#handle = undefined;
    this.#identity = undefined;
    await handle?.close().catch(() => {});
  }
}
