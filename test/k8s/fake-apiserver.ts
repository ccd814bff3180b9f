/**
 * A loopback HTTP server that speaks the kube-apiserver's list/watch protocol
 * for pods, as far as a reflector sees it:
 *
 * - `GET /api/v1/pods?fieldSelector=spec.nodeName=X[&limit&continue&resourceVersion]`
 *   → a PodList of the pods on X, `metadata.resourceVersion` the current RV;
 * - `GET /api/v1/pods?watch=true&resourceVersion=N&...` → 200 with
 *   newline-delimited watch events: every change after N from the history,
 *   then live ones; a compacted N gets the apiserver's
 *   `{"type":"ERROR","object":{"kind":"Status",...,"code":410}}`, then the end;
 * - `timeoutSeconds` ends a watch (the server's own watch timeout);
 * - scripted failures: the next list/watch answers HTTP 410/500/403, or a watch
 *   is cut; `down()` stops listening (connection refused) and `up()` listens
 *   again on the same port.
 *
 * It serves HTTPS with a certificate for 127.0.0.1 from a throwaway CA (made
 * with openssl), as an apiserver does: the client checks it against the
 * kubeconfig's `certificate-authority`. Every request is recorded (URL and
 * headers) for assertions.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

type Pod = Record<string, any>;

interface HistoryEvent {
  readonly rv: number;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly object: Pod;
}

export interface RecordedRequest {
  readonly url: URL;
  readonly headers: IncomingMessage['headers'];
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

export interface TestPki {
  readonly caFile: string;
  readonly cert: Buffer;
  readonly key: Buffer;
}

let pki: TestPki | undefined;

/** A CA and a server certificate for 127.0.0.1 signed by it (made once per process). */
export function testPki(): TestPki {
  if (pki) return pki;
  const dir = mkdtempSync(join(tmpdir(), 'tiercel-fake-apiserver-'));
  const f = (n: string): string => join(dir, n);
  const ssl = (...args: string[]): void => void execFileSync('openssl', args, { stdio: 'pipe' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=fake-kubernetes-ca', '-keyout', f('ca.key'), '-out', f('ca.crt'));
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=kube-apiserver', '-keyout', f('server.key'), '-out', f('server.csr'));
  writeFileSync(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  ssl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '1', '-extfile', f('ext.cnf'), '-out', f('server.crt'));
  pki = { caFile: f('ca.crt'), cert: readFileSync(f('server.crt')), key: readFileSync(f('server.key')) };
  return pki;
}

export class FakeApiServer {
  readonly requests: RecordedRequest[] = [];
  /** The next list requests answer these HTTP statuses (one each). */
  readonly listFailures: number[] = [];
  /** The next watch requests answer these HTTP statuses (one each). */
  readonly watchFailures: number[] = [];
  private rv = 1000;
  /** Watches from an RV below this get 410 (etcd compaction). */
  private compactedBelow = 0;
  private readonly pods = new Map<string, Pod>();
  private readonly history: HistoryEvent[] = [];
  private readonly watches = new Set<{ res: ServerResponse; node: string | undefined }>();
  private server: Server | undefined;
  port = 0;

  async start(port = 0): Promise<void> {
    const { cert, key } = testPki();
    const server = createServer({ cert, key }, (req, res) => this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  get resourceVersion(): string {
    return String(this.rv);
  }

  /** Stops listening and cuts every connection: the API is down. */
  async down(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const w of this.watches) w.res.destroy();
    this.watches.clear();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Listens again on the same port. */
  up(): Promise<void> {
    return this.start(this.port);
  }

  async close(): Promise<void> {
    await this.down();
  }

  // ---- state changes (each one an event with a new resourceVersion) ----

  add(pod: Pod): string {
    return this.change('ADDED', pod);
  }

  modify(pod: Pod): string {
    return this.change('MODIFIED', pod);
  }

  delete(uid: string): string {
    const pod = this.pods.get(uid);
    if (!pod) throw new Error(`no pod ${uid}`);
    return this.change('DELETED', pod);
  }

  /** Pods added without an event (state before the test watches). */
  seed(...pods: Pod[]): void {
    for (const p of pods) {
      const copy = clone(p);
      copy.metadata.resourceVersion = String(++this.rv);
      this.pods.set(copy.metadata.uid, copy);
    }
  }

  /** Forgets history up to now: watches from an older RV get 410. */
  compact(): void {
    this.compactedBelow = this.rv;
    this.history.length = 0;
  }

  /** Sends a BOOKMARK at the current RV to every open watch. */
  bookmark(): void {
    const line = JSON.stringify({ type: 'BOOKMARK', object: { kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: String(this.rv) } } });
    for (const w of this.watches) w.res.write(`${line}\n`);
  }

  /** Ends every open watch normally (as the server does at timeoutSeconds). */
  endWatches(): void {
    for (const w of this.watches) w.res.end();
    this.watches.clear();
  }

  /** Sends the apiserver's "too old resource version" ERROR event to every open watch, then ends them. */
  expireWatches(): void {
    for (const w of this.watches) {
      w.res.end(`${JSON.stringify({ type: 'ERROR', object: goneStatus(this.rv) })}\n`);
    }
    this.watches.clear();
  }

  get openWatches(): number {
    return this.watches.size;
  }

  private change(type: HistoryEvent['type'], pod: Pod): string {
    const copy = clone(pod);
    copy.metadata.resourceVersion = String(++this.rv);
    if (type === 'DELETED') this.pods.delete(copy.metadata.uid);
    else this.pods.set(copy.metadata.uid, copy);
    const ev: HistoryEvent = { rv: this.rv, type, object: copy };
    this.history.push(ev);
    for (const w of this.watches) if (matches(copy, w.node)) w.res.write(`${JSON.stringify({ type, object: copy })}\n`);
    return copy.metadata.resourceVersion as string;
  }

  // ---- the HTTP side ----

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.url);
    this.requests.push({ url, headers: req.headers });
    if (req.method !== 'GET' || url.pathname !== '/api/v1/pods') return status(res, 404, 'NotFound', `the server could not find the requested resource`);
    const selector = url.searchParams.get('fieldSelector') ?? '';
    let node: string | undefined;
    if (selector) {
      const m = /^spec\.nodeName=(.*)$/.exec(selector);
      if (!m) return status(res, 400, 'BadRequest', `unable to parse requested field selector "${selector}"`);
      node = m[1];
    }
    if (url.searchParams.get('watch') === 'true') return this.watch(url, node, res);
    const fail = this.listFailures.shift();
    if (fail) return status(res, fail, reasonOf(fail), 'scripted list failure');
    const items = [...this.pods.values()].filter((p) => matches(p, node));
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: String(this.rv) }, items }));
  }

  private watch(url: URL, node: string | undefined, res: ServerResponse): void {
    const fail = this.watchFailures.shift();
    if (fail) return status(res, fail, reasonOf(fail), 'scripted watch failure');
    const from = Number(url.searchParams.get('resourceVersion') || this.rv);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    if (from < this.compactedBelow) {
      res.end(`${JSON.stringify({ type: 'ERROR', object: goneStatus(from) })}\n`);
      return;
    }
    for (const ev of this.history) {
      if (ev.rv > from && matches(ev.object, node)) res.write(`${JSON.stringify({ type: ev.type, object: ev.object })}\n`);
    }
    const w = { res, node };
    this.watches.add(w);
    const timeout = Number(url.searchParams.get('timeoutSeconds') || 0);
    const timer = timeout > 0 ? setTimeout(() => { this.watches.delete(w); res.end(); }, timeout * 1000) : undefined;
    res.on('close', () => {
      if (timer) clearTimeout(timer);
      this.watches.delete(w);
    });
  }
}

function matches(pod: Pod, node: string | undefined): boolean {
  return node === undefined || pod.spec?.nodeName === node;
}

/** The Status the apiserver sends when a watch's resourceVersion was compacted. */
function goneStatus(rv: number): Pod {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: `too old resource version: ${rv} (${rv + 500})`,
    reason: 'Expired',
    code: 410,
  };
}

function reasonOf(code: number): string {
  return ({ 403: 'Forbidden', 410: 'Gone', 500: 'InternalError', 503: 'ServiceUnavailable' } as Record<number, string>)[code] ?? 'Unknown';
}

function status(res: ServerResponse, code: number, reason: string, message: string): void {
  res.writeHead(code, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }));
}
