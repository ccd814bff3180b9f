/**
 * event-generator CreateSymlinkOverSensitiveFiles: in a web container, an
 * intruder links /etc into the document root to browse it over HTTP
 * (`ln -s /etc /var/www/html/e`).
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { podShell } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco_rules.yaml', rule: 'Create Symlink Over Sensitive Files' },
  tiercel: ['Link to Sensitive File Created'],
};

export default function build(s: Scenario): void {
  const { shell } = podShell(s, {
    name: 'php', id: 'b0a7d2c91f01', image: 'docker.io/library/php:8.3-apache',
    main: { exe: 'apache2', exepath: '/usr/sbin/apache2', args: ['-DFOREGROUND'] },
  });
  const ln = shell.spawn({ exe: 'ln', exepath: '/usr/bin/ln', args: ['-s', '/etc', '/var/www/html/e'] });
  ln.syscall('symlinkat', { target: '/etc', linkdirfd: -100, linkpath: '/var/www/html/e' });
  ln.exit();
}
