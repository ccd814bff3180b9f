/**
 * event-generator LaunchSuspiciousNetworkToolInContainer: an intruder scans
 * the pod's neighbourhood with nmap.
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { podShell } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco-incubating_rules.yaml', rule: 'Launch Suspicious Network Tool in Container' },
  tiercel: ['Network Tool Launched in Container'],
};

export default function build(s: Scenario): void {
  const { shell } = podShell(s, {
    name: 'api', id: 'a11ce0ff1cf1', image: 'docker.io/library/python:3.12-slim',
    main: { exe: 'python3', exepath: '/usr/local/bin/python3.12', args: ['-m', 'gunicorn', 'app:app'] },
  });
  const nmap = shell.spawn({ exe: 'nmap', exepath: '/usr/bin/nmap', args: ['-sn', '127.0.0.0/29'] });
  nmap.exit();
}
