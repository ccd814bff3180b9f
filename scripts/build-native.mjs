#!/usr/bin/env node
// Builds the eBPF syscall sensor (docs/sensor.md): vmlinux.h from the running
// kernel's BTF, the CO-RE BPF object, its bpftool skeleton, then the Node
// addon with node-gyp. Everything generated goes to build/ (not committed).
//
// Where the tools are missing it prints one line naming the Debian packages
// and exits 0: the rest of Tiercel installs and works without the sensor, and
// `tiercel agent` explains what is missing. A failed compile with the tools
// present exits 0 too (with the compiler's output), except with --strict or
// TIERCEL_CI=1, where it fails so CI notices.
//
// Steps are skipped when their outputs are newer than their inputs, so a
// second run with nothing changed takes well under a second. --force rebuilds.
//
// Environment: TIERCEL_SKIP_NATIVE=1 skips the build; TIERCEL_VMLINUX_H=FILE
// uses that vmlinux.h instead of dumping /sys/kernel/btf/vmlinux.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { release } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const native = join(root, 'src/syscall/native');
const gen = join(root, 'build/bpf');
const addon = join(root, 'build/Release/tiercel_sensor.node');
const args = process.argv.slice(2);
const force = args.includes('--force');
const strict = args.includes('--strict') || process.env.TIERCEL_CI === '1';
const verbose = args.includes('--verbose');

function say(msg) {
  console.log(`tiercel: ${msg}`);
}

function skip(msg) {
  say(`eBPF sensor not built: ${msg}`);
  process.exit(0);
}

function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 256 << 20, ...opts });
  return { ok: r.status === 0 && !r.error, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error };
}

function has(cmd, argv = ['--version']) {
  return run(cmd, argv).ok;
}

if (process.env.TIERCEL_SKIP_NATIVE === '1') skip('TIERCEL_SKIP_NATIVE=1');
if (process.platform !== 'linux' || process.arch !== 'x64') {
  skip(`the sensor supports x86_64 Linux only (this is ${process.platform}/${process.arch})`);
}

// ---- prerequisites -----------------------------------------------------------

/** Node headers: the prefix of this node binary, when it ships include/node (Debian: /usr). */
function nodeDir() {
  const candidates = [dirname(dirname(realpathSync(process.execPath))), '/usr', '/usr/local'];
  return candidates.find((d) => existsSync(join(d, 'include/node/node_api.h')));
}

/** node-gyp: the one npm runs scripts with, the one bundled with npm, or a project dependency. */
function nodeGyp() {
  const candidates = [];
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  const prefix = dirname(dirname(realpathSync(process.execPath)));
  candidates.push(join(prefix, 'lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'));
  try {
    candidates.push(createRequire(join(root, 'package.json')).resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not a dependency
  }
  return candidates.find((c) => existsSync(c));
}

const missing = [];
const need = (ok, pkg) => {
  if (!ok && !missing.includes(pkg)) missing.push(pkg);
};
need(has('clang'), 'clang');
need(has('bpftool', ['version']), 'bpftool');
need(existsSync('/usr/include/bpf/libbpf.h') && existsSync('/usr/include/bpf/bpf_helpers.h'), 'libbpf-dev');
need(existsSync('/usr/include/libelf.h') || existsSync('/usr/include/gelf.h'), 'libelf-dev');
need(existsSync('/usr/include/zlib.h'), 'zlib1g-dev');
need(has('make'), 'make');
need(has('cc'), 'gcc');
need(has('python3'), 'python3');
if (missing.length) {
  skip(`missing Debian packages: ${missing.join(' ')} (apt-get install -y ${missing.join(' ')})`);
}
const nodedir = nodeDir();
if (!nodedir) {
  skip(`no Node.js headers (include/node/node_api.h) next to ${process.execPath} (Debian's Node: apt-get install -y libnode-dev)`);
}
const gyp = nodeGyp();
if (!gyp) skip('node-gyp not found (it ships with npm; or add it as a devDependency)');
const vmlinuxOverride = process.env.TIERCEL_VMLINUX_H;
if (!vmlinuxOverride && !existsSync('/sys/kernel/btf/vmlinux')) {
  skip('no kernel BTF at /sys/kernel/btf/vmlinux (a kernel built with CONFIG_DEBUG_INFO_BTF=y is needed; or set TIERCEL_VMLINUX_H)');
}

// ---- build -------------------------------------------------------------------

function mtime(p) {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return -1;
  }
}

/** True when out is missing or older than any input. */
function stale(out, inputs) {
  if (force) return true;
  const t = mtime(out);
  return t < 0 || inputs.some((i) => mtime(i) > t);
}

let failed = false;

function step(what, cmd, argv, opts) {
  if (verbose) say(`${what}: ${cmd} ${argv.join(' ')}`);
  const r = run(cmd, argv, opts);
  if (!r.ok) {
    process.stderr.write(r.stdout);
    process.stderr.write(r.stderr);
    say(`eBPF sensor build failed at "${what}"${r.error ? `: ${r.error.message}` : ''}`);
    failed = true;
  }
  return r;
}

function finish() {
  if (!failed) return;
  if (strict) process.exit(1);
  say('the rest of Tiercel works without the sensor; `tiercel agent` will say it is unavailable');
  process.exit(0);
}

mkdirSync(gen, { recursive: true });
const vmlinux = join(gen, 'vmlinux.h');
const stamp = join(gen, 'vmlinux.stamp');
const btfId = vmlinuxOverride
  ? `file ${vmlinuxOverride} ${mtime(vmlinuxOverride)}`
  : `kernel ${release()} ${statSync('/sys/kernel/btf/vmlinux').size}`;
let changed = false;
if (force || !existsSync(vmlinux) || !existsSync(stamp) || readFileSync(stamp, 'utf8') !== btfId) {
  if (vmlinuxOverride) {
    copyFileSync(vmlinuxOverride, vmlinux);
  } else {
    const r = step('generate vmlinux.h', 'bpftool', ['btf', 'dump', 'file', '/sys/kernel/btf/vmlinux', 'format', 'c']);
    if (r.ok) writeFileSync(vmlinux, r.stdout);
  }
  finish();
  writeFileSync(stamp, btfId);
  changed = true;
}

const bpfSrc = join(native, 'sensor.bpf.c');
const headers = [join(native, 'sensor.h'), join(native, 'wire.h')];
const obj = join(gen, 'tc_sensor_bpf.bpf.o');
if (stale(obj, [bpfSrc, vmlinux, ...headers])) {
  step('compile sensor.bpf.c', 'clang', [
    '-g', '-O2', '-target', 'bpf', '-D__TARGET_ARCH_x86', '-Wall', '-Wno-unused-function',
    `-I${gen}`, `-I${native}`, '-c', bpfSrc, '-o', obj,
  ]);
  finish();
  changed = true;
}

const skel = join(gen, 'tc_sensor_bpf.skel.h');
if (stale(skel, [obj])) {
  const r = step('generate the skeleton', 'bpftool', ['gen', 'skeleton', obj, 'name', 'tc_sensor_bpf']);
  finish();
  writeFileSync(skel, r.stdout);
  changed = true;
}

const gypArgs = [`--nodedir=${nodedir}`];
const makefile = join(root, 'build/Makefile');
const gypFile = join(root, 'binding.gyp');
if (force || !existsSync(makefile) || mtime(gypFile) > mtime(makefile)) {
  step('node-gyp configure', process.execPath, [gyp, 'configure', ...gypArgs], { cwd: root });
  finish();
}
const addonInputs = ['addon.c', 'sensor_core.c', 'sensor_core.h', 'sensor.h', 'wire.h'].map((f) => join(native, f));
if (changed || stale(addon, [...addonInputs, skel, gypFile])) {
  step('node-gyp build', process.execPath, [gyp, 'build', ...gypArgs], { cwd: root });
  finish();
  say(`eBPF sensor built: ${relative(root, addon)}`);
} else {
  say(`eBPF sensor up to date: ${relative(root, addon)}`);
}
