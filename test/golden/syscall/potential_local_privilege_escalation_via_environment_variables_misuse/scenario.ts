/**
 * event-generator PotentialLocalPrivilegeEscalationViaEnvironmentVariablesMisuse:
 * alice runs a Looney Tunables (CVE-2023-4911) exploit, which starts the
 * setuid su with an overlong nested GLIBC_TUNABLES value.
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { PATH_ENV, hostSession } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco-incubating_rules.yaml', rule: 'Potential Local Privilege Escalation via Environment Variables Misuse' },
  tiercel: ['Dynamic Linker Environment Passed to Setuid Program', 'Dynamic Linker Environment Variable Set'],
};

export default function build(s: Scenario): void {
  const { shell } = hostSession(s, { uid: 1000, cwd: '/home/alice' });
  const exploit = shell.spawn({ exe: './gnu-acme', exepath: '/home/alice/gnu-acme', args: ['-x'] });
  exploit.exec({
    exe: '/usr/bin/su', args: ['--help'], uid: 0,
    env: [PATH_ENV, `GLIBC_TUNABLES=glibc.malloc.mxfast=glibc.malloc.mxfast=${'A'.repeat(64)}`],
  });
  exploit.exit(127);
}
