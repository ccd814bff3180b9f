/**
 * Reading audit events from files and streams: kube-apiserver's log backend
 * (JSON Lines, one Event per line), saved webhook bodies (EventList
 * documents, possibly pretty-printed over many lines), JSON arrays of events,
 * gzip-compressed variants of all of these, and stdin.
 *
 * Reading streams: memory is bounded by the largest single value (see
 * {@link AuditReadOptions.maxValueBytes}), not by the input size. Content
 * problems (a line that is not JSON, an object that is not an audit event, an
 * event without a usable timestamp, a value over the size limit, corrupt gzip
 * data) are yielded in order between the events and reading goes on; only I/O
 * errors (a missing file, a read error) are thrown.
 */
import { createReadStream } from 'node:fs';
import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { type AuditEvent, type DecodeResult, MAX_DECODE_PROBLEMS, decodeAuditEvent, decodeAuditPayload } from './event.js';
import { JsonStreamScanner, type ScanUnit } from './json-stream.js';

/** Default bound on one line or JSON value: 16 MiB. */
export const DEFAULT_MAX_VALUE_BYTES = 16 * 1024 * 1024;

/** Options of {@link readAuditFile} and {@link readAuditStream}. */
export interface AuditReadOptions {
  /**
   * Largest line or JSON value accepted, in bytes (default
   * {@link DEFAULT_MAX_VALUE_BYTES}). For a top-level JSON array, or an
   * EventList whose `kind` precedes its `items`, the bound applies to each
   * element rather than to the whole document.
   */
  readonly maxValueBytes?: number;
  /** What the path `-` reads (default `process.stdin`). */
  readonly stdin?: AsyncIterable<Uint8Array | string>;
}

/** Something wrong with the input that did not stop the reading. */
export interface AuditReadProblem {
  readonly file: string;
  /** 1-based line where the offending line or value starts. */
  readonly line: number;
  readonly message: string;
}

/** One step of reading: an event, or a problem, in input order. */
export type AuditReadItem =
  | { readonly type: 'event'; readonly event: AuditEvent; readonly file: string; readonly line: number }
  | ({ readonly type: 'problem' } & AuditReadProblem);

/** The name problems and events carry for standard input. */
export const STDIN_NAME = '<stdin>';

/**
 * Reads audit events from a file, gzip-compressed or not (detected by its
 * magic bytes), or from standard input when `path` is `-`.
 *
 * Throws (from the iterator) only on I/O errors such as a missing file.
 */
export function readAuditFile(path: string, options: AuditReadOptions = {}): AsyncGenerator<AuditReadItem> {
  if (path === '-') return readAuditStream(options.stdin ?? process.stdin, STDIN_NAME, options);
  return readAuditStream(createReadStream(path, { highWaterMark: 256 * 1024 }), path, options);
}

/**
 * Reads audit events from a byte stream (a `Readable`, or any async iterable
 * of bytes or text). `file` names the input in what is yielded.
 */
export async function* readAuditStream(
  input: AsyncIterable<Uint8Array | string>,
  file: string,
  options: AuditReadOptions = {},
): AsyncGenerator<AuditReadItem> {
  const maxBytes = options.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES;
  if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) {
    throw new RangeError(`maxValueBytes must be a positive integer, got ${maxBytes}`);
  }
  const scanner = new JsonStreamScanner(maxBytes);
  let first = true;
  try {
    for await (const chunk of maybeGunzip(input)) {
      let buf = chunk;
      if (first) {
        first = false;
        if (buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) buf = buf.subarray(3);
      }
      scanner.feed(buf);
      yield* interpret(scanner.take(), file);
    }
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('Z_')) {
      // Corrupt or truncated gzip data: report what was read, then stop.
      scanner.finish();
      yield* interpret(scanner.take(), file);
      yield { type: 'problem', file, line: 0, message: `gzip data is corrupt or truncated: ${(err as Error).message}` };
      return;
    }
    throw err;
  }
  scanner.finish();
  yield* interpret(scanner.take(), file);
}

function toBuffer(chunk: Uint8Array | string): Buffer {
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/** Passes bytes through, gunzipping them when they start with the gzip magic bytes. */
async function* maybeGunzip(input: AsyncIterable<Uint8Array | string>): AsyncGenerator<Buffer> {
  const it = input[Symbol.asyncIterator]();
  let done = false;
  try {
    const head: Buffer[] = [];
    let headLen = 0;
    while (headLen < 2) {
      const r = await it.next();
      if (r.done === true) {
        done = true;
        break;
      }
      const b = toBuffer(r.value);
      head.push(b);
      headLen += b.length;
    }
    const start = head.length === 1 ? head[0]! : Buffer.concat(head);
    const rest = async function* (): AsyncGenerator<Buffer> {
      if (start.length > 0) yield start;
      while (!done) {
        const r = await it.next();
        if (r.done === true) {
          done = true;
          return;
        }
        yield toBuffer(r.value);
      }
    };
    if (start.length >= 2 && start[0] === 0x1f && start[1] === 0x8b) {
      const gunzip = createGunzip();
      // Errors reach the loop below through `gunzip`; the callback only keeps
      // pipeline from reporting them as unhandled.
      pipeline(Readable.from(rest()), gunzip, () => {});
      for await (const chunk of gunzip) yield chunk as Buffer;
    } else {
      yield* rest();
    }
  } finally {
    if (!done) await it.return?.();
  }
}

function* interpret(units: ScanUnit[], file: string): Generator<AuditReadItem> {
  for (const u of units) {
    if (u.kind === 'problem') {
      yield { type: 'problem', file, line: u.line, message: u.message };
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(u.text);
    } catch (err) {
      yield { type: 'problem', file, line: u.line, message: `not valid JSON: ${(err as Error).message}` };
      continue;
    }
    if (u.ctx === 'item') {
      const r = decodeAuditEvent(value);
      if (typeof r === 'string') yield { type: 'problem', file, line: u.line, message: `items[${u.index}]: ${r}` };
      else yield { type: 'event', event: r, file, line: u.line };
      continue;
    }
    const result: DecodeResult = decodeAuditPayload(value);
    for (const event of result.events) yield { type: 'event', event, file, line: u.line };
    if (result.problems === undefined) continue;
    for (const p of result.problems) {
      const where = u.ctx === 'element' ? joinWhere(`[${u.index}]`, p.where) : p.where;
      yield { type: 'problem', file, line: u.line, message: where === '' ? p.message : `${where}: ${p.message}` };
    }
    if (result.problems.length >= MAX_DECODE_PROBLEMS && result.error !== undefined) {
      yield { type: 'problem', file, line: u.line, message: result.error };
    }
  }
}

function joinWhere(prefix: string, where: string): string {
  if (where === '') return prefix;
  return where.startsWith('[') ? prefix + where : `${prefix}.${where}`;
}
