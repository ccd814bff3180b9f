/** A shell user runs `cat /etc/shadow` on the host (event-generator: ReadSensitiveFileUntrusted). */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';

export const expectations: Expectations = {
  upstream: { file: 'falco_rules.yaml', rule: 'Read sensitive file untrusted' },
  tiercel: ['Sensitive File Read'],
};

export default function build(s: Scenario): void {
  const { init } = s.standardHost();
  const shell = init.spawn({ exe: '/bin/bash', comm: 'bash', tty: 34816, leader: true, loginuid: 1000 });
  const cat = shell.spawn({ exe: 'cat', exepath: '/usr/bin/cat', args: ['/etc/shadow'] });
  const fd = cat.open('/etc/shadow');
  cat.read(fd, 'root:$6$...');
  cat.close(fd);
  cat.exit();
}
