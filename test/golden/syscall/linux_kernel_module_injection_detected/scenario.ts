/**
 * Stable rule without an event-generator action: "Linux Kernel Module
 * Injection Detected". From a privileged container (CAP_SYS_MODULE), an
 * intruder loads a rootkit module into the node's kernel
 * (`insmod /tmp/diamorphine.ko`, i.e. finit_module).
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { podShell } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco_rules.yaml', rule: 'Linux Kernel Module Injection Detected' },
  tiercel: ['Kernel Module Loaded From Container'],
};

export default function build(s: Scenario): void {
  const { shell } = podShell(s, {
    name: 'node-debugger', id: 'de0b9e4400a5', image: 'docker.io/library/ubuntu:24.04', privileged: true,
    main: { exe: 'sleep', exepath: '/usr/bin/sleep', args: ['infinity'] },
  });
  const insmod = shell.spawn({ exe: 'insmod', exepath: '/usr/bin/kmod', args: ['/tmp/diamorphine.ko'] });
  const fd = insmod.open('/tmp/diamorphine.ko');
  insmod.syscall('finit_module', { fd, uargs: '', flags: 0 });
  insmod.close(fd);
  insmod.exit();
}
