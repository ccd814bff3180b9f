/**
 * event-generator PtraceAntiDebugAttempt: a backdoor started on the node
 * makes itself traced (ptrace(PTRACE_TRACEME)) so that no debugger or
 * analysis tool can attach to it.
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { hostSession } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco_rules.yaml', rule: 'PTRACE anti-debug attempt' },
  tiercel: ['Anti-Debugging via ptrace'],
};

export default function build(s: Scenario): void {
  const { shell } = hostSession(s);
  const agent = shell.spawn({ exe: '/opt/updater/updater', args: ['--background'] });
  agent.syscall('ptrace', { request: 0, pid: 0, addr: 0n, data: 0n });
}
