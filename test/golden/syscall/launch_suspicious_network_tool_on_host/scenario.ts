/**
 * event-generator LaunchSuspiciousNetworkToolOnHost: someone with a root
 * shell on the node scans its network with nmap.
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { hostSession } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco-incubating_rules.yaml', rule: 'Launch Suspicious Network Tool on Host' },
  tiercel: ['Network Tool Launched on Host'],
};

export default function build(s: Scenario): void {
  const { shell } = hostSession(s);
  const nmap = shell.spawn({ exe: 'nmap', exepath: '/usr/bin/nmap', args: ['-sn', '127.0.0.0/29'] });
  nmap.exit();
}
