/**
 * event-generator DetectReleaseAgentFileContainerEscapes: the classic cgroup
 * v1 escape from a privileged container: mount a cgroup hierarchy, enable
 * notify_on_release and point release_agent at a script the host will run.
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { podShell } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco_rules.yaml', rule: 'Detect release_agent File Container Escapes' },
  tiercel: ['Container Escape via Kernel Helper', 'Mount From Container'],
};

export default function build(s: Scenario): void {
  const { shell } = podShell(s, {
    name: 'node-debugger', id: 'de0b9e4400a3', image: 'docker.io/library/ubuntu:24.04', privileged: true,
    main: { exe: 'sleep', exepath: '/usr/bin/sleep', args: ['infinity'] },
  });
  const mkdir = shell.spawn({ exe: 'mkdir', exepath: '/usr/bin/mkdir', args: ['/tmp/cgrp'] });
  mkdir.syscall('mkdir', { path: '/tmp/cgrp', mode: 0o755 });
  mkdir.exit();
  const mount = shell.spawn({ exe: 'mount', exepath: '/usr/bin/mount', args: ['-t', 'cgroup', '-o', 'rdma', 'cgroup', '/tmp/cgrp'] });
  mount.syscall('mount', { dev: 'cgroup', dir: '/tmp/cgrp', type: 'cgroup', flags: 0n });
  mount.exit();
  shell.syscall('mkdir', { path: '/tmp/cgrp/x', mode: 0o755 });
  const notify = shell.open('/tmp/cgrp/x/notify_on_release', { mode: 'w', trunc: true });
  shell.write(notify, '1');
  shell.close(notify);
  const agent = shell.open('/tmp/cgrp/release_agent', { mode: 'w', trunc: true });
  shell.write(agent, '/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/42/fs/cmd');
  shell.close(agent);
}
