/**
 * event-generator PacketSocketCreatedInContainer: an intruder sniffs the
 * pod's traffic with tcpdump, which opens an AF_PACKET raw socket.
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { podShell } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco_rules.yaml', rule: 'Packet socket created in container' },
  tiercel: ['Packet Socket Created in Container', 'Network Tool Launched in Container'],
};

export default function build(s: Scenario): void {
  const { shell } = podShell(s, {
    name: 'api', id: 'a11ce0ff1cf3', image: 'docker.io/library/python:3.12-slim',
    main: { exe: 'python3', exepath: '/usr/local/bin/python3.12', args: ['-m', 'gunicorn', 'app:app'] },
  });
  const tcpdump = shell.spawn({ exe: 'tcpdump', exepath: '/usr/bin/tcpdump', args: ['-i', 'eth0', '-w', '/tmp/cap.pcap', 'port', '5432'] });
  tcpdump.socket(17, 3);
  const out = tcpdump.open('/tmp/cap.pcap', { mode: 'w', create: true, trunc: true });
  tcpdump.close(out);
}
