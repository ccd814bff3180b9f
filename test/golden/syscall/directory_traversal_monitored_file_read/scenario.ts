/**
 * event-generator DirectoryTraversalMonitoredFileRead: a path traversal in a
 * Python web application: a gunicorn worker serving /static/<name> opens
 * /app/static/../../../../etc/passwd.
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { pod } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco_rules.yaml', rule: 'Directory traversal monitored file read' },
  tiercel: ['Directory Traversal File Read'],
};

export default function build(s: Scenario): void {
  const { main: master } = pod(s, {
    name: 'api', id: 'a11ce0ff1ce9', image: 'docker.io/library/python:3.12-slim',
    main: { exe: '/usr/local/bin/python3.12', comm: 'gunicorn', args: ['/usr/local/bin/gunicorn', 'app:app'], uid: 65534, cwd: '/app' },
  });
  const worker = master.fork();
  const conn = worker.serve(8000);
  worker.read(conn, 'GET /static/..%2f..%2f..%2f..%2fetc%2fpasswd HTTP/1.1');
  const fd = worker.open('/app/static/../../../../etc/passwd');
  worker.read(fd, 'root:x:0:0:root:/root:/bin/bash');
  worker.close(fd);
  worker.write(conn, 'HTTP/1.1 200 OK');
}
