/**
 * Upstream semantics and quirks of the ka.* fields, on hand-written events.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AuditEvent } from '../../src/audit/event.js';
import { k8sAuditSource } from '../../src/audit/source.js';
import type { JsonObject } from '../../src/audit/types.js';
import { extract, makeEvent, podEvent, sampleArg } from './helpers.js';

describe('the auditID gate', () => {
  test('an event without a top-level auditID has no ka field at all, but json fields still work', () => {
    const full = makeEvent({
      verb: 'create',
      user: { username: 'alice', groups: ['g'] },
      objectRef: { resource: 'pods', name: 'p' },
      requestURI: '/api?command=x',
      requestObject: { spec: { containers: [{ image: 'nginx', securityContext: { privileged: true } }] } },
    });
    const { auditID: _dropped, ...rest } = full.obj as Record<string, unknown>;
    const e = new AuditEvent(rest as JsonObject, 1n);
    for (const f of k8sAuditSource.fields) {
      if (!f.name.startsWith('ka.')) continue;
      assert.equal(f.bind(sampleArg(f.name, f.arg))(e), undefined, f.name);
      assert.notEqual(f.bind(sampleArg(f.name, f.arg))(full), null, f.name);
    }
    assert.equal(extract('ka.verb', full), 'create');
    assert.equal(extract('jevt.value', e, '/verb'), 'create');
    assert.equal(extract('json.rawtime', e), '1');
  });

  test('an auditID of any JSON type, even null, opens the gate', () => {
    assert.equal(extract('ka.verb', makeEvent({ auditID: null, verb: 'get' })), 'get');
    assert.equal(extract('ka.auditid', makeEvent({ auditID: null })), 'null');
    assert.equal(extract('ka.auditid', makeEvent({ auditID: 12 })), '12');
  });
});

describe('value rendering', () => {
  test('strings are raw and every other JSON value is compact JSON text', () => {
    assert.equal(extract('ka.verb', makeEvent({ verb: 'say "hi"' })), 'say "hi"');
    assert.equal(extract('ka.verb', makeEvent({ verb: 201 })), '201');
    assert.equal(extract('ka.verb', makeEvent({ verb: 1.5 })), '1.5');
    assert.equal(extract('ka.verb', makeEvent({ verb: true })), 'true');
    assert.equal(extract('ka.verb', makeEvent({ verb: false })), 'false');
    assert.equal(extract('ka.verb', makeEvent({ verb: null })), 'null');
    assert.equal(extract('ka.verb', makeEvent({ verb: { a: [1, 'x'] } })), '{"a":[1,"x"]}');
    assert.equal(extract('ka.verb', makeEvent({ verb: [] })), '[]');
    assert.equal(extract('ka.verb', makeEvent({ verb: '' })), '');
    assert.equal(extract('ka.response.code', makeEvent({ responseStatus: { code: 403 } })), '403');
  });

  test('a missing key or a walk through a non-object is absent', () => {
    assert.equal(extract('ka.user.name', makeEvent()), undefined);
    assert.equal(extract('ka.user.name', makeEvent({ user: 'alice' })), undefined);
    assert.equal(extract('ka.user.name', makeEvent({ user: null })), undefined);
    assert.equal(extract('ka.user.name', makeEvent({ user: [{ username: 'a' }] })), undefined);
    assert.equal(extract('ka.user.name', makeEvent({ user: { username: null } })), 'null');
  });

  test('list fields require an array, render its elements and report empty as absent', () => {
    assert.deepEqual(extract('ka.user.groups', makeEvent({ user: { groups: ['a', 'b'] } })), ['a', 'b']);
    assert.deepEqual(extract('ka.user.groups', makeEvent({ user: { groups: ['a', 1, null, { b: 2 }] } })), [
      'a',
      '1',
      'null',
      '{"b":2}',
    ]);
    assert.equal(extract('ka.user.groups', makeEvent({ user: { groups: [] } })), undefined);
    assert.equal(extract('ka.user.groups', makeEvent({ user: { groups: 'a' } })), undefined);
    assert.equal(extract('ka.user.groups', makeEvent({ user: { groups: { 0: 'a' } } })), undefined);
    assert.deepEqual(
      extract('ka.req.pod.supplemental_groups', podEvent({ securityContext: { supplementalGroups: [1000, 2000] } })),
      ['1000', '2000'],
    );
  });

  test('annotation fields read their own annotation keys', () => {
    const e = makeEvent({
      annotations: {
        'authorization.k8s.io/decision': 'forbid',
        'authorization.k8s.io/reason': 'no',
        'authentication.openshift.io/decision': 'allow',
        'authentication.openshift.io/username': 'kube:admin',
        'validation.policy.admission.k8s.io/validation_failure': '[{"message":"x"}]',
        'pod-security.kubernetes.io/audit-violations': 'privileged',
        cluster_name: 'prod-1',
      },
    });
    assert.equal(extract('ka.auth.decision', e), 'forbid');
    assert.equal(extract('ka.auth.reason', e), 'no');
    assert.equal(extract('ka.auth.openshift.decision', e), 'allow');
    assert.equal(extract('ka.auth.openshift.username', e), 'kube:admin');
    assert.equal(extract('ka.validations.admission.policy.failure', e), '[{"message":"x"}]');
    assert.equal(extract('ka.security.pod.violations', e), 'privileged');
    assert.equal(extract('ka.cluster.name', e), 'prod-1');
  });

  test('plain top-level and objectRef fields', () => {
    const e = makeEvent({
      impersonatedUser: { username: 'bob' },
      userAgent: 'kubectl/v1.30.0',
      objectRef: { resource: 'secrets', namespace: 'ns', name: 'n', subresource: 'status' },
      responseStatus: { code: 404, reason: 'NotFound' },
      responseObject: { metadata: { name: 'resp' } },
      requestObject: { roleRef: { name: 'admin' } },
    });
    assert.equal(extract('ka.impuser.name', e), 'bob');
    assert.equal(extract('ka.useragent', e), 'kubectl/v1.30.0');
    assert.equal(extract('ka.target.resource', e), 'secrets');
    assert.equal(extract('ka.target.namespace', e), 'ns');
    assert.equal(extract('ka.target.name', e), 'n');
    assert.equal(extract('ka.req.configmap.name', e), 'n');
    assert.equal(extract('ka.target.subresource', e), 'status');
    assert.equal(extract('ka.response.reason', e), 'NotFound');
    assert.equal(extract('ka.resp.name', e), 'resp');
    assert.equal(extract('ka.req.binding.role', e), 'admin');
    assert.equal(extract('ka.stage', e), 'ResponseComplete');
  });
});

describe('ka.target.pod.name', () => {
  const resp = { responseObject: { metadata: { name: 'web-1' } } };
  test('is the response name for requests on pods without a subresource', () => {
    assert.equal(extract('ka.target.pod.name', makeEvent({ ...resp, objectRef: { resource: 'pods' } })), 'web-1');
    assert.equal(
      extract('ka.target.pod.name', makeEvent({ ...resp, objectRef: { resource: 'pods', subresource: '' } })),
      'web-1',
    );
  });
  test('is absent for subresources and other resources', () => {
    assert.equal(
      extract('ka.target.pod.name', makeEvent({ ...resp, objectRef: { resource: 'pods', subresource: 'exec' } })),
      undefined,
    );
    assert.equal(extract('ka.target.pod.name', makeEvent({ ...resp, objectRef: { resource: 'services' } })), undefined);
    assert.equal(extract('ka.target.pod.name', makeEvent({ ...resp })), undefined);
  });
});

describe('index arguments and fan-out', () => {
  const spec = {
    containers: [
      { name: 'a', image: 'nginx:1.25', securityContext: { privileged: false, runAsUser: 5 } },
      { name: 'b', image: 'docker.io/library/redis@sha256:abc' },
      { name: 'c', image: 'registry:5000/team/app:2', securityContext: { privileged: true, readOnlyRootFilesystem: true } },
    ],
  };
  const e = podEvent(spec);

  test('without an index every element is visited', () => {
    assert.deepEqual(extract('ka.req.pod.containers.name', e), ['a', 'b', 'c']);
    assert.deepEqual(extract('ka.req.pod.containers.image', e), [
      'nginx:1.25',
      'docker.io/library/redis@sha256:abc',
      'registry:5000/team/app:2',
    ]);
  });

  test('an index visits only that element of the first array on the path', () => {
    assert.deepEqual(extract('ka.req.pod.containers.name', e, '1'), ['b']);
    assert.deepEqual(extract('ka.req.pod.containers.image', e, '2'), ['registry:5000/team/app:2']);
    assert.equal(extract('ka.req.pod.containers.name', e, '3'), undefined);
  });

  test('elements without the key are skipped, so lists are not aligned by position', () => {
    assert.deepEqual(extract('ka.req.pod.containers.privileged', e), ['false', 'true']);
    assert.deepEqual(extract('ka.req.pod.containers.read_only_fs', e), ['true']);
    assert.deepEqual(extract('ka.req.pod.containers.run_as_user', e), ['5']);
    assert.equal(extract('ka.req.pod.containers.privileged', e, '1'), undefined);
    assert.deepEqual(extract('ka.req.pod.containers.privileged', e, '2'), ['true']);
    assert.equal(extract('ka.req.pod.containers.proc_mount', e), undefined);
  });

  test('repository strips the tag and digest the way upstream does, registry ports included', () => {
    assert.deepEqual(extract('ka.req.pod.containers.image.repository', e), [
      'nginx',
      'docker.io/library/redis',
      'registry',
    ]);
    assert.deepEqual(extract('ka.req.pod.containers.image.repository', e, '1'), ['docker.io/library/redis']);
    assert.equal(extract('ka.req.container.image.repository', e), 'nginx');
  });

  test('a container without an image makes the whole image list unavailable, as upstream', () => {
    const missing = podEvent({ containers: [{ image: 'nginx' }, { name: 'no-image' }] });
    assert.equal(extract('ka.req.pod.containers.image', missing), undefined);
    assert.equal(extract('ka.req.pod.containers.image.repository', missing), undefined);
    assert.deepEqual(extract('ka.req.pod.containers.image', missing, '0'), ['nginx']);
    assert.equal(extract('ka.req.container.image', missing), 'nginx');
  });

  test('nested arrays fan out too and a single object stands for a one-element list', () => {
    assert.deepEqual(
      extract('ka.req.pod.containers.image', podEvent({ containers: [[{ image: 'a' }, { image: 'b' }], { image: 'c' }] })),
      ['a', 'b', 'c'],
    );
    assert.deepEqual(extract('ka.req.pod.containers.image', podEvent({ containers: { image: 'solo' } })), ['solo']);
    assert.equal(extract('ka.req.pod.containers.image', podEvent({ containers: [] })), undefined);
    assert.equal(extract('ka.req.container.image', podEvent({ containers: [] })), undefined);
  });

  test('non-string leaf values are rendered as JSON text', () => {
    const caps = podEvent({
      containers: [
        { securityContext: { capabilities: { add: ['NET_ADMIN', 'SYS_TIME'] }, procMount: 'Unmasked', allowPrivilegeEscalation: true } },
        { securityContext: { capabilities: { drop: ['ALL'] } } },
        { securityContext: { capabilities: { add: [] }, allowPrivilegeEscalation: false } },
      ],
    });
    // One JSON array text per container, not one value per capability.
    assert.deepEqual(extract('ka.req.pod.containers.add_capabilities', caps), ['["NET_ADMIN","SYS_TIME"]', '[]']);
    assert.deepEqual(extract('ka.req.pod.containers.add_capabilities', caps, '0'), ['["NET_ADMIN","SYS_TIME"]']);
    assert.deepEqual(extract('ka.req.pod.containers.allow_privilege_escalation', caps), ['true', 'false']);
    assert.deepEqual(extract('ka.req.pod.containers.proc_mount', caps), ['Unmasked']);
  });
});

describe('deprecated container fields', () => {
  test('ka.req.container.privileged is "true" only for a JSON true', () => {
    assert.equal(extract('ka.req.container.privileged', podEvent({ containers: [{}, { securityContext: { privileged: true } }] })), 'true');
    assert.equal(extract('ka.req.container.privileged', podEvent({ containers: [{ securityContext: { privileged: 'true' } }] })), 'false');
    assert.equal(extract('ka.req.container.privileged', podEvent({ containers: [{ name: 'x' }] })), 'false');
    assert.equal(extract('ka.req.container.privileged', podEvent({ containers: [] })), 'false');
    assert.equal(extract('ka.req.container.privileged', podEvent({})), undefined);
  });

  test('ka.req.container.host_network aliases ka.req.pod.host_network', () => {
    const e = podEvent({ hostNetwork: false, hostPID: true, hostIPC: false });
    assert.equal(extract('ka.req.container.host_network', e), 'false');
    assert.equal(extract('ka.req.pod.host_network', e), 'false');
    assert.equal(extract('ka.req.pod.host_pid', e), 'true');
    assert.equal(extract('ka.req.pod.host_ipc', e), 'false');
  });
});

describe('command and args', () => {
  const e = podEvent({
    containers: [
      { command: ['sh', '-c', 'echo hi'], args: ['--port', 8080, true] },
      { name: 'none' },
      { command: [] },
      { command: 'bash' },
    ],
  });
  test('are one string per container that sets them, words joined by a space', () => {
    assert.deepEqual(extract('ka.req.pod.containers.command', e), ['sh -c echo hi', '', 'bash']);
    assert.deepEqual(extract('ka.req.pod.containers.args', e), ['--port 8080 true']);
    assert.deepEqual(extract('ka.req.pod.containers.command', e, '0'), ['sh -c echo hi']);
    assert.equal(extract('ka.req.pod.containers.command', e, '1'), undefined);
    assert.equal(extract('ka.req.pod.containers.command', podEvent({ containers: [{ name: 'x' }] })), undefined);
  });
});

describe('effective run-as user and group', () => {
  test('fall back to spec.runAsUser (not spec.securityContext.runAsUser), then to 0', () => {
    const quirk = podEvent({
      runAsUser: 1000,
      runAsGroup: 3000,
      securityContext: { runAsUser: 7, runAsGroup: 8 },
      containers: [{ securityContext: { runAsUser: 5, runAsGroup: 6 } }, { name: 'inherits' }],
    });
    assert.deepEqual(extract('ka.req.pod.containers.eff_run_as_user', quirk), ['5', '1000']);
    assert.deepEqual(extract('ka.req.pod.containers.eff_run_as_group', quirk), ['6', '3000']);
    assert.equal(extract('ka.req.pod.run_as_user', quirk), '7');
    assert.equal(extract('ka.req.pod.run_as_group', quirk), '8');
    assert.deepEqual(extract('ka.req.pod.containers.run_as_group', quirk), ['6']);

    const realistic = podEvent({ securityContext: { runAsUser: 7 }, containers: [{ name: 'a' }, { securityContext: { runAsUser: 9 } }] });
    assert.deepEqual(extract('ka.req.pod.containers.eff_run_as_user', realistic), ['0', '9']);
    assert.deepEqual(extract('ka.req.pod.containers.eff_run_as_group', realistic), ['0', '0']);
  });

  test('with an index, a container without its own value is unavailable rather than defaulted', () => {
    const e = podEvent({ runAsUser: 1000, containers: [{ securityContext: { runAsUser: 5 } }, { name: 'b' }] });
    assert.deepEqual(extract('ka.req.pod.containers.eff_run_as_user', e, '0'), ['5']);
    assert.equal(extract('ka.req.pod.containers.eff_run_as_user', e, '1'), undefined);
    assert.equal(extract('ka.req.pod.containers.eff_run_as_user', podEvent({})), undefined);
  });
});

describe('host ports', () => {
  test('use hostPort where set, else containerPort, over every container', () => {
    const e = podEvent({
      containers: [{ ports: [{ containerPort: 80 }, { containerPort: 443, hostPort: 8443 }, { name: 'x' }] }, { name: 'b' }, { ports: [{ containerPort: 53 }] }],
      initContainers: [{ ports: [{ hostPort: 9000, containerPort: 1 }] }],
    });
    assert.deepEqual(extract('ka.req.pod.containers.host_port', e), ['80', '8443', '53']);
    assert.deepEqual(extract('ka.req.pod.containers.host_port', e, '2'), ['53']);
    assert.equal(extract('ka.req.pod.containers.host_port', e, '1'), undefined);
    assert.deepEqual(extract('ka.req.pod.initContainers.host_port', e), ['9000']);
  });
  test('a ports value that is not an array makes the field unavailable', () => {
    assert.equal(extract('ka.req.pod.containers.host_port', podEvent({ containers: [{ ports: [{ containerPort: 1 }] }, { ports: { containerPort: 80 } }] })), undefined);
  });
});

describe('init and ephemeral containers', () => {
  const e = podEvent({
    containers: [{ name: 'c', image: 'reg.example.com/c:1', securityContext: { privileged: false } }],
    initContainers: [{ name: 'i', image: 'reg.example.com/i:1', command: ['init'], securityContext: { privileged: true, runAsUser: 1 } }],
    ephemeralContainers: [{ name: 'e', image: 'busybox@sha256:1', args: ['sleep', '1d'], securityContext: { privileged: true } }],
  });
  test('each family reads only its own list', () => {
    assert.deepEqual(extract('ka.req.pod.containers.privileged', e), ['false']);
    assert.deepEqual(extract('ka.req.pod.containers.image', e), ['reg.example.com/c:1']);
    assert.deepEqual(extract('ka.req.pod.initContainers.privileged', e), ['true']);
    assert.deepEqual(extract('ka.req.pod.initContainers.image', e), ['reg.example.com/i:1']);
    assert.deepEqual(extract('ka.req.pod.initContainers.image.repository', e), ['reg.example.com/i']);
    assert.deepEqual(extract('ka.req.pod.initContainers.name', e), ['i']);
    assert.deepEqual(extract('ka.req.pod.initContainers.command', e), ['init']);
    assert.deepEqual(extract('ka.req.pod.initContainers.run_as_user', e), ['1']);
    assert.deepEqual(extract('ka.req.pod.initContainers.eff_run_as_user', e), ['1']);
    assert.deepEqual(extract('ka.req.pod.ephemeralContainers.privileged', e), ['true']);
    assert.deepEqual(extract('ka.req.pod.ephemeralContainers.image.repository', e), ['busybox']);
    assert.deepEqual(extract('ka.req.pod.ephemeralContainers.args', e), ['sleep 1d']);
    assert.deepEqual(extract('ka.req.pod.ephemeralContainers.eff_run_as_group', e), ['0']);
    assert.equal(extract('ka.req.pod.ephemeralContainers.command', e), undefined);
    assert.equal(extract('ka.req.container.privileged', e), 'false');
  });
  test('ephemeral containers have no host_port field', () => {
    assert.ok(!k8sAuditSource.fields.some((f) => f.name === 'ka.req.pod.ephemeralContainers.host_port'));
    assert.ok(k8sAuditSource.fields.some((f) => f.name === 'ka.req.pod.initContainers.host_port'));
  });
});

describe('binding subjects', () => {
  const e = makeEvent({
    requestObject: {
      roleRef: { name: 'cluster-admin' },
      subjects: [
        { kind: 'User', name: 'alice' },
        { kind: 'ServiceAccount', name: 'builder', namespace: 'ci' },
        { kind: 'ServiceAccount', name: 'orphan' },
        { kind: 'Group', name: 'devs' },
        { kind: 'User' },
        'not-an-object',
        { kind: 'User', name: 'bob' },
      ],
    },
  });
  test('are split by kind', () => {
    assert.deepEqual(extract('ka.req.binding.subjects.user_names', e), ['alice', 'bob']);
    assert.deepEqual(extract('ka.req.binding.subjects.serviceaccount_names', e), ['builder', 'orphan']);
    assert.deepEqual(extract('ka.req.binding.subjects.serviceaccount_ns_names', e), ['ci:builder']);
    assert.deepEqual(extract('ka.req.binding.subjects.group_names', e), ['devs']);
    assert.equal((extract('ka.req.binding.subjects', e) as string[])[5], 'not-an-object');
  });
  test('no subjects means absent for every subject field', () => {
    const none = makeEvent({ requestObject: { roleRef: { name: 'x' } } });
    for (const f of ['subjects', 'subjects.user_names', 'subjects.serviceaccount_names', 'subjects.serviceaccount_ns_names', 'subjects.group_names']) {
      assert.equal(extract(`ka.req.binding.${f}`, none), undefined, f);
    }
    assert.equal(extract('ka.req.binding.subjects.user_names', makeEvent({ requestObject: { subjects: [] } })), undefined);
  });
});

describe('role rules', () => {
  test('flatten every rule array and skip non-arrays', () => {
    const e = makeEvent({
      requestObject: { rules: [{ verbs: ['get', 'list'], resources: ['pods'] }, { verbs: 'watch' }, { verbs: ['*'], apiGroups: ['', 'apps'] }, 7] },
    });
    assert.deepEqual(extract('ka.req.role.rules.verbs', e), ['get', 'list', '*']);
    assert.deepEqual(extract('ka.req.role.rules.verbs', e, '2'), ['*']);
    assert.equal(extract('ka.req.role.rules.verbs', e, '1'), undefined);
    assert.deepEqual(extract('ka.req.role.rules.apiGroups', e), ['', 'apps']);
    assert.equal(extract('ka.req.role.rules.nonResourceURLs', e), undefined);
    assert.equal((extract('ka.req.role.rules', e) as string[]).length, 4);
  });
});

describe('ka.sourceips', () => {
  test('keeps the upstream bug: it reads requestObject.rules[*].sourceIPs, not the client IPs', () => {
    assert.equal(extract('ka.sourceips', makeEvent({ sourceIPs: ['10.0.0.1'] })), undefined);
    const odd = makeEvent({ requestObject: { rules: [{ sourceIPs: ['1.2.3.4', '5.6.7.8'] }, { sourceIPs: ['9.9.9.9'] }] } });
    assert.deepEqual(extract('ka.sourceips', odd), ['1.2.3.4', '5.6.7.8', '9.9.9.9']);
    assert.deepEqual(extract('ka.sourceips', odd, '1'), ['9.9.9.9']);
  });
});

describe('volumes', () => {
  const e = podEvent({
    volumes: [
      { name: 'etc', hostPath: { path: '/etc/kubernetes', type: '' } },
      { name: 'cfg', configMap: { name: 'c' } },
      { name: 'fv', flexVolume: { driver: 'example/lvm' } },
      { name: 'sock', hostPath: { path: '/var/run/docker.sock' } },
      { name: 'multi', emptyDir: {}, secret: { secretName: 's' } },
    ],
  });
  test('hostpath, flexvolume driver and volume type lists', () => {
    assert.deepEqual(extract('ka.req.pod.volumes.hostpath', e), ['/etc/kubernetes', '/var/run/docker.sock']);
    assert.deepEqual(extract('ka.req.pod.volumes.hostpath', e, '3'), ['/var/run/docker.sock']);
    assert.equal(extract('ka.req.pod.volumes.hostpath', e, '1'), undefined);
    assert.deepEqual(extract('ka.req.pod.volumes.flexvolume_driver', e), ['example/lvm']);
    assert.deepEqual(extract('ka.req.pod.volumes.volume_type', e), ['hostPath', 'configMap', 'flexVolume', 'hostPath', 'emptyDir', 'secret']);
    assert.deepEqual(extract('ka.req.pod.volumes.volume_type', e, '4'), ['emptyDir', 'secret']);
  });
  test('ka.req.volume.hostpath matches exactly, or by prefix with a trailing star, on any volume', () => {
    assert.equal(extract('ka.req.volume.hostpath', e, '/var/run/docker.sock'), 'true');
    assert.equal(extract('ka.req.volume.hostpath', e, '/etc*'), 'true');
    assert.equal(extract('ka.req.volume.hostpath', e, '/etc'), 'false');
    assert.equal(extract('ka.req.volume.hostpath', e, '*'), 'true');
    assert.equal(extract('ka.req.volume.hostpath', podEvent({ volumes: [{ name: 'x', emptyDir: {} }] }), '/etc'), 'false');
    assert.equal(extract('ka.req.volume.hostpath', podEvent({ containers: [] }), '/etc'), undefined);
  });
});

describe('service and pod security fields', () => {
  test('service type and the single-value ports quirk', () => {
    const e = makeEvent({ requestObject: { spec: { type: 'LoadBalancer', ports: [{ port: 80 }, { port: 443 }] } } });
    assert.equal(extract('ka.req.service.type', e), 'LoadBalancer');
    assert.deepEqual(extract('ka.req.service.ports', e), ['[{"port":80},{"port":443}]']);
    assert.deepEqual(extract('ka.req.service.ports', e, '1'), ['[{"port":80},{"port":443}]']);
  });
  test('pod-level security context', () => {
    const e = podEvent({ securityContext: { fsGroup: 2000, runAsUser: 0 } });
    assert.equal(extract('ka.req.pod.fs_group', e), '2000');
    assert.equal(extract('ka.req.pod.run_as_user', e), '0');
    assert.equal(extract('ka.req.pod.run_as_group', e), undefined);
  });
});

describe('ka.uri.param', () => {
  const uri = (requestURI: unknown) => makeEvent({ requestURI });
  test('decodes like Go url.ParseQuery and returns the first value', () => {
    const e = uri('/api/v1/namespaces/d/pods/p/exec?command=%2Fbin%2Fsh&command=-c&container=app&stdin=true&x=a+b');
    assert.equal(extract('ka.uri.param', e, 'command'), '/bin/sh');
    assert.equal(extract('ka.uri.param', e, 'container'), 'app');
    assert.equal(extract('ka.uri.param', e, 'x'), 'a b');
    assert.equal(extract('ka.uri.param', uri('/p?flag'), 'flag'), '');
    assert.equal(extract('ka.uri.param', uri('/p?a=1#frag'), 'a'), '1');
    assert.equal(extract('ka.uri.param', uri('/p?k%20ey=%E2%9C%93'), 'k ey'), '\u2713');
    assert.equal(extract('ka.uri.param', uri('/p?&&a=1&'), 'a'), '1');
    assert.equal(extract('ka.uri.param', uri('https://h:6443/p?a=1'), 'a'), '1');
  });
  test('is absent where Go reports an error for the URI or any query pair', () => {
    assert.equal(extract('ka.uri.param', uri('/p?a=1;b=2'), 'a'), undefined);
    assert.equal(extract('ka.uri.param', uri('/p?a=%zz&b=1'), 'b'), undefined);
    assert.equal(extract('ka.uri.param', uri('/p?a=%4'), 'a'), undefined);
    assert.equal(extract('ka.uri.param', uri('/p%zz?a=1'), 'a'), undefined);
    assert.equal(extract('ka.uri.param', uri('/p?a=1\n'), 'a'), undefined);
    assert.equal(extract('ka.uri.param', uri('a:b/c?x=1'), 'x'), '1');
    assert.equal(extract('ka.uri.param', uri('1a:b?x=1'), 'x'), undefined);
    assert.equal(extract('ka.uri.param', uri(':x?x=1'), 'x'), undefined);
    assert.equal(extract('ka.uri.param', uri('/p'), 'a'), undefined);
    assert.equal(extract('ka.uri.param', makeEvent(), 'a'), undefined);
  });
  test('a non-string requestURI is rendered before parsing', () => {
    assert.equal(extract('ka.uri.param', uri(5), 'a'), undefined);
    assert.equal(extract('ka.uri', uri(5)), '5');
  });
});

describe('per-event caching', () => {
  test('repeated and separately bound references agree, and arguments are cached apart', () => {
    const e = makeEvent({ requestURI: '/x?a=1&b=2', objectRef: { resource: 'pods' } });
    const f = k8sAuditSource.fields.find((x) => x.name === 'ka.uri.param')!;
    const a1 = f.bind('a');
    const a2 = f.bind('a');
    const b = f.bind('b');
    assert.equal(a1(e), '1');
    assert.equal(a2(e), '1');
    assert.equal(b(e), '2');
    assert.equal(a1(e), '1');
    const other = makeEvent({ requestURI: '/x?a=9' });
    assert.equal(a1(other), '9');
    assert.equal(b(other), undefined);
    assert.equal(b(other), undefined);
  });
});
