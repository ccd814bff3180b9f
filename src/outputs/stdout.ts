/**
 * `stdout_output`: one alert per line on standard output, Falco's text line
 * or JSON (`json_output`), written per alert or buffered (`buffered_outputs`).
 */
import type { Writable } from 'node:stream';
import type { Logger } from 'pino';
import { LineWriter } from './line-writer.js';
import type { RenderedAlert, Sink } from './output.js';

export interface StdoutSinkOptions {
  readonly buffered: boolean;
  /** Where to write; process.stdout unless a test says otherwise. */
  readonly stream?: Writable;
  readonly logger: Logger;
}

export function createStdoutSink(options: StdoutSinkOptions): Sink {
  const stream = options.stream ?? process.stdout;
  // A closed stdout (EPIPE) is reported to the write callback; without an
  // 'error' listener the stream would also throw it and end the process.
  const onError = (): void => {};
  stream.on('error', onError);
  const write = (chunk: string): Promise<void> =>
    new Promise((resolve, reject) => {
      if (stream.destroyed || stream.writableEnded) {
        reject(new Error('stdout is closed'));
        return;
      }
      stream.write(chunk, (err) => (err ? reject(err) : resolve()));
    });
  const writer = new LineWriter(write, {
    buffered: options.buffered,
    onError: (err) => options.logger.error({ err }, 'stdout output: buffered write failed'),
  });
  return {
    name: 'stdout',
    deliver: (alert: RenderedAlert) => writer.writeLine(alert.line),
    flush: () => writer.flush(),
    async close() {
      await writer.flush().catch(() => {});
      stream.off('error', onError);
    },
  };
}
