import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, writeFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { NativeLoadError, addonPaths, checkPrerequisites, loadNative, tryLoadNative } from '../../src/syscall/native/index.js';

describe('native addon loader', () => {
  it('looks in build/Release then build/Debug', () => {
    const paths = addonPaths();
    assert.ok(paths.some((p) => p.endsWith('build/Release/tiercel_sensor.node')));
    assert.ok(paths.indexOf(paths.find((p) => p.endsWith('build/Release/tiercel_sensor.node'))!) <
      paths.indexOf(paths.find((p) => p.endsWith('build/Debug/tiercel_sensor.node'))!));
  });

  it('fails with every path tried, why, and what the machine lacks', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tiercel-loader-'));
    const bad = join(dir, 'bad.node');
    writeFileSync(bad, 'not a shared object');
    try {
      assert.throws(() => loadNative([join(dir, 'missing.node'), bad]), (err: unknown) => {
        assert.ok(err instanceof NativeLoadError);
        assert.match(err.message, /missing\.node: not found/);
        assert.match(err.message, /bad\.node: .*(invalid ELF|too short|file too short|ELF)/i);
        assert.match(err.message, /kernel BTF at \/sys\/kernel\/btf\/vmlinux: (present|missing)/);
        assert.match(err.message, /uid \d+, CAP_BPF: (yes|no), CAP_PERFMON: (yes|no)/);
        assert.equal(err.tried.length, 2);
        assert.equal(err.prerequisites.kernel.length > 0, true);
        return true;
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('describes the prerequisites of this machine', () => {
    const pre = checkPrerequisites();
    let btf = true;
    try {
      statSync('/sys/kernel/btf/vmlinux');
    } catch {
      btf = false;
    }
    assert.equal(pre.btf, btf);
    if (process.getuid?.() === 0) assert.equal(pre.privileged, true);
    assert.equal(pre.problems.length === 0, pre.btf && pre.privileged && pre.supportedArch && pre.missingPackages.length === 0);
  });

  const loaded = tryLoadNative();
  const unprivileged = process.getuid?.() === 0 ? false : 'needs root to start a process as another user';
  it('names the failing step, the uid and the capabilities when an unprivileged process opens the sensor', {
    skip: loaded.error ? `the eBPF sensor addon is not built: ${loaded.error.message.split('\n')[0]}` : unprivileged,
  }, async () => {
    const built = addonPaths().find((p) => {
      try {
        return statSync(p).isFile();
      } catch {
        return false;
      }
    })!;
    // The checkout may sit in a directory other users cannot enter (a fresh
    // clone under a 0700 temp dir): give the unprivileged process its own copy.
    const dir = mkdtempSync(join(tmpdir(), 'tiercel-addon-'));
    chmodSync(dir, 0o755);
    const path = join(dir, 'tiercel_sensor.node');
    copyFileSync(built, path);
    chmodSync(path, 0o755);
    const script = `try { require(${JSON.stringify(path)}).openSensor({ interesting: [59] }); console.log('opened') } catch (e) { console.log(e.message) }`;
    const out = await new Promise<string>((resolve, reject) => {
      const c = spawn(process.execPath, ['-e', script], { uid: 65534, gid: 65534, cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
      let s = '';
      c.stdout.on('data', (d: Buffer) => (s += d.toString()));
      c.on('error', reject);
      c.on('close', () => resolve(s));
    });
    assert.match(out, /failed: Operation not permitted/);
    assert.match(out, /running as uid 65534 \(CAP_BPF: no, CAP_PERFMON: no/);
    assert.match(out, /kernel BTF at \/sys\/kernel\/btf\/vmlinux: (present|missing)/);
  });
});
