/**
 * `GET /api/v1/alerts/stream`: new alerts as server-sent events, as soon as
 * the recorder has committed them (so every alert a client sees here is also
 * listable with `GET /alerts`).
 *
 * Each alert is one event: `id: <alert id>`, `event: alert`, `data: <the
 * alert's JSON, as GET /alerts/{id} answers it>`. A comment line (`: ping`)
 * goes out every heartbeat interval so proxies keep the connection open and
 * clients notice a dead server.
 *
 * The route needs a bearer token like every other one. Browsers' EventSource
 * cannot send an Authorization header, so the web UI reads the stream with
 * fetch() and a ReadableStream; the long-lived token never goes into a URL
 * (where access logs and browser history would keep it).
 *
 * Memory stays bounded whatever clients do: each alert is serialized once
 * for all clients, and a client whose socket has more than
 * `maxBufferedBytes` waiting (it stopped reading, or reads slower than alerts
 * arrive) is disconnected at the next write rather than buffered for (so a
 * client holds at most the bound plus one batch). It can reconnect and
 * catch up through `GET /alerts`.
 */
import type { Request, Response } from 'express';
import type { StoredAlert } from '../incidents/model.js';
import { toJsonText } from './errors.js';
import { alertJson } from './serialize.js';

export interface AlertStreamOptions {
  /** Bytes queued on one client's socket above which it is disconnected (default 1 MiB). */
  readonly maxBufferedBytes?: number;
  /** Interval of `: ping` comments, ms (default 15 s). */
  readonly heartbeatMs?: number;
  /** Most concurrent clients; more are refused with 503 (default 100). */
  readonly maxClients?: number;
  /** Called when a slow client is disconnected (for logs and metrics). */
  readonly onSlowClient?: (bufferedBytes: number) => void;
}

export interface AlertStream {
  /** Serves one client: writes the SSE headers and keeps the response open. */
  handle(req: Request, res: Response): void;
  /** Sends committed evidence to every client (alerts only; context events are not alerts). Never throws. */
  publish(evidence: readonly StoredAlert[]): void;
  /** Ends every client's stream and refuses new ones (shutdown). */
  close(): void;
  /** Clients connected now. */
  readonly clients: number;
  /** Clients disconnected for reading too slowly, since start. */
  readonly slowDisconnects: number;
}

const DEFAULT_MAX_BUFFERED = 1024 * 1024;
const DEFAULT_HEARTBEAT_MS = 15_000;
const DEFAULT_MAX_CLIENTS = 100;

/** One SSE frame. JSON text has no raw newlines, so `data:` holds it on one line. */
function frame(a: StoredAlert): string {
  return `id: ${a.id.replace(/[\r\n]/g, '')}\nevent: alert\ndata: ${toJsonText(alertJson(a))}\n\n`;
}

export function createAlertStream(options: AlertStreamOptions = {}): AlertStream {
  const maxBuffered = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED;
  const maxClients = options.maxClients ?? DEFAULT_MAX_CLIENTS;
  const clients = new Set<Response>();
  let closed = false;
  let slowDisconnects = 0;

  const drop = (res: Response): void => {
    clients.delete(res);
    if (clients.size === 0) stopHeartbeat();
  };

  /** Writes to one client, or cuts it off when its backlog is over the bound. */
  const send = (res: Response, text: string): void => {
    // The backlog before this write: a batch bigger than the bound still reaches a client that keeps up.
    if (res.writableLength > maxBuffered) {
      slowDisconnects++;
      options.onSlowClient?.(res.writableLength);
      drop(res);
      // destroy(), not end(): end() would queue behind the backlog the client is not reading.
      res.destroy();
      return;
    }
    res.write(text);
  };

  let heartbeat: NodeJS.Timeout | undefined;
  const startHeartbeat = (): void => {
    if (heartbeat) return;
    heartbeat = setInterval(() => {
      for (const res of [...clients]) send(res, ': ping\n\n');
    }, options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS);
    heartbeat.unref();
  };
  function stopHeartbeat(): void {
    if (heartbeat) clearInterval(heartbeat);
    heartbeat = undefined;
  }

  return {
    handle(req, res) {
      if (closed || clients.size >= maxClients) {
        res.status(503).set({ 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'Retry-After': '5' })
          .send(JSON.stringify({ error: 'unavailable', message: closed ? 'the server is shutting down' : `too many stream clients (${maxClients})` }));
        return;
      }
      res.status(200).set({
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-store',
        'X-Content-Type-Options': 'nosniff',
        // A stream owns its connection; when it ends the socket goes too (and shutdown is not held up by keep-alive).
        Connection: 'close',
        // Tells nginx-style proxies not to buffer the stream.
        'X-Accel-Buffering': 'no',
      });
      res.flushHeaders();
      // Clients that reconnect use this; it is the shortest delay a browser's EventSource honours.
      res.write('retry: 3000\n\n');
      clients.add(res);
      startHeartbeat();
      // A client that goes away half-closes its socket; the server would keep it open for the unfinished
      // response (and shutdown would wait for it), so the response is destroyed along with the client.
      const gone = (): void => {
        drop(res);
        if (!res.writableEnded && !res.destroyed) res.destroy();
      };
      req.on('close', gone);
      res.on('close', gone);
      req.socket.once('end', gone);
    },
    publish(evidence) {
      if (closed || clients.size === 0) return;
      let text = '';
      for (const a of evidence) if (a.kind === 'alert') text += frame(a);
      if (text === '') return;
      for (const res of [...clients]) send(res, text);
    },
    close() {
      closed = true;
      stopHeartbeat();
      for (const res of [...clients]) res.end();
      clients.clear();
    },
    get clients() {
      return clients.size;
    },
    get slowDisconnects() {
      return slowDisconnects;
    },
  };
}
