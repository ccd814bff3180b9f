/**
 * Tiercel only (the upstream rule, "Launch Privileged Container", is INFO in
 * the incubating file): a privileged debugging pod starts on the node.
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { declarePod } from '../fixtures.js';

export const expectations: Expectations = {
  tiercel: ['Privileged Container Started'],
};

export default function build(s: Scenario): void {
  const { containerd } = s.standardHost();
  declarePod(s, { name: 'node-debugger', id: 'de0b9e4400a6', image: 'docker.io/library/ubuntu:24.04', privileged: true });
  const shim = s.existing({ exe: '/usr/bin/containerd-shim-runc-v2', args: ['-namespace', 'k8s.io', '-id', 'de0b9e4400a6'], parent: containerd, leader: true });
  shim.startContainer('node-debugger', { exe: 'sleep', exepath: '/usr/bin/sleep', args: ['infinity'] });
}
