/**
 * Benign: alice builds a C project on a node (`make -j2`): make runs
 * `sh -c "gcc ..."`, gcc runs cc1 (which writes assembly to /tmp) and as
 * (which writes the object file), then gcc links with collect2/ld into the
 * build directory. Nothing here may reach WARNING.
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { hostSession } from '../fixtures.js';

export const expectations: Expectations = {
  benign: true,
};

const GCC_LIB = '/usr/lib/gcc/x86_64-linux-gnu/13';

export default function build(s: Scenario): void {
  const { shell } = hostSession(s, { uid: 1000, cwd: '/home/alice' });
  shell.chdir('/home/alice/src/ticker');
  const make = shell.spawn({ exe: 'make', exepath: '/usr/bin/make', args: ['-j2'], cwd: '/home/alice/src/ticker' });
  const mk = make.open('Makefile');
  make.read(mk, 'CC=gcc');
  make.close(mk);
  make.syscall('mkdir', { path: '/home/alice/src/ticker/build', mode: 0o755 });

  for (const unit of ['main', 'ticker']) {
    const sh = make.spawn({ exe: '/bin/sh', exepath: '/usr/bin/dash', args: ['-c', `gcc -O2 -Wall -c src/${unit}.c -o build/${unit}.o`] });
    const gcc = sh.spawn({ exe: 'gcc', exepath: '/usr/bin/x86_64-linux-gnu-gcc-13', args: ['-O2', '-Wall', '-c', `src/${unit}.c`, '-o', `build/${unit}.o`] });
    const cc1 = gcc.spawn({ exe: `${GCC_LIB}/cc1`, args: ['-quiet', `src/${unit}.c`, '-O2', '-Wall', '-o', `/tmp/cc${unit}X1.s`] });
    for (const f of [`src/${unit}.c`, '/usr/include/stdio.h', '/usr/include/stdlib.h', '/usr/include/time.h']) {
      const fd = cc1.open(f);
      cc1.read(fd, '#include');
      cc1.close(fd);
    }
    const asm = cc1.open(`/tmp/cc${unit}X1.s`, { mode: 'w', create: true, trunc: true });
    cc1.write(asm, '\t.text');
    cc1.close(asm);
    cc1.exit();
    const as = gcc.spawn({ exe: 'as', exepath: '/usr/bin/x86_64-linux-gnu-as', args: ['--64', '-o', `build/${unit}.o`, `/tmp/cc${unit}X1.s`] });
    const src = as.open(`/tmp/cc${unit}X1.s`);
    const obj = as.open(`build/${unit}.o`, { mode: 'w', create: true, trunc: true });
    as.read(src, '\t.text');
    as.write(obj, '\x7fELF');
    as.close(src);
    as.close(obj);
    as.exit();
    gcc.syscall('unlinkat', { dirfd: -100, name: `/tmp/cc${unit}X1.s`, flags: 0 });
    gcc.exit();
    sh.exit();
  }

  const sh = make.spawn({ exe: '/bin/sh', exepath: '/usr/bin/dash', args: ['-c', 'gcc -o build/ticker build/main.o build/ticker.o -lm'] });
  const gcc = sh.spawn({ exe: 'gcc', exepath: '/usr/bin/x86_64-linux-gnu-gcc-13', args: ['-o', 'build/ticker', 'build/main.o', 'build/ticker.o', '-lm'] });
  const collect2 = gcc.spawn({ exe: `${GCC_LIB}/collect2`, args: ['-plugin', `${GCC_LIB}/liblto_plugin.so`, '-o', 'build/ticker', 'build/main.o', 'build/ticker.o', '-lm'] });
  const ld = collect2.spawn({ exe: '/usr/bin/ld', exepath: '/usr/bin/x86_64-linux-gnu-ld.bfd', args: ['-o', 'build/ticker', 'build/main.o', 'build/ticker.o', '-lm'] });
  for (const f of ['build/main.o', 'build/ticker.o', '/usr/lib/x86_64-linux-gnu/libm.so.6', '/usr/lib/x86_64-linux-gnu/crt1.o']) {
    const fd = ld.open(f);
    ld.close(fd);
  }
  const out = ld.open('build/ticker', { mode: 'rw', create: true, trunc: true, perm: 0o777 });
  ld.write(out, '\x7fELF');
  ld.close(out);
  ld.exit();
  collect2.exit();
  gcc.exit();
  sh.exit();
  make.exit();
}
