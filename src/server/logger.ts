/**
 * Operational logs (not alerts) with pino, on stderr, so stdout stays for the
 * stdout output's alerts as in Falco. JSON lines by default; readable text
 * when the log goes to a terminal (`log_format: auto`) or when asked.
 */
import { pino, type Logger } from 'pino';
import pinoPretty from 'pino-pretty';
import type { LogLevel } from '../config/schema.js';

export type { Logger };

export interface LoggerOptions {
  readonly level: LogLevel;
  readonly format: 'auto' | 'json' | 'pretty';
  /** The log stream, for its TTY-ness (default stderr, where logs go). */
  readonly stream?: { readonly isTTY?: boolean };
}

/** True when logs will be pretty-printed rather than JSON. */
export function isPretty(options: LoggerOptions): boolean {
  const stream = options.stream ?? process.stderr;
  return options.format === 'pretty' || (options.format === 'auto' && stream.isTTY === true);
}

export function createLogger(options: LoggerOptions): Logger {
  const stream = options.stream ?? process.stderr;
  const base = { level: options.level, base: { name: 'tiercel' } };
  if (isPretty(options)) {
    return pino(base, pinoPretty({
      destination: 2,
      sync: true,
      colorize: stream.isTTY === true,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname,name',
      singleLine: true,
    }));
  }
  return pino(
    { ...base, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ fd: 2, sync: true }),
  );
}
