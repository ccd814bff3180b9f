/**
 * event-generator ReadSensitiveFileTrustedAfterStartup: an Apache httpd that
 * has been running for an hour reads /etc/shadow (the result of a file
 * inclusion in a module or application).
 *
 * The overlay is the tuning a Falco user makes for such an image: its httpd
 * is trusted to read sensitive files at startup (it authenticates against
 * the local accounts), so "Read sensitive file untrusted" ignores the image
 * and "Read sensitive file trusted after startup" watches it after startup.
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { pod } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco_rules.yaml', rule: 'Read sensitive file trusted after startup', overlay: 'overlay.yaml' },
  tiercel: ['Credential File Read by Server Process', 'Sensitive File Read'],
};

export default function build(s: Scenario): void {
  const { main: httpd } = pod(s, {
    name: 'web', id: 'c0ffee00a7c1', image: 'docker.io/library/httpd:2.4',
    main: { exe: 'httpd', exepath: '/usr/local/apache2/bin/httpd', args: ['-DFOREGROUND'] },
  });
  const fd = httpd.open('/etc/shadow');
  httpd.read(fd, 'root:*:19000:0:99999:7:::');
  httpd.close(fd);
}
