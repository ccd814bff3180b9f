/**
 * Benign: an nginx pod starts and serves static files. The image's
 * entrypoint script renders its configuration template into
 * /etc/nginx/conf.d, then execs nginx; a worker accepts connections, reads
 * pages below /usr/share/nginx/html, sends them and appends to the access
 * log. Nothing may reach WARNING.
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { POD_ENV, declarePod } from '../fixtures.js';

export const expectations: Expectations = {
  benign: true,
};

export default function build(s: Scenario): void {
  const { containerd } = s.standardHost();
  declarePod(s, { name: 'web', id: 'c0ffee00a7c3', image: 'docker.io/library/nginx:1.27', namespace: 'www' });
  const shim = s.existing({ exe: '/usr/bin/containerd-shim-runc-v2', args: ['-namespace', 'k8s.io', '-id', 'c0ffee00a7c3'], parent: containerd, leader: true });

  // /docker-entrypoint.sh nginx -g 'daemon off;' (a #!/bin/sh script: comm is the script's name).
  const entry = shim.startContainer('web', {
    exe: '/bin/sh', exepath: '/usr/bin/dash', comm: 'docker-entrypoi',
    args: ['/docker-entrypoint.sh', 'nginx', '-g', 'daemon off;'], env: POD_ENV,
  });
  const find = entry.spawn({ exe: 'find', exepath: '/usr/bin/find', args: ['/docker-entrypoint.d/', '-mindepth', '1', '-maxdepth', '1', '-type', 'f'] });
  find.exit();
  const tpl = entry.spawn({ exe: '/bin/sh', exepath: '/usr/bin/dash', comm: '20-envsubst-on', args: ['/docker-entrypoint.d/20-envsubst-on-templates.sh'] });
  const envsubst = tpl.spawn({ exe: 'envsubst', exepath: '/usr/bin/envsubst', args: ['$NGINX_PORT $NGINX_HOST'] });
  const t = envsubst.open('/etc/nginx/templates/default.conf.template');
  envsubst.read(t, 'listen ${NGINX_PORT};');
  const conf = envsubst.open('/etc/nginx/conf.d/default.conf', { mode: 'w', create: true, trunc: true });
  envsubst.write(conf, 'listen 80;');
  envsubst.close(conf);
  envsubst.exit();
  tpl.exit();
  entry.exec({ exe: 'nginx', exepath: '/usr/sbin/nginx', args: ['-g', 'daemon off;'] });
  const cfg = entry.open('/etc/nginx/nginx.conf');
  entry.read(cfg, 'worker_processes auto;');
  entry.close(cfg);
  const access = entry.open('/var/log/nginx/access.log', { flags: 0o1 | 0o2000, create: true });
  const error = entry.open('/var/log/nginx/error.log', { flags: 0o1 | 0o2000, create: true });

  const worker = entry.fork();
  worker.syscall('setgid', { gid: 101 });
  worker.syscall('setuid', { uid: 101 });
  for (const [i, page] of ['index.html', 'style.css', 'logo.png'].entries()) {
    const conn = worker.serve(80, '127.0.0.1', 51000 + i);
    worker.read(conn, `GET /${page} HTTP/1.1`);
    const fd = worker.open(`/usr/share/nginx/html/${page}`);
    worker.read(fd, 'content');
    worker.write(conn, 'HTTP/1.1 200 OK');
    worker.close(fd);
    worker.write(access, `127.0.0.1 - - "GET /${page} HTTP/1.1" 200`);
    worker.close(conn);
  }
  worker.write(error, 'notice: signal process started');
}
