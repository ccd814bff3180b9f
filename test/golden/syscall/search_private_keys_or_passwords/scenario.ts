/**
 * event-generator SearchPrivateKeysOrPasswords: in a pod, an intruder looks
 * for SSH private keys (`find / -name id_rsa -o -name id_ed25519`).
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { podShell } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco_rules.yaml', rule: 'Search Private Keys or Passwords' },
  tiercel: ['Credential Search'],
};

export default function build(s: Scenario): void {
  const { shell } = podShell(s, {
    name: 'api', id: 'a11ce0ff1cf6', image: 'docker.io/library/python:3.12-slim',
    main: { exe: 'python3', exepath: '/usr/local/bin/python3.12', args: ['-m', 'gunicorn', 'app:app'] },
  });
  const find = shell.spawn({ exe: 'find', exepath: '/usr/bin/find', args: ['/', '-name', 'id_rsa', '-o', '-name', 'id_ed25519'] });
  find.exit();
}
