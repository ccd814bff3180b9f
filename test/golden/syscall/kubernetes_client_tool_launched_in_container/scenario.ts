/**
 * event-generator KubernetesClientToolLaunchedInContainer: an intruder
 * downloads kubectl into /tmp of a pod and uses the pod's service account to
 * list secrets (the API server's ClusterIP is 127.0.0.1 in tests).
 */
import { EXE_FLAGS, type Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { podShell } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco-sandbox_rules.yaml', rule: 'Kubernetes Client Tool Launched in Container' },
  tiercel: ['Kubernetes Client Tool Launched in Container', 'K8s API Server Contacted From Container'],
};

export default function build(s: Scenario): void {
  const { shell } = podShell(s, {
    name: 'api', id: 'a11ce0ff1ced', image: 'docker.io/library/python:3.12-slim',
    main: { exe: 'python3', exepath: '/usr/local/bin/python3.12', args: ['-m', 'gunicorn', 'app:app'] },
  });
  const kubectl = shell.spawn({
    exe: '/tmp/kubectl', exeFlags: EXE_FLAGS.UPPER_LAYER | EXE_FLAGS.WRITABLE, args: ['get', 'secrets', '-A'],
  });
  const token = kubectl.open('/var/run/secrets/kubernetes.io/serviceaccount/token');
  kubectl.read(token, 'eyJhbGciOiJSUzI1NiIs');
  kubectl.close(token);
  const fd = kubectl.connect('127.0.0.1', 443);
  kubectl.write(fd, 'GET /api/v1/secrets');
  kubectl.exit();
}
