/**
 * Reading and writing syscall records (the wire format of native/wire.h).
 *
 * `SyscallRecord` is a view over bytes the sensor or a capture file
 * delivered: header fields are read on construction, parameters only when
 * asked for, so records that no rule and no state update look at cost
 * almost nothing. `encodeRecord` builds the same bytes (test fixtures,
 * synthesized scenarios).
 */
import { eventTypeCode, eventTypeName } from './event-types.js';
import { type ParamEncoding, type ParamSpec, paramsOf } from './schema.js';

/** Offsets mirror the TC_HDR_* constants of native/wire.h (a test keeps them equal). */
export const HDR = { TS: 0, TID: 8, TGID: 12, LEN: 16, TYPE: 20, CPU: 22, RES: 24, NPARAMS: 32, SIZE: 34 } as const;
export const WIRE_VERSION = 1;
export const MAX_RECORD_SIZE = 65536;
export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_INET6 = 10;

/** An endpoint address as decoded from SOCKADDR. */
export type SockAddr =
  | { readonly family: 2 | 10; readonly ip: string; readonly port: number }
  | { readonly family: 1; readonly path: string }
  | { readonly family: number };

/** A connection as decoded from SOCKTUPLE. */
export type SockTuple =
  | { readonly family: 2 | 10; readonly sip: string; readonly sport: number; readonly dip: string; readonly dport: number }
  | { readonly family: 1; readonly source: bigint; readonly dest: bigint; readonly path: string }
  | { readonly family: number };

export type ParamValue = bigint | number | string | readonly string[] | SockAddr | SockTuple | Buffer;

export class RecordError extends Error {}

/** Schemas by event code, looked up once per code (records ask on every parameter access). */
const SCHEMA_BY_CODE: (readonly ParamSpec[] | undefined)[] = [];

const INDEX_BY_CODE: (ReadonlyMap<string, number> | undefined)[] = [];

/** Index of a parameter of an event type by name, or -1 (one Map per type, built on first use). */
function paramIndexOf(code: number, name: string): number {
  let m = INDEX_BY_CODE[code];
  if (!m) INDEX_BY_CODE[code] = m = new Map(schemaOf(code).map((spec, i) => [spec.name, i]));
  return m.get(name) ?? -1;
}

function schemaOf(code: number): readonly ParamSpec[] {
  let s = SCHEMA_BY_CODE[code];
  if (!s) SCHEMA_BY_CODE[code] = s = paramsOf(eventTypeName(code));
  return s;
}

function ipv4(buf: Buffer, off: number): string {
  return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
}

function ipv6(buf: Buffer, off: number): string {
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(buf.readUInt16BE(off + i).toString(16));
  // Compress the longest run of zeros (RFC 5952).
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (parts[i] !== '0') { i++; continue; }
    let j = i;
    while (j < 8 && parts[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) { best = i; bestLen = j - i; }
    i = j;
  }
  if (best < 0) return parts.join(':');
  return parts.slice(0, best).join(':') + '::' + parts.slice(best + bestLen).join(':');
}

/** A record in a buffer. Cheap to create; parameters decode on demand. */
export class SyscallRecord {
  readonly tid: number;
  readonly tgid: number;
  readonly len: number;
  readonly type: number;
  readonly cpu: number;
  /** The result as a number (exact for every value a syscall returns). */
  readonly result: number;
  readonly nparams: number;
  // BigInts are heap objects: made only when asked for (most records never are).
  private tsBig: bigint | undefined;

  constructor(readonly buf: Buffer, readonly off: number) {
    this.tid = buf.readUInt32LE(off + HDR.TID);
    this.tgid = buf.readUInt32LE(off + HDR.TGID);
    this.len = buf.readUInt32LE(off + HDR.LEN);
    this.type = buf.readUInt16LE(off + HDR.TYPE);
    this.cpu = buf.readUInt16LE(off + HDR.CPU);
    this.result = buf.readInt32LE(off + HDR.RES + 4) * 4294967296 + buf.readUInt32LE(off + HDR.RES);
    this.nparams = buf.readUInt16LE(off + HDR.NPARAMS);
  }

  /** Event time, ns since the epoch. */
  get ts(): bigint {
    return (this.tsBig ??= this.buf.readBigUInt64LE(this.off + HDR.TS));
  }

  /** Event time in ms since the epoch, as a plain number (for bookkeeping that needs no precision). */
  get tsMs(): number {
    return (this.buf.readUInt32LE(this.off + HDR.TS + 4) * 4294967296 + this.buf.readUInt32LE(this.off + HDR.TS)) / 1e6;
  }

  /** The syscall result (negative errno on failure). */
  get res(): bigint {
    return this.buf.readBigInt64LE(this.off + HDR.RES);
  }

  get typeName(): string {
    return eventTypeName(this.type);
  }

  /** The schema of this record's type. */
  get schema(): readonly ParamSpec[] {
    return schemaOf(this.type);
  }

  /**
   * Byte offset of parameter i's value (the lengths table after the header
   * says where each value starts). Computed on each call rather than cached:
   * records have few parameters, and a per-record offsets array was a
   * measurable share of the allocation (and GC) per event.
   */
  private valueStart(i: number): number {
    const table = this.off + HDR.SIZE;
    let pos = table + 2 * this.nparams;
    for (let k = 0; k < i; k++) pos += this.buf.readUInt16LE(table + 2 * k);
    return pos;
  }

  /** Length of parameter i's value (0 when absent or beyond nparams). */
  private valueLength(i: number): number {
    if (i < 0 || i >= this.nparams) return 0;
    return this.buf.readUInt16LE(this.off + HDR.SIZE + 2 * i);
  }

  /** Index of a parameter of this record's type by Falco name, or -1. */
  indexOf(name: string): number {
    return paramIndexOf(this.type, name);
  }

  /**
   * Numeric parameter i as a number, without a BigInt on the way for 64-bit
   * values (exact below 2^53, which every fd, pid, flag word and device
   * number is); undefined when absent or not numeric.
   */
  num(i: number): number | undefined {
    const spec = this.schema[i];
    if (!spec) return undefined;
    const len = this.valueLength(i);
    if (len === 0) return undefined;
    const b = this.buf;
    switch (spec.enc) {
      case 'i64': {
        if (len !== 8) return undefined;
        const at = this.valueStart(i);
        return b.readInt32LE(at + 4) * 4294967296 + b.readUInt32LE(at);
      }
      case 'u64': {
        if (len !== 8) return undefined;
        const at = this.valueStart(i);
        return b.readUInt32LE(at + 4) * 4294967296 + b.readUInt32LE(at);
      }
      case 'u32': return len === 4 ? b.readUInt32LE(this.valueStart(i)) : undefined;
      case 'i32': return len === 4 ? b.readInt32LE(this.valueStart(i)) : undefined;
      case 'u16': return len === 2 ? b.readUInt16LE(this.valueStart(i)) : undefined;
      default: return undefined;
    }
  }

  /** Numeric parameter by name (see {@link num}). */
  numByName(name: string): number | undefined {
    const i = paramIndexOf(this.type, name);
    return i < 0 ? undefined : this.num(i);
  }

  /** String parameter by name. */
  strByName(name: string): string | undefined {
    const i = paramIndexOf(this.type, name);
    return i < 0 ? undefined : this.str(i);
  }

  /** Decodes parameter i with its schema encoding; undefined when absent or malformed. */
  param(i: number): ParamValue | undefined {
    const spec = this.schema[i];
    if (!spec) return undefined;
    return this.decode(i, spec.enc);
  }

  /** Parameter by name (Falco's name for it). */
  paramByName(name: string): ParamValue | undefined {
    const i = paramIndexOf(this.type, name);
    return i < 0 ? undefined : this.param(i);
  }

  str(i: number): string | undefined {
    const spec = this.schema[i];
    if (!spec || spec.enc !== 'str') return undefined;
    const len = this.valueLength(i);
    if (len === 0) return undefined;
    const start = this.valueStart(i);
    return this.buf.toString('utf8', start, start + len);
  }

  strv(i: number): readonly string[] | undefined {
    const v = this.param(i);
    return Array.isArray(v) ? (v as readonly string[]) : undefined;
  }

  decode(i: number, enc: ParamEncoding): ParamValue | undefined {
    const len = this.valueLength(i);
    if (len === 0) return undefined;
    const start = this.valueStart(i);
    const b = this.buf;
    switch (enc) {
      case 'u64': return len === 8 ? b.readBigUInt64LE(start) : undefined;
      case 'i64': return len === 8 ? b.readBigInt64LE(start) : undefined;
      case 'u32': return len === 4 ? b.readUInt32LE(start) : undefined;
      case 'i32': return len === 4 ? b.readInt32LE(start) : undefined;
      case 'u16': return len === 2 ? b.readUInt16LE(start) : undefined;
      case 'str': return b.toString('utf8', start, start + len);
      case 'strv': {
        const out: string[] = [];
        let s = start;
        const end = start + len;
        for (let k = start; k < end; k++) {
          if (b[k] === 0) {
            out.push(b.toString('utf8', s, k));
            s = k + 1;
          }
        }
        if (s < end) out.push(b.toString('utf8', s, end));
        return out;
      }
      case 'sockaddr': {
        const family = b[start]!;
        if (family === AF_INET && len >= 7) return { family, ip: ipv4(b, start + 1), port: b.readUInt16LE(start + 5) };
        if (family === AF_INET6 && len >= 19) return { family, ip: ipv6(b, start + 1), port: b.readUInt16LE(start + 17) };
        if (family === AF_UNIX) return { family, path: b.toString('utf8', start + 1, start + len).replace(/\0+$/, '') };
        return { family };
      }
      case 'socktuple': {
        const family = b[start]!;
        if (family === AF_INET && len >= 13) {
          return { family, sip: ipv4(b, start + 1), sport: b.readUInt16LE(start + 5), dip: ipv4(b, start + 7), dport: b.readUInt16LE(start + 11) };
        }
        if (family === AF_INET6 && len >= 37) {
          return { family, sip: ipv6(b, start + 1), sport: b.readUInt16LE(start + 17), dip: ipv6(b, start + 19), dport: b.readUInt16LE(start + 35) };
        }
        if (family === AF_UNIX && len >= 17) {
          return { family, source: b.readBigUInt64LE(start + 1), dest: b.readBigUInt64LE(start + 9), path: b.toString('utf8', start + 17, start + len).replace(/\0+$/, '') };
        }
        return { family };
      }
      case 'bytes': return b.subarray(start, start + len);
    }
  }
}

/**
 * Splits a buffer into records. Returns the records and the number of bytes
 * consumed; a trailing partial record is left for the next buffer. A
 * malformed length throws {@link RecordError} (the stream cannot be resynced).
 */
export function splitRecords(buf: Buffer, start = 0): { records: SyscallRecord[]; consumed: number } {
  const records: SyscallRecord[] = [];
  let off = start;
  while (buf.length - off >= HDR.SIZE) {
    const len = buf.readUInt32LE(off + HDR.LEN);
    if (len < HDR.SIZE || len > MAX_RECORD_SIZE || len % 8 !== 0) {
      throw new RecordError(`malformed record at byte ${off}: length ${len}`);
    }
    if (buf.length - off < len) break;
    const nparams = buf.readUInt16LE(off + HDR.NPARAMS);
    if (HDR.SIZE + 2 * nparams > len) throw new RecordError(`malformed record at byte ${off}: ${nparams} parameters do not fit in ${len} bytes`);
    records.push(new SyscallRecord(buf, off));
    off += len;
  }
  return { records, consumed: off - start };
}

// ---- encoding -------------------------------------------------------------

/** A record to encode; parameters by name, in any order (missing ones are absent). */
export interface RecordInput {
  readonly ts: bigint;
  readonly tid: number;
  readonly tgid: number;
  /** Event type name (`openat`) or code. */
  readonly type: string | number;
  readonly cpu?: number;
  readonly res?: bigint | number;
  readonly params?: Readonly<Record<string, ParamInput | undefined>>;
}

export type ParamInput = bigint | number | string | readonly string[] | SockAddrInput | SockTupleInput | Uint8Array;
export type SockAddrInput = { family: 'inet' | 'inet6'; ip: string; port: number } | { family: 'unix'; path: string };
export type SockTupleInput =
  | { family: 'inet' | 'inet6'; sip: string; sport: number; dip: string; dport: number }
  | { family: 'unix'; source?: bigint; dest?: bigint; path: string };

function ipBytes(ip: string, v6: boolean): Buffer {
  if (!v6) return Buffer.from(ip.split('.').map((x) => Number(x) & 0xff));
  const [head, tail] = ip.includes('::') ? ip.split('::') as [string, string] : [ip, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...Array<string>(tail !== undefined ? 8 - h.length - t.length : 0).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.slice(0, 8).forEach((g, i) => out.writeUInt16BE(parseInt(g || '0', 16) & 0xffff, i * 2));
  return out;
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n & 0xffff);
  return b;
}

function encodeParam(enc: ParamEncoding, v: ParamInput): Buffer {
  switch (enc) {
    case 'u64': { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(v as number | bigint))); return b; }
    case 'i64': { const b = Buffer.alloc(8); b.writeBigInt64LE(BigInt.asIntN(64, BigInt(v as number | bigint))); return b; }
    case 'u32': { const b = Buffer.alloc(4); b.writeUInt32LE(Number(v) >>> 0); return b; }
    case 'i32': { const b = Buffer.alloc(4); b.writeInt32LE(Number(v) | 0); return b; }
    case 'u16': return u16(Number(v));
    case 'str': return Buffer.from(String(v), 'utf8');
    case 'strv': return Buffer.concat((v as readonly string[]).map((s) => Buffer.from(s + '\0', 'utf8')));
    case 'bytes': return Buffer.from(v as Uint8Array);
    case 'sockaddr': {
      const a = v as SockAddrInput;
      if (a.family === 'unix') return Buffer.concat([Buffer.from([AF_UNIX]), Buffer.from(a.path, 'utf8')]);
      const v6 = a.family === 'inet6';
      return Buffer.concat([Buffer.from([v6 ? AF_INET6 : AF_INET]), ipBytes(a.ip, v6), u16(a.port)]);
    }
    case 'socktuple': {
      const t = v as SockTupleInput;
      if (t.family === 'unix') {
        const ids = Buffer.alloc(16);
        ids.writeBigUInt64LE(t.source ?? 0n, 0);
        ids.writeBigUInt64LE(t.dest ?? 0n, 8);
        return Buffer.concat([Buffer.from([AF_UNIX]), ids, Buffer.from(t.path, 'utf8')]);
      }
      const v6 = t.family === 'inet6';
      return Buffer.concat([Buffer.from([v6 ? AF_INET6 : AF_INET]), ipBytes(t.sip, v6), u16(t.sport), ipBytes(t.dip, v6), u16(t.dport)]);
    }
  }
}

/** Encodes one record. Throws on unknown event types or parameter names. */
export function encodeRecord(r: RecordInput): Buffer {
  const code = typeof r.type === 'number' ? r.type : eventTypeCode(r.type);
  if (code === undefined) throw new RecordError(`unknown event type '${r.type}'`);
  const schema = paramsOf(eventTypeName(code));
  for (const name of Object.keys(r.params ?? {})) {
    if (!schema.some((s) => s.name === name)) throw new RecordError(`event type '${eventTypeName(code)}' has no parameter '${name}'`);
  }
  const values = schema.map((s) => {
    const v = r.params?.[s.name];
    return v === undefined ? Buffer.alloc(0) : encodeParam(s.enc, v);
  });
  const bodyLen = HDR.SIZE + 2 * values.length + values.reduce((n, b) => n + b.length, 0);
  const len = Math.ceil(bodyLen / 8) * 8;
  if (len > MAX_RECORD_SIZE) throw new RecordError(`record of ${len} bytes exceeds ${MAX_RECORD_SIZE}`);
  const out = Buffer.alloc(len);
  out.writeBigUInt64LE(r.ts, HDR.TS);
  out.writeUInt32LE(r.tid >>> 0, HDR.TID);
  out.writeUInt32LE(r.tgid >>> 0, HDR.TGID);
  out.writeUInt32LE(len, HDR.LEN);
  out.writeUInt16LE(code, HDR.TYPE);
  out.writeUInt16LE(r.cpu ?? 0, HDR.CPU);
  out.writeBigInt64LE(BigInt(r.res ?? 0), HDR.RES);
  out.writeUInt16LE(values.length, HDR.NPARAMS);
  let pos = HDR.SIZE;
  for (const v of values) { out.writeUInt16LE(v.length, pos); pos += 2; }
  for (const v of values) { v.copy(out, pos); pos += v.length; }
  return out;
}
