/**
 * Black-box helpers for `tiercel serve`: start the real CLI (bin/tiercel.js
 * over dist/) as a child process on a free loopback port, talk to it over
 * HTTP(S), read its metrics, and run the peers it delivers to (an HTTP
 * receiver, a syslog listener). Everything listens on 127.0.0.1 only.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { type IncomingHttpHeaders, createServer as createHttpServer, request as httpRequest, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { type AddressInfo, type Socket, createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { anchorPath } from '../helpers/anchors.js';
import { BIN, ROOT } from '../helpers/cli.js';

export { ROOT };

export function tempDir(prefix = 'tiercel-serve-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

export interface ServeProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly webhook: string;
  readonly port: number;
  /** Everything written to stdout so far. */
  stdout(): string;
  /** Parsed JSON log lines so far (stderr). */
  logs(): LogLine[];
  /** Raw stderr so far. */
  stderr(): string;
  /** SIGTERM, then waits for the exit; resolves to the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  readonly exited: Promise<number | null>;
}

/**
 * Its own data directory (the SQLite incident store, the API token) for each
 * server a test starts, unless the test chose one: servers of concurrent
 * tests never share a store, and the checkout's ./data stays untouched.
 */
function dataDirArgs(args: readonly string[]): string[] {
  return args.some((a) => a === '--data-dir' || a === '--store' || a === '--no-incidents')
    ? [] : ['--data-dir', tempDir('tiercel-data-')];
}

/**
 * Starts `tiercel serve` with `--listen 127.0.0.1:0 --log-format json` plus
 * `args`; resolves when it logs where it listens, rejects if it exits first.
 */
export function startServe(args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<ServeProcess> {
  const child = spawn(process.execPath, [BIN, 'serve', '--listen', '127.0.0.1:0', '--log-format', 'json', ...dataDirArgs(args), ...args], {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, TZ: 'UTC', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const logs: LogLine[] = [];
  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise<ServeProcess>((resolve, reject) => {
    let started = false;
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      err += d;
      partial += d;
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const l of lines) {
        if (!l.trim()) continue;
        let rec: LogLine;
        try {
          rec = JSON.parse(l) as LogLine;
        } catch {
          continue;
        }
        logs.push(rec);
        if (!started && typeof rec['url'] === 'string' && typeof rec['webhook'] === 'string') {
          started = true;
          const url = rec['url'] as string;
          resolve({
            child,
            url,
            webhook: rec['webhook'] as string,
            port: Number(new URL(url).port),
            stdout: () => out,
            stderr: () => err,
            logs: () => logs,
            exited,
            stop: async (signal = 'SIGTERM') => {
              if (child.exitCode === null && child.signalCode === null) child.kill(signal);
              return exited;
            },
          });
        }
      }
    });
    void exited.then((code) => {
      if (!started) reject(new Error(`tiercel serve exited (${code}) before listening:\n${err}`));
    });
  });
}

/** Runs `tiercel serve ...` expecting it to exit (bad config, --dry-run). */
export function runServeToExit(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'serve', '--listen', '127.0.0.1:0', '--log-format', 'json', ...dataDirArgs(args), ...args], {
      cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr: err, stdout: out });
    });
  });
}

export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
  /** The body parsed as JSON, when it is JSON. */
  readonly json: any;
}

export interface RequestOptions {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly gzip?: boolean;
  /** For https: trust this CA; present this client certificate. */
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  /** Send the body in chunks without Content-Length. */
  readonly chunked?: boolean;
}

/** One HTTP(S) request on a fresh connection. */
export function request(url: string, body?: string | Buffer, options: RequestOptions = {}): Promise<Reply> {
  const u = new URL(url);
  let payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body);
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (payload !== undefined && options.gzip) {
    payload = gzipSync(payload);
    headers['content-encoding'] ??= 'gzip';
  }
  if (payload !== undefined && !options.chunked) headers['content-length'] = String(payload.length);
  const fn = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = fn(u, {
      method: options.method ?? (payload !== undefined ? 'POST' : 'GET'),
      headers,
      agent: false,
      ...(u.protocol === 'https:' ? {
        ...(options.ca ? { ca: options.ca } : {}),
        ...(options.cert ? { cert: options.cert } : {}),
        ...(options.key ? { key: options.key } : {}),
        servername: 'localhost',
      } : {}),
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    if (payload !== undefined && options.chunked) {
      const step = 64 * 1024;
      for (let i = 0; i < payload.length; i += step) req.write(payload.subarray(i, i + step));
      req.end();
    } else {
      req.end(payload);
    }
  });
}

/** POSTs a JSON body (object or text) to the webhook. */
export function postJson(url: string, body: unknown, options: RequestOptions = {}): Promise<Reply> {
  const text = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  return request(url, text, { ...options, headers: { 'content-type': 'application/json', ...(options.headers ?? {}) } });
}

/** Sum of a metric's samples whose labels include `labels`. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have: Record<string, string> = {};
    for (const p of (m[3] ?? '').matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)) have[p[1]!] = p[2]!;
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[4]);
  }
  return sum;
}

export async function metrics(base: string, options: RequestOptions = {}): Promise<string> {
  const r = await request(`${base}/metrics`, undefined, options);
  if (r.status !== 200) throw new Error(`/metrics answered ${r.status}`);
  return r.text;
}

/** Polls `check` until it returns a truthy value; fails with `what` after `timeoutMs` (a liveness bound, not a speed check). */
export async function waitFor<T>(what: string, check: () => Promise<T> | T, timeoutMs = 30_000, intervalMs = 25): Promise<Exclude<T, undefined | null | false | 0 | ''>> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as Exclude<T, undefined | null | false | 0 | ''>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * Waits until the server has evaluated `events` events in total and every
 * output in `outputs` has delivered or dropped every alert raised.
 */
export async function waitSettled(base: string, events: number, outputs: readonly string[], options: RequestOptions = {}): Promise<string> {
  return waitFor(`${events} events evaluated and delivered`, async () => {
    const text = await metrics(base, options);
    if (metricValue(text, 'tiercel_audit_events_evaluated_total') < events) return undefined;
    const alerts = metricValue(text, 'tiercel_alerts_total');
    for (const o of outputs) {
      const done = metricValue(text, 'tiercel_output_delivered_total', { output: o }) +
        metricValue(text, 'tiercel_output_dropped_total', { output: o });
      if (done < alerts) return undefined;
    }
    return text;
  });
}

export function eventList(items: readonly unknown[], apiVersion = 'audit.k8s.io/v1'): Record<string, unknown> {
  return { kind: 'EventList', apiVersion, metadata: {}, items };
}

/** The audit events of one of Falco's k8s_audit suite traces (JSON lines; unparsable lines skipped). */
export function traceEvents(file: string): Record<string, unknown>[] {
  const text = readFileSync(anchorPath('falco-k8s-audit-suite', 'trace_files', 'k8s_audit', file), 'utf8');
  const out: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const v = JSON.parse(line);
      if (v && typeof v === 'object' && !Array.isArray(v) && 'auditID' in v) out.push(v);
    } catch {
      // the suite's deliberately invalid trace
    }
  }
  return out;
}

export function traceNames(): string[] {
  return readdirSync(anchorPath('falco-k8s-audit-suite', 'trace_files', 'k8s_audit')).filter((f) => f.endsWith('.json')).sort();
}

/** Every event of every suite trace (a realistic mix). */
export function allTraceEvents(): Record<string, unknown>[] {
  return traceNames().flatMap(traceEvents);
}

/** Copies of events with fresh audit IDs (`<id>-<suffix>`), so they are not duplicates of earlier ones. */
export function withIds(events: readonly Record<string, unknown>[], suffix: string): Record<string, unknown>[] {
  return events.map((e) => ({ ...e, auditID: `${String(e['auditID'])}-${suffix}` }));
}

/** Falco's JSON alert as it arrives at the outputs. */
export interface FalcoAlert {
  time: string;
  rule: string;
  priority: string;
  source: string;
  tags?: string[];
  output?: string;
  output_fields: Record<string, unknown>;
  hostname: string;
  [k: string]: unknown;
}

const PRIORITY_NAMES = ['Emergency', 'Alert', 'Critical', 'Error', 'Warning', 'Notice', 'Informational', 'Debug'];

/**
 * Checks an alert against Falco's JSON schema and what Falcosidekick accepts
 * (priority a known level, rule non-empty, RFC 3339 time, non-empty
 * output_fields); returns the problems.
 */
export function falcoSchemaProblems(a: FalcoAlert): string[] {
  const p: string[] = [];
  if (typeof a.rule !== 'string' || a.rule === '') p.push('rule');
  if (!PRIORITY_NAMES.includes(a.priority)) p.push(`priority ${a.priority}`);
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/.test(a.time)) p.push(`time ${a.time}`);
  if (a.source !== 'k8s_audit') p.push(`source ${a.source}`);
  if (typeof a.hostname !== 'string' || a.hostname === '') p.push('hostname');
  if (!a.output_fields || typeof a.output_fields !== 'object' || Object.keys(a.output_fields).length === 0) p.push('output_fields');
  if (typeof a.output !== 'string' || !a.output.includes(a.priority)) p.push('output');
  if (!Array.isArray(a.tags)) p.push('tags');
  return p;
}

/** An HTTP receiver standing in for Falcosidekick: records one JSON alert per POST, answers 200. */
export class AlertReceiver {
  readonly alerts: FalcoAlert[] = [];
  readonly contentTypes: string[] = [];
  private server: Server | undefined;
  /** 'ok' answers 200; 'hang' accepts and never answers. */
  mode: 'ok' | 'hang' = 'ok';
  private hanging: Set<import('node:http').ServerResponse> = new Set();

  async start(): Promise<string> {
    this.server = createHttpServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (this.mode === 'hang') {
          this.hanging.add(res);
          return;
        }
        this.contentTypes.push(String(req.headers['content-type']));
        try {
          this.alerts.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as FalcoAlert);
        } catch {
          res.writeHead(400).end();
          return;
        }
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
  }

  async close(): Promise<void> {
    for (const r of this.hanging) r.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/** A TCP syslog listener (RFC 6587 octet counting, or newline-terminated frames). */
export class SyslogListener {
  readonly messages: string[] = [];
  private server: import('node:net').Server | undefined;
  private sockets = new Set<Socket>();

  async start(): Promise<number> {
    this.server = createTcpServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      let buf = Buffer.alloc(0);
      socket.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        for (;;) {
          const m = /^(\d+) /.exec(buf.subarray(0, 12).toString('latin1'));
          if (m) {
            const len = Number(m[1]);
            const start = m[0].length;
            if (buf.length < start + len) break;
            this.messages.push(buf.subarray(start, start + len).toString('utf8'));
            buf = buf.subarray(start + len);
            continue;
          }
          const nl = buf.indexOf(0x0a);
          if (nl < 0) break;
          this.messages.push(buf.subarray(0, nl).toString('utf8'));
          buf = buf.subarray(nl + 1);
        }
      });
      socket.on('error', () => {});
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/** A loopback TCP port with nothing listening (for a dead receiver). */
export async function closedPort(): Promise<number> {
  const s = createTcpServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Reads the JSON alert lines of a file output (missing file = none yet). */
export function fileAlerts(path: string): FalcoAlert[] {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as FalcoAlert);
}

export function writeYaml(dir: string, name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

export interface TestPki {
  readonly dir: string;
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
  /** A client certificate from another CA, which the server must refuse. */
  readonly rogueCert: string;
  readonly rogueKey: string;
  /** A client certificate from the right CA with another CN (`someone-else`). */
  readonly otherCert: string;
  readonly otherKey: string;
}

/** Makes a CA, a server certificate for 127.0.0.1/localhost, and client certificates, with the openssl CLI. */
export function makePki(): TestPki {
  const dir = tempDir('tiercel-pki-');
  const ossl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  };
  const ca = (name: string): void => {
    ossl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`,
      '-days', '2', '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  };
  const leaf = (name: string, cn: string, signer: string, ext: string): void => {
    ossl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    writeFileSync(join(dir, `${name}.ext`), ext);
    ossl('x509', '-req', '-in', `${name}.csr`, '-CA', `${signer}.crt`, '-CAkey', `${signer}.key`, '-CAcreateserial',
      '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`);
  };
  ca('ca');
  ca('rogue-ca');
  leaf('server', 'localhost', 'ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  leaf('client', 'kube-apiserver', 'ca', 'extendedKeyUsage=clientAuth\n');
  leaf('rogue', 'kube-apiserver', 'rogue-ca', 'extendedKeyUsage=clientAuth\n');
  leaf('other', 'someone-else', 'ca', 'extendedKeyUsage=clientAuth\n');
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    clientCert: join(dir, 'client.crt'),
    clientKey: join(dir, 'client.key'),
    rogueCert: join(dir, 'rogue.crt'),
    rogueKey: join(dir, 'rogue.key'),
    otherCert: join(dir, 'other.crt'),
    otherKey: join(dir, 'other.key'),
  };
}
