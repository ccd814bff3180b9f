/**
 * event-generator SystemUserInteractive: someone logs in over SSH as the
 * www-data service account (its shell was changed to bash) and runs
 * commands.
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { PATH_ENV } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco_rules.yaml', rule: 'System user interactive' },
  tiercel: ['System Account Interactive Session'],
};

export default function build(s: Scenario): void {
  const { init } = s.standardHost();
  const sshd = s.existing({ exe: '/usr/sbin/sshd', args: ['-D'], parent: init, leader: true });
  const shell = sshd.spawn({
    exe: '-bash', exepath: '/usr/bin/bash', comm: 'bash', uid: 33, loginuid: 33, tty: 34817, leader: true,
    cwd: '/var/www', env: [PATH_ENV, 'HOME=/var/www', 'USER=www-data'],
  });
  shell.spawn({ exe: 'id', exepath: '/usr/bin/id', args: ['-a'] }).exit();
}
