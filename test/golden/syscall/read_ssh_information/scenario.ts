/**
 * event-generator ReadSshInformation: a root intruder on the node reads
 * root's SSH private key (`cat /root/.ssh/id_ed25519`) to move to other
 * machines.
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { hostSession } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco-incubating_rules.yaml', rule: 'Read ssh information' },
  tiercel: ['Sensitive File Read'],
};

export default function build(s: Scenario): void {
  const { shell } = hostSession(s);
  const cat = shell.spawn({ exe: 'cat', exepath: '/usr/bin/cat', args: ['/root/.ssh/id_ed25519'] });
  const fd = cat.open('/root/.ssh/id_ed25519');
  cat.read(fd, '-----BEGIN OPENSSH PRIVATE KEY-----');
  cat.close(fd);
  cat.exit();
}
