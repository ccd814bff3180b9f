/**
 * The pieces the agent uses: `agent.kubernetes` in tiercel.yaml (auto / true
 * / false, kubeconfig, node_name), the client configuration (kubeconfig or
 * in-cluster, node name from NODE_NAME), and createKubernetesMetadataProvider
 * end to end against the loopback list/watch server: a syscall identity gets
 * its pod once the list is in.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import pino from 'pino';
import { ConfigError } from '../../src/config/errors.js';
import { buildConfig } from '../../src/config/load.js';
import { createKubernetesMetadataProvider, KubernetesConfigError, loadKubeConfig, resolveNodeName } from '../../src/k8s/index.js';
import { identityFromCgroupPath } from '../../src/syscall/state/containers.js';
import { StaticMetadataProvider } from '../../src/syscall/state/metadata.js';
import { FakeApiServer, testPki } from './fake-apiserver.js';

const dir = mkdtempSync(join(tmpdir(), 'tiercel-k8s-index-'));
let n = 0;
const file = (text: string): string => {
  const p = join(dir, `f${n++}`);
  writeFileSync(p, text);
  return p;
};
const agentConfig = (text: string | undefined, env: NodeJS.ProcessEnv = {}) =>
  buildConfig({ env, defaultRulesSource: 'syscall', ...(text !== undefined ? { file: file(text) } : {}) });
const fixture = (name: string): Record<string, any> =>
  JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8'));

describe('agent.kubernetes', () => {
  it('auto: off outside a pod, on in one (KUBERNETES_SERVICE_HOST) or with a kubeconfig', () => {
    assert.equal(agentConfig(undefined).agent.kubernetes, undefined);
    assert.deepEqual(agentConfig(undefined, { KUBERNETES_SERVICE_HOST: '10.96.0.1' }).agent.kubernetes,
      { kubeconfig: undefined, nodeName: undefined, required: false });
    assert.deepEqual(agentConfig('agent: {kubernetes: {kubeconfig: /etc/kube/config}}').agent.kubernetes,
      { kubeconfig: '/etc/kube/config', nodeName: undefined, required: false });
  });

  it('true forces it (and makes failures fatal), false turns it off in a pod', () => {
    assert.deepEqual(agentConfig('agent: {kubernetes: {enabled: true, node_name: node-a}}').agent.kubernetes,
      { kubeconfig: undefined, nodeName: 'node-a', required: true });
    assert.equal(agentConfig('agent: {kubernetes: {enabled: false}}', { KUBERNETES_SERVICE_HOST: '10.96.0.1' }).agent.kubernetes, undefined);
    assert.equal(agentConfig('agent: {kubernetes: {enabled: auto}}').agent.kubernetes, undefined);
  });

  for (const [yaml, key, problem] of [
    ['agent: {kubernetes: {enabled: maybe}}', 'agent.kubernetes.enabled', /auto, true or false/],
    ['agent: {kubernetes: {node_name: "Node A"}}', 'agent.kubernetes.node_name', /node name/],
    ['agent: {kubernetes: {kubeconfig: [a]}}', 'agent.kubernetes.kubeconfig', /string/],
    ['agent: {kubernetes: {namespace: x}}', 'agent.kubernetes.namespace', /unknown key/],
    ['agent: {kubernetes: yes}', 'agent.kubernetes', /mapping/],
  ] as const) {
    it(`${yaml} → ${key}`, () => {
      assert.throws(() => agentConfig(yaml), (e: unknown) => e instanceof ConfigError && e.key === key && problem.test(e.message));
    });
  }
});

describe('client configuration', () => {
  it('node name: the option, else NODE_NAME, else the host name', () => {
    assert.equal(resolveNodeName({ nodeName: 'a', env: { NODE_NAME: 'b' } }), 'a');
    assert.equal(resolveNodeName({ env: { NODE_NAME: 'b' } }), 'b');
    assert.equal(resolveNodeName({ env: {} }), hostname());
  });

  it('says what is missing when there is no configuration', () => {
    assert.throws(() => loadKubeConfig({ env: {} }), (e: unknown) => e instanceof KubernetesConfigError && /no kubeconfig/.test(e.message));
    assert.throws(() => loadKubeConfig({ env: { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' } }),
      (e: unknown) => e instanceof KubernetesConfigError && /service account token/.test(e.message));
    assert.throws(() => loadKubeConfig({ kubeconfig: join(dir, 'missing') }), KubernetesConfigError);
    assert.throws(() => loadKubeConfig({ kubeconfig: file('apiVersion: v1\nkind: Config\n') }), /no current context/);
  });
});

describe('createKubernetesMetadataProvider', () => {
  it('watches the node, serves metadata to syscall identities, and stops', async () => {
    const server = new FakeApiServer();
    await server.start();
    const web = fixture('pod-web-containerd.json');
    server.seed(web, fixture('pod-other-node.json'));
    const kubeconfig = file([
      'apiVersion: v1', 'kind: Config',
      `clusters: [{name: c, cluster: {server: "${server.url}", certificate-authority: "${testPki().caFile}"}}]`,
      'users: [{name: u, user: {token: t0ken}}]',
      'contexts: [{name: c, context: {cluster: c, user: u}}]',
      'current-context: c', '',
    ].join('\n'));
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(s) });
    const file2 = StaticMetadataProvider.fromObject([{ id: '2a3b4c5d6e7f', name: 'from-file' }]);
    const k8s = await createKubernetesMetadataProvider({ kubeconfig, env: { NODE_NAME: 'node-a' }, override: file2 }, logger);
    try {
      assert.equal(k8s.watcher.synced, true, 'start waited for the first list');
      const id = identityFromCgroupPath(
        `/kubepods/burstable/pod${web.metadata.uid}/4be8c37efe7e11223344556677889900aabbccddeeff0011223344556677889a`)!;
      const m = k8s.provider.lookup(id)!;
      assert.equal(m.name, 'nginx');
      assert.equal(m.pod?.namespace, 'shop');
      const sidecar = identityFromCgroupPath(
        `/kubepods/burstable/pod${web.metadata.uid}/2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70819`)!;
      assert.equal(k8s.provider.lookup(sidecar)?.name, 'from-file', 'the metadata file wins over the API');
      assert.equal(k8s.cache.size, 1, 'only the pods of node-a');
      assert.ok(lines.some((l) => l.includes('pods of node node-a listed: 1')), lines.join(''));
      assert.equal(server.requests[0]!.headers.authorization, 'Bearer t0ken');
    } finally {
      await k8s.stop();
      await server.close();
    }
  });

  it('an unreachable API does not block start past the sync timeout', async () => {
    const server = new FakeApiServer();
    await server.start();
    await server.down(); // a port nobody listens on
    const kubeconfig = file([
      'apiVersion: v1', 'kind: Config',
      `clusters: [{name: c, cluster: {server: "${server.url}", certificate-authority: "${testPki().caFile}"}}]`,
      'users: [{name: u, user: {token: t}}]',
      'contexts: [{name: c, context: {cluster: c, user: u}}]',
      'current-context: c', '',
    ].join('\n'));
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(s) });
    const started = Date.now();
    const k8s = await createKubernetesMetadataProvider({ kubeconfig, nodeName: 'node-a', syncTimeoutMs: 300, backoff: { initialMs: 50, maxMs: 100 } }, logger);
    try {
      assert.ok(Date.now() - started < 3000);
      assert.equal(k8s.watcher.synced, false);
      assert.ok(lines.some((l) => l.includes('no pod list from the API within 300 ms')));
      assert.ok(lines.some((l) => l.includes('pod list failed, retrying')));
    } finally {
      await k8s.stop();
    }
  });
});
