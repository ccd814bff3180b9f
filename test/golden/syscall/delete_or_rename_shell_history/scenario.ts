/**
 * event-generator DeleteOrRenameShellHistory: before logging out, a root
 * intruder on the node deletes the shell history (`rm -f ~/.bash_history`).
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { hostSession } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco-incubating_rules.yaml', rule: 'Delete or rename shell history' },
  tiercel: ['Shell History Deleted or Truncated'],
};

export default function build(s: Scenario): void {
  const { shell } = hostSession(s);
  const rm = shell.spawn({ exe: 'rm', exepath: '/usr/bin/rm', args: ['-f', '/root/.bash_history'] });
  rm.syscall('unlinkat', { dirfd: -100, name: '/root/.bash_history', flags: 0 });
  rm.exit();
}
