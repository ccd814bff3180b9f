import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PSEUDO_BASE, PSEUDO_EVENTS } from '../../src/syscall/event-types.js';
import { type NativeAddon, loadNative } from '../../src/syscall/native/index.js';
import { AF_INET, AF_INET6, AF_UNIX, HDR, MAX_RECORD_SIZE, WIRE_VERSION } from '../../src/syscall/record.js';
import { ENCODING_CODES } from '../../src/syscall/schema.js';
import { SYSCALLS_X86_64 } from '../../src/syscall/syscall-table.js';

let addon: NativeAddon | undefined;
let skip: string | false = false;
try {
  addon = loadNative();
} catch (err) {
  skip = `the eBPF sensor addon is not built (run \`node scripts/build-native.mjs\`): ${(err as Error).message.replace(/\n/g, ' | ')}`;
}

describe('native addon layout', { skip }, () => {
  it('reports the header offsets, version and sizes that src/syscall/record.ts decodes with', () => {
    const l = addon!.layout();
    assert.equal(l.version, WIRE_VERSION);
    assert.deepEqual(l.header, { ...HDR });
    assert.equal(l.maxRecordSize, MAX_RECORD_SIZE);
  });

  it('reports the pseudo event codes of event-types.ts', () => {
    const l = addon!.layout();
    assert.deepEqual(l.pseudo, { ...PSEUDO_EVENTS });
    assert.equal(l.pseudoBase, PSEUDO_BASE);
    assert.ok(l.interestingSize > PSEUDO_EVENTS.procexit, 'procexit can be selected in the interesting table');
  });

  it('reports the parameter encodings of schema.ts and the address families of record.ts', () => {
    const l = addon!.layout();
    assert.deepEqual(l.encodings, { ...ENCODING_CODES });
    assert.deepEqual(l.families, { unix: AF_UNIX, inet: AF_INET, inet6: AF_INET6 });
  });

  it('fills parameters for syscalls under the numbers of the x86_64 syscall table', () => {
    const l = addon!.layout();
    assert.ok(Object.keys(l.syscalls).length > 60);
    for (const [name, nr] of Object.entries(l.syscalls)) assert.equal(nr, SYSCALLS_X86_64[name], name);
  });

  it('gives the boot time as epoch ns', () => {
    const boot = addon!.bootTimeNs();
    const now = BigInt(Date.now()) * 1_000_000n;
    assert.ok(boot > 0n && boot < now, String(boot));
  });
});
