/**
 * Stable rule without an event-generator action: "Contact K8S API Server
 * From Container". From a shell in a pod, an intruder reads the service
 * account token and queries the API server with curl. The API server's
 * ClusterIP is 127.0.0.1 in tests; the overlay defines the upstream
 * `k8s_api_server` macro (which needs DNS resolution of
 * kubernetes.default.svc.cluster.local) by address.
 */
import type { Scenario } from '../../../../src/syscall/synth.js';
import type { Expectations } from '../../syscall.test.js';
import { podShell } from '../fixtures.js';

export const expectations: Expectations = {
  upstream: { file: 'falco_rules.yaml', rule: 'Contact K8S API Server From Container', overlay: 'overlay.yaml' },
  tiercel: ['K8s API Server Contacted by Shell or Tool in Container', 'Sensitive File Read'],
};

export default function build(s: Scenario): void {
  const { shell } = podShell(s, {
    name: 'api', id: 'a11ce0ff1cf9', image: 'docker.io/library/python:3.12-slim',
    main: { exe: 'python3', exepath: '/usr/local/bin/python3.12', args: ['-m', 'gunicorn', 'app:app'] },
  });
  const cat = shell.spawn({ exe: 'cat', exepath: '/usr/bin/cat', args: ['/var/run/secrets/kubernetes.io/serviceaccount/token'] });
  const tok = cat.open('/var/run/secrets/kubernetes.io/serviceaccount/token');
  cat.read(tok, 'eyJhbGciOiJSUzI1NiIs');
  cat.close(tok);
  cat.exit();
  const curl = shell.spawn({
    exe: 'curl', exepath: '/usr/bin/curl',
    args: ['-sk', '-H', 'Authorization: Bearer eyJhbGciOiJSUzI1NiIs', 'https://127.0.0.1:443/api/v1/namespaces/shop/secrets'],
  });
  const fd = curl.connect('127.0.0.1', 443);
  curl.write(fd, '\x16\x03\x01');
  curl.exit();
}
