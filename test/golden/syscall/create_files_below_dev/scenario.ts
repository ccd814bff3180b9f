/**
 * event-generator CreateFilesBelowDev: a root intruder on the node hides a
 * payload in /dev, where nobody looks (`cp /tmp/.x /dev/.udev-cache`).
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { hostSession } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco-incubating_rules.yaml', rule: 'Create files below dev' },
  tiercel: ['File Created Below /dev'],
};

export default function build(s: Scenario): void {
  const { shell } = hostSession(s);
  const cp = shell.spawn({ exe: 'cp', exepath: '/usr/bin/cp', args: ['/tmp/.x', '/dev/.udev-cache'] });
  const src = cp.open('/tmp/.x');
  const dst = cp.open('/dev/.udev-cache', { mode: 'w', create: true, trunc: true, perm: 0o755 });
  cp.read(src, '\x7fELF');
  cp.write(dst, '\x7fELF');
  cp.close(src);
  cp.close(dst);
  cp.exit();
}
