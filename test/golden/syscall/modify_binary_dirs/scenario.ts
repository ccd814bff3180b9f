/**
 * event-generator ModifyBinaryDirs: a root intruder on the node moves ps out
 * of the way, the first step of replacing it with a trojan
 * (`mv /usr/bin/ps /usr/bin/.ps.orig`).
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { hostSession } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco-sandbox_rules.yaml', rule: 'Modify binary dirs' },
  tiercel: ['Write Below Binary Directory'],
};

export default function build(s: Scenario): void {
  const { shell } = hostSession(s);
  const mv = shell.spawn({ exe: 'mv', exepath: '/usr/bin/mv', args: ['/usr/bin/ps', '/usr/bin/.ps.orig'] });
  mv.syscall('renameat2', { olddirfd: -100, oldpath: '/usr/bin/ps', newdirfd: -100, newpath: '/usr/bin/.ps.orig', flags: 1 });
  mv.exit();
}
