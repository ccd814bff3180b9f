import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PSEUDO_BASE, PSEUDO_EVENTS, eventTypeCode, eventTypeName } from '../../src/syscall/event-types.js';
import { HDR, MAX_RECORD_SIZE, RecordError, WIRE_VERSION, encodeRecord, splitRecords } from '../../src/syscall/record.js';
import { ENCODING_CODES, paramsOf } from '../../src/syscall/schema.js';

const WIRE_H = readFileSync(join(import.meta.dirname, '..', '..', 'src', 'syscall', 'native', 'wire.h'), 'utf8');

function cDefine(name: string): number {
  const m = new RegExp(`#define ${name} (\\d+)`).exec(WIRE_H);
  assert.ok(m, `${name} in wire.h`);
  return Number(m[1]);
}

function cEnum(name: string): number {
  const m = new RegExp(`${name} = (\\d+)`).exec(WIRE_H);
  assert.ok(m, `${name} in wire.h`);
  return Number(m[1]);
}

describe('wire format', () => {
  it('matches native/wire.h: header offsets, version, sizes, pseudo events, encodings', () => {
    assert.equal(cDefine('TC_WIRE_VERSION'), WIRE_VERSION);
    assert.equal(cDefine('TC_HDR_TS'), HDR.TS);
    assert.equal(cDefine('TC_HDR_TID'), HDR.TID);
    assert.equal(cDefine('TC_HDR_TGID'), HDR.TGID);
    assert.equal(cDefine('TC_HDR_LEN'), HDR.LEN);
    assert.equal(cDefine('TC_HDR_TYPE'), HDR.TYPE);
    assert.equal(cDefine('TC_HDR_CPU'), HDR.CPU);
    assert.equal(cDefine('TC_HDR_RES'), HDR.RES);
    assert.equal(cDefine('TC_HDR_NPARAMS'), HDR.NPARAMS);
    assert.equal(cDefine('TC_HDR_SIZE'), HDR.SIZE);
    assert.equal(cDefine('TC_MAX_RECORD_SIZE'), MAX_RECORD_SIZE);
    assert.equal(cDefine('TC_EVT_PSEUDO_BASE'), PSEUDO_BASE);
    assert.equal(cEnum('TC_EVT_PROCEXIT'), PSEUDO_EVENTS.procexit);
    assert.equal(cEnum('TC_EVT_DROP'), PSEUDO_EVENTS.drop);
    assert.equal(cEnum('TC_EVT_SWITCH'), PSEUDO_EVENTS.switch);
    assert.equal(cEnum('TC_EVT_SIGNALDELIVER'), PSEUDO_EVENTS.signaldeliver);
    for (const [enc, code] of Object.entries(ENCODING_CODES)) assert.equal(cEnum(`TC_PT_${enc.toUpperCase()}`), code, enc);
  });

  it('names event types from the x86_64 syscall table and pseudo events', () => {
    assert.equal(eventTypeCode('openat'), 257);
    assert.equal(eventTypeName(59), 'execve');
    assert.equal(eventTypeName(1024), 'procexit');
    assert.equal(eventTypeName(999), 'syscall_999');
  });
});

describe('records', () => {
  it('round-trips every parameter encoding', () => {
    const buf = Buffer.concat([
      encodeRecord({ ts: 1_800_000_000_123_456_789n, tid: 42, tgid: 40, type: 'openat', cpu: 1, res: 3,
        params: { dirfd: -100, name: 'etc/../etc/passwd', flags: 0o1101, mode: 0o644, dev: 0x803, ino: 99n } }),
      encodeRecord({ ts: 2n, tid: 42, tgid: 40, type: 'execve', res: 0,
        params: { exe: 'sh', args: ['-c', 'echo hi', ''], env: ['A=1', 'KUBERNETES_EXEC_AUDIT_ID=abc'], cgroups: ['0::/x'], uid: 1000 } }),
      encodeRecord({ ts: 3n, tid: 42, tgid: 40, type: 'connect', res: -111,
        params: { fd: 5, tuple: { family: 'inet6', sip: '::1', sport: 40000, dip: 'fe80::1:2', dport: 443 }, addr: { family: 'inet6', ip: 'fe80::1:2', port: 443 } } }),
      encodeRecord({ ts: 4n, tid: 42, tgid: 40, type: 'bind', params: { fd: 6, addr: { family: 'unix', path: '/run/x.sock' } } }),
      encodeRecord({ ts: 5n, tid: 42, tgid: 40, type: 'write', res: 5, params: { fd: 1, size: 5, data: Buffer.from([0, 1, 2, 255, 10]) } }),
    ]);
    const { records, consumed } = splitRecords(buf);
    assert.equal(consumed, buf.length);
    assert.equal(records.length, 5);
    const [open, exec, connect, bind, write] = records as [typeof records[0], typeof records[0], typeof records[0], typeof records[0], typeof records[0]];
    assert.equal(open.ts, 1_800_000_000_123_456_789n);
    assert.equal(open.typeName, 'openat');
    assert.equal(open.cpu, 1);
    assert.equal(open.res, 3n);
    assert.equal(open.paramByName('dirfd'), -100n);
    assert.equal(open.paramByName('name'), 'etc/../etc/passwd');
    assert.equal(open.paramByName('flags'), 0o1101);
    assert.equal(open.paramByName('ino'), 99n);
    assert.deepEqual(exec.paramByName('args'), ['-c', 'echo hi', '']);
    assert.deepEqual(exec.paramByName('env'), ['A=1', 'KUBERNETES_EXEC_AUDIT_ID=abc']);
    assert.equal(exec.paramByName('cwd'), undefined, 'absent parameters stay absent');
    assert.equal(connect.res, -111n);
    assert.deepEqual(connect.paramByName('tuple'), { family: 10, sip: '::1', sport: 40000, dip: 'fe80::1:2', dport: 443 });
    assert.deepEqual(bind.paramByName('addr'), { family: 1, path: '/run/x.sock' });
    assert.deepEqual([...(write.paramByName('data') as Buffer)], [0, 1, 2, 255, 10]);
  });

  it('keeps a trailing partial record for the next buffer', () => {
    const a = encodeRecord({ ts: 1n, tid: 1, tgid: 1, type: 'close', params: { fd: 3 } });
    const b = encodeRecord({ ts: 2n, tid: 1, tgid: 1, type: 'close', params: { fd: 4 } });
    const both = Buffer.concat([a, b]);
    const first = splitRecords(both.subarray(0, a.length + 10));
    assert.equal(first.records.length, 1);
    assert.equal(first.consumed, a.length);
  });

  it('rejects malformed lengths and unknown types or parameters', () => {
    const bad = encodeRecord({ ts: 1n, tid: 1, tgid: 1, type: 'close', params: { fd: 3 } });
    bad.writeUInt32LE(12, HDR.LEN);
    assert.throws(() => splitRecords(bad), RecordError);
    assert.throws(() => encodeRecord({ ts: 1n, tid: 1, tgid: 1, type: 'no_such_call' }), /unknown event type/);
    assert.throws(() => encodeRecord({ ts: 1n, tid: 1, tgid: 1, type: 'close', params: { nope: 1 } }), /has no parameter 'nope'/);
  });

  it('has Falco parameter names for the arguments upstream rules read', () => {
    const has = (t: string, n: string) => paramsOf(t).some((p) => p.name === n);
    assert.ok(has('openat', 'flags') && has('open', 'name') && has('ptrace', 'request') && has('setuid', 'uid'));
    assert.ok(has('rename', 'oldpath') && has('symlinkat', 'linkpath') && has('socket', 'domain') && has('bpf', 'cmd'));
    assert.ok(has('chmod', 'mode') && has('execve', 'env') && has('execve', 'cgroups') && has('procexit', 'reaper_tid'));
  });
});
