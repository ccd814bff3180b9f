/**
 * event-generator ChangeNamespacePrivilegesViaUnshare: in an unprivileged
 * container (no CAP_SYS_ADMIN), an intruder runs `unshare -r sh` to get a
 * user namespace where they are root; the runtime's seccomp profile refuses
 * unshare(CLONE_NEWUSER) with EPERM, but the attempt is what matters.
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { podShell } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco-incubating_rules.yaml', rule: 'Change namespace privileges via unshare' },
  tiercel: ['Namespace Created in Container'],
};

export default function build(s: Scenario): void {
  const { shell } = podShell(s, {
    name: 'api', id: 'a11ce0ff1ce5', image: 'docker.io/library/python:3.12-slim',
    main: { exe: 'python3', exepath: '/usr/local/bin/python3.12', args: ['-m', 'gunicorn', 'app:app'] },
  });
  const unshare = shell.spawn({ exe: 'unshare', exepath: '/usr/bin/unshare', args: ['-r', '/bin/sh'] });
  unshare.syscall('unshare', { flags: 0x10000000n }, -1);
  unshare.exit(1);
}
