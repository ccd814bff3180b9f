/**
 * event-generator LaunchPackageManagementProcessInContainer: an intruder
 * installs tools into a running Debian-based container
 * (`apt-get install -y nmap`); apt-get runs dpkg, which unpacks the files.
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { podShell } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco-incubating_rules.yaml', rule: 'Launch Package Management Process in Container' },
  tiercel: ['Package Manager Launched in Container'],
};

export default function build(s: Scenario): void {
  const { shell } = podShell(s, {
    name: 'api', id: 'a11ce0ff1cef', image: 'docker.io/library/python:3.12-slim',
    main: { exe: 'python3', exepath: '/usr/local/bin/python3.12', args: ['-m', 'gunicorn', 'app:app'] },
  });
  const apt = shell.spawn({ exe: 'apt-get', exepath: '/usr/bin/apt-get', args: ['install', '-y', 'nmap'] });
  const dpkg = apt.spawn({ exe: '/usr/bin/dpkg', args: ['--status-fd', '23', '--no-triggers', '--unpack', '--auto-deconfigure', '/var/cache/apt/archives/nmap_7.94_amd64.deb'] });
  const fd = dpkg.open('/usr/bin/nmap.dpkg-new', { mode: 'w', create: true, trunc: true, perm: 0o755 });
  dpkg.close(fd);
  dpkg.syscall('renameat2', { olddirfd: -100, oldpath: '/usr/bin/nmap.dpkg-new', newdirfd: -100, newpath: '/usr/bin/nmap', flags: 0 });
  dpkg.exit();
  apt.exit();
}
