/**
 * The analyzer's HTTP(S) server: the audit webhook, health, readiness and
 * metrics on one listener.
 *
 * - `POST /k8s-audit` — the audit webhook (authenticated when configured);
 * - `GET /healthz` — 200 while the process serves requests;
 * - `GET /readyz` — 200 when rules are loaded, the queue takes batches and
 *   the server is not shutting down, else 503 with the reasons;
 * - `GET /metrics` — Prometheus text format;
 * - `/api/v1/...` — the query API (src/api; bearer tokens), when incidents are enabled;
 * - `/` and `/ui/...` — the web UI (src/server/ui.ts), when incidents are enabled.
 *
 * Health, readiness and metrics are not authenticated, so kubelet probes and
 * Prometheus need no client certificate; they reveal counts, not events.
 */
import { readFileSync } from 'node:fs';
import { type Server, createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { WEBHOOK_PATH, sendError } from '../audit/webhook.js';
import type { WebhookTlsConfig } from '../config/schema.js';
import type { Registry } from 'prom-client';

/** Where the query API is mounted. */
export const API_PATH = '/api/v1';

export interface ReadinessCheck {
  /** Reasons the server is not ready; empty when ready. */
  (): string[];
}

export interface HttpAppOptions {
  /** The webhook handler, or undefined when the webhook is disabled. */
  readonly webhook: ((req: Request, res: Response) => Promise<void>) | undefined;
  readonly readiness: ReadinessCheck;
  readonly metrics: { readonly registry: Registry };
  readonly onError: (err: Error) => void;
  /** The query API, served under /api/v1 (absent when incidents are disabled). */
  readonly api?: express.Router;
  /** The web UI's files (`/`, `/ui/...`), mounted after the API and before the fallbacks. */
  readonly ui?: express.Router;
}

/** `GET /healthz`, `/readyz` and `/metrics`, shared by the analyzer and the agent. */
export function addHealthRoutes(app: express.Express, options: Pick<HttpAppOptions, 'readiness' | 'metrics'>): void {
  app.get('/healthz', (_req, res) => {
    res.status(200).json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    const reasons = options.readiness();
    if (reasons.length === 0) res.status(200).json({ status: 'ready' });
    else res.status(503).json({ status: 'not ready', reasons });
  });
  app.get('/metrics', async (_req, res, next) => {
    try {
      const text = await options.metrics.registry.metrics();
      res.status(200).type(options.metrics.registry.contentType).send(text);
    } catch (e) {
      next(e);
    }
  });
}

/** JSON 404 for unknown endpoints and JSON errors; registered last. */
export function addFallbackHandlers(app: express.Express, onError: (err: Error) => void): void {
  app.use((req, res) => {
    req.resume();
    sendError(res, 404, 'not_found', `no such endpoint: ${req.method} ${req.path}`);
  });
  app.use((err: Error, req: Request, res: Response, _next: NextFunction) => {
    onError(err);
    req.resume();
    const status = (err as { status?: unknown }).status;
    const code = typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
    sendError(res, code, code === 500 ? 'internal_error' : 'bad_request', err.message);
  });
}

/** A bare express application (no powered-by header, no etags). */
export function baseApp(): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  return app;
}

/** The analyzer's express application. */
export function createApp(options: HttpAppOptions): express.Express {
  const app = baseApp();
  addHealthRoutes(app, options);
  if (options.api) app.use(API_PATH, options.api);
  if (options.webhook) {
    const handler = options.webhook;
    app.post(WEBHOOK_PATH, (req, res) => handler(req, res));
  }
  app.all(WEBHOOK_PATH, (req, res) => {
    if (!options.webhook) {
      sendError(res, 404, 'not_found', 'the audit webhook is disabled (webhook.enabled: false)');
      return;
    }
    req.resume();
    sendError(res, 405, 'method_not_allowed', `${req.method} is not allowed on ${WEBHOOK_PATH}; use POST`, { Allow: 'POST' });
  });
  if (options.ui) app.use(options.ui);
  addFallbackHandlers(app, options.onError);
  return app;
}

/** Reads the TLS files into server options. */
export function tlsOptions(tls: WebhookTlsConfig): { cert: Buffer; key: Buffer; ca?: Buffer; requestCert: boolean; rejectUnauthorized: boolean } {
  const ca = tls.clientCaFile !== undefined ? readFileSync(tls.clientCaFile) : undefined;
  return {
    cert: readFileSync(tls.certFile),
    key: readFileSync(tls.keyFile),
    ...(ca ? { ca } : {}),
    // Ask for a client certificate, but decide in HTTP (401, counted) rather than in the handshake.
    requestCert: ca !== undefined,
    rejectUnauthorized: false,
  };
}

/** Creates the HTTP or HTTPS server for the app, with timeouts suited to the apiserver's client. */
export function createServer(app: express.Express, tls: WebhookTlsConfig | undefined): Server | HttpsServer {
  const server = tls
    ? createHttpsServer({ ...tlsOptions(tls), minVersion: 'TLSv1.2' }, app)
    : createHttpServer(app);
  // The apiserver's webhook client times out after 30 s and keeps connections alive.
  server.requestTimeout = 60_000;
  server.headersTimeout = 20_000;
  server.keepAliveTimeout = 65_000;
  return server;
}

/** Listens; resolves with the bound address (the port may have been 0). Rejects on EADDRINUSE etc. */
export function listen(server: Server | HttpsServer, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error): void => reject(e);
    server.once('error', onError);
    server.listen({ host: host === '' ? undefined : host, port }, () => {
      server.removeListener('error', onError);
      resolve(server.address() as AddressInfo);
    });
  });
}
