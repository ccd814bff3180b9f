/**
 * Reading and decoding an audit webhook request body, with every limit a
 * hostile or broken client could push against: the body size (after gzip
 * decompression, so a small bomb cannot expand), the content encoding, the
 * JSON syntax, the nesting depth (checked on the bytes, without recursion,
 * before `JSON.parse` builds anything), and the shape (an audit EventList, an
 * Event, or an array of them).
 *
 * Each failure is a {@link WebhookInputError} carrying the HTTP status and a
 * short machine-readable code for the JSON error body.
 */
import type { IncomingMessage } from 'node:http';
import { createGunzip } from 'node:zlib';
import { NOT_RECOGNIZED, type DecodeResult, decodeAuditPayload } from './event.js';

/** A request the webhook refuses, with the status and code to answer with. */
export class WebhookInputError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'WebhookInputError';
  }
}

/** The request went away before its body was read: there is nobody to answer. */
export class RequestAbortedError extends Error {}

/**
 * Bytes of an unwanted body read and thrown away (so the client, still
 * sending, gets to read the error instead of a connection reset) before the
 * connection is closed instead.
 */
const DISCARD_LIMIT = 64 * 1024 * 1024;

/** Reads and throws away the rest of a request body; closes the connection past {@link DISCARD_LIMIT}. */
export function discardBody(req: IncomingMessage): void {
  if (req.readableEnded || req.destroyed) return;
  let seen = 0;
  req.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > DISCARD_LIMIT) req.socket.destroy();
  });
  req.on('error', () => {});
  req.resume();
}

/** True when the Content-Type is JSON (`application/json`, any parameters). */
export function isJsonContentType(header: string | undefined): boolean {
  if (header === undefined) return false;
  const type = header.split(';', 1)[0]!.trim().toLowerCase();
  return type === 'application/json';
}

/**
 * Reads a request body into memory, gunzipping it when its
 * `Content-Encoding` says gzip. Rejects with {@link WebhookInputError} (413
 * for a body over `maxBytes` before or after decompression, 415 for an
 * unsupported encoding, 400 for corrupt gzip) or {@link RequestAbortedError}.
 * On an early rejection the rest of the body is discarded in the background.
 */
export function readRequestBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  const gzip = encoding === 'gzip' || encoding === 'x-gzip';
  if (!gzip && encoding !== 'identity' && encoding !== '') {
    discardBody(req);
    return Promise.reject(new WebhookInputError(415, 'unsupported_content_encoding',
      `Content-Encoding ${JSON.stringify(encoding)} is not supported (use gzip or none)`));
  }
  const tooLarge = (what: string): WebhookInputError => new WebhookInputError(413, 'body_too_large',
    `the request body is larger than ${maxBytes} bytes${what} (webhook.max_body_bytes)`);
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    discardBody(req);
    return Promise.reject(tooLarge(gzip ? ' even compressed' : ''));
  }

  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let compressedSize = 0;
    let settled = false;
    const gunzip = gzip ? createGunzip({ chunkSize: 64 * 1024 }) : undefined;

    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      chunks.length = 0;
      if (gunzip) {
        req.unpipe(gunzip);
        gunzip.destroy();
      }
      req.removeListener('data', onRaw);
      if (!(err instanceof RequestAbortedError)) discardBody(req);
      reject(err);
    };
    const onData = (chunk: Buffer): void => {
      if (settled) return;
      size += chunk.length;
      if (size > maxBytes) return fail(tooLarge(gzip ? ' once decompressed' : ''));
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      if (settled) return;
      settled = true;
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onRaw = (chunk: Buffer): void => {
      compressedSize += chunk.length;
      if (compressedSize > maxBytes) fail(tooLarge(' even compressed'));
    };

    req.on('close', () => {
      if (!req.complete) fail(new RequestAbortedError('the client went away before sending the whole body'));
    });
    req.on('error', (e) => fail(new RequestAbortedError(e.message)));
    if (gunzip) {
      req.on('data', onRaw);
      gunzip.on('data', onData);
      gunzip.on('end', onEnd);
      gunzip.on('error', (e) => fail(new WebhookInputError(400, 'invalid_gzip', `the body is not valid gzip: ${e.message}`)));
      req.pipe(gunzip);
    } else {
      req.on('data', onData);
      req.on('end', onEnd);
    }
  });
}

/**
 * Finds where JSON text nests deeper than `maxDepth` objects/arrays, looking
 * at bytes only (strings are skipped, so brackets inside them do not count).
 * Returns the byte offset of the first bracket too deep, or -1. Malformed
 * JSON is left for the parser to report.
 */
export function findExcessNesting(buf: Buffer, maxDepth: number): number {
  // Bytes are read through a plain Uint8Array view (faster element access
  // than a Buffer); strings, most of an audit event, are skipped with
  // Buffer.indexOf (memchr). UTF-8 multi-byte sequences never contain the
  // bytes of '"' or '\\', so scanning bytes is exact.
  const u = new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
  const n = u.length;
  let depth = 0;
  let i = 0;
  while (i < n) {
    const c = u[i]!;
    if (c === 0x22) {
      let end = buf.indexOf(0x22, i + 1);
      for (;;) {
        if (end < 0) return -1; // unterminated string: the parser reports it
        let backslashes = 0;
        for (let k = end - 1; k > i && u[k] === 0x5c; k--) backslashes++;
        if ((backslashes & 1) === 0) break;
        end = buf.indexOf(0x22, end + 1);
      }
      i = end + 1;
      continue;
    }
    if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) return i;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
    i++;
  }
  return -1;
}

/** Limits for {@link decodeWebhookBody}. */
export interface DecodeLimits {
  readonly maxNestingDepth: number;
}

function clip(text: string, n = 200): string {
  return text.length > n ? text.slice(0, n) + '...' : text;
}

/**
 * Parses a webhook body and decodes its audit events. Throws
 * {@link WebhookInputError} (400) when the body is not JSON, nests too deep,
 * or is not audit events at all; a payload with some good and some bad items
 * decodes the good ones and lists the bad ones in `problems`.
 */
export function decodeWebhookBody(body: Buffer, limits: DecodeLimits): DecodeResult {
  let start = 0;
  if (body.length >= 3 && body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf) start = 3;
  const bytes = start ? body.subarray(start) : body;
  const deep = findExcessNesting(bytes, limits.maxNestingDepth);
  if (deep >= 0) {
    throw new WebhookInputError(400, 'nesting_too_deep',
      `JSON nests deeper than ${limits.maxNestingDepth} levels (at byte ${deep + start}; webhook.max_nesting_depth)`);
  }
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    const msg = bytes.length === 0 ? 'the body is empty' : clip((e as Error).message);
    throw new WebhookInputError(400, 'invalid_json', `the body is not valid JSON: ${msg}`);
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const apiVersion = (value as Record<string, unknown>)['apiVersion'];
    if (apiVersion !== undefined && (typeof apiVersion !== 'string' || !apiVersion.startsWith('audit.k8s.io/'))) {
      throw new WebhookInputError(400, 'not_audit_events',
        `expected an audit.k8s.io EventList or Event, got apiVersion ${clip(JSON.stringify(apiVersion), 80)}`);
    }
  }
  const result = decodeAuditPayload(value);
  if (result.events.length === 0 && result.problems !== undefined) {
    const whole = result.problems.find((p) => p.where === '');
    const notEvents = result.problems.every((p) => p.message === NOT_RECOGNIZED);
    throw new WebhookInputError(400, 'not_audit_events',
      whole || notEvents
        ? `${NOT_RECOGNIZED}: expected an audit.k8s.io EventList, an Event, or an array of them`
        : `no valid audit event in the body: ${result.error ?? ''}`);
  }
  return result;
}
