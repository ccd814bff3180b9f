/**
 * event-generator WriteBelowRpmDatabase: on an RPM-based node, a root
 * intruder runs a script that edits the rpm database to hide a package.
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { hostSession } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco-sandbox_rules.yaml', rule: 'Write below rpm database' },
  tiercel: ['Package Database Modified Outside Package Manager', 'Executable Run From Temporary Directory'],
};

export default function build(s: Scenario): void {
  const { shell } = hostSession(s);
  const py = shell.spawn({ exe: 'python3', exepath: '/usr/bin/python3.9', args: ['/tmp/hide_pkg.py', 'openssh-backdoor'] });
  const fd = py.open('/var/lib/rpm/rpmdb.sqlite', { mode: 'rw' });
  py.write(fd, 'DELETE');
  py.close(fd);
  py.exit();
}
