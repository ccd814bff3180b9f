/**
 * Stable rule without an event-generator action: "Terminal shell in
 * container". A user runs `kubectl exec -it web -- bash`: the runtime shim
 * starts bash with a terminal in the container; Tiercel's exec wrapper
 * passes the API request's audit ID in KUBERNETES_EXEC_AUDIT_ID.
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { EXEC_AUDIT_ID, POD_ENV, pod } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco_rules.yaml', rule: 'Terminal shell in container' },
  tiercel: ['Terminal Shell in Container'],
};

export default function build(s: Scenario): void {
  const { shim } = pod(s, {
    name: 'web', id: 'c0ffee00a7c2', image: 'docker.io/library/nginx:1.27',
    main: { exe: 'nginx: master process nginx -g daemon off;', exepath: '/usr/sbin/nginx', comm: 'nginx' },
  });
  const bash = shim.spawn({
    exe: 'bash', exepath: '/usr/bin/bash', container: 'web', tty: 34816, leader: true,
    env: [...POD_ENV, 'TERM=xterm', `KUBERNETES_EXEC_AUDIT_ID=${EXEC_AUDIT_ID}`],
  });
  bash.spawn({ exe: 'ls', exepath: '/usr/bin/ls', args: ['-la', '/usr/share/nginx/html'] }).exit();
}
