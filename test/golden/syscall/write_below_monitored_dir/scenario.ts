/**
 * event-generator WriteBelowMonitoredDir: a root intruder on the node drops
 * a process-hiding library next to the system's own
 * (`cp /tmp/libprocesshider.so /usr/local/lib/`).
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { hostSession } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco-sandbox_rules.yaml', rule: 'Write below monitored dir' },
  tiercel: ['Write Below Library Directory'],
};

export default function build(s: Scenario): void {
  const { shell } = hostSession(s);
  const cp = shell.spawn({ exe: 'cp', exepath: '/usr/bin/cp', args: ['/tmp/libprocesshider.so', '/usr/local/lib/'] });
  const src = cp.open('/tmp/libprocesshider.so');
  const dst = cp.open('/usr/local/lib/libprocesshider.so', { mode: 'w', create: true, trunc: true, perm: 0o755 });
  cp.read(src, '\x7fELF');
  cp.write(dst, '\x7fELF');
  cp.close(src);
  cp.close(dst);
  cp.exit();
}
