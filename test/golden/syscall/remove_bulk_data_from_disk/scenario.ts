/**
 * event-generator RemoveBulkDataFromDisk: a root intruder on the node
 * destroys the database backups (`shred -u -n 3 /var/backups/db.dump`).
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { hostSession } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco_rules.yaml', rule: 'Remove Bulk Data from Disk' },
  tiercel: ['Data Destruction Tool Launched'],
};

export default function build(s: Scenario): void {
  const { shell } = hostSession(s);
  const shred = shell.spawn({ exe: 'shred', exepath: '/usr/bin/shred', args: ['-u', '-n', '3', '/var/backups/db.dump'] });
  const fd = shred.open('/var/backups/db.dump', { mode: 'w' });
  shred.write(fd, '\x00\x00\x00\x00');
  shred.close(fd);
  shred.syscall('unlinkat', { dirfd: -100, name: '/var/backups/db.dump', flags: 0 });
  shred.exit();
}
