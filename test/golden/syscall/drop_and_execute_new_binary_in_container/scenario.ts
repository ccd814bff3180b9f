/**
 * event-generator DropAndExecuteNewBinaryInContainer: an intruder downloads a
 * tool into /usr/local/bin of a running container, makes it executable and
 * runs it; the file is in the overlay's upper layer, not in the image.
 */
import { EXE_FLAGS, type Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { podShell } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco_rules.yaml', rule: 'Drop and execute new binary in container' },
  tiercel: ['Drop and Execute in Container', 'Write Below Binary Directory'],
};

export default function build(s: Scenario): void {
  const { shell } = podShell(s, {
    name: 'api', id: 'a11ce0ff1cea', image: 'docker.io/library/python:3.12-slim',
    main: { exe: 'python3', exepath: '/usr/local/bin/python3.12', args: ['-m', 'gunicorn', 'app:app'] },
  });
  const curl = shell.spawn({ exe: 'curl', exepath: '/usr/bin/curl', args: ['-s', '-o', '/usr/local/bin/kube-helper', 'http://127.0.0.1:8000/kube-helper'] });
  const sock = curl.connect('127.0.0.1', 8000);
  const out = curl.open('/usr/local/bin/kube-helper', { mode: 'w', create: true, trunc: true });
  curl.read(sock, '\x7fELF');
  curl.write(out, '\x7fELF');
  curl.close(out);
  curl.exit();
  const chmod = shell.spawn({ exe: 'chmod', exepath: '/usr/bin/chmod', args: ['+x', '/usr/local/bin/kube-helper'] });
  chmod.syscall('fchmodat', { dirfd: -100, filename: '/usr/local/bin/kube-helper', mode: 0o755 });
  chmod.exit();
  shell.spawn({ exe: '/usr/local/bin/kube-helper', exeFlags: EXE_FLAGS.UPPER_LAYER | EXE_FLAGS.WRITABLE, args: ['--scan'] });
}
