/**
 * event-generator CreateHardlinkOverSensitiveFiles: in a web container, an
 * intruder hard-links /etc/shadow into the document root to fetch it over
 * HTTP (`ln /etc/shadow /var/www/html/s.txt`).
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { podShell } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco_rules.yaml', rule: 'Create Hardlink Over Sensitive Files' },
  tiercel: ['Link to Sensitive File Created'],
};

export default function build(s: Scenario): void {
  const { shell } = podShell(s, {
    name: 'php', id: 'b0a7d2c91f00', image: 'docker.io/library/php:8.3-apache',
    main: { exe: 'apache2', exepath: '/usr/sbin/apache2', args: ['-DFOREGROUND'] },
  });
  const ln = shell.spawn({ exe: 'ln', exepath: '/usr/bin/ln', args: ['/etc/shadow', '/var/www/html/s.txt'] });
  ln.syscall('linkat', { olddir: -100, oldpath: '/etc/shadow', newdir: -100, newpath: '/var/www/html/s.txt', flags: 0 });
  ln.exit();
}
