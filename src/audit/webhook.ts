/**
 * The audit webhook: `POST /k8s-audit`, where kube-apiserver's webhook
 * backend sends `audit.k8s.io/v1` (or `v1beta1`) EventLists.
 *
 * The answer follows what the apiserver does with it (it retries any non-2xx
 * with backoff, then drops the batch):
 * - 200 once every decoded event is in the evaluation queue (or was already
 *   accepted: retried events are de-duplicated); an EventList with some bad
 *   items is still a 200 for the good ones, since a retry cannot fix the bad;
 * - 429 with `Retry-After` when the queue cannot hold the batch, 503 while
 *   shutting down: nothing is accepted that could then be lost;
 * - 401 without valid credentials; 4xx with a JSON error body for input that
 *   is not an audit batch (see `webhook-body.ts`).
 * Every answer has a JSON body: `{"error": code, "message": text}` for errors.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { AuditEvent, DecodeResult } from './event.js';
import { MAX_DECODE_PROBLEMS } from './event.js';
import type { Authenticator } from './webhook-auth.js';
import {
  RequestAbortedError, WebhookInputError, decodeWebhookBody, discardBody, isJsonContentType, readRequestBody,
} from './webhook-body.js';

/** Falco's path for the k8saudit webhook. */
export const WEBHOOK_PATH = '/k8s-audit';

/** What the queue said to a batch (see the server's pipeline). */
export type WebhookOffer =
  | { readonly ok: true; readonly accepted: number; readonly duplicates: number }
  | { readonly ok: false; readonly reason: 'queue_full' | 'closed' };

/** What the handler reports, for metrics and logs. */
export interface WebhookObserver {
  /** Events found in a decoded body (valid or not). */
  received(n: number): void;
  /** Events rejected as invalid (bad items of an otherwise valid batch). */
  invalidEvents(n: number): void;
  /** A request answered. */
  answered(status: number, seconds: number): void;
  /** A request refused for authentication. */
  unauthorized(reason: string): void;
  /** A request (or part of one) refused for its content; `code` is the JSON error code. */
  badInput(code: string, details: Record<string, unknown>): void;
}

export interface WebhookOptions {
  readonly maxBodyBytes: number;
  readonly maxNestingDepth: number;
  /** Undefined: no authentication. */
  readonly authenticate: Authenticator | undefined;
  /** Hands decoded events to the queue; `bytes` is the body size. */
  readonly offer: (events: readonly AuditEvent[], bytes: number) => WebhookOffer;
  /** True when the queue takes no batch at all: answered 429 before the body is even read. */
  readonly queueFull: () => boolean;
  /** Seconds the client should wait after a 429. */
  readonly retryAfterSeconds: () => number;
  readonly observer: WebhookObserver;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(text);
}

/** Sends `{"error": code, "message": message}`. */
export function sendError(res: ServerResponse, status: number, code: string, message: string, headers?: Record<string, string>): void {
  sendJson(res, status, { error: code, message }, headers);
}

/** Events rejected in a decode result (problems beyond the listed ones are only in the error text). */
export function rejectedCount(result: DecodeResult): number {
  const problems = result.problems;
  if (!problems) return 0;
  if (problems.length < MAX_DECODE_PROBLEMS) return problems.length;
  const m = /^(\d+) parts rejected/.exec(result.error ?? '');
  return m ? Number(m[1]) : problems.length;
}

/** Builds the `POST /k8s-audit` handler. It never throws and answers every request it can. */
export function createWebhookHandler(options: WebhookOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const { observer } = options;
  return async (req, res) => {
    const start = performance.now();
    const answer = (status: number, body: unknown, headers?: Record<string, string>): void => {
      sendJson(res, status, body, headers);
      observer.answered(status, (performance.now() - start) / 1000);
    };
    const fail = (status: number, code: string, message: string, headers?: Record<string, string>): void => {
      answer(status, { error: code, message }, headers);
    };

    if (options.authenticate) {
      const auth = options.authenticate(req);
      if (!auth.ok) {
        discardBody(req);
        observer.unauthorized(auth.reason);
        fail(401, 'unauthorized', auth.message, { 'WWW-Authenticate': 'Bearer realm="tiercel"' });
        return;
      }
    }
    const contentType = req.headers['content-type'];
    if (!isJsonContentType(contentType)) {
      discardBody(req);
      const message = `Content-Type must be application/json, got ${contentType === undefined ? 'none' : JSON.stringify(contentType)}`;
      observer.badInput('unsupported_media_type', { message });
      fail(415, 'unsupported_media_type', message);
      return;
    }

    if (options.queueFull()) {
      // Reading and parsing a batch that cannot be queued would only slow the draining down.
      discardBody(req);
      const retry = String(options.retryAfterSeconds());
      fail(429, 'queue_full', `the evaluation queue is full; retry in ${retry} s (queue.capacity)`, { 'Retry-After': retry });
      return;
    }

    let body: Buffer;
    try {
      body = await readRequestBody(req, options.maxBodyBytes);
    } catch (e) {
      if (e instanceof WebhookInputError) {
        observer.badInput(e.code, { message: e.message });
        fail(e.status, e.code, e.message);
      } else if (e instanceof RequestAbortedError) {
        observer.answered(499, (performance.now() - start) / 1000);
      } else {
        fail(500, 'internal_error', `could not read the request: ${(e as Error).message}`);
      }
      return;
    }

    let result: DecodeResult;
    try {
      result = decodeWebhookBody(body, { maxNestingDepth: options.maxNestingDepth });
    } catch (e) {
      if (e instanceof WebhookInputError) {
        observer.badInput(e.code, { message: e.message, bytes: body.length });
        fail(e.status, e.code, e.message);
      } else {
        fail(500, 'internal_error', `could not decode the request: ${(e as Error).message}`);
      }
      return;
    }

    const rejected = rejectedCount(result);
    observer.received(result.events.length + rejected);
    if (rejected) {
      observer.invalidEvents(rejected);
      observer.badInput('invalid_events', { rejected, first: result.problems?.[0] });
    }
    const offer = options.offer(result.events, body.length);
    if (!offer.ok) {
      const retry = String(options.retryAfterSeconds());
      if (offer.reason === 'closed') {
        fail(503, 'shutting_down', 'Tiercel is shutting down; retry against another replica', { 'Retry-After': retry });
      } else {
        fail(429, 'queue_full', `the evaluation queue is full; retry in ${retry} s (queue.capacity)`, { 'Retry-After': retry });
      }
      return;
    }
    const reply: Record<string, unknown> = {
      status: 'ok', accepted: offer.accepted, duplicates: offer.duplicates, rejected,
    };
    if (rejected) reply['problems'] = result.problems!.slice(0, 10);
    answer(200, reply);
  };
}
