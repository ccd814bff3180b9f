/**
 * Errors the query API answers with, and how they are written.
 *
 * Every error body has the shape of the rest of the server's (see
 * `sendError` in src/audit/webhook.ts): `{"error": code, "message": text}`,
 * plus `parameter` when one query parameter or body field is to blame, so a
 * client (the CLI, the web UI) can point at the input. Messages never carry
 * stack traces or store internals; they may quote the client's own input,
 * which is JSON-escaped like any other string of the body.
 */
import type { Response } from 'express';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Readonly<Record<string, string>> = {},
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** A bad query parameter or body field: 400 naming it, e.g. `severity: expected one of ...`. */
export function badParameter(parameter: string, problem: string): ApiError {
  return new ApiError(400, 'bad_request', `${parameter}: ${problem}`, { parameter });
}

export function notFound(message: string): ApiError {
  return new ApiError(404, 'not_found', message);
}

/** JSON.stringify that writes bigints (ns times that slipped through) as exact decimal strings. */
export function toJsonText(body: unknown): string {
  return JSON.stringify(body, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
}

/**
 * Sends a JSON body. API answers are never cached (they carry security
 * evidence and change under the client) and never sniffed as HTML.
 */
export function sendJson(res: Response, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  if (res.headersSent) return;
  const text = toJsonText(body);
  res.status(status).set({
    'Content-Type': 'application/json; charset=utf-8',
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...headers,
  }).send(text);
}

export function sendApiError(res: Response, err: ApiError): void {
  sendJson(res, err.status, { error: err.code, message: err.message, ...err.extra }, err.headers);
}
