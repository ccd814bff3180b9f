/**
 * event-generator UnprivilegedDelegationOfPageFaultsHandlingToAUserspaceProcess:
 * alice runs a kernel exploit that sets up userfaultfd (a race-winning
 * primitive); the call succeeds.
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { hostSession } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco-sandbox_rules.yaml', rule: 'Unprivileged Delegation of Page Faults Handling to a Userspace Process' },
  tiercel: ['Unprivileged userfaultfd'],
};

export default function build(s: Scenario): void {
  const { shell } = hostSession(s, { uid: 1000, cwd: '/home/alice' });
  const exploit = shell.spawn({ exe: './race', exepath: '/home/alice/race', args: ['-n', '4'] });
  exploit.syscall('userfaultfd', { flags: 0o2004000 }, 3);
}
