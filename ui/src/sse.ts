/**
 * Reads `GET /api/v1/alerts/stream` with fetch, so the bearer token travels
 * in the Authorization header (EventSource cannot send one, and the token
 * must not go into a URL). Reconnects after a pause when the stream ends.
 */
import { API_BASE, authHeaders } from './api.js';
import { parseSse } from './sse-parse.js';
import type { Alert } from './types.js';

export type StreamState = 'connecting' | 'live' | 'reconnecting' | 'closed';

/** Follows the stream until the returned function is called. */
export function followAlerts(onAlert: (a: Alert) => void, onState: (s: StreamState) => void): () => void {
  const controller = new AbortController();
  let stopped = false;
  const run = async (): Promise<void> => {
    while (!stopped) {
      onState('connecting');
      try {
        const res = await fetch(`${API_BASE}/alerts/stream`, { headers: authHeaders(), signal: controller.signal, cache: 'no-store' });
        if (res.status === 401 || res.status === 403) {
          onState('closed');
          return;
        }
        if (!res.ok || !res.body) throw new Error(`stream: ${res.status}`);
        onState('live');
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          const parsed = parseSse(buffer + value);
          buffer = parsed.rest;
          for (const e of parsed.events) {
            if (e.event !== 'alert') continue;
            try {
              onAlert(JSON.parse(e.data) as Alert);
            } catch {
              // a malformed event is skipped, not fatal
            }
          }
        }
      } catch {
        if (stopped) return;
      }
      if (stopped) return;
      onState('reconnecting');
      await new Promise((r) => setTimeout(r, 3000));
    }
  };
  void run();
  return () => {
    stopped = true;
    controller.abort();
    onState('closed');
  };
}
