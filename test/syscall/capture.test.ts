import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { CaptureError, CaptureReader } from '../../src/syscall/capture.js';
import { Scenario } from '../../src/syscall/synth.js';
import { jsonAlerts, runCli } from '../helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'tiercel-capture-'));

function scenario(): Scenario {
  const s = new Scenario();
  const { init } = s.standardHost();
  const sh = init.spawn({ exe: '/bin/bash', comm: 'bash', leader: true, tty: 34816 });
  for (let i = 0; i < 5000; i++) {
    const fd = sh.open(`/var/tmp/file-${i}`, { mode: 'w', create: true });
    sh.close(fd);
  }
  const cat = sh.spawn({ exe: 'cat', exepath: '/usr/bin/cat', args: ['/etc/shadow'] });
  cat.open('/etc/shadow');
  return s;
}

describe('capture files', () => {
  it('round-trip the header and every record, streaming', async () => {
    const s = scenario();
    const path = join(tmp, 'a.tcap');
    await s.writeCapture(path);
    const r = await CaptureReader.open(path);
    assert.equal(r.header.format, 'tiercel-capture');
    assert.equal(r.header.version, 1);
    assert.equal(r.header.host.hostname, 'node-1');
    assert.ok(r.header.host.processes.some((p) => p.pid === 1 && p.comm === 'systemd'));
    let n = 0;
    let batches = 0;
    let lastTs = 0n;
    for await (const batch of r.batches()) {
      batches++;
      for (const rec of batch) {
        assert.ok(rec.ts > lastTs, 'records keep their order');
        lastTs = rec.ts;
        n++;
      }
    }
    assert.equal(n, s.recordCount);
    assert.ok(batches > 1, 'records arrive in several batches, not one buffer');
  });

  it('refuses what is not a capture, with a clear message', async () => {
    const notGzip = join(tmp, 'plain.tcap');
    writeFileSync(notGzip, 'hello');
    await assert.rejects(CaptureReader.open(notGzip), (e: unknown) => e instanceof CaptureError && /not gzip-compressed/.test(e.message));
    const badMagic = join(tmp, 'magic.tcap');
    writeFileSync(badMagic, gzipSync(Buffer.from('NOTACAPTURE-AT-ALL')));
    await assert.rejects(CaptureReader.open(badMagic), /bad magic/);
    const newer = join(tmp, 'newer.tcap');
    const header = Buffer.from(JSON.stringify({ format: 'tiercel-capture', version: 99, wireVersion: 1, host: { processes: [] } }));
    const len = Buffer.alloc(4);
    len.writeUInt32LE(header.length);
    writeFileSync(newer, gzipSync(Buffer.concat([Buffer.from('TIERCAP1'), len, header])));
    await assert.rejects(CaptureReader.open(newer), /newer than this Tiercel reads/);
  });

  it('reports a truncated capture instead of silently stopping', async () => {
    const s = scenario();
    const path = join(tmp, 'b.tcap');
    await s.writeCapture(path);
    const raw = gunzipSync(readFileSync(path));
    const cut = join(tmp, 'cut.tcap');
    writeFileSync(cut, gzipSync(raw.subarray(0, raw.length - 5)));
    const r = await CaptureReader.open(cut);
    await assert.rejects((async () => { for await (const _ of r.batches()) { /* drain */ } })(), /truncated record/);
  });

  it('replays through the CLI with the upstream rules', async () => {
    const s = scenario();
    const path = join(tmp, 'c.tcap');
    await s.writeCapture(path);
    const res = await runCli(['replay', '--source', 'syscall', '-o', 'json', '-r',
      join(import.meta.dirname, '..', '..', '..', 'shared', 'anchors', 'falco-rules', 'falco_rules.yaml'), path]);
    assert.equal(res.code, 0, res.stderr);
    const alerts = jsonAlerts(res.stdout);
    assert.deepEqual(alerts.map((a) => a.rule), ['Read sensitive file untrusted']);
    assert.equal(alerts[0]!.source, 'syscall');
    assert.equal(alerts[0]!.output_fields['fd.name'], '/etc/shadow');
    assert.match(res.stderr, new RegExp(`Events read: ${s.recordCount}`));
    const missing = await runCli(['replay', '--source', 'syscall', '-r', join(tmp, '..', 'nope.yaml'), path]);
    assert.equal(missing.code, 1);
    const notCapture = await runCli(['replay', '--source', 'syscall', '-r',
      join(import.meta.dirname, '..', '..', '..', 'shared', 'anchors', 'falco-rules', 'falco_rules.yaml'), join(tmp, 'plain.tcap')]);
    assert.equal(notCapture.code, 1);
    assert.match(notCapture.stderr, /cannot read .*plain\.tcap: not a Tiercel capture/);
  });
});
