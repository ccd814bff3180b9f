/**
 * Audit events in the proportions a steady-state cluster produces them.
 *
 * Real audit logs are dominated by the control plane keeping itself alive:
 * node and leader-election lease renewals, node status patches, controllers
 * watching and updating endpoints, pods and events. People and CI create and
 * delete a few objects; attacks are rare. This generator writes events in the
 * apiserver's shape (Metadata level for the high-volume traffic, as audit
 * policies recommend, Request/RequestResponse bodies for writes of pods and
 * RBAC), and mixes in `attackShare` of the real Falco suite traces given as
 * seeds. Addresses are loopback only.
 */

export interface MixOptions {
  /** Fraction of events taken from `seeds` (the suite's attack and change traces). */
  readonly attackShare: number;
  readonly nodes: number;
}

const UUID_TAIL = '-4000-8000-000000000000';

function id(n: number, prefix: string): string {
  return `${prefix}${String(n).padStart(8, '0').slice(-8)}-0000${UUID_TAIL}`.slice(0, 36);
}

function ts(n: number): { requestReceivedTimestamp: string; stageTimestamp: string } {
  const base = Date.UTC(2026, 10, 28, 10, 0, 0) + n; // one event per ms
  const at = new Date(base).toISOString().replace('Z', '');
  return { requestReceivedTimestamp: `${at}100Z`, stageTimestamp: `${at}900Z` };
}

const ALLOW = { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': 'RBAC: allowed by ClusterRoleBinding "system:node" of ClusterRole "system:node"' };

type Template = (n: number, node: string) => Record<string, unknown>;

const TEMPLATES: readonly [number, Template][] = [
  // Node heartbeats: kubelet lease renewal every 10 s per node.
  [30, (n, node) => ({
    level: 'Metadata', verb: 'update', requestURI: `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${node}?timeout=10s`,
    user: { username: `system:node:${node}`, groups: ['system:nodes', 'system:authenticated'] },
    userAgent: 'kubelet/v1.30.2 (linux/amd64) kubernetes/3968350',
    objectRef: { resource: 'leases', namespace: 'kube-node-lease', name: node, apiGroup: 'coordination.k8s.io', apiVersion: 'v1' },
    responseStatus: { metadata: {}, code: 200 },
  })],
  // Leader election of the controller manager and the scheduler.
  [10, (n) => {
    const who = n % 2 ? 'kube-scheduler' : 'kube-controller-manager';
    return {
      level: 'Metadata', verb: n % 4 < 2 ? 'get' : 'update', requestURI: `/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/${who}?timeout=5s`,
      user: { username: `system:${who}`, groups: ['system:authenticated'] },
      userAgent: `${who}/v1.30.2 (linux/amd64) kubernetes/3968350/leader-election`,
      objectRef: { resource: 'leases', namespace: 'kube-system', name: who, apiGroup: 'coordination.k8s.io', apiVersion: 'v1' },
      responseStatus: { metadata: {}, code: 200 },
    };
  }],
  // Node status patches.
  [12, (n, node) => ({
    level: 'Metadata', verb: 'patch', requestURI: `/api/v1/nodes/${node}/status?timeout=10s`,
    user: { username: `system:node:${node}`, groups: ['system:nodes', 'system:authenticated'] },
    userAgent: 'kubelet/v1.30.2 (linux/amd64) kubernetes/3968350',
    objectRef: { resource: 'nodes', name: node, apiVersion: 'v1', subresource: 'status' },
    responseStatus: { metadata: {}, code: 200 },
  })],
  // Controllers reading and watching.
  [18, (n) => {
    const resources = ['pods', 'endpoints', 'configmaps', 'services', 'replicasets', 'deployments', 'secrets'];
    const resource = resources[n % resources.length]!;
    const apps = resource === 'replicasets' || resource === 'deployments';
    const verb = ['get', 'list', 'watch'][n % 3]!;
    return {
      level: 'Metadata', verb, requestURI: `/${apps ? 'apis/apps/v1' : 'api/v1'}/namespaces/shop/${resource}${verb === 'get' ? '/web-' + (n % 40) : verb === 'watch' ? '?watch=true&resourceVersion=' + (1000 + n) : ''}`,
      user: { username: 'system:serviceaccount:kube-system:replicaset-controller', groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'] },
      userAgent: 'kube-controller-manager/v1.30.2 (linux/amd64) kubernetes/3968350/system:serviceaccount:kube-system:replicaset-controller',
      objectRef: { resource, namespace: 'shop', ...(verb === 'get' ? { name: `web-${n % 40}` } : {}), ...(apps ? { apiGroup: 'apps' } : {}), apiVersion: 'v1' },
      responseStatus: { metadata: {}, code: 200 },
    };
  }],
  // Endpoint slices and pod status updates.
  [12, (n, node) => ({
    level: 'Metadata', verb: n % 2 ? 'update' : 'patch',
    requestURI: n % 2 ? `/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices/web-${n % 20}` : `/api/v1/namespaces/shop/pods/web-${n % 40}/status`,
    user: n % 2 ? { username: 'system:serviceaccount:kube-system:endpointslice-controller', groups: ['system:serviceaccounts', 'system:authenticated'] }
      : { username: `system:node:${node}`, groups: ['system:nodes', 'system:authenticated'] },
    userAgent: n % 2 ? 'kube-controller-manager/v1.30.2 (linux/amd64) kubernetes/3968350' : 'kubelet/v1.30.2 (linux/amd64) kubernetes/3968350',
    objectRef: n % 2 ? { resource: 'endpointslices', namespace: 'shop', name: `web-${n % 20}`, apiGroup: 'discovery.k8s.io', apiVersion: 'v1' }
      : { resource: 'pods', namespace: 'shop', name: `web-${n % 40}`, apiVersion: 'v1', subresource: 'status' },
    responseStatus: { metadata: {}, code: 200 },
  })],
  // Kubernetes events written by kubelets and controllers.
  [13, (n, node) => ({
    level: 'Metadata', verb: 'create', requestURI: '/api/v1/namespaces/shop/events',
    user: { username: `system:node:${node}`, groups: ['system:nodes', 'system:authenticated'] },
    userAgent: 'kubelet/v1.30.2 (linux/amd64) kubernetes/3968350',
    objectRef: { resource: 'events', namespace: 'shop', name: `web-${n % 40}.17f${n.toString(16)}`, apiVersion: 'v1' },
    responseStatus: { metadata: {}, code: 201 },
  })],
  // A CI pipeline applying a deployment (Request level: the body is logged).
  [5, (n) => ({
    level: 'RequestResponse', verb: 'patch', requestURI: '/apis/apps/v1/namespaces/shop/deployments/web?fieldManager=kubectl-client-side-apply',
    user: { username: 'system:serviceaccount:ci:deployer', groups: ['system:serviceaccounts', 'system:serviceaccounts:ci', 'system:authenticated'] },
    userAgent: 'kubectl/v1.30.2 (linux/amd64) kubernetes/3968350',
    objectRef: { resource: 'deployments', namespace: 'shop', name: 'web', apiGroup: 'apps', apiVersion: 'v1' },
    requestObject: { metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' } }, spec: { template: { spec: { containers: [{ name: 'web', image: `registry.example/shop/web:1.${n % 50}` }] } } } },
    responseStatus: { metadata: {}, code: 200 },
  })],
];

const TOTAL_WEIGHT = TEMPLATES.reduce((s, [w]) => s + w, 0);

/** The nth event of the mix, as a JSON-ready object. */
export function clusterEvent(n: number, seeds: readonly Record<string, unknown>[], options: MixOptions): Record<string, unknown> {
  const base = { kind: 'Event', apiVersion: 'audit.k8s.io/v1', auditID: id(n, 'c'), stage: 'ResponseComplete', sourceIPs: ['127.0.0.1'], ...ts(n) };
  // Spread the attack share evenly rather than in bursts.
  const attackEvery = options.attackShare > 0 ? Math.round(1 / options.attackShare) : 0;
  if (attackEvery && n % attackEvery === 0 && seeds.length) {
    const e = structuredClone(seeds[(n / attackEvery) % seeds.length]!) as Record<string, unknown>;
    return { ...e, auditID: id(n, 'a'), ...ts(n) };
  }
  let pick = (n * 2654435761) % TOTAL_WEIGHT;
  const node = `node-${n % options.nodes}`;
  for (const [w, make] of TEMPLATES) {
    if (pick < w) return { ...base, annotations: ALLOW, ...make(n, node) };
    pick -= w;
  }
  return { ...base, ...TEMPLATES[0]![1](n, node) };
}
