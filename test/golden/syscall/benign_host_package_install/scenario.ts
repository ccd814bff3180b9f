/**
 * Benign: an administrator installs sudo on a node (`apt-get install -y
 * sudo`): apt's http method downloads the package (from a loopback mirror),
 * dpkg unpacks it below /usr and /etc (setting the setuid bit of sudo,
 * renaming the .dpkg-new files into place, updating its database), then
 * runs the maintainer script, which runs ldconfig. Package managers and
 * everything they run are excluded: nothing may reach WARNING.
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { hostSession } from '../fixtures.js';

export const expectations: Expectations = {
  benign: true,
};

export default function build(s: Scenario): void {
  const { shell } = hostSession(s);
  const apt = shell.spawn({ exe: 'apt-get', exepath: '/usr/bin/apt-get', args: ['install', '-y', 'sudo'] });
  const lock = apt.open('/var/lib/dpkg/lock-frontend', { mode: 'rw', create: true });

  const http = apt.spawn({ exe: '/usr/lib/apt/methods/http', comm: 'http' });
  const sock = http.connect('127.0.0.1', 3142);
  http.write(sock, 'GET /debian/pool/main/s/sudo/sudo_1.9.15p5-3_amd64.deb HTTP/1.1');
  const deb = http.open('/var/cache/apt/archives/partial/sudo_1.9.15p5-3_amd64.deb', { mode: 'w', create: true, trunc: true });
  http.read(sock, '!<arch>');
  http.write(deb, '!<arch>');
  http.close(deb);
  http.syscall('renameat2', { olddirfd: -100, oldpath: '/var/cache/apt/archives/partial/sudo_1.9.15p5-3_amd64.deb', newdirfd: -100, newpath: '/var/cache/apt/archives/sudo_1.9.15p5-3_amd64.deb', flags: 0 });
  http.exit();

  const unpack = apt.spawn({ exe: '/usr/bin/dpkg', args: ['--status-fd', '36', '--no-triggers', '--unpack', '--auto-deconfigure', '/var/cache/apt/archives/sudo_1.9.15p5-3_amd64.deb'] });
  const files: [string, number][] = [
    ['/usr/bin/sudo', 0o4755],
    ['/usr/sbin/visudo', 0o755],
    ['/usr/lib/sudo/sudoers.so', 0o644],
    ['/etc/sudoers', 0o440],
    ['/etc/pam.d/sudo', 0o644],
    ['/usr/share/doc/sudo/copyright', 0o644],
  ];
  for (const [path, mode] of files) {
    const tmp = `${path}.dpkg-new`;
    const fd = unpack.open(tmp, { mode: 'w', create: true, trunc: true, perm: 0o600 });
    unpack.write(fd, 'content');
    unpack.syscall('fchmod', { fd, mode });
    unpack.close(fd);
    unpack.syscall('renameat2', { olddirfd: -100, oldpath: tmp, newdirfd: -100, newpath: path, flags: 0 });
  }
  const list = unpack.open('/var/lib/dpkg/info/sudo.list-new', { mode: 'w', create: true, trunc: true });
  unpack.close(list);
  unpack.syscall('renameat2', { olddirfd: -100, oldpath: '/var/lib/dpkg/info/sudo.list-new', newdirfd: -100, newpath: '/var/lib/dpkg/info/sudo.list', flags: 0 });
  unpack.exit();

  const configure = apt.spawn({ exe: '/usr/bin/dpkg', args: ['--status-fd', '36', '--configure', '--pending'] });
  const postinst = configure.spawn({ exe: '/bin/sh', exepath: '/usr/bin/dash', args: ['/var/lib/dpkg/info/sudo.postinst', 'configure'] });
  const ldconfig = postinst.spawn({ exe: '/sbin/ldconfig', exepath: '/usr/sbin/ldconfig', comm: 'ldconfig' });
  const cache = ldconfig.open('/etc/ld.so.cache~', { mode: 'w', create: true, trunc: true });
  ldconfig.close(cache);
  ldconfig.syscall('renameat2', { olddirfd: -100, oldpath: '/etc/ld.so.cache~', newdirfd: -100, newpath: '/etc/ld.so.cache', flags: 0 });
  ldconfig.exit();
  postinst.exit();
  const status = configure.open('/var/lib/dpkg/status-new', { mode: 'w', create: true, trunc: true });
  configure.close(status);
  configure.syscall('renameat2', { olddirfd: -100, oldpath: '/var/lib/dpkg/status-new', newdirfd: -100, newpath: '/var/lib/dpkg/status', flags: 0 });
  configure.exit();
  apt.close(lock);
  apt.exit();
}
