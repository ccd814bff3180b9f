/**
 * A long-lived child process fed one line per alert on its stdin, restarted
 * with backoff when it exits. Used by `program_output` with `keep_alive:
 * true` and by the syslog output's `logger` fallback.
 *
 * The child runs in its own process group so that a shell pipeline
 * (`jq . | curl …`) is stopped as a whole. A write to a child that has gone
 * away fails that delivery (EPIPE is caught, never thrown), and the next
 * delivery starts a new child: immediately the first time, then after a
 * backoff that grows while the child keeps dying young.
 */
import { type ChildProcess, type StdioOptions, spawn } from 'node:child_process';
import type { Logger } from 'pino';
import { backoffDelay, raceAbort, settlesWithin, sleep } from './backoff.js';
import { DeliveryError } from './output.js';

export interface LineProcessOptions {
  readonly file: string;
  readonly args: readonly string[];
  /** Where the child's stdout and stderr go (Falco's popen: inherited). */
  readonly stdio?: 'inherit' | 'ignore';
  /** Short description for logs, e.g. `program output`. */
  readonly label: string;
  readonly logger: Logger;
  /** A child living at least this long resets the restart backoff. */
  readonly healthyAfterMs?: number;
  readonly backoffMs?: number;
  readonly maxBackoffMs?: number;
}

export interface Running {
  readonly child: ChildProcess;
  readonly started: number;
  /** Resolves when the child is gone (exited, or never started). */
  readonly gone: Promise<void>;
  exited: boolean;
  /** Set when the child could not be started at all (e.g. ENOENT). */
  spawnError?: Error;
}

export class LineProcess {
  readonly #options: LineProcessOptions;
  #running: Running | undefined;
  /** Consecutive children that died young; drives the restart backoff. */
  #quickExits = 0;
  #lastExit = 0;
  #closed = false;

  constructor(options: LineProcessOptions) {
    this.#options = options;
  }

  /** Writes one line to the child (starting it if needed); resolves once the pipe took it. */
  async write(line: string, signal: AbortSignal): Promise<void> {
    if (this.#closed) throw new DeliveryError(`${this.#options.label}: closed`, false);
    const running = this.#running && !this.#running.exited ? this.#running : await this.#start(signal);
    const stdin = running.child.stdin;
    if (!stdin || stdin.destroyed) throw new DeliveryError(`${this.#options.label}: stdin is closed`, true);
    const written = new Promise<void>((resolve, reject) => {
      stdin.write(line + '\n', (err) => (err ? reject(err) : resolve()));
    });
    const gone = running.gone.then(() => {
      const why = running.spawnError ? `could not start: ${running.spawnError.message}` : 'exited before reading the alert';
      throw new DeliveryError(`${this.#options.label}: ${why}`, true);
    });
    try {
      await raceAbort(Promise.race([written, gone]), signal);
    } catch (err) {
      // A child that does not read its stdin within the deadline is stuck:
      // stop it, so that its pipe backlog is not mistaken for progress.
      if (signal.aborted) this.#kill(running, 'SIGKILL');
      throw err;
    }
  }

  /** Ends the child's stdin and waits up to `graceMs` for it to exit, then kills it. */
  async close(graceMs: number): Promise<void> {
    this.#closed = true;
    const running = this.#running;
    if (!running || running.exited) return;
    running.child.stdin?.end();
    if (!(await settlesWithin(running.gone, graceMs))) {
      this.#kill(running, 'SIGKILL');
      await settlesWithin(running.gone, 1000);
    }
  }

  async #start(signal: AbortSignal): Promise<Running> {
    const o = this.#options;
    // The first restart after a quick exit is immediate; later ones back off.
    if (this.#quickExits > 1) {
      const delay = backoffDelay(this.#quickExits - 2, o.backoffMs ?? 200, o.maxBackoffMs ?? 10_000);
      const wait = this.#lastExit + delay - Date.now();
      if (wait > 0) await sleep(wait, signal);
    }
    const running = spawnRunning(o.file, o.args, ['pipe', o.stdio ?? 'inherit', o.stdio ?? 'inherit']);
    this.#running = running;
    void running.gone.then(() => this.#onExit(running));
    return running;
  }

  #onExit(running: Running): void {
    const o = this.#options;
    const now = Date.now();
    const lived = now - running.started;
    this.#lastExit = now;
    this.#quickExits = lived >= (o.healthyAfterMs ?? 10_000) ? 0 : this.#quickExits + 1;
    if (this.#running === running) this.#running = undefined;
    if (!this.#closed) {
      const { exitCode, signalCode } = running.child;
      const how = running.spawnError
        ? `could not start: ${running.spawnError.message}`
        : exitCode !== null ? `exit code ${exitCode}` : `signal ${signalCode ?? '?'}`;
      o.logger.warn({ pid: running.child.pid, exitCode, signalCode }, `${o.label}: process ended (${how}); restarting on the next alert`);
    }
  }

  #kill(running: Running, sig: NodeJS.Signals): void {
    killGroup(running.child, sig);
  }
}

/** Spawns `file` in its own process group, with every error caught. */
export function spawnRunning(file: string, args: readonly string[], stdio: StdioOptions): Running {
  const child = spawn(file, args, { stdio, detached: true });
  // EPIPE and friends arrive here and in the write callback; never as a throw.
  child.stdin?.on('error', () => {});
  let resolveGone!: () => void;
  const gone = new Promise<void>((resolve) => (resolveGone = resolve));
  const running: Running = { child, started: Date.now(), gone, exited: false };
  const done = (): void => {
    running.exited = true;
    resolveGone();
  };
  child.once('exit', done);
  child.once('error', (err) => {
    // A spawn failure emits 'error' and no 'exit'.
    if (child.pid === undefined) {
      running.spawnError = err;
      done();
    }
  });
  return running;
}

/** Signals the child's whole process group (it is a group leader: `detached`). */
export function killGroup(child: ChildProcess, sig: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, sig);
  } catch {
    try {
      child.kill(sig);
    } catch {
      // already gone
    }
  }
}
