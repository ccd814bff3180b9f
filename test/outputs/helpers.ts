/**
 * Shared helpers for the outputs tests: alerts, a recording OutputMetrics, a
 * pino logger that keeps its records, temp dirs, polling, and test
 * certificates made with the openssl CLI.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import type { Alert } from '../../src/engine/alert.js';
import { type OutputsConfig, parseOutputsConfig } from '../../src/outputs/index.js';
import type { OutputMetrics } from '../../src/outputs/types.js';

/** 2023-05-25T13:44:05.478445995Z, the falco-website example's time. */
export const ALERT_TIME_NS = 1685022245478445995n;

export function sampleAlert(over: Partial<Alert> = {}): Alert {
  return {
    time: ALERT_TIME_NS,
    rule: 'Terminal shell in container',
    priority: 'Critical',
    source: 'syscall',
    tags: ['container', 'mitre_execution', 'shell'],
    message: 'A shell was spawned in a container (user=root shell=sh)',
    outputFields: {
      'evt.time': ALERT_TIME_NS,
      'user.name': 'root',
      'proc.name': 'sh',
      'proc.tty': 34816,
      'user.loginuid': -1,
    },
    hostname: 'node-1',
    ...over,
  };
}

/** An alert whose text carries everything that could break a line or a frame. */
export function hostileAlert(n = 0): Alert {
  return sampleAlert({
    rule: `Hostile ${n}`,
    message: `evil\nForged: Critical fake alert\r\u0000nul\ttab\u001b[31mred\u007fdel\u0085nel ` + 'x'.repeat(5000) + ` end-${n}`,
    outputFields: { 'fd.name': 'a\nb\u0000c', 'evt.time': ALERT_TIME_NS },
  });
}

export class RecordingMetrics implements OutputMetrics {
  readonly deliveredBy = new Map<string, number>();
  readonly failedBy = new Map<string, number>();
  readonly droppedBy = new Map<string, number>();
  readonly depths = new Map<string, number>();

  delivered(output: string): void {
    bump(this.deliveredBy, output);
  }
  dropped(output: string, reason: string): void {
    bump(this.droppedBy, `${output}:${reason}`);
  }
  failed(output: string): void {
    bump(this.failedBy, output);
  }
  queueDepth(output: string, depth: number): void {
    this.depths.set(output, depth);
  }

  deliveredCount(output: string): number {
    return this.deliveredBy.get(output) ?? 0;
  }
  failedCount(output: string): number {
    return this.failedBy.get(output) ?? 0;
  }
  droppedCount(output: string, reason?: string): number {
    let n = 0;
    for (const [k, v] of this.droppedBy) {
      if (reason ? k === `${output}:${reason}` : k.startsWith(`${output}:`)) n += v;
    }
    return n;
  }
}

function bump(m: Map<string, number>, k: string): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}

export interface LogRecord {
  level: number;
  msg: string;
  [k: string]: unknown;
}

/** A pino logger whose records are kept in memory. */
export function memoryLogger(): { logger: Logger; records: LogRecord[] } {
  const records: LogRecord[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim()) records.push(JSON.parse(line) as LogRecord);
      }
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), records };
}

/** A Writable that keeps what is written to it. */
export function memoryStream(): { stream: Writable; text: () => string; writes: () => number } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(Buffer.from(chunk));
      cb();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8'), writes: () => chunks.length };
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `tiercel-${prefix}-`));
}

/**
 * Parses a Falco-shaped config with stdout and syslog off unless the test
 * turns them on (Falco's defaults have both on).
 */
export function outputsConfig(raw: Record<string, unknown>): OutputsConfig {
  const { config, errors } = parseOutputsConfig({
    stdout_output: { enabled: false },
    syslog_output: { enabled: false },
    ...raw,
  }, '');
  if (!config) throw new Error(`bad test config: ${JSON.stringify(errors)}`);
  return config;
}

/** Polls until `check` is true; the timeout only guards against hangs. */
export async function waitFor(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Lines of a text file (missing file = no lines). */
export function fileLines(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').filter((l) => l !== '');
}

export interface TestPki {
  readonly dir: string;
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
  /** A second CA that signed nothing here: trusting it alone must fail. */
  readonly otherCaCert: string;
}

/** A CA, a server certificate for 127.0.0.1/localhost and a client certificate, made with openssl. */
export function makePki(): TestPki {
  const dir = tempDir('pki');
  const p = (name: string): string => join(dir, name);
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  for (const ca of ['ca', 'other-ca']) {
    openssl('req', '-x509', ...ec, '-keyout', p(`${ca}.key`), '-out', p(`${ca}.crt`), '-days', '2',
      '-subj', `/CN=tiercel test ${ca}`, '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  }
  const leaf = (name: string, cn: string, ext: string): void => {
    writeFileSync(p(`${name}.ext`), ext);
    openssl('req', ...ec, '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`), '-subj', `/CN=${cn}`);
    openssl('x509', '-req', '-in', p(`${name}.csr`), '-CA', p('ca.crt'), '-CAkey', p('ca.key'), '-CAcreateserial',
      '-out', p(`${name}.crt`), '-days', '2', '-extfile', p(`${name}.ext`));
  };
  leaf('server', 'localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  leaf('client', 'tiercel-client', 'extendedKeyUsage=clientAuth\n');
  return {
    dir,
    caCert: p('ca.crt'),
    serverCert: p('server.crt'),
    serverKey: p('server.key'),
    clientCert: p('client.crt'),
    clientKey: p('client.key'),
    otherCaCert: p('other-ca.crt'),
  };
}
