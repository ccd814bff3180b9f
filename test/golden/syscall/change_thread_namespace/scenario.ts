/**
 * event-generator ChangeThreadNamespace: from a privileged container that
 * shares the host's PID namespace, an intruder runs `nsenter -t 1 -m -u -i -n
 * -p -- bash` to enter the host's namespaces (setns on /proc/1/ns/*).
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { podShell } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco-incubating_rules.yaml', rule: 'Change thread namespace' },
  tiercel: ['Namespace Entered From Container'],
};

export default function build(s: Scenario): void {
  const { shell } = podShell(s, {
    name: 'node-debugger', id: 'de0b9e4400a1', image: 'docker.io/library/ubuntu:24.04', privileged: true,
    main: { exe: 'sleep', exepath: '/usr/bin/sleep', args: ['infinity'] },
  });
  const nsenter = shell.spawn({ exe: 'nsenter', exepath: '/usr/bin/nsenter', args: ['-t', '1', '-m', '-u', '-i', '-n', '-p', '--', 'bash'] });
  for (const [ns, type] of [['mnt', 0x20000], ['uts', 0x4000000], ['ipc', 0x8000000], ['net', 0x40000000], ['pid', 0x20000000]] as const) {
    const fd = nsenter.open(`/proc/1/ns/${ns}`);
    nsenter.syscall('setns', { fd, nstype: BigInt(type) });
    nsenter.close(fd);
  }
  nsenter.exec({ exe: 'bash', exepath: '/usr/bin/bash' });
}
