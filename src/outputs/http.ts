/**
 * `http_output`: one POST per alert with the alert as Falco JSON, as Falco's
 * libcurl output does, so Falcosidekick (`POST /`) takes it unchanged.
 *
 * Option mapping (Falco → Node):
 * - `user_agent` → `User-Agent`; `Content-Type: application/json` always
 *   (Falco sends `text/plain` with a text body when `json_output` is false,
 *   which Falcosidekick rejects; Tiercel always posts JSON).
 * - `insecure` → no verification of the server's certificate or name.
 * - `ca_cert` (a PEM file) wins over `ca_bundle` (a PEM file) over
 *   `ca_path` (a directory of PEM files), each replacing the default trust
 *   store as curl's CAINFO/CAPATH do; with none set Node's bundled roots are
 *   used (`NODE_EXTRA_CA_CERTS` adds to them).
 * - `mtls` → `client_cert`/`client_key` presented to the server.
 * - `compress_uploads` → the body is gzipped (`Content-Encoding: gzip`).
 *   Falcosidekick does not decode gzipped bodies; use it only with receivers
 *   that do.
 * - `keep_alive` → connections are kept open and reused between alerts.
 * - `echo` → the response body is written to stdout.
 *
 * Retry policy lives in the queue; this file only says which failures are
 * worth retrying: connection errors, timeouts, 408, 429 and 5xx. Other
 * statuses (a 400 from Falcosidekick for an alert it finds invalid) and
 * certificate errors are not.
 */
import { readFile, readdir } from 'node:fs/promises';
import { Agent as HttpAgent, type IncomingMessage, type OutgoingHttpHeaders, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import { DeliveryError, OutputSetupError, type RenderedAlert, type Sink } from './output.js';

const gzip = promisify(gzipCb);

export interface HttpSinkOptions {
  readonly url: string;
  readonly userAgent: string;
  /** Extra request headers; they may replace User-Agent and Content-Type, not the body framing. */
  readonly headers: Readonly<Record<string, string>>;
  readonly insecure: boolean;
  /** Paths; empty = not set. */
  readonly caCert: string;
  readonly caBundle: string;
  readonly caPath: string;
  readonly mtls: boolean;
  readonly clientCert: string;
  readonly clientKey: string;
  readonly compressUploads: boolean;
  readonly keepAlive: boolean;
  readonly echo: boolean;
  /** Where `echo` writes; process.stdout by default. */
  readonly echoStream?: Writable;
  /** Config key path of `http_output`, for start-up errors. */
  readonly key: string;
}

/** Response bodies are read up to this size (for `echo` and error messages). */
const MAX_RESPONSE_BYTES = 64 * 1024;

const CERT_ERRORS = new Set([
  'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'CERT_UNTRUSTED', 'CERT_REVOKED', 'CERT_SIGNATURE_FAILURE',
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'ERR_TLS_CERT_ALTNAME_INVALID',
  'HOSTNAME_MISMATCH',
]);

/** Reads certificates and keys at start-up, so a wrong path stops Tiercel with its key named. */
export async function createHttpSink(options: HttpSinkOptions): Promise<Sink> {
  const url = new URL(options.url);
  const tls = url.protocol === 'https:';
  const agentOptions: Record<string, unknown> = { keepAlive: options.keepAlive };
  if (tls) {
    agentOptions.rejectUnauthorized = !options.insecure;
    const ca = await loadTrust(options);
    if (ca) agentOptions.ca = ca;
    if (options.mtls) {
      agentOptions.cert = await readSetting(`${options.key}.client_cert`, options.clientCert);
      agentOptions.key = await readSetting(`${options.key}.client_key`, options.clientKey);
    }
  }
  const agent = tls ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
  const request = tls ? httpsRequest : httpRequest;
  const where = redact(url);

  return {
    name: 'http',
    async deliver(alert: RenderedAlert, signal: AbortSignal): Promise<void> {
      const json = Buffer.from(alert.json);
      const body = options.compressUploads ? await gzip(json) : json;
      const headers: OutgoingHttpHeaders = {
        'content-type': 'application/json',
        'user-agent': options.userAgent,
      };
      for (const [name, value] of Object.entries(options.headers)) headers[name.toLowerCase()] = value;
      headers['content-length'] = body.length;
      if (options.compressUploads) headers['content-encoding'] = 'gzip';
      else delete headers['content-encoding'];

      const res = await new Promise<IncomingMessage>((resolve, reject) => {
        const req = request(url, { method: 'POST', agent, headers, signal }, resolve);
        req.on('error', reject);
        req.end(body);
      }).catch((err: unknown) => {
        if (signal.aborted) throw signal.reason;
        const code = (err as NodeJS.ErrnoException).code ?? '';
        throw new DeliveryError(`POST ${where}: ${(err as Error).message}`, !CERT_ERRORS.has(code), { cause: err });
      });
      const text = await readBody(res, signal);
      const status = res.statusCode ?? 0;
      if (options.echo && text !== '') (options.echoStream ?? process.stdout).write(text.endsWith('\n') ? text : text + '\n');
      if (status >= 200 && status < 300) return;
      const retryable = status === 408 || status === 429 || status >= 500;
      const detail = text.trim().slice(0, 200);
      throw new DeliveryError(`POST ${where}: HTTP ${status}${detail ? `: ${detail}` : ''}`, retryable);
    },
    async close() {
      agent.destroy();
    },
  };
}

async function readBody(res: IncomingMessage, signal: AbortSignal): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res) {
      const buf = chunk as Buffer;
      if (size < MAX_RESPONSE_BYTES) chunks.push(buf.subarray(0, MAX_RESPONSE_BYTES - size));
      size += buf.length;
    }
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    throw new DeliveryError(`reading the response: ${(err as Error).message}`, true, { cause: err });
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The CA certificates to trust, or undefined for Node's defaults. */
async function loadTrust(options: HttpSinkOptions): Promise<string[] | undefined> {
  if (options.caCert) return [await readSetting(`${options.key}.ca_cert`, options.caCert)];
  if (options.caBundle) return [await readSetting(`${options.key}.ca_bundle`, options.caBundle)];
  if (!options.caPath) return undefined;
  const key = `${options.key}.ca_path`;
  let names: string[];
  try {
    names = await readdir(options.caPath);
  } catch (err) {
    throw new OutputSetupError(key, `cannot read directory ${options.caPath}: ${(err as Error).message}`, { cause: err });
  }
  const certs: string[] = [];
  for (const name of names.sort()) {
    const text = await readFile(join(options.caPath, name), 'utf8').catch(() => '');
    if (text.includes('-----BEGIN CERTIFICATE-----')) certs.push(text);
  }
  if (certs.length === 0) throw new OutputSetupError(key, `no PEM certificates in ${options.caPath}`);
  return certs;
}

async function readSetting(key: string, path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new OutputSetupError(key, `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** The URL without credentials, for logs and error messages. */
export function redact(url: URL): string {
  if (!url.username && !url.password) return url.href;
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  return copy.href;
}
