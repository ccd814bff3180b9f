/**
 * event-generator AddingSshKeysToAuthorizedKeys: after logging in as alice,
 * an intruder creates ~/.ssh and appends their key to authorized_keys with a
 * shell redirection (`echo ssh-ed25519 ... >> ~/.ssh/authorized_keys`).
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { hostSession } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco-incubating_rules.yaml', rule: 'Adding ssh keys to authorized_keys' },
  tiercel: ['SSH Authorized Keys Modified'],
};

export default function build(s: Scenario): void {
  const { shell } = hostSession(s, { uid: 1000, cwd: '/home/alice' });
  const mkdir = shell.spawn({ exe: 'mkdir', exepath: '/usr/bin/mkdir', args: ['-p', '/home/alice/.ssh'] });
  mkdir.syscall('mkdir', { path: '/home/alice/.ssh', mode: 0o755 });
  mkdir.exit();
  // bash opens the file itself for `>>`: O_WRONLY|O_CREAT|O_APPEND.
  const fd = shell.open('/home/alice/.ssh/authorized_keys', { flags: 0o1 | 0o2000, create: true, perm: 0o644 });
  shell.write(fd, 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOq3 intruder@box\n');
  shell.close(fd);
}
