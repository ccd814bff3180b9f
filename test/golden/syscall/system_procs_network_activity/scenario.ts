/**
 * event-generator SystemProcsNetworkActivity: a root shell on the node opens
 * a TCP connection by itself (`exec 3<>/dev/tcp/127.0.0.1/8192`) to pull a
 * payload. The peer is on loopback; the overlay makes the upstream
 * `inbound_outbound` macro accept loopback.
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { hostSession } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco-incubating_rules.yaml', rule: 'System procs network activity', overlay: 'overlay.yaml' },
  tiercel: ['Shell Opened Network Connection'],
};

export default function build(s: Scenario): void {
  const { shell } = hostSession(s);
  const fd = shell.connect('127.0.0.1', 8192);
  shell.write(fd, 'GET /p HTTP/1.0\r\n\r\n');
  shell.read(fd, 'HTTP/1.0 200 OK');
}
