/**
 * Tiercel only (the upstream "BPF Program Not Profiled" keys on the entry
 * event): in a privileged pod, an intruder's tool loads an eBPF program
 * (bpf(BPF_PROG_LOAD)), as eBPF rootkits and credential sniffers do.
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { podShell } from '../fixtures.js';

export const expectations: Expectations = {
  tiercel: ['BPF Program Loaded by Unexpected Program'],
};

export default function build(s: Scenario): void {
  const { shell } = podShell(s, {
    name: 'node-debugger', id: 'de0b9e4400a7', image: 'docker.io/library/ubuntu:24.04', privileged: true,
    main: { exe: 'sleep', exepath: '/usr/bin/sleep', args: ['infinity'] },
  });
  const loader = shell.spawn({ exe: './sniff', exepath: '/root/sniff', args: ['--iface', 'eth0'] });
  loader.syscall('bpf', { cmd: 5 }, 7);
}
