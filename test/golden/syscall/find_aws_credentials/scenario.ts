/**
 * event-generator FindAwsCredentials: in a pod, an intruder looks for AWS
 * credential files (find / -type f -path "<anything>/.aws/credentials").
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { podShell } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco_rules.yaml', rule: 'Find AWS Credentials' },
  tiercel: ['Credential Search'],
};

export default function build(s: Scenario): void {
  const { shell } = podShell(s, {
    name: 'api', id: 'a11ce0ff1cec', image: 'docker.io/library/python:3.12-slim',
    main: { exe: 'python3', exepath: '/usr/local/bin/python3.12', args: ['-m', 'gunicorn', 'app:app'] },
  });
  const find = shell.spawn({ exe: 'find', exepath: '/usr/bin/find', args: ['/', '-type', 'f', '-path', '*/.aws/credentials'] });
  find.exit();
}
