/**
 * Capture files: a recording of syscall records that replays anywhere.
 *
 * Format (version 1), gzip-compressed as a whole:
 *
 *   8 bytes   magic "TIERCAP1"
 *   4 bytes   header length N (u32, little-endian)
 *   N bytes   header: UTF-8 JSON (CaptureHeader): format version, host
 *             snapshot (processes with their fds, users, groups), container
 *             metadata known at capture time
 *   ...       records in the wire format of native/wire.h, back to back,
 *             until the end of the stream
 *
 * Both directions stream: the writer emits records as they come, the reader
 * yields batches of records without holding the file in memory.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { createGunzip, createGzip } from 'node:zlib';
import type { Readable, Writable } from 'node:stream';
import { once } from 'node:events';
import { RecordError, type SyscallRecord, WIRE_VERSION, splitRecords } from './record.js';
import type { HostSnapshot } from './state/snapshot.js';

export const CAPTURE_MAGIC = 'TIERCAP1';
export const CAPTURE_VERSION = 1;
/** A header bigger than this is refused (a snapshot of a very large host is a few MB). */
const MAX_HEADER_BYTES = 256 * 1024 * 1024;

/**
 * Container metadata as stored in a capture header: the entries of a static
 * metadata file (see state/metadata.ts), JSON-able (`startTs` as text).
 */
export interface ContainerMetadataInput {
  readonly id: string;
  readonly name?: string;
  readonly image?: string;
  readonly imageId?: string;
  readonly type?: string;
  readonly privileged?: boolean;
  readonly mounts?: readonly { source: string; dest: string; mode?: string; rw?: boolean; propagation?: string }[];
  readonly startTs?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly ip?: string;
  readonly pod?: { name: string; namespace: string; uid: string; labels?: Readonly<Record<string, string>>; ip?: string };
}

export interface CaptureHeader {
  readonly format: 'tiercel-capture';
  readonly version: number;
  readonly wireVersion: number;
  readonly arch: string;
  /** Tool and version that wrote the file. */
  readonly writer: string;
  readonly host: HostSnapshot;
  /** Container metadata known when capturing (a static provider serves it on replay). */
  readonly containers?: readonly ContainerMetadataInput[];
  /** The --filter the capture was taken with, if any. */
  readonly filter?: string;
}

export class CaptureError extends Error {}

/** Writes a capture: header first, then records. */
export class CaptureWriter {
  private readonly gzip = createGzip({ level: 6 });
  private done: Promise<void>;
  records = 0;

  constructor(out: Writable, header: CaptureHeader) {
    this.gzip.pipe(out);
    this.done = new Promise((resolve, reject) => {
      out.on('finish', resolve);
      out.on('close', resolve);
      out.on('error', reject);
      this.gzip.on('error', reject);
    });
    const json = Buffer.from(JSON.stringify(header), 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(json.length);
    this.gzip.write(Buffer.from(CAPTURE_MAGIC, 'latin1'));
    this.gzip.write(len);
    this.gzip.write(json);
  }

  static toFile(path: string, header: CaptureHeader): CaptureWriter {
    return new CaptureWriter(createWriteStream(path), header);
  }

  /** Writes encoded records (one or many back to back). Resolves when the stream can take more. */
  async write(bytes: Buffer): Promise<void> {
    this.records++;
    if (!this.gzip.write(bytes)) await once(this.gzip, 'drain');
  }

  /**
   * Writes without waiting, for a producer that cannot pause (the live
   * sensor): returns false and writes nothing while more than `maxBuffered`
   * bytes already wait for the disk, so a slow disk costs capture records,
   * not memory.
   */
  append(bytes: Buffer, maxBuffered = 64 * 1024 * 1024): boolean {
    if (this.gzip.writableLength > maxBuffered) return false;
    this.records++;
    this.gzip.write(bytes);
    return true;
  }

  async close(): Promise<void> {
    this.gzip.end();
    await this.done;
  }
}

/** Reads a capture: the header, then batches of records. */
export class CaptureReader {
  private constructor(
    readonly header: CaptureHeader,
    private readonly rest: AsyncIterator<Buffer>,
    private pending: Buffer,
  ) {}

  static async open(input: string | Readable): Promise<CaptureReader> {
    const source = typeof input === 'string' ? createReadStream(input) : input;
    const stream = source.pipe(createGunzip());
    source.on('error', (e: Error) => stream.destroy(e));
    const it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    let buf = Buffer.alloc(0);
    const need = async (n: number): Promise<void> => {
      while (buf.length < n) {
        const next = await it.next();
        if (next.done) throw new CaptureError(`not a Tiercel capture: the file ends after ${buf.length} bytes`);
        buf = Buffer.concat([buf, next.value]);
      }
    };
    try {
      await need(12);
    } catch (e) {
      if (e instanceof CaptureError) throw e;
      // File-system errors (ENOENT, EACCES...) are what they are; anything else is zlib refusing the data.
      if ((e as NodeJS.ErrnoException).syscall) throw e;
      throw new CaptureError(`not a Tiercel capture (not gzip-compressed): ${(e as Error).message}`);
    }
    if (buf.toString('latin1', 0, 8) !== CAPTURE_MAGIC) {
      throw new CaptureError(`not a Tiercel capture: bad magic '${buf.toString('latin1', 0, 8).replace(/[^\x20-\x7e]/g, '?')}'`);
    }
    const hlen = buf.readUInt32LE(8);
    if (hlen > MAX_HEADER_BYTES) throw new CaptureError(`capture header of ${hlen} bytes is too large`);
    await need(12 + hlen);
    let header: CaptureHeader;
    try {
      header = JSON.parse(buf.toString('utf8', 12, 12 + hlen)) as CaptureHeader;
    } catch (e) {
      throw new CaptureError(`capture header is not valid JSON: ${(e as Error).message}`);
    }
    if (header.format !== 'tiercel-capture' || typeof header.version !== 'number') {
      throw new CaptureError('capture header does not describe a Tiercel capture');
    }
    if (header.version > CAPTURE_VERSION || header.wireVersion > WIRE_VERSION) {
      throw new CaptureError(`capture version ${header.version} (wire ${header.wireVersion}) is newer than this Tiercel reads (${CAPTURE_VERSION}, wire ${WIRE_VERSION})`);
    }
    if (!header.host || !Array.isArray(header.host.processes)) throw new CaptureError('capture header has no host snapshot');
    return new CaptureReader(header, it, buf.subarray(12 + hlen));
  }

  /** Yields records in file order, a batch per chunk read. */
  async *batches(): AsyncGenerator<SyscallRecord[]> {
    let buf = this.pending;
    for (;;) {
      if (buf.length) {
        let split;
        try {
          split = splitRecords(buf);
        } catch (e) {
          if (e instanceof RecordError) throw new CaptureError(`corrupt capture: ${e.message}`);
          throw e;
        }
        if (split.records.length) yield split.records;
        buf = buf.subarray(split.consumed);
      }
      const next = await this.rest.next();
      if (next.done) break;
      buf = buf.length ? Buffer.concat([buf, next.value]) : next.value;
    }
    if (buf.length) throw new CaptureError(`corrupt capture: ${buf.length} bytes of a truncated record at the end`);
  }
}
