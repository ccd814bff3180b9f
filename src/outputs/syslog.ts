/**
 * `syslog_output`: one syslog message per alert.
 *
 * Falco calls libc `syslog(priority, "%s", msg)`: facility `user`, severity
 * = the rule priority (Falco's priorities are syslog's severities, Emergency
 * 0 … Debug 7), written to the local `/dev/log`. Tiercel does the same for
 * the local socket and adds remote syslog:
 *
 * - local (`host` empty): the message as glibc writes it,
 *   `<PRI>Mmm dd hh:mm:ss TAG: MSG`. Node can only open stream unix sockets:
 *   a SOCK_STREAM `/dev/log` (syslog-ng, rsyslog with a stream socket) is
 *   written directly, each message NUL-terminated as glibc does; a
 *   SOCK_DGRAM one (journald, most rsyslog setups) is refused with
 *   EPROTOTYPE, and then messages go through a long-lived util-linux
 *   `logger --prio-prefix` process, which speaks datagrams.
 * - remote UDP (RFC 5424 over RFC 5426: one message per datagram, cut to
 *   `MAX_UDP_BYTES`) and TCP (RFC 5424 with RFC 6587 octet counting).
 *
 * Alert text is attacker-controlled: every control character (newline, NUL,
 * …) is escaped before framing, so no alert can end a frame early or forge
 * another message.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { type NetConnectOpts, type Socket, connect } from 'node:net';
import { hostname as osHostname } from 'node:os';
import type { Logger } from 'pino';
import { priorityRank } from '../engine/priority.js';
import { raceAbort } from './backoff.js';
import { LineProcess } from './line-process.js';
import { DeliveryError, escapeControl, type RenderedAlert, type Sink } from './output.js';

/** Syslog facility names and codes (RFC 5424 table 1, as syslog.h names them). */
export const FACILITIES: Readonly<Record<string, number>> = {
  kern: 0, user: 1, mail: 2, daemon: 3, auth: 4, syslog: 5, lpr: 6, news: 7, uucp: 8, cron: 9,
  authpriv: 10, ftp: 11, local0: 16, local1: 17, local2: 18, local3: 19, local4: 20, local5: 21,
  local6: 22, local7: 23,
};

/** Largest UDP message sent; longer ones are cut (at a UTF-8 character boundary). */
export const MAX_UDP_BYTES = 65_000;
/** Largest message the `logger` fallback passes on (its `--size`). */
export const MAX_LOGGER_BYTES = 65_536;

export interface SyslogSinkOptions {
  /** Remote host; empty for the local socket. */
  readonly host: string;
  readonly port: number;
  readonly protocol: 'udp' | 'tcp';
  /** Facility code, 0..23. */
  readonly facility: number;
  /** The local socket, `/dev/log` by default. */
  readonly socketPath: string;
  /** APP-NAME / tag; `falco`, as Falco's libc syslog sets it. */
  readonly tag: string;
  readonly logger: Logger;
}

/** `<PRI>` value: facility × 8 + severity, severity being the Falco priority's rank. */
export function syslogPri(alert: RenderedAlert, facility: number): number {
  return facility * 8 + priorityRank(alert.alert.priority);
}

/** RFC 5424 message: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID - - MSG`. MSG must be escaped already. */
export function formatRfc5424(pri: number, msg: string, header: { time: Date; hostname: string; appName: string; procId: number }): string {
  const hostname = headerField(header.hostname, 255);
  const appName = headerField(header.appName, 48);
  return `<${pri}>1 ${header.time.toISOString()} ${hostname} ${appName} ${header.procId} - - ${msg}`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** glibc's local message: `<PRI>Mmm dd hh:mm:ss TAG: MSG` (local time, day padded with a space). */
export function formatLocal(pri: number, msg: string, tag: string, time: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  const stamp = `${MONTHS[time.getMonth()]} ${String(time.getDate()).padStart(2, ' ')} ${two(time.getHours())}:${two(time.getMinutes())}:${two(time.getSeconds())}`;
  return `<${pri}>${stamp} ${tag}: ${msg}`;
}

/** RFC 5424 header fields are printable US-ASCII without spaces; `-` when empty. */
function headerField(value: string, max: number): string {
  const clean = value.replace(/[^\x21-\x7e]/g, '_').slice(0, max);
  return clean === '' ? '-' : clean;
}

/** Cuts `buf` to at most `max` bytes without splitting a UTF-8 sequence. */
export function truncateUtf8(buf: Buffer, max: number): Buffer {
  if (buf.length <= max) return buf;
  let end = max;
  // Back up over continuation bytes (10xxxxxx) to the start of the cut character.
  while (end > 0 && ((buf[end] ?? 0) & 0xc0) === 0x80) end--;
  return buf.subarray(0, end);
}

export function createSyslogSink(options: SyslogSinkOptions): Sink {
  if (options.host === '') return new LocalSyslog(options);
  return options.protocol === 'tcp' ? new TcpSyslog(options) : new UdpSyslog(options);
}

abstract class RemoteSyslog implements Sink {
  readonly name = 'syslog';
  protected readonly options: SyslogSinkOptions;

  constructor(options: SyslogSinkOptions) {
    this.options = options;
  }

  protected frame(alert: RenderedAlert): string {
    const hostname = alert.alert.hostname || osHostname();
    return formatRfc5424(syslogPri(alert, this.options.facility), escapeControl(alert.line), {
      time: new Date(), hostname, appName: this.options.tag, procId: process.pid,
    });
  }

  abstract deliver(alert: RenderedAlert, signal: AbortSignal): Promise<void>;
  abstract close(): Promise<void>;
}

class UdpSyslog extends RemoteSyslog {
  #socket: Promise<{ socket: UdpSocket; address: string }> | undefined;

  async deliver(alert: RenderedAlert, signal: AbortSignal): Promise<void> {
    const datagram = truncateUtf8(Buffer.from(this.frame(alert)), MAX_UDP_BYTES);
    const { socket, address } = await raceAbort(this.#open(), signal);
    await raceAbort(new Promise<void>((resolve, reject) => {
      socket.send(datagram, this.options.port, address, (err) => (err ? reject(err) : resolve()));
    }), signal).catch((err: unknown) => {
      this.#reset();
      throw err;
    });
  }

  #open(): Promise<{ socket: UdpSocket; address: string }> {
    this.#socket ??= (async () => {
      const { address, family } = await lookup(this.options.host);
      const socket = createSocket(family === 6 ? 'udp6' : 'udp4');
      socket.on('error', () => this.#reset());
      return { socket, address };
    })();
    const opening = this.#socket;
    opening.catch(() => {
      if (this.#socket === opening) this.#socket = undefined;
    });
    return opening;
  }

  #reset(): void {
    const s = this.#socket;
    this.#socket = undefined;
    void s?.then(({ socket }) => socket.close(), () => {}).catch(() => {});
  }

  async close(): Promise<void> {
    this.#reset();
  }
}

class TcpSyslog extends RemoteSyslog {
  readonly #conn: StreamConnection;

  constructor(options: SyslogSinkOptions) {
    super(options);
    this.#conn = new StreamConnection({ host: options.host, port: options.port });
  }

  deliver(alert: RenderedAlert, signal: AbortSignal): Promise<void> {
    const msg = Buffer.from(this.frame(alert));
    // RFC 6587 octet counting: "MSG-LEN SP SYSLOG-MSG", the length in bytes.
    return this.#conn.send(Buffer.concat([Buffer.from(`${msg.length} `), msg]), signal);
  }

  async close(): Promise<void> {
    await this.#conn.close();
  }
}

class LocalSyslog implements Sink {
  readonly name = 'syslog';
  readonly #options: SyslogSinkOptions;
  readonly #conn: StreamConnection;
  /** Set once the socket turned out to be a datagram socket. */
  #viaLogger: LineProcess | undefined;

  constructor(options: SyslogSinkOptions) {
    this.#options = options;
    this.#conn = new StreamConnection({ path: options.socketPath });
  }

  async deliver(alert: RenderedAlert, signal: AbortSignal): Promise<void> {
    const pri = syslogPri(alert, this.#options.facility);
    const msg = escapeControl(alert.line);
    if (this.#viaLogger) return this.#viaLogger.write(`<${pri}>${msg}`, signal);
    const frame = formatLocal(pri, msg, this.#options.tag, new Date());
    try {
      // glibc ends each message on a stream socket with a NUL byte.
      await this.#conn.send(Buffer.from(frame + '\0'), signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EPROTOTYPE') throw err;
      this.#options.logger.info(
        { socket: this.#options.socketPath },
        'syslog output: the local socket is a datagram socket; writing through util-linux logger',
      );
      this.#viaLogger = new LineProcess({
        file: 'logger',
        args: [
          '--socket', this.#options.socketPath, '--socket-errors=on', '--prio-prefix',
          '--tag', this.#options.tag, '--size', String(MAX_LOGGER_BYTES),
        ],
        stdio: 'inherit',
        label: 'syslog output (logger)',
        logger: this.#options.logger,
      });
      return this.#viaLogger.write(`<${pri}>${msg}`, signal);
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.#conn.close(), this.#viaLogger?.close(2000)]);
  }
}

/**
 * One stream connection (TCP or unix), opened on first use and again after
 * any error; a send that fails or times out drops the connection so the next
 * one starts clean.
 */
export class StreamConnection {
  readonly #target: NetConnectOpts;
  #socket: Promise<Socket> | undefined;

  constructor(target: NetConnectOpts) {
    this.#target = target;
  }

  async send(data: Buffer, signal: AbortSignal): Promise<void> {
    try {
      const socket = await raceAbort(this.#open(), signal);
      await raceAbort(new Promise<void>((resolve, reject) => {
        socket.write(data, (err) => (err ? reject(err) : resolve()));
      }), signal);
    } catch (err) {
      this.#reset();
      if (signal.aborted && err === signal.reason) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EPROTOTYPE') throw err;
      throw new DeliveryError(`syslog output: ${(err as Error).message}`, true, { cause: err });
    }
  }

  #open(): Promise<Socket> {
    this.#socket ??= new Promise<Socket>((resolve, reject) => {
      const socket = connect(this.#target);
      const onConnectError = (err: Error): void => {
        socket.destroy();
        reject(err);
      };
      socket.once('error', onConnectError);
      socket.once('connect', () => {
        socket.off('error', onConnectError);
        // Errors after connecting surface in write callbacks; the next send reconnects.
        socket.on('error', () => this.#forget(socket));
        socket.on('close', () => this.#forget(socket));
        // Syslog receivers send nothing; discard anything that arrives.
        socket.resume();
        resolve(socket);
      });
    });
    const opening = this.#socket;
    opening.catch(() => {
      if (this.#socket === opening) this.#socket = undefined;
    });
    return opening;
  }

  /** Drops `socket` if it is still the current one. */
  #forget(socket: Socket): void {
    const current = this.#socket;
    void current?.then((s) => {
      if (s === socket && this.#socket === current) this.#socket = undefined;
    }, () => {});
  }

  #reset(): void {
    const current = this.#socket;
    this.#socket = undefined;
    void current?.then((s) => s.destroy(), () => {});
  }

  async close(): Promise<void> {
    const current = this.#socket;
    this.#socket = undefined;
    const socket = await current?.catch(() => undefined);
    if (!socket || socket.destroyed) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        socket.destroy();
        resolve();
      }, 1000);
      socket.end(() => {
        clearTimeout(timer);
        socket.destroy();
        resolve();
      });
    });
  }
}
