/**
 * event-generator DisallowedSSHConnectionNonStandardPort: from the node, a
 * user opens an SSH connection on port 443 (a reverse tunnel that passes
 * egress filtering). The remote end is on loopback; the overlay makes the
 * upstream `outbound` macro accept loopback.
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { hostSession } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco_rules.yaml', rule: 'Disallowed SSH Connection Non Standard Port', overlay: 'overlay.yaml' },
  tiercel: ['Outbound SSH on Unusual Port'],
};

export default function build(s: Scenario): void {
  const { shell } = hostSession(s, { uid: 1000, cwd: '/home/alice' });
  const ssh = shell.spawn({ exe: 'ssh', exepath: '/usr/bin/ssh', args: ['-N', '-R', '2222:localhost:22', '-p', '443', 'tunnel@127.0.0.1'] });
  const fd = ssh.connect('127.0.0.1', 443);
  ssh.write(fd, 'SSH-2.0-OpenSSH_9.6');
}
