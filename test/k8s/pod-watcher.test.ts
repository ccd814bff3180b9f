/**
 * The pod watcher (src/k8s/pod-watcher.ts) on @kubernetes/client-node
 * against a loopback server that speaks the apiserver's list/watch protocol
 * (fake-apiserver.ts) with pods in the real API's shape (fixtures/): the
 * first list, ADDED/MODIFIED/DELETED, re-watch from the last resourceVersion
 * when the server ends the stream, 410 Gone (ERROR event and HTTP) → relist,
 * an API that is down → backoff and recovery, the field selector and the
 * kubeconfig's bearer token on every request.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { loadKubeConfig } from '../../src/k8s/config.js';
import { PodCache } from '../../src/k8s/pod-cache.js';
import { PodWatcher, type RelistReason, type WatchEndReason } from '../../src/k8s/pod-watcher.js';
import { FakeApiServer, testPki } from './fake-apiserver.js';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const fixture = (name: string): Record<string, any> => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8'));
const WEB = fixture('pod-web-containerd.json');
const DEBUG = fixture('pod-debug-crio.json');
const PRIV = fixture('pod-privileged-hostpath.json');
const OTHER = fixture('pod-other-node.json');
const TOKEN = 'eyJhbGciOiJSUzI1NiIsImtpZCI6InRlc3QifQ.test-token';

const dir = mkdtempSync(join(tmpdir(), 'tiercel-k8s-'));
function kubeconfigFor(url: string): string {
  const p = join(dir, `kubeconfig-${Math.random().toString(36).slice(2)}`);
  writeFileSync(p, [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: fake`,
    `  cluster: {server: "${url}", certificate-authority: "${testPki().caFile}"}`,
    'users:',
    `- name: agent`,
    `  user: {token: "${TOKEN}"}`,
    'contexts:',
    '- name: fake',
    '  context: {cluster: fake, user: agent}',
    'current-context: fake',
    '',
  ].join('\n'));
  return p;
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('PodWatcher against a list/watch server', () => {
  let server: FakeApiServer;
  let cache: PodCache;
  let watcher: PodWatcher;
  let relists: RelistReason[];
  let watchEnds: WatchEndReason[];
  let errors: Array<{ phase: string; retryInMs: number; message: string }>;

  const startWatcher = (overrides: Partial<ConstructorParameters<typeof PodWatcher>[0]> = {}): PodWatcher => {
    const kubeConfig = loadKubeConfig({ kubeconfig: kubeconfigFor(server.url) });
    watcher = new PodWatcher({
      kubeConfig,
      nodeName: 'node-a',
      cache,
      backoff: { initialMs: 20, maxMs: 160 },
      hooks: {
        onRelist: (r) => void relists.push(r),
        onWatchEnd: (r) => void watchEnds.push(r),
        onError: (e, phase, retryInMs) => void errors.push({ phase, retryInMs, message: e.message }),
      },
      ...overrides,
    });
    watcher.start();
    return watcher;
  };

  beforeEach(async () => {
    server = new FakeApiServer();
    await server.start();
    cache = new PodCache({ graceMs: 60_000 });
    relists = [];
    watchEnds = [];
    errors = [];
  });

  afterEach(async () => {
    await watcher?.stop();
    await server.close();
  });

  const watchRequests = () => server.requests.filter((r) => r.url.searchParams.get('watch') === 'true');
  const listRequests = () => server.requests.filter((r) => r.url.searchParams.get('watch') !== 'true');

  it('lists the pods of its node first, with the field selector and the bearer token', async () => {
    server.seed(WEB, DEBUG, OTHER);
    startWatcher();
    assert.equal(await watcher.waitForSync(5000), true);
    await waitFor('a watch', () => server.openWatches === 1);

    assert.deepEqual(cache.allPods().map((p) => p.name).sort(), ['api-0', 'web-7c9d8f6b5-x2lqp']);
    assert.equal(watcher.resourceVersion, server.resourceVersion, "the list's resourceVersion");
    assert.deepEqual(relists, ['start']);

    const list = listRequests()[0]!;
    assert.equal(list.url.searchParams.get('fieldSelector'), 'spec.nodeName=node-a');
    assert.equal(list.url.searchParams.get('resourceVersion'), '0', 'the first list is served from the watch cache');
    const watch = watchRequests()[0]!;
    assert.equal(watch.url.searchParams.get('fieldSelector'), 'spec.nodeName=node-a');
    assert.equal(watch.url.searchParams.get('resourceVersion'), server.resourceVersion, 'the watch starts at the list');
    assert.equal(watch.url.searchParams.get('allowWatchBookmarks'), 'true');
    assert.ok(Number(watch.url.searchParams.get('timeoutSeconds')) >= 300, 'a server-side watch timeout');
    for (const r of server.requests) assert.equal(r.headers.authorization, `Bearer ${TOKEN}`, r.url.href);
  });

  it('applies ADDED, MODIFIED, DELETED and BOOKMARK events, following the resourceVersion', async () => {
    server.seed(WEB);
    startWatcher();
    await watcher.waitForSync(5000);
    await waitFor('a watch', () => server.openWatches === 1);

    const rvAdd = server.add(PRIV);
    await waitFor('ADDED', () => cache.byPodUid(PRIV.metadata.uid) !== undefined);
    assert.equal(watcher.resourceVersion, rvAdd);
    assert.equal(cache.byContainerId('7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f')?.container.privileged, true);

    // The debug pod arrives without its ephemeral container, which `kubectl debug` adds later.
    const before = structuredClone(DEBUG);
    delete before.spec.ephemeralContainers;
    delete before.status.ephemeralContainerStatuses;
    server.add(before);
    await waitFor('ADDED api-0', () => cache.byPodUid(DEBUG.metadata.uid) !== undefined);
    const ephemeralId = '6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e';
    assert.equal(cache.byContainerId(ephemeralId), undefined);
    const rvMod = server.modify(DEBUG);
    await waitFor('MODIFIED', () => cache.byContainerId(ephemeralId) !== undefined);
    assert.equal(cache.byContainerId(ephemeralId)!.container.kind, 'ephemeral');
    assert.equal(watcher.resourceVersion, rvMod);

    const rvDel = server.delete(WEB.metadata.uid);
    await waitFor('DELETED', () => cache.isDeleted(WEB.metadata.uid));
    assert.equal(watcher.resourceVersion, rvDel);
    assert.ok(cache.byPodUid(WEB.metadata.uid), 'a deleted pod stays for its grace period');
    assert.equal(cache.size, 2);

    server.seed(OTHER); // moves the RV on without an event
    server.bookmark();
    await waitFor('BOOKMARK', () => watcher.resourceVersion === server.resourceVersion);
    assert.deepEqual(relists, ['start'], 'no relist: one watch did it all');
  });

  it('re-watches from the last resourceVersion when the server ends the stream, and misses nothing', async () => {
    server.seed(WEB);
    startWatcher();
    await watcher.waitForSync(5000);
    await waitFor('a watch', () => server.openWatches === 1);
    server.add(DEBUG);
    await waitFor('ADDED', () => cache.byPodUid(DEBUG.metadata.uid) !== undefined);
    const rv = watcher.resourceVersion;

    // Cut the watch, change something while no watch is open: the next watch replays it from rv.
    server.endWatches();
    server.add(PRIV);
    await waitFor('the change made between watches', () => cache.byPodUid(PRIV.metadata.uid) !== undefined);
    const watches = watchRequests();
    assert.equal(watches.length, 2);
    assert.equal(watches[1]!.url.searchParams.get('resourceVersion'), rv);
    assert.deepEqual(relists, ['start'], 'a watch restart is not a relist');
    assert.ok(watchEnds.includes('closed'));
  });

  it('an ERROR event with code 410 (too old resource version) makes it list again', async () => {
    server.seed(WEB, DEBUG);
    startWatcher();
    await watcher.waitForSync(5000);
    await waitFor('a watch', () => server.openWatches === 1);

    // History compacted and changed while cut off: the old RV is gone.
    server.endWatches();
    server.delete(DEBUG.metadata.uid);
    server.compact();
    await waitFor('relist after 410', () => relists.length === 2);
    assert.deepEqual(relists, ['start', 'gone']);
    assert.ok(watchEnds.includes('gone'));
    const lists = listRequests();
    assert.equal(lists[1]!.url.searchParams.get('resourceVersion'), null, 'after 410, the latest (a quorum read), not the cache');
    assert.ok(cache.isDeleted(DEBUG.metadata.uid), 'the pod missing from the relist is deleted (with grace)');
    assert.ok(!cache.isDeleted(WEB.metadata.uid));
    await waitFor('a new watch', () => server.openWatches === 1);
    assert.equal(watchRequests().at(-1)!.url.searchParams.get('resourceVersion'), server.resourceVersion);
    assert.equal(errors.length, 0, '410 is not an error');
  });

  it('an ERROR 410 on an open watch, and an HTTP 410 answer, both relist', async () => {
    server.seed(WEB);
    startWatcher();
    await watcher.waitForSync(5000);
    await waitFor('a watch', () => server.openWatches === 1);
    server.expireWatches();
    await waitFor('relist after the ERROR event', () => relists.length === 2);

    await waitFor('a watch', () => server.openWatches === 1);
    server.watchFailures.push(410);
    server.endWatches();
    await waitFor('relist after HTTP 410', () => relists.length === 3);
    assert.deepEqual(relists, ['start', 'gone', 'gone']);
    assert.equal(watcher.stats.gone, 2);
  });

  it('retries with a growing, bounded backoff while the API is down, and recovers', async () => {
    server.seed(WEB);
    startWatcher();
    await watcher.waitForSync(5000);
    await waitFor('a watch', () => server.openWatches === 1);
    const rv = watcher.resourceVersion;

    await server.down();
    await waitFor('several failed retries', () => errors.length >= 4);
    const delays = errors.map((e) => e.retryInMs);
    for (const d of delays) assert.ok(d >= 10 && d <= 160, `delay ${d} within [initial/2, max]`);
    assert.ok(delays[3]! >= delays[0]!, `delays grow: ${delays.join(', ')}`);
    assert.ok(errors.every((e) => e.phase === 'watch'), `a failed watch is retried as a watch: ${JSON.stringify(errors)}`);
    assert.match(errors.at(-1)!.message, /ECONNREFUSED/, 'connection refused while down');

    await server.up();
    await waitFor('a watch again', () => server.openWatches === 1, 5000);
    assert.equal(watchRequests().at(-1)!.url.searchParams.get('resourceVersion'), rv, 'resumes from where it was');
    server.add(PRIV);
    await waitFor('events after the outage', () => cache.byPodUid(PRIV.metadata.uid) !== undefined);
    assert.deepEqual(relists, ['start']);
  });

  it('a failing first list (403 until RBAC is applied, then 500) is retried until it succeeds', async () => {
    server.seed(WEB);
    server.listFailures.push(403, 500);
    startWatcher();
    assert.equal(await watcher.waitForSync(5000), true);
    assert.equal(errors.length, 2);
    assert.deepEqual(errors.map((e) => e.phase), ['list', 'list']);
    assert.match(errors[0]!.message, /HTTP 403/);
    assert.match(errors[1]!.message, /HTTP 500/);
    assert.equal(cache.size, 1);
  });

  it('a 500 on a watch is retried as a watch from the same resourceVersion', async () => {
    server.seed(WEB);
    startWatcher();
    await watcher.waitForSync(5000);
    await waitFor('a watch', () => server.openWatches === 1);
    const rv = watcher.resourceVersion;
    server.watchFailures.push(500);
    server.endWatches();
    await waitFor('the error', () => errors.length === 1);
    await waitFor('a watch again', () => server.openWatches === 1);
    assert.equal(watchRequests().at(-1)!.url.searchParams.get('resourceVersion'), rv);
    assert.deepEqual(relists, ['start']);
  });

  it('a watch silent for longer than the idle timeout is abandoned and restarted', async () => {
    server.seed(WEB);
    startWatcher({ idleTimeoutMs: 150 });
    await watcher.waitForSync(5000);
    await waitFor('idle restart', () => watchEnds.includes('idle'), 3000);
    await waitFor('a watch again', () => watchRequests().length >= 2);
  });

  it('the server-side watch timeout ends the stream and the watcher goes on', async () => {
    server.seed(WEB);
    startWatcher({ watchTimeoutSeconds: 1, random: () => 0 });
    await watcher.waitForSync(5000);
    await waitFor('two watches', () => watchRequests().length >= 2, 4000);
    assert.equal(watchRequests()[0]!.url.searchParams.get('timeoutSeconds'), '1');
  });

  it('stop() ends the watch and the loop', async () => {
    server.seed(WEB);
    startWatcher();
    await watcher.waitForSync(5000);
    await waitFor('a watch', () => server.openWatches === 1);
    await watcher.stop();
    await waitFor('the watch closed', () => server.openWatches === 0);
    const n = server.requests.length;
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(server.requests.length, n, 'no request after stop');
  });
});
