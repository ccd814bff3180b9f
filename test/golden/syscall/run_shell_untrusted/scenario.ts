/**
 * event-generator RunShellUntrusted: command injection in a PHP application
 * served by Apache: an apache2 worker (www-data) runs `sh -c "id; uname -a"`.
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { pod } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco_rules.yaml', rule: 'Run shell untrusted' },
  tiercel: ['Shell Spawned by Server Process'],
};

export default function build(s: Scenario): void {
  const { main: master } = pod(s, {
    name: 'php', id: 'b0a7d2c91f03', image: 'docker.io/library/php:8.3-apache',
    main: { exe: 'apache2', exepath: '/usr/sbin/apache2', args: ['-DFOREGROUND'] },
  });
  const worker = s.existing({ exe: '/usr/sbin/apache2', args: ['-DFOREGROUND'], comm: 'apache2', container: 'php', parent: master, uid: 33 });
  const sh = worker.spawn({ exe: 'sh', exepath: '/usr/bin/dash', args: ['-c', 'id; uname -a'] });
  sh.spawn({ exe: 'id', exepath: '/usr/bin/id', args: ['-a'] }).exit();
  sh.spawn({ exe: 'uname', exepath: '/usr/bin/uname', args: ['-a'] }).exit();
  sh.exit();
}
