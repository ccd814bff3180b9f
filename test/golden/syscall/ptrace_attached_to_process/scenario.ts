/**
 * event-generator PtraceAttachedToProcess: a root intruder on the node uses
 * gdb to attach to sshd and write into its memory (credential hooking).
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { hostSession } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco_rules.yaml', rule: 'PTRACE attached to process' },
  tiercel: ['Process Attached via ptrace', 'Process Memory Written via ptrace'],
};

export default function build(s: Scenario): void {
  const { shell, sshd } = hostSession(s);
  const gdb = shell.spawn({ exe: 'gdb', exepath: '/usr/bin/gdb', args: ['-p', String(sshd.pid), '-batch', '-x', '/tmp/.hook.gdb'] });
  gdb.syscall('ptrace', { request: 16, pid: sshd.pid, addr: 0n, data: 0n });
  gdb.syscall('ptrace', { request: 5, pid: sshd.pid, addr: 0x7f3a2c001000n, data: 0xccn });
  gdb.syscall('ptrace', { request: 17, pid: sshd.pid, addr: 0n, data: 0n });
  gdb.exit();
}
