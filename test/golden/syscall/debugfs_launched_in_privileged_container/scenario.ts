/**
 * event-generator DebugfsLaunchedInPrivilegedContainer: in a privileged
 * container, an intruder opens the node's root disk with debugfs to read and
 * write host files directly.
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { podShell } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco_rules.yaml', rule: 'Debugfs Launched in Privileged Container' },
  tiercel: ['Disk Debugger in Privileged Container'],
};

export default function build(s: Scenario): void {
  const { shell } = podShell(s, {
    name: 'node-debugger', id: 'de0b9e4400a2', image: 'docker.io/library/ubuntu:24.04', privileged: true,
    main: { exe: 'sleep', exepath: '/usr/bin/sleep', args: ['infinity'] },
  });
  const debugfs = shell.spawn({ exe: 'debugfs', exepath: '/usr/sbin/debugfs', args: ['-w', '/dev/sda1'] });
  const dev = debugfs.open('/dev/sda1', { mode: 'rw' });
  debugfs.read(dev, 'superblock');
  debugfs.close(dev);
  debugfs.exit();
}
