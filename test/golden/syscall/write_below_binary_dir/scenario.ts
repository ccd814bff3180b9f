/**
 * event-generator WriteBelowBinaryDir: a root intruder on the node replaces
 * ps with a trojan that hides their processes (`cp /tmp/ps /usr/bin/ps`).
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { hostSession } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco-sandbox_rules.yaml', rule: 'Write below binary dir' },
  tiercel: ['Write Below Binary Directory'],
};

export default function build(s: Scenario): void {
  const { shell } = hostSession(s);
  const cp = shell.spawn({ exe: 'cp', exepath: '/usr/bin/cp', args: ['/tmp/ps', '/usr/bin/ps'] });
  const src = cp.open('/tmp/ps');
  const dst = cp.open('/usr/bin/ps', { mode: 'w', trunc: true });
  cp.read(src, '\x7fELF');
  cp.write(dst, '\x7fELF');
  cp.close(src);
  cp.close(dst);
  cp.exit();
}
