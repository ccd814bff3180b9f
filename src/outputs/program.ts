/**
 * `program_output`: runs `program` through `/bin/sh -c` (as Falco's popen
 * does) and writes alerts to its stdin, one per line; its stdout and stderr
 * are Tiercel's.
 *
 * `keep_alive: true`: one long-lived process, restarted with backoff when it
 * exits (`line-process.ts`). `keep_alive: false`: one process per alert, as
 * Falco does; the delivery succeeds when the process exits with status 0
 * (Falco ignores the status; a non-zero one is counted as a failure here, so
 * a failing `curl` shows up in the metrics).
 */
import type { Logger } from 'pino';
import { raceAbort } from './backoff.js';
import { LineProcess, type Running, killGroup, spawnRunning } from './line-process.js';
import { DeliveryError, type RenderedAlert, type Sink } from './output.js';

export interface ProgramSinkOptions {
  readonly program: string;
  readonly keepAlive: boolean;
  readonly logger: Logger;
  /** How long `close` waits for the program(s) to exit after stdin is closed. */
  readonly closeGraceMs: number;
  /** The child's stdout/stderr; tests silence them. */
  readonly stdio?: 'inherit' | 'ignore';
}

const SHELL = '/bin/sh';

export function createProgramSink(options: ProgramSinkOptions): Sink {
  return options.keepAlive ? keptAlive(options) : perAlert(options);
}

function keptAlive(options: ProgramSinkOptions): Sink {
  const proc = new LineProcess({
    file: SHELL,
    args: ['-c', options.program],
    label: 'program output',
    logger: options.logger,
    ...(options.stdio ? { stdio: options.stdio } : {}),
  });
  return {
    name: 'program',
    deliver: (alert: RenderedAlert, signal: AbortSignal) => proc.write(alert.line, signal),
    close: () => proc.close(options.closeGraceMs),
  };
}

function perAlert(options: ProgramSinkOptions): Sink {
  const running = new Set<Running>();
  const stdio = options.stdio ?? 'inherit';
  return {
    name: 'program',
    async deliver(alert: RenderedAlert, signal: AbortSignal) {
      if (signal.aborted) throw signal.reason;
      const r = spawnRunning(SHELL, ['-c', options.program], ['pipe', stdio, stdio]);
      running.add(r);
      try {
        r.child.stdin?.end(alert.line + '\n');
        await raceAbort(r.gone, signal);
      } catch (err) {
        killGroup(r.child, 'SIGKILL');
        throw err;
      } finally {
        running.delete(r);
      }
      if (r.spawnError) throw new DeliveryError(`program output: could not start: ${r.spawnError.message}`, true);
      const { exitCode, signalCode } = r.child;
      if (exitCode !== 0) {
        const how = exitCode !== null ? `exit code ${exitCode}` : `signal ${signalCode ?? '?'}`;
        throw new DeliveryError(`program output: program ended with ${how}`, false);
      }
    },
    async close() {
      // Deliveries are sequential, so at most one is still running here.
      await Promise.all([...running].map(async (r) => {
        const timer = setTimeout(() => killGroup(r.child, 'SIGKILL'), options.closeGraceMs);
        await r.gone;
        clearTimeout(timer);
      }));
    },
  };
}
