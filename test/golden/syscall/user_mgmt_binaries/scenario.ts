/**
 * event-generator UserMgmtBinaries: a root intruder on the node creates a
 * second root account (`useradd -o -u 0 -g 0 -M -N -s /bin/bash sysupdate`).
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { hostSession } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco-incubating_rules.yaml', rule: 'User mgmt binaries' },
  tiercel: ['Root or Admin Account Created', 'User Account Created or Modified'],
};

export default function build(s: Scenario): void {
  const { shell } = hostSession(s);
  const useradd = shell.spawn({ exe: 'useradd', exepath: '/usr/sbin/useradd', args: ['-o', '-u', '0', '-g', '0', '-M', '-N', '-s', '/bin/bash', 'sysupdate'] });
  for (const f of ['/etc/passwd', '/etc/shadow']) {
    const fd = useradd.open(f, { mode: 'rw' });
    useradd.write(fd, 'sysupdate:x:0:0::/home/sysupdate:/bin/bash\n');
    useradd.close(fd);
  }
  useradd.exit();
}
