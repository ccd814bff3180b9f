/**
 * event-generator UnexpectedUDPTraffic: an implant dropped in /tmp of a pod
 * beacons to its controller over UDP port 9999. The controller is on
 * loopback; the overlay makes the upstream `inbound_outbound` macro accept
 * loopback.
 */
import { EXE_FLAGS, type Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { podShell } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco-incubating_rules.yaml', rule: 'Unexpected UDP Traffic', overlay: 'overlay.yaml' },
  tiercel: ['Drop and Execute in Container', 'Executable Run From Temporary Directory'],
};

export default function build(s: Scenario): void {
  const { shell } = podShell(s, {
    name: 'api', id: 'a11ce0ff1cf8', image: 'docker.io/library/python:3.12-slim',
    main: { exe: 'python3', exepath: '/usr/local/bin/python3.12', args: ['-m', 'gunicorn', 'app:app'] },
  });
  const implant = shell.spawn({ exe: '/tmp/.cache/updater', exeFlags: EXE_FLAGS.UPPER_LAYER | EXE_FLAGS.WRITABLE, args: ['-d'] });
  const fd = implant.connect('127.0.0.1', 9999, { proto: 'udp' });
  implant.write(fd, 'beacon');
}
