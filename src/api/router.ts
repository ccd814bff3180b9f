/**
 * The query API, mounted by the server at `/api/v1`:
 *
 * | route | scope |
 * |---|---|
 * | `GET /openapi.json` | none (public: it describes the API, holds no data) |
 * | `GET /whoami` | any valid token |
 * | `GET /incidents`, `GET /incidents/:id` | read |
 * | `POST /incidents/:id/status`, `/acknowledge`, `/resolve` | write |
 * | `GET /alerts`, `GET /alerts/:id`, `GET /stats` | read |
 * | `GET /alerts/stream` (server-sent events, src/api/stream.ts) | read (404 without a stream) |
 * | `POST /alerts` | ingest (404 when the server takes no alerts) |
 *
 * Every answer is JSON, errors included (`{"error", "message"}`); an unknown
 * path is a JSON 404 and a known path with the wrong method a 405 with
 * `Allow`. The router never lets an error escape to express's default
 * handler (which would answer HTML with a stack trace in development).
 */
import { performance } from 'node:perf_hooks';
import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import type { IncidentStatus } from '../incidents/model.js';
import type { Store } from '../store/types.js';
import { type ApiPrincipal, type ApiScope, type ApiToken, createAuthenticator, requireScope } from './auth.js';
import { ApiError, notFound, sendApiError, sendJson } from './errors.js';
import { DEFAULT_MAX_INGEST_BYTES, RequestAbortedError, readAlertBatch } from './ingest-body.js';
import { type AlertIngestHandler, IngestRejected } from './ingest-types.js';
import { OPENAPI_DOCUMENT } from './openapi.js';
import { StoreUnavailableError, createQueryService, parseStatusBody } from './service.js';
import type { AlertStream } from './stream.js';

export type { ApiToken } from './auth.js';
export type { AlertIngestHandler } from './ingest-types.js';

export interface ApiRouterOptions {
  readonly store: Store;
  readonly tokens: readonly ApiToken[];
  /** Takes `POST /alerts` batches; without it that route answers 404. */
  readonly ingest?: AlertIngestHandler;
  /** Largest `POST /alerts` body, before and after gzip decompression (default 16 MiB). */
  readonly maxIngestBytes?: number;
  readonly logger: Logger;
  /** New alerts as server-sent events at `GET /alerts/stream`; without it that route answers 404. */
  readonly stream?: AlertStream;
  /** Called once per answered request, with the route pattern (`/incidents/:id`, or `unmatched`) for bounded metric labels. */
  onRequest?(route: string, status: number, ms: number): void;
}

/** Status-change bodies are a status and a note: anything big is not one. */
const STATUS_BODY_LIMIT = '64kb';

const INGEST_CODES: Readonly<Record<number, string>> = {
  400: 'invalid_alert', 413: 'body_too_large', 429: 'too_many_requests', 503: 'unavailable',
};

/** The raw query string as URLSearchParams, whatever query parser the application uses. */
function searchOf(req: Request): URLSearchParams {
  const i = req.originalUrl.indexOf('?');
  return new URLSearchParams(i < 0 ? '' : req.originalUrl.slice(i + 1));
}

function principalOf(res: Response): ApiPrincipal {
  return res.locals['principal'] as ApiPrincipal;
}

/** True when the request carries a body (express.json leaves req.body undefined for other content types). */
function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/** The routes and their methods, for 405 answers (the OpenAPI test checks them against the document). */
const ROUTES: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['/openapi.json', ['GET']],
  ['/whoami', ['GET']],
  ['/incidents', ['GET']],
  ['/incidents/:id', ['GET']],
  ['/incidents/:id/status', ['POST']],
  ['/incidents/:id/acknowledge', ['POST']],
  ['/incidents/:id/resolve', ['POST']],
  ['/alerts', ['GET', 'POST']],
  ['/alerts/stream', ['GET']],
  ['/alerts/:id', ['GET']],
  ['/stats', ['GET']],
];

export function createApiRouter(options: ApiRouterOptions): Router {
  const { logger } = options;
  const router = express.Router({ caseSensitive: true });
  const authenticator = createAuthenticator(options.tokens);
  const service = createQueryService(options.store);
  const maxIngestBytes = options.maxIngestBytes ?? DEFAULT_MAX_INGEST_BYTES;

  router.use((req, res, next) => {
    const start = performance.now();
    res.on('finish', () => {
      const route = (req.route as { path?: unknown } | undefined)?.path;
      options.onRequest?.(typeof route === 'string' ? route : 'unmatched', res.statusCode, performance.now() - start);
    });
    next();
  });

  /** Authenticates (and checks the scope, when one is needed) before anything reads the body. */
  const auth = (scope: ApiScope | null): RequestHandler => (req, res, next) => {
    let principal: ApiPrincipal;
    try {
      principal = authenticator.authenticate(req.headers);
    } catch (e) {
      logger.info({ route: req.route?.path, ip: req.ip }, 'api: request refused: %s', (e as Error).message);
      throw e;
    }
    if (scope) requireScope(principal, scope);
    res.locals['principal'] = principal;
    next();
  };

  const statusBody = express.json({ limit: STATUS_BODY_LIMIT, strict: true });
  const changeStatus = (fixed?: IncidentStatus) => async (req: Request, res: Response): Promise<void> => {
    if (req.body === undefined && hasBody(req)) {
      throw new ApiError(415, 'unsupported_media_type', 'the body must be JSON (Content-Type: application/json)');
    }
    const { status, note } = parseStatusBody(req.body, fixed);
    const principal = principalOf(res);
    const incident = await service.setStatus(String(req.params['id']), { status, ...(note ? { note } : {}), by: principal.name });
    logger.info({ incident: incident.id, status, token: principal.name }, 'api: incident status changed');
    sendJson(res, 200, incident);
  };

  router.get('/openapi.json', (_req, res) => {
    sendJson(res, 200, OPENAPI_DOCUMENT);
  });

  router.get('/whoami', auth(null), (_req, res) => {
    const p = principalOf(res);
    sendJson(res, 200, { name: p.name, scopes: p.scopes });
  });

  router.get('/incidents', auth('read'), async (req, res) => {
    sendJson(res, 200, await service.listIncidents(searchOf(req)));
  });
  router.get('/incidents/:id', auth('read'), async (req, res) => {
    sendJson(res, 200, await service.incident(String(req.params['id'])));
  });
  router.post('/incidents/:id/status', auth('write'), statusBody, changeStatus());
  router.post('/incidents/:id/acknowledge', auth('write'), statusBody, changeStatus('acknowledged'));
  router.post('/incidents/:id/resolve', auth('write'), statusBody, changeStatus('resolved'));

  router.get('/alerts', auth('read'), async (req, res) => {
    sendJson(res, 200, await service.listAlerts(searchOf(req)));
  });
  // Before /alerts/:id, which would take `stream` for an id.
  router.get('/alerts/stream', (_req, _res, next) => {
    if (options.stream) return next();
    throw notFound('this server has no live alert stream');
  }, auth('read'), (req, res) => {
    options.stream!.handle(req, res);
  });
  router.get('/alerts/:id', auth('read'), async (req, res) => {
    sendJson(res, 200, await service.alert(String(req.params['id'])));
  });

  router.post('/alerts', (req, _res, next) => {
    if (options.ingest) return next();
    req.resume();
    throw notFound('this server does not take alerts (no ingest handler is configured)');
  }, auth('ingest'), async (req, res) => {
    const ingest = options.ingest!;
    const alerts = await readAlertBatch(req, maxIngestBytes);
    if (alerts.length === 0) {
      sendJson(res, 200, { accepted: 0, duplicates: 0 });
      return;
    }
    const token = principalOf(res).name;
    let result;
    try {
      result = await ingest(alerts, { token });
    } catch (e) {
      if (e instanceof IngestRejected) {
        const headers: Record<string, string> = e.retryAfterSeconds !== undefined
          ? { 'Retry-After': String(Math.max(0, Math.ceil(e.retryAfterSeconds))) } : {};
        logger.info({ token, status: e.status, alerts: alerts.length }, 'api: alert batch rejected: %s', e.message);
        throw new ApiError(e.status, INGEST_CODES[e.status] ?? 'rejected', e.message,
          e.path !== undefined ? { path: e.path } : {}, headers);
      }
      logger.error({ err: e, token, alerts: alerts.length }, 'api: alert ingestion failed');
      throw new ApiError(503, 'unavailable', 'the alerts could not be stored; retry later', {}, { 'Retry-After': '5' });
    }
    sendJson(res, 200, { accepted: result.accepted, duplicates: result.duplicates });
  });

  router.get('/stats', auth('read'), async (req, res) => {
    sendJson(res, 200, await service.stats(searchOf(req)));
  });

  // A known path with another method: 405 naming the methods it has.
  for (const [path, methods] of ROUTES) {
    router.all(path, (req, res) => {
      req.resume();
      const allow = [...methods, ...(methods.includes('GET') ? ['HEAD'] : [])].join(', ');
      sendApiError(res, new ApiError(405, 'method_not_allowed', `${req.method} is not allowed here; use ${methods.join(' or ')}`,
        {}, { Allow: allow }));
    });
  }

  router.use((req, res) => {
    req.resume();
    sendApiError(res, notFound(`no such API endpoint: ${req.method} ${req.baseUrl}${req.path}`));
  });

  router.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    sendApiError(res, toApiError(err, req, logger));
  });

  return router;
}

/** Any error a handler threw, as the API error to answer with (logged when it is the server's fault). */
function toApiError(err: unknown, req: Request, logger: Logger): ApiError {
  if (err instanceof StoreUnavailableError) {
    logger.error({ err: err.storeCause, route: req.route?.path }, 'api: store query failed');
    return err;
  }
  if (err instanceof ApiError) return err;
  if (err instanceof RequestAbortedError) return new ApiError(400, 'aborted', 'the request body was not received');
  // body-parser (status-change bodies) and the router (malformed %-escapes in the path) flag client errors.
  const e = err as { status?: unknown; type?: unknown; message?: unknown };
  switch (e.type) {
    case 'entity.too.large':
      return new ApiError(413, 'body_too_large', `the body is larger than ${STATUS_BODY_LIMIT}`);
    case 'entity.parse.failed':
      return new ApiError(400, 'invalid_json', 'the body is not valid JSON');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new ApiError(415, 'unsupported_media_type', 'unsupported Content-Encoding or charset (use gzip or none, UTF-8)');
    default:
  }
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    return new ApiError(e.status, 'bad_request', err instanceof URIError ? 'the path has a malformed %-escape' : 'bad request');
  }
  logger.error({ err, route: req.route?.path }, 'api: request failed');
  return new ApiError(500, 'internal_error', 'internal error');
}
