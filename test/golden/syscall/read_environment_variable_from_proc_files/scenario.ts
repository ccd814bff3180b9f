/**
 * event-generator ReadEnvironmentVariableFromProcFiles: in a pod, an intruder
 * reads the application's environment, where Kubernetes put its secrets
 * (`cat /proc/1/environ`).
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { podShell } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco-incubating_rules.yaml', rule: 'Read environment variable from /proc files' },
  tiercel: ['Process Environment Read From /proc'],
};

export default function build(s: Scenario): void {
  const { shell } = podShell(s, {
    name: 'api', id: 'a11ce0ff1cf5', image: 'docker.io/library/python:3.12-slim',
    main: { exe: 'python3', exepath: '/usr/local/bin/python3.12', args: ['-m', 'gunicorn', 'app:app'] },
  });
  const cat = shell.spawn({ exe: 'cat', exepath: '/usr/bin/cat', args: ['/proc/1/environ'] });
  const fd = cat.open('/proc/1/environ');
  cat.read(fd, 'DATABASE_PASSWORD=hunter2');
  cat.close(fd);
  cat.exit();
}
