/**
 * event-generator DbProgramSpawnedProcess: SQL injection turned into command
 * execution in a MySQL pod (a UDF calling system()): mysqld starts
 * `sh -c "id; uname -a"`.
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { pod } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco-incubating_rules.yaml', rule: 'DB program spawned process' },
  tiercel: ['Shell Spawned by Server Process'],
};

export default function build(s: Scenario): void {
  const { main: mysqld } = pod(s, {
    name: 'mysql', id: 'db5e7a11c0de', image: 'docker.io/library/mysql:8.4',
    main: { exe: 'mysqld', exepath: '/usr/sbin/mysqld', uid: 999 },
  });
  const sh = mysqld.spawn({ exe: 'sh', exepath: '/usr/bin/dash', args: ['-c', 'id; uname -a'] });
  const id = sh.spawn({ exe: 'id', exepath: '/usr/bin/id' });
  id.exit();
  const uname = sh.spawn({ exe: 'uname', exepath: '/usr/bin/uname', args: ['-a'] });
  uname.exit();
  sh.exit();
}
