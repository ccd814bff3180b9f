/**
 * The body of `POST /api/v1/alerts`: Falco alert objects as JSON, in any of
 * the shapes senders use — one alert (Falco's http_output,
 * Falcosidekick's webhook), an array of them, or `{"alerts": [...]}` (a
 * Tiercel agent's batch) — optionally gzip-compressed.
 *
 * Reading reuses the audit webhook's reader (size checked before and after
 * decompression, so a small gzip bomb cannot expand) and its byte-level
 * nesting check (before JSON.parse builds anything). What makes an alert
 * valid is the ingest handler's business, not this module's.
 */
import type { IncomingMessage } from 'node:http';
import { RequestAbortedError, WebhookInputError, findExcessNesting, isJsonContentType, readRequestBody, discardBody }
  from '../audit/webhook-body.js';
import { ApiError } from './errors.js';

export const DEFAULT_MAX_INGEST_BYTES = 16 * 1024 * 1024;
/** Falco alerts are flat (output_fields is one level); anything much deeper is not an alert. */
const MAX_NESTING = 32;

export { RequestAbortedError };

function clip(text: string, n = 200): string {
  return text.length > n ? `${text.slice(0, n)}...` : text;
}

/**
 * Reads the request and returns its alerts (each still unvalidated). Throws
 * {@link ApiError} (400 bad JSON or shape, 413 too large, 415 wrong type or
 * encoding) or {@link RequestAbortedError} when the client went away.
 */
export async function readAlertBatch(req: IncomingMessage, maxBytes: number): Promise<unknown[]> {
  const type = req.headers['content-type'];
  if (type !== undefined && !isJsonContentType(type)) {
    discardBody(req);
    throw new ApiError(415, 'unsupported_media_type', 'the body must be JSON (Content-Type: application/json)');
  }
  let body: Buffer;
  try {
    body = await readRequestBody(req, maxBytes);
  } catch (e) {
    if (e instanceof WebhookInputError) {
      // The reader's own 413 text names the webhook's setting; this route has its own limit.
      const message = e.status === 413 ? `the request body is larger than ${maxBytes} bytes` : e.message;
      throw new ApiError(e.status, e.code, message);
    }
    throw e;
  }
  const start = body.length >= 3 && body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf ? 3 : 0;
  const bytes = body.subarray(start);
  const deep = findExcessNesting(bytes, MAX_NESTING);
  if (deep >= 0) throw new ApiError(400, 'nesting_too_deep', `JSON nests deeper than ${MAX_NESTING} levels (at byte ${deep + start})`);
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new ApiError(400, 'invalid_json',
      `the body is not valid JSON: ${bytes.length === 0 ? 'the body is empty' : clip((e as Error).message)}`);
  }
  return alertsOf(value);
}

/** The alerts of a parsed body, by its shape. */
export function alertsOf(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (typeof value === 'object' && value !== null) {
    const rec = value as Record<string, unknown>;
    // A batch wrapper has `alerts` and is not itself an alert (an alert always has a rule).
    if ('alerts' in rec && !('rule' in rec)) {
      if (!Array.isArray(rec['alerts'])) {
        throw new ApiError(400, 'bad_request', 'alerts: expected an array of alert objects', { parameter: 'alerts' });
      }
      return rec['alerts'] as unknown[];
    }
    return [value];
  }
  throw new ApiError(400, 'bad_request', 'expected a Falco alert object, an array of them, or {"alerts": [...]}');
}
