/**
 * event-generator WriteBelowEtc: a root intruder on the node installs a
 * userland rootkit by preloading it into every program
 * (`echo /usr/local/lib/libhide.so > /etc/ld.so.preload`).
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { hostSession } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco-sandbox_rules.yaml', rule: 'Write below etc' },
  tiercel: ['Dynamic Linker Preload Configured', 'Write Below /etc'],
};

export default function build(s: Scenario): void {
  const { shell } = hostSession(s);
  const fd = shell.open('/etc/ld.so.preload', { mode: 'w', create: true, trunc: true });
  shell.write(fd, '/usr/local/lib/libhide.so\n');
  shell.close(fd);
}
