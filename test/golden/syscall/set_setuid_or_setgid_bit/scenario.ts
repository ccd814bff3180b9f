/**
 * event-generator SetSetuidOrSetgidBit: in a pod, a root intruder leaves a
 * setuid-root copy of bash behind to regain root later
 * (`cp /bin/bash /tmp/.b; chmod u+s /tmp/.b`).
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { podShell } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco-incubating_rules.yaml', rule: 'Set Setuid or Setgid bit' },
  tiercel: ['Setuid or Setgid Bit Set'],
};

export default function build(s: Scenario): void {
  const { shell } = podShell(s, {
    name: 'api', id: 'a11ce0ff1cf7', image: 'docker.io/library/python:3.12-slim',
    main: { exe: 'python3', exepath: '/usr/local/bin/python3.12', args: ['-m', 'gunicorn', 'app:app'] },
  });
  const cp = shell.spawn({ exe: 'cp', exepath: '/usr/bin/cp', args: ['/bin/bash', '/tmp/.b'] });
  const src = cp.open('/bin/bash');
  const dst = cp.open('/tmp/.b', { mode: 'w', create: true, trunc: true, perm: 0o755 });
  cp.close(src);
  cp.close(dst);
  cp.exit();
  const chmod = shell.spawn({ exe: 'chmod', exepath: '/usr/bin/chmod', args: ['u+s', '/tmp/.b'] });
  chmod.syscall('fchmodat', { dirfd: -100, filename: '/tmp/.b', mode: 0o4755 });
  chmod.exit();
}
