/**
 * A small client of the query API over fetch, for the CLI (and tests, and
 * anything else that talks to a running analyzer). Errors come back as
 * {@link ApiClientError} with the server's status, code and message, or
 * status 0 when the server could not be reached at all.
 */
import type { IncidentStatus } from '../incidents/model.js';
import type { AlertJson, IncidentDetailJson, IncidentJson, PageJson, StatsJson } from './serialize.js';

export class ApiClientError extends Error {
  constructor(
    /** HTTP status; 0 when no answer came (refused, timeout, DNS). */
    readonly status: number,
    /** The API's error code (`not_found`, `bad_request`, ...), or `unreachable`/`bad_response`. */
    readonly code: string,
    message: string,
    /** The query parameter at fault, from a 400 answer. */
    readonly parameter?: string,
  ) {
    super(message);
    this.name = 'ApiClientError';
  }
}

export interface ApiClientOptions {
  /** The analyzer (`https://tiercel:8765`) or its API base (`.../api/v1`). */
  readonly url: string;
  readonly token?: string;
  readonly timeoutMs?: number;
}

/** The API base URL for a server URL: `/api/v1` is appended unless already there. */
export function apiBase(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ApiClientError(0, 'bad_url', `not a URL: ${url}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ApiClientError(0, 'bad_url', `not an http(s) URL: ${url}`);
  const path = u.pathname.replace(/\/+$/, '');
  u.pathname = path.endsWith('/api/v1') ? `${path}/` : `${path}/api/v1/`;
  u.search = '';
  u.hash = '';
  return u;
}

export class ApiClient {
  private readonly base: URL;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;

  constructor(options: ApiClientOptions) {
    this.base = apiBase(options.url);
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  listIncidents(search: URLSearchParams): Promise<PageJson<IncidentJson>> {
    return this.request('GET', 'incidents', search);
  }

  incident(id: string): Promise<IncidentDetailJson> {
    return this.request('GET', `incidents/${encodeURIComponent(id)}`);
  }

  setStatus(id: string, status: IncidentStatus, note?: string): Promise<IncidentJson> {
    return this.request('POST', `incidents/${encodeURIComponent(id)}/status`, undefined, { status, ...(note ? { note } : {}) });
  }

  listAlerts(search: URLSearchParams): Promise<PageJson<AlertJson>> {
    return this.request('GET', 'alerts', search);
  }

  alert(id: string): Promise<AlertJson> {
    return this.request('GET', `alerts/${encodeURIComponent(id)}`);
  }

  stats(search: URLSearchParams): Promise<StatsJson> {
    return this.request('GET', 'stats', search);
  }

  private async request<T>(method: 'GET' | 'POST', path: string, search?: URLSearchParams, body?: unknown): Promise<T> {
    const url = new URL(path, this.base);
    if (search) url.search = search.toString();
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (this.token) headers['Authorization'] = `Bearer ${this.token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: 'error',
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      const why = (e as Error).name === 'TimeoutError' ? `no answer within ${this.timeoutMs} ms`
        : cause?.code ?? cause?.message ?? (e as Error).message;
      throw new ApiClientError(0, 'unreachable', `cannot reach ${this.base.origin}: ${why}`);
    }
    const text = await res.text();
    let value: unknown;
    try {
      value = text === '' ? undefined : JSON.parse(text);
    } catch {
      throw new ApiClientError(res.status, 'bad_response', `${url.origin} answered ${res.status} with a body that is not JSON`);
    }
    if (!res.ok) {
      const err = (value ?? {}) as { error?: unknown; message?: unknown; parameter?: unknown };
      throw new ApiClientError(res.status, typeof err.error === 'string' ? err.error : 'http_error',
        typeof err.message === 'string' ? err.message : `HTTP ${res.status}`,
        typeof err.parameter === 'string' ? err.parameter : undefined);
    }
    return value as T;
  }
}
