/**
 * event-generator ExecutionFromDevShm: an intruder with a shell on the node
 * writes a script to /dev/shm and runs it with `sh -c /dev/shm/.s.sh`; sh
 * then executes the script (the kernel starts its interpreter).
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { hostSession } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco_rules.yaml', rule: 'Execution from /dev/shm' },
  tiercel: ['Executable Run From Temporary Directory'],
};

export default function build(s: Scenario): void {
  const { shell } = hostSession(s);
  const fd = shell.open('/dev/shm/.s.sh', { mode: 'w', create: true, trunc: true, perm: 0o755 });
  shell.write(fd, '#!/bin/sh\nid > /dev/shm/.out\n');
  shell.close(fd);
  const sh = shell.spawn({ exe: 'sh', exepath: '/usr/bin/dash', args: ['-c', '/dev/shm/.s.sh'] });
  // `sh -c` with a single command execs it: the kernel runs the script's interpreter.
  sh.exec({ exe: '/bin/sh', exepath: '/usr/bin/dash', comm: '.s.sh', args: ['/dev/shm/.s.sh'] });
  const out = sh.open('/dev/shm/.out', { mode: 'w', create: true, trunc: true });
  sh.close(out);
  sh.exit();
}
