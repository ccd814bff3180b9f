import { useEffect, useState } from 'preact/hooks';
import { ApiError, api } from './api.js';

export interface Loaded<T> {
  readonly data: T | undefined;
  readonly error: string | undefined;
  readonly loading: boolean;
}

/** GETs `path` (re-fetched when it or `nonce` changes); a stale answer never overwrites a newer one. */
export function useApi<T>(path: string | null, nonce = 0): Loaded<T> {
  const [state, setState] = useState<Loaded<T>>({ data: undefined, error: undefined, loading: path !== null });
  useEffect(() => {
    if (path === null) return undefined;
    const controller = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    api<T>(path, { signal: controller.signal }).then(
      (data) => setState({ data, error: undefined, loading: false }),
      (e: unknown) => {
        if (controller.signal.aborted) return;
        setState({ data: undefined, error: e instanceof ApiError ? e.message : String(e), loading: false });
      },
    );
    return () => controller.abort();
  }, [path, nonce]);
  return state;
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
