import { useEffect, useState } from 'preact/hooks';
import { ApiError, api } from './api.js';

export interface Loaded<T> {
  /** The last answer (kept while a new one loads, so tables do not flash empty). */
  readonly data: T | undefined;
  readonly error: string | undefined;
  /** True until the answer for the current path (and nonce) is in: derived, so never stale for a render. */
  readonly loading: boolean;
}

interface Answer<T> {
  readonly key: string | null;
  readonly data: T | undefined;
  readonly error: string | undefined;
}

/** GETs `path` (re-fetched when it or `nonce` changes); a stale answer never overwrites a newer one. */
export function useApi<T>(path: string | null, nonce = 0): Loaded<T> {
  const key = path === null ? null : `${nonce} ${path}`;
  const [answer, setAnswer] = useState<Answer<T>>({ key: null, data: undefined, error: undefined });
  useEffect(() => {
    if (path === null) return undefined;
    const controller = new AbortController();
    api<T>(path, { signal: controller.signal }).then(
      (data) => setAnswer({ key, data, error: undefined }),
      (e: unknown) => {
        if (controller.signal.aborted) return;
        setAnswer({ key, data: undefined, error: e instanceof ApiError ? e.message : String(e) });
      },
    );
    return () => controller.abort();
  }, [key]);
  return { data: answer.data, error: answer.key === key ? answer.error : undefined, loading: path !== null && answer.key !== key };
}

/** `value`, once it has not changed for `ms` (text filters query as the user pauses, not per keystroke). */
export function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}
