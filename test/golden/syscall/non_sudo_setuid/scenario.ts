/**
 * event-generator NonSudoSetuid: through a PHP application, an intruder runs
 * a local root exploit dropped in /tmp; running as www-data, it calls
 * setuid(0), which the kernel refuses.
 */
import { EXE_FLAGS, type Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { pod } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco-incubating_rules.yaml', rule: 'Non sudo setuid' },
  tiercel: ['Non-Root Process Requested Root Privileges', 'Shell Spawned by Server Process'],
};

export default function build(s: Scenario): void {
  const { main: master } = pod(s, {
    name: 'php', id: 'b0a7d2c91f02', image: 'docker.io/library/php:8.3-fpm',
    main: { exe: 'php-fpm: master process (/usr/local/etc/php-fpm.conf)', exepath: '/usr/local/sbin/php-fpm', comm: 'php-fpm' },
  });
  const worker = s.existing({ exe: 'php-fpm: pool www', exepath: '/usr/local/sbin/php-fpm', comm: 'php-fpm', container: 'php', parent: master, uid: 33 });
  const sh = worker.spawn({ exe: 'sh', exepath: '/usr/bin/dash', args: ['-c', '/tmp/.x/exp'] });
  const exp = sh.spawn({ exe: '/tmp/.x/exp', exeFlags: EXE_FLAGS.UPPER_LAYER | EXE_FLAGS.WRITABLE, args: ['-q'] });
  exp.syscall('setuid', { uid: 0 }, -1);
  exp.exit(1);
}
