/**
 * event-generator ClearLogActivities: an intruder with a root shell on the
 * node empties the authentication log and the login records with shell
 * redirections (`: > /var/log/auth.log; : > /var/log/wtmp`).
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { hostSession } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco_rules.yaml', rule: 'Clear Log Activities' },
  tiercel: ['Log File Cleared'],
};

export default function build(s: Scenario): void {
  const { shell } = hostSession(s);
  for (const log of ['/var/log/auth.log', '/var/log/wtmp']) {
    const fd = shell.open(log, { mode: 'w', create: true, trunc: true });
    shell.close(fd);
  }
}
