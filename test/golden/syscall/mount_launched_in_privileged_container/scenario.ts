/**
 * event-generator MountLaunchedInPrivilegedContainer: in a privileged
 * container, an intruder mounts the node's root disk (`mount /dev/sda1 /mnt`).
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { podShell } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco-incubating_rules.yaml', rule: 'Mount Launched in Privileged Container' },
  tiercel: ['Mount From Container'],
};

export default function build(s: Scenario): void {
  const { shell } = podShell(s, {
    name: 'node-debugger', id: 'de0b9e4400a4', image: 'docker.io/library/ubuntu:24.04', privileged: true,
    main: { exe: 'sleep', exepath: '/usr/bin/sleep', args: ['infinity'] },
  });
  const mount = shell.spawn({ exe: 'mount', exepath: '/usr/bin/mount', args: ['/dev/sda1', '/mnt'] });
  mount.syscall('mount', { dev: '/dev/sda1', dir: '/mnt', type: 'ext4', flags: 0n });
  mount.exit();
}
