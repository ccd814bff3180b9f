/**
 * `evt.*` and `syscall.type` for syscall events: the event type, its
 * result and arguments (`evt.arg.NAME`, `evt.arg[N]`, `evt.rawarg.NAME`),
 * and the classification helpers rules use (`evt.is_open_read`...).
 * Time and sequence fields come from the engine's generic `evt.*` fields.
 */
import { FieldError, type FieldType } from '../../engine/fields.js';
import type { SyscallEvent } from '../event.js';
import { EVENT_TYPE_NAMES, isSyscall } from '../event-types.js';
import { O_CREAT, O_F_CREATED, renderResult } from '../flags.js';
import { paramsOf, typesWithParams } from '../schema.js';
import { openReads, openWrites } from '../state/index.js';
import { type SysField, f, fa } from './define.js';
import { rawParam, renderArgs, renderParam, resolvedPathParam } from './render.js';

const EVENT_TYPES = new Set(EVENT_TYPE_NAMES);

function validateEventType(text: string): string {
  if (!EVENT_TYPES.has(text)) throw new FieldError(`unknown event type ${text}`);
  return text;
}

const OPEN_TYPES = new Set(['open', 'openat', 'openat2', 'creat', 'open_by_handle_at']);
const IO_READ = new Set(['read', 'readv', 'pread64', 'preadv', 'preadv2', 'recvfrom', 'recvmsg', 'recvmmsg']);
const IO_WRITE = new Set(['write', 'writev', 'pwrite64', 'pwritev', 'pwritev2', 'sendto', 'sendmsg', 'sendmmsg']);

function openFlags(e: SyscallEvent): number | undefined {
  const memo = e.openFlagsMemo;
  if (memo !== -1) return memo === -2 ? undefined : memo;
  let flags: number | undefined;
  if (OPEN_TYPES.has(e.typeName)) flags = e.typeName === 'creat' ? 0o1101 : e.record.numByName('flags');
  e.openFlagsMemo = flags ?? -2;
  return flags;
}

/** Where the parameter named `name` sits for each event type (-1 when it has none). */
function indexByType(name: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of typesWithParams()) {
    const i = paramsOf(t).findIndex((s) => s.name === name);
    if (i >= 0) m.set(t, i);
  }
  return m;
}

/** Extractor of a named parameter, rendered or raw, whatever the event type. */
function namedParam(name: string, raw: boolean): (e: SyscallEvent) => string | number | undefined {
  // Falco's exit events carry the result as their first parameter, named
  // `res` or `fd`; `evt.arg.res` / `evt.arg.fd` for those means the result.
  const positions = indexByType(name);
  return (e) => {
    const i = positions.get(e.typeName);
    if (i === undefined) {
      if (name === 'res' || name === 'res_or_fd' || (name === 'fd' && e.fdNum !== undefined && e.record.res >= 0n)) {
        return raw ? Number(e.record.res) : name === 'fd' ? String(e.record.res) : e.record.res < 0n ? renderResult(e.record.res) : String(e.record.res);
      }
      return undefined;
    }
    return raw ? rawParam(e, i) : renderParam(e, i);
  };
}

/** Numeric when every event type that has the parameter stores a number. */
function rawType(name: string): FieldType {
  let numeric = true;
  let seen = false;
  for (const t of typesWithParams()) {
    const spec = paramsOf(t).find((s) => s.name === name);
    if (!spec) continue;
    seen = true;
    if (!['u64', 'i64', 'u32', 'i32', 'u16'].includes(spec.enc)) numeric = false;
  }
  return seen && numeric ? 'int' : name === 'res' || name === 'res_or_fd' ? 'int' : 'string';
}

/** `evt.arg.NAME` / `evt.rawarg.NAME`: resolved on demand, since NAME is open-ended. */
export function resolveArgField(name: string): SysField | undefined {
  const m = /^evt\.(arg|rawarg)\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(name);
  if (!m) return undefined;
  const raw = m[1] === 'rawarg';
  const param = m[2]!;
  return f(name, raw ? rawType(param) : 'string',
    raw ? `Raw value of the argument '${param}'` : `The argument '${param}', rendered as text`, namedParam(param, raw));
}

function argByKey(key: string | undefined, raw: boolean): (e: SyscallEvent) => string | number | undefined {
  if (key === undefined) throw new FieldError('evt.arg requires an argument: a number or a name');
  if (/^[0-9]+$/.test(key)) {
    const i = Number(key);
    return (e) => (raw ? rawParam(e, i) : renderParam(e, i));
  }
  return namedParam(key, raw);
}

export const EVT_FIELDS: readonly SysField[] = [
  f('evt.type', 'string', 'Event type: the syscall name (open, execve...) or a pseudo event (procexit)',
    (e) => e.typeName, { parseLiteral: validateEventType }),
  f('syscall.type', 'string', 'The syscall name, for syscall events only',
    (e) => (isSyscall(e.record.type) ? e.typeName : undefined), { parseLiteral: validateEventType }),
  f('evt.dir', 'string', "Direction: always '<' (Tiercel records completed syscalls)", () => '<', { deprecated: true }),
  f('evt.cpu', 'uint', 'CPU the event happened on', (e) => e.record.cpu),
  f('evt.res', 'string', "Result: 'SUCCESS', or the error name (ENOENT, EACCES...) on failure",
    (e) => renderResult(e.record.res)),
  f('evt.rawres', 'int', 'Result as a number (negative errno on failure)', (e) => e.record.result),
  f('evt.failed', 'bool', 'True when the syscall returned an error', (e) => e.record.result < 0),
  f('evt.args', 'string', 'Every argument, as name=value pairs', renderArgs),
  f('evt.info', 'string', 'Same as evt.args', renderArgs),
  fa('evt.arg', 'string', 'key', 'One argument, by position (evt.arg[0]) or name (evt.arg[flags] or evt.arg.flags)',
    (key) => argByKey(key, false)),
  fa('evt.rawarg', 'string', 'key', 'One argument as a raw value, by position or name', (key) => argByKey(key, true)),
  f('evt.is_open_read', 'bool', 'True for an open that asked for read access', (e) => {
    const fl = openFlags(e);
    return fl === undefined ? false : openReads(fl);
  }),
  f('evt.is_open_write', 'bool', 'True for an open that asked for write access', (e) => {
    const fl = openFlags(e);
    return fl === undefined ? false : openWrites(fl);
  }),
  f('evt.is_open_exec', 'bool', 'True for an open that creates a file with execute permission', (e) => {
    const fl = openFlags(e);
    if (fl === undefined) return false;
    const mode = e.record.paramByName('mode');
    return (fl & (O_CREAT | O_F_CREATED)) !== 0 && typeof mode === 'number' && (mode & 0o111) !== 0;
  }),
  f('evt.is_open_create', 'bool', 'True for an open that created the file', (e) => {
    const fl = openFlags(e);
    return fl !== undefined && (fl & O_F_CREATED) !== 0;
  }),
  f('evt.is_io', 'bool', 'True for reads and writes of data', (e) => IO_READ.has(e.typeName) || IO_WRITE.has(e.typeName)),
  f('evt.is_io_read', 'bool', 'True for reads of data', (e) => IO_READ.has(e.typeName)),
  f('evt.is_io_write', 'bool', 'True for writes of data', (e) => IO_WRITE.has(e.typeName)),
  f('evt.buffer', 'bytes', 'The data of a read or write, when captured', (e) => {
    const v = e.record.paramByName('data');
    return Buffer.isBuffer(v) ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength) : undefined;
  }),
  f('evt.buflen', 'uint', 'Length of the data of a read or write', (e) => {
    const v = e.record.paramByName('size');
    return typeof v === 'number' ? v : undefined;
  }),
  f('evt.count', 'uint', 'Always 1 (for aggregations)', () => 1),
  f('evt.latency', 'reltime', 'Time spent in the syscall (0: Tiercel records exits only)', () => 0n),
  f('evt.abspath', 'path', 'The absolute path of the first path argument', (e) => {
    const i = e.record.schema.findIndex((s) => s.render === 'path');
    return i < 0 ? undefined : resolvedPathParam(e, i);
  }),
  f('evt.is_syslog', 'bool', 'True for writes to /dev/log', (e) => e.fd?.name === '/dev/log' && IO_WRITE.has(e.typeName)),
  f('evt.pluginname', 'string', 'Name of the event source (syscall)', () => 'syscall'),
];
