/**
 * event-generator MkdirBinaryDirs: a root intruder on the node creates a
 * hidden directory in /usr/bin to stash tools among the system binaries.
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { hostSession } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco-sandbox_rules.yaml', rule: 'Mkdir binary dirs' },
  tiercel: ['Write Below Binary Directory'],
};

export default function build(s: Scenario): void {
  const { shell } = hostSession(s);
  const mkdir = shell.spawn({ exe: 'mkdir', exepath: '/usr/bin/mkdir', args: ['/usr/bin/.cache'] });
  mkdir.syscall('mkdir', { path: '/usr/bin/.cache', mode: 0o755 });
  mkdir.exit();
}
