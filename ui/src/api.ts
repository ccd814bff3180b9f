/**
 * The query API from the browser: same-origin fetches with the bearer token
 * in the Authorization header. The token lives in sessionStorage (gone when
 * the tab closes; never in a URL, a cookie or localStorage), and a 401 signs
 * the user out.
 */
import type { Principal } from './types.js';

export const API_BASE = '/api/v1';
const TOKEN_KEY = 'tiercel.token';

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

let token: string | null = sessionStorage.getItem(TOKEN_KEY);
const signOutListeners = new Set<() => void>();

export function currentToken(): string | null {
  return token;
}

export function onSignOut(listener: () => void): () => void {
  signOutListeners.add(listener);
  return () => signOutListeners.delete(listener);
}

export function signOut(): void {
  token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  for (const l of signOutListeners) l();
}

async function errorOf(res: Response): Promise<ApiError> {
  let code = 'http_error';
  let message = `${res.status} ${res.statusText}`;
  try {
    const body = (await res.json()) as { error?: unknown; message?: unknown };
    if (typeof body.error === 'string') code = body.error;
    if (typeof body.message === 'string') message = body.message;
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(res.status, code, message);
}

/** Checks a token with GET /whoami and, when valid, keeps it for this tab. */
export async function signIn(candidate: string): Promise<Principal> {
  const res = await fetch(`${API_BASE}/whoami`, { headers: { Authorization: `Bearer ${candidate}` }, cache: 'no-store' });
  if (!res.ok) throw await errorOf(res);
  const principal = (await res.json()) as Principal;
  token = candidate;
  sessionStorage.setItem(TOKEN_KEY, candidate);
  return principal;
}

export function authHeaders(): Record<string, string> {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** A JSON request to the API; throws {@link ApiError} on an error answer (and signs out on 401). */
export async function api<T>(path: string, init: { method?: 'GET' | 'POST'; body?: unknown; signal?: AbortSignal } = {}): Promise<T> {
  const res = await fetch(`${API_BASE}${path}`, {
    method: init.method ?? 'GET',
    headers: { ...authHeaders(), ...(init.body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    ...(init.signal ? { signal: init.signal } : {}),
    cache: 'no-store',
  });
  if (res.status === 401) {
    signOut();
    throw await errorOf(res);
  }
  if (!res.ok) throw await errorOf(res);
  return (await res.json()) as T;
}

/** `?a=1&b=2` from the non-empty values. */
export function query(params: Readonly<Record<string, string | number | undefined | null>>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
