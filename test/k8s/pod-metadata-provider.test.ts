/**
 * From Pod objects to `container.*` / `k8s.*` metadata: reading the API's
 * pods (pod-model.ts) with containerd, cri-o, init, ephemeral, privileged
 * and hostPath fixtures; the cache (pod-cache.ts: restarts, deletion grace,
 * relist); the provider's lookups by container id and by pod UID, cached
 * per identity; bounds on attacker-controlled input.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PodCache } from '../../src/k8s/pod-cache.js';
import { KubernetesMetadataProvider, LayeredMetadataProvider } from '../../src/k8s/pod-metadata-provider.js';
import { MAX_LABELS, parseContainerId, readPod } from '../../src/k8s/pod-model.js';
import { identityFromCgroupPath, type ContainerIdentity } from '../../src/syscall/state/containers.js';
import { StaticMetadataProvider } from '../../src/syscall/state/metadata.js';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const fixture = (name: string): Record<string, any> => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8'));
const WEB = fixture('pod-web-containerd.json');
const DEBUG = fixture('pod-debug-crio.json');
const PRIV = fixture('pod-privileged-hostpath.json');

const NGINX_ID = '4be8c37efe7e11223344556677889900aabbccddeeff0011223344556677889a';
const NGINX_OLD_ID = '3ad7b26ded6d00112233445566778899aabbccddeeff00112233445566778899';
const MIGRATE_ID = '1f0e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0';
const API_ID = '5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d';
const DEBUGGER_ID = '6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e';
const PRIV_ID = '7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f';

/** The identity the cgroup parser gives a container of a pod (systemd driver, containerd). */
function identity(podUid: string, fullId: string, prefix = 'cri-containerd'): ContainerIdentity {
  const slice = `kubepods-besteffort-pod${podUid.replace(/-/g, '_')}.slice`;
  return identityFromCgroupPath(`/kubepods.slice/kubepods-besteffort.slice/${slice}/${prefix}-${fullId}.scope`)!;
}

function setup(now = { t: 1_000_000 }) {
  const cache = new PodCache({ graceMs: 60_000, now: () => now.t });
  for (const p of [WEB, DEBUG, PRIV]) cache.upsert(readPod(p)!);
  return { cache, provider: new KubernetesMetadataProvider(cache), now };
}

describe('readPod', () => {
  it('reads the containerd pod: init container, restarted container, resolved images, pod fields', () => {
    const pod = readPod(WEB)!;
    assert.equal(pod.name, 'web-7c9d8f6b5-x2lqp');
    assert.equal(pod.namespace, 'shop');
    assert.equal(pod.uid, '6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d');
    assert.equal(pod.serviceAccount, 'web');
    assert.equal(pod.node, 'node-a');
    assert.equal(pod.ip, '10.244.1.23');
    assert.deepEqual({ ...pod.labels }, { 'app.kubernetes.io/name': 'web', 'pod-template-hash': '7c9d8f6b5', tier: 'frontend' });
    assert.deepEqual(pod.containers.map((c) => [c.kind, c.name, c.runtime, c.fullId?.slice(0, 12)]), [
      ['init', 'migrate', 'containerd', MIGRATE_ID.slice(0, 12)],
      ['container', 'nginx', 'containerd', NGINX_ID.slice(0, 12)],
      ['container', 'metrics', 'containerd', '2a3b4c5d6e7f'],
    ]);
    const nginx = pod.containers[1]!;
    assert.equal(nginx.image, 'docker.io/library/nginx:1.25.4', "the status's resolved image, not the spec's nginx:1.25.4");
    assert.deepEqual(nginx.previousIds, [NGINX_OLD_ID], 'the id before the OOM kill');
    assert.equal(nginx.startTs, BigInt(Date.parse('2024-05-14T09:33:39Z')) * 1_000_000n);
    assert.equal(nginx.privileged, false);
    assert.deepEqual(nginx.mounts.map((m) => [m.source, m.dest, m.rw]), [
      [`/var/lib/kubelet/pods/${pod.uid}/volumes/kubernetes.io~empty-dir/cache`, '/var/cache/nginx', true],
      [`/var/lib/kubelet/pods/${pod.uid}/volumes/kubernetes.io~configmap/config`, '/etc/nginx/conf.d', false],
      [`/var/lib/kubelet/pods/${pod.uid}/volumes/kubernetes.io~projected/kube-api-access-8xk2p`, '/var/run/secrets/kubernetes.io/serviceaccount', false],
    ]);
  });

  it('reads the cri-o pod with its ephemeral debug container and a PVC subPath mount', () => {
    const pod = readPod(DEBUG)!;
    const [api, dbg] = pod.containers;
    assert.equal(api!.runtime, 'cri-o');
    assert.equal(api!.fullId, API_ID);
    assert.deepEqual(api!.mounts[0], { source: 'persistentVolumeClaim:data', dest: '/data', rw: true, propagation: 'rprivate' },
      "a PVC's node path is not in the pod: the source says what it is");
    assert.equal(dbg!.kind, 'ephemeral');
    assert.equal(dbg!.name, 'debugger-7rwqk');
    assert.equal(dbg!.fullId, DEBUGGER_ID);
    assert.equal(dbg!.image, 'docker.io/library/busybox:1.36');
  });

  it('reads the privileged pod: privileged, hostPath sources with subPath, propagation, host namespaces', () => {
    const pod = readPod(PRIV)!;
    assert.equal(pod.hostNetwork, true);
    assert.equal(pod.hostPid, true);
    assert.equal(pod.hostIpc, true);
    const c = pod.containers[0]!;
    assert.equal(c.privileged, true);
    assert.deepEqual(c.mounts.map((m) => ({ ...m })), [
      { source: '/', dest: '/host', rw: true, propagation: 'rslave' },
      { source: '/var/run/containerd/containerd.sock', dest: '/run/containerd', rw: true, propagation: 'rprivate' },
      { source: '/etc', dest: '/host-etc', rw: false, propagation: 'rprivate' },
    ]);
  });

  it('parses container ids of the three runtimes the kubelet reports, and nothing else', () => {
    assert.deepEqual(parseContainerId(`containerd://${NGINX_ID}`), { runtime: 'containerd', fullId: NGINX_ID });
    assert.deepEqual(parseContainerId(`cri-o://${API_ID.toUpperCase()}`), { runtime: 'cri-o', fullId: API_ID });
    assert.deepEqual(parseContainerId(`docker://${PRIV_ID}`), { runtime: 'docker', fullId: PRIV_ID });
    for (const bad of ['', 'containerd://abc', `rkt://${NGINX_ID}`, NGINX_ID, `containerd://${NGINX_ID}x`, 42, null]) {
      assert.equal(parseContainerId(bad), undefined, String(bad));
    }
  });

  it('a pod still pending (no status ids yet) has its containers from the spec', () => {
    const pending = structuredClone(WEB);
    pending.status = { phase: 'Pending' };
    const pod = readPod(pending)!;
    assert.deepEqual(pod.containers.map((c) => [c.name, c.fullId, c.image]), [
      ['migrate', undefined, 'registry.example.com:5000/shop/migrate:2.3.1'],
      ['nginx', undefined, 'nginx:1.25.4'],
      ['metrics', undefined, 'nginx/nginx-prometheus-exporter:1.1.0'],
    ]);
  });

  it('bounds attacker-controlled input and never trusts types', () => {
    const p = structuredClone(WEB);
    // As JSON.parse gives it: "__proto__" is an own key like any other.
    p.metadata.labels = Object.fromEntries([['__proto__', 'x'], ...Array.from({ length: 1000 }, (_, i) => [`k${i}`, 'v'])]);
    p.metadata.labels.big = 'v'.repeat(100_000);
    p.metadata.name = 'n'.repeat(100_000);
    p.spec.containers[0].volumeMounts = 'not a list';
    p.status.containerStatuses[0].containerID = { evil: true };
    const pod = readPod(p)!;
    assert.equal(Object.keys(pod.labels).length, MAX_LABELS);
    assert.equal(pod.truncated, true);
    assert.ok(pod.name.length <= 4096);
    assert.equal(Object.getPrototypeOf(pod.labels), null);
    assert.equal(pod.labels['__proto__'], 'x', 'a label named __proto__ is only a label');
    assert.deepEqual(pod.containers.find((c) => c.name === 'nginx')!.mounts, []);
    for (const junk of [null, 42, 'pod', [], {}, { metadata: { name: 'x' } }]) assert.equal(readPod(junk), undefined);
  });
});

describe('KubernetesMetadataProvider', () => {
  it('maps a container id to its container and pod, as Falco fields need them', () => {
    const { provider } = setup();
    const m = provider.lookup(identity(WEB.metadata.uid, NGINX_ID))!;
    assert.equal(m.id, NGINX_ID.slice(0, 12));
    assert.equal(m.fullId, NGINX_ID);
    assert.equal(m.type, 'containerd');
    assert.equal(m.name, 'nginx');
    assert.equal(m.image, 'docker.io/library/nginx:1.25.4');
    assert.equal(m.imageRepository, 'docker.io/library/nginx');
    assert.equal(m.imageTag, '1.25.4');
    assert.equal(m.imageDigest, 'sha256:cc33dd44ee55ff6600112233445566778899aabbccddeeff0011223344aabb00', 'from the imageID');
    assert.equal(m.imageId, 'docker.io/library/nginx@sha256:cc33dd44ee55ff6600112233445566778899aabbccddeeff0011223344aabb00');
    assert.equal(m.privileged, false);
    assert.equal(m.ip, '10.244.1.23');
    assert.equal(m.labels?.['io.kubernetes.pod.name'], 'web-7c9d8f6b5-x2lqp');
    assert.equal(m.pod?.name, 'web-7c9d8f6b5-x2lqp');
    assert.equal(m.pod?.namespace, 'shop');
    assert.equal(m.pod?.uid, WEB.metadata.uid);
    assert.equal(m.pod?.labels?.tier, 'frontend');
    assert.equal((m.pod as { serviceAccount?: string }).serviceAccount, 'web', 'the service account, for correlation');
  });

  it('cri-o, ephemeral and privileged containers', () => {
    const { provider } = setup();
    assert.equal(provider.lookup(identity(DEBUG.metadata.uid, API_ID, 'crio'))?.type, 'cri-o');
    const dbg = provider.lookup(identity(DEBUG.metadata.uid, DEBUGGER_ID, 'crio'))!;
    assert.equal(dbg.name, 'debugger-7rwqk');
    assert.equal(dbg.pod?.name, 'api-0');
    const priv = provider.lookup(identity(PRIV.metadata.uid, PRIV_ID))!;
    assert.equal(priv.privileged, true);
    assert.ok(priv.mounts?.some((m) => m.source === '/' && m.dest === '/host'));
  });

  it("a cgroupfs identity (runtime 'cri') gets the runtime from the status", () => {
    const { provider } = setup();
    const id = identityFromCgroupPath(`/kubepods/besteffort/pod${WEB.metadata.uid}/${NGINX_ID}`)!;
    assert.equal(id.runtime, 'cri');
    assert.equal(provider.lookup(id)?.type, 'containerd');
  });

  it("a container whose id is not in the status yet: the pod, and the container when it is the pod's only unreported one", () => {
    const { cache, provider } = setup();
    const unknownId = 'ab'.repeat(32);
    // The sandbox (pause) container, or any id the status does not list: the pod only.
    const sandbox = provider.lookup(identity(WEB.metadata.uid, unknownId))!;
    assert.equal(sandbox.pod?.name, 'web-7c9d8f6b5-x2lqp');
    assert.equal(sandbox.name, undefined);
    assert.equal(sandbox.fullId, unknownId);

    // A starting pod whose second container is not reported yet.
    const starting = structuredClone(WEB);
    starting.status.containerStatuses = starting.status.containerStatuses.filter((s: { name: string }) => s.name !== 'metrics');
    cache.upsert(readPod(starting)!);
    const m = provider.lookup(identity(WEB.metadata.uid, unknownId))!;
    assert.equal(m.name, 'metrics', 'the one container without an id');
    assert.equal(m.pod?.namespace, 'shop');
    assert.equal(provider.lookupByPodAndName(WEB.metadata.uid, 'nginx')?.fullId, NGINX_ID);
  });

  it('several containers without an id: the runtime\'s name for this id picks one, with the API\'s metadata', () => {
    const { cache } = setup();
    const startingId = 'cd'.repeat(32);
    // Both app containers starting: the API cannot tell which one this id is.
    const starting = structuredClone(WEB);
    starting.status.containerStatuses = [];
    cache.upsert(readPod(starting)!);
    assert.equal(new KubernetesMetadataProvider(cache).lookup(identity(WEB.metadata.uid, startingId))?.name, undefined);
    // The CRI (here a metadata file standing in for it) names the container: the API's record of it answers.
    const runtime = StaticMetadataProvider.fromObject([{ id: startingId.slice(0, 12), name: 'metrics' }]);
    const m = new KubernetesMetadataProvider(cache, runtime).lookup(identity(WEB.metadata.uid, startingId))!;
    assert.equal(m.name, 'metrics');
    assert.equal(m.fullId, startingId);
    assert.equal(m.pod?.name, 'web-7c9d8f6b5-x2lqp');
    assert.equal(m.labels?.['io.kubernetes.pod.namespace'], 'shop', 'the API\'s labels, not the file\'s');
    // A name the pod does not have: the pod only, as without a runtime.
    const other = StaticMetadataProvider.fromObject([{ id: startingId.slice(0, 12), name: 'not-in-this-pod' }]);
    const o = new KubernetesMetadataProvider(cache, other).lookup(identity(WEB.metadata.uid, startingId))!;
    assert.equal(o.name, undefined);
    assert.equal(o.pod?.name, 'web-7c9d8f6b5-x2lqp');
  });

  it('a restarted container: the old id still resolves to it for the grace period', () => {
    const { cache, provider, now } = setup();
    const old = identity(WEB.metadata.uid, NGINX_OLD_ID);
    assert.equal(provider.lookup(old)?.name, 'nginx');
    now.t += 61_000;
    cache.sweep();
    assert.equal(provider.lookup(old)?.name, undefined, 'after the grace period: the pod (by UID), no container');
    assert.equal(provider.lookup(old)?.pod?.name, 'web-7c9d8f6b5-x2lqp');
  });

  it('a deleted pod resolves for the grace period, then not at all', () => {
    const { cache, provider, now } = setup();
    const id = identity(PRIV.metadata.uid, PRIV_ID);
    cache.remove(PRIV.metadata.uid);
    assert.equal(provider.lookup(id)?.pod?.name, 'node-debugger-node-a-9h2kd', 'its last events keep their pod');
    now.t += 59_000;
    cache.sweep();
    assert.ok(provider.lookup(id));
    now.t += 2_000;
    cache.sweep();
    assert.equal(provider.lookup(id), undefined);
    assert.equal(cache.heldPods, 2);
  });

  it('a relist deletes (with grace) the pods it no longer has', () => {
    const { cache } = setup();
    cache.replaceAll([readPod(WEB)!]);
    assert.equal(cache.size, 1);
    assert.ok(cache.isDeleted(DEBUG.metadata.uid));
    assert.ok(cache.byContainerId(API_ID), 'still resolvable during the grace period');
  });

  it('lookups are cached per identity, allocation-free on a hit, and refreshed when the pods change', () => {
    const { cache, provider } = setup();
    const id = identity(WEB.metadata.uid, NGINX_ID);
    const a = provider.lookup(id);
    assert.equal(provider.lookup(id), a, 'the same object');
    const changed = structuredClone(WEB);
    changed.metadata.labels.tier = 'edge';
    cache.upsert(readPod(changed)!);
    const b = provider.lookup(id)!;
    assert.notEqual(b, a);
    assert.equal(b.pod?.labels?.tier, 'edge');
    assert.equal(provider.lookup({ id: 'host', runtime: 'host' }), undefined);
  });

  it('unknown containers fall through to the fallback; a static file layered first wins', () => {
    const { cache } = setup();
    const outside = identityFromCgroupPath(`/system.slice/docker-${'cd'.repeat(32)}.scope`)!;
    const file = StaticMetadataProvider.fromObject([
      { id: 'cdcdcdcdcdcd', name: 'from-file' },
      { id: NGINX_ID.slice(0, 12), name: 'file-override' },
    ]);
    const api = new KubernetesMetadataProvider(cache, file);
    assert.equal(api.lookup(outside)?.name, 'from-file', 'fallback when the API does not know it');
    assert.equal(api.lookup(identity(WEB.metadata.uid, NGINX_ID))?.name, 'nginx', 'the API first');
    const layered = new LayeredMetadataProvider([file, new KubernetesMetadataProvider(cache)]);
    assert.equal(layered.lookup(identity(WEB.metadata.uid, NGINX_ID))?.name, 'file-override');
    assert.equal(layered.lookup(identity(DEBUG.metadata.uid, API_ID, 'crio'))?.name, 'api');
  });

  it('the cache refuses pods past its bound', () => {
    const cache = new PodCache({ graceMs: 1000, maxPods: 2 });
    assert.equal(cache.upsert(readPod(WEB)!), true);
    assert.equal(cache.upsert(readPod(DEBUG)!), true);
    assert.equal(cache.upsert(readPod(PRIV)!), false);
    assert.equal(cache.refused, 1);
    assert.equal(cache.upsert(readPod(WEB)!), true, 'an update of a held pod is not refused');
  });
});
