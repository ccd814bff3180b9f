/**
 * event-generator DecodingPayloadInContainer: an intruder's second stage is
 * delivered base64-encoded and piped into a shell
 * (`sh -c "echo <b64> | base64 -d | sh"`).
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { podShell } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco-sandbox_rules.yaml', rule: 'Decoding Payload in Container' },
  tiercel: ['Payload Piped Into Shell', 'Encoded Payload Decoded in Container'],
};

export default function build(s: Scenario): void {
  const { shell } = podShell(s, {
    name: 'api', id: 'a11ce0ff1ce7', image: 'docker.io/library/python:3.12-slim',
    main: { exe: 'python3', exepath: '/usr/local/bin/python3.12', args: ['-m', 'gunicorn', 'app:app'] },
  });
  const outer = shell.spawn({ exe: 'sh', exepath: '/usr/bin/dash', args: ['-c', 'echo ZWNobyBvd25lZCA+IC90bXAvLm0K | base64 -d | sh'] });
  const b64 = outer.spawn({ exe: 'base64', exepath: '/usr/bin/base64', args: ['-d'] });
  b64.exit();
  const inner = outer.spawn({ exe: 'sh', exepath: '/usr/bin/dash' });
  const fd = inner.open('/tmp/.m', { mode: 'w', create: true, trunc: true });
  inner.write(fd, 'owned\n');
  inner.close(fd);
  inner.exit();
  outer.exit();
}
