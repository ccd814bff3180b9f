/**
 * event-generator SudoPotentialPrivilegeEscalation: alice runs a Baron
 * Samedit (CVE-2021-3156) exploit: sudoedit in shell mode with an argument
 * ending in a single backslash.
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { hostSession } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco-sandbox_rules.yaml', rule: 'Sudo Potential Privilege Escalation' },
  tiercel: ['Privilege Escalation Exploit Attempt'],
};

export default function build(s: Scenario): void {
  const { shell } = hostSession(s, { uid: 1000, cwd: '/home/alice' });
  const sudoedit = shell.spawn({ exe: 'sudoedit', exepath: '/usr/bin/sudo', comm: 'sudoedit', uid: 0, args: ['-s', '\\', 'A'.repeat(64)] });
  sudoedit.exit(1);
}
