/**
 * The CRI metadata provider against a real gRPC server on a unix socket
 * (fixtures/cri/fake-cri.ts: @grpc/grpc-js serving the same runtime-v1.proto
 * with containerd-shaped answers): the list fills the cache, a miss is
 * answered by ContainerStatus for the next lookup, unknown ids are
 * negative-cached, a runtime down at start or killed mid-run is retried
 * without a crash, a socket that is not a CRI runtime is reported by name,
 * and hostile answers are bounded.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { AgentMetrics } from '../../src/agent/metrics.js';
import { validateConfig } from '../../src/config/schema.js';
import { CriClient, type CriHooks, CriMetadataProvider, createCriMetadataProvider, protoPath, socketPaths } from '../../src/k8s/cri/index.js';
import { PodCache } from '../../src/k8s/pod-cache.js';
import { KubernetesMetadataProvider } from '../../src/k8s/pod-metadata-provider.js';
import { MAX_LABELS, MAX_STRING } from '../../src/k8s/pod-model.js';
import type { ContainerIdentity } from '../../src/syscall/state/containers.js';
import { ROOT } from '../helpers/cli.js';
import { FakeCri, fixture } from './fixtures/cri/fake-cri.js';

const containers = fixture('containerd-containers.json').containers as { id: string }[];
const statuses = fixture('containerd-status.json') as Record<string, unknown>;
const NGINX = containers[0]!.id;
const ENVOY = containers[1]!.id;
const OLD_NGINX = containers[2]!.id;
const LATE = Object.keys(statuses)[3]!;
const WEB_UID = '0f6a1b2c-3d4e-4f50-9a6b-7c8d9e0f1a2b';
const UNKNOWN = 'ab'.repeat(32);

const identity = (fullId: string, runtime: ContainerIdentity['runtime'] = 'containerd'): ContainerIdentity =>
  Object.freeze({ id: fullId.slice(0, 12), fullId, runtime });

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** Hooks that record what the provider reports. */
function recorder(): CriHooks & { events: string[]; errors: Map<string, number>; requests: Map<string, number> } {
  const events: string[] = [];
  const errors = new Map<string, number>();
  const requests = new Map<string, number>();
  return {
    events, errors, requests,
    onNoSocket: (c) => events.push(`no-socket ${c.join(',')}`),
    onConnected: (s, v) => events.push(`connected ${s} ${v.runtimeName}`),
    onConnectError: (s, e, ms, repeated) => events.push(`connect-error ${s} ${repeated ? 'again' : 'new'}: ${e.message}`),
    onDisconnected: (s, e) => events.push(`disconnected ${s}: ${e.message}`),
    onRequest: (m) => requests.set(m, (requests.get(m) ?? 0) + 1),
    onError: (m) => errors.set(m, (errors.get(m) ?? 0) + 1),
  };
}

const FAST = { refreshMs: 50, backoff: { initialMs: 20, maxMs: 80 }, timeoutMs: 1000 };

describe('CRI metadata provider', () => {
  let tmp = '';
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'tiercel-cri-'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));
  let n = 0;
  const sock = (): string => join(tmp, `cri-${n++}.sock`);

  it('the list fills the cache: names, pod, labels at once; the image by name once ContainerStatus answered', async () => {
    const cri = await new FakeCri(sock()).start();
    const hooks = recorder();
    const p = new CriMetadataProvider({ sockets: [cri.socket], ...FAST, hooks });
    try {
      p.start();
      assert.equal(await p.waitForSync(2000), true);
      assert.deepEqual(hooks.events, [`connected ${cri.socket} containerd`]);
      const listed = p.lookup(identity(NGINX, 'cri'));
      assert.ok(listed, 'known from the list');
      assert.equal(listed.name, 'nginx');
      assert.equal(listed.type, 'containerd', 'container.type from the runtime\'s name, not the cgroup\'s "cri"');
      assert.equal(listed.id, NGINX.slice(0, 12));
      assert.equal(listed.fullId, NGINX);
      assert.deepEqual(listed.pod, {
        name: 'web-1', namespace: 'prod', uid: WEB_UID, sandboxId: (fixture('containerd-pods.json').items as { id: string }[])[0]!.id,
        labels: { app: 'web', 'pod-template-hash': '5d8f7c9b6' },
      });
      assert.equal(listed.labels?.['io.kubernetes.container.name'], 'nginx');
      assert.equal(listed.startTs, 1718031201234567890n);
      // containerd's list names the image only by id.
      assert.equal(listed.image, undefined);
      assert.match(listed.imageId ?? '', /^sha256:[0-9a-f]{64}$/);
      // envoy's kubelet passed the name it was given (user_specified_image).
      assert.equal(p.lookup(identity(ENVOY))?.image, 'envoyproxy/envoy:v1.30.1');

      // ContainerStatus for each running container (not the exited one), in the background.
      await until('statuses', () => p.lookup(identity(NGINX))?.image !== undefined && p.lookup(identity(ENVOY))?.image?.startsWith('docker.io/') === true);
      const detailed = p.lookup(identity(NGINX))!;
      assert.equal(detailed.image, 'docker.io/library/nginx:1.25');
      assert.equal(detailed.imageRepository, 'docker.io/library/nginx');
      assert.equal(detailed.imageTag, '1.25');
      assert.match(detailed.imageDigest ?? '', /^sha256:[0-9a-f]{64}$/);
      assert.notEqual(detailed.imageDigest, detailed.imageId, 'the repository digest is not the image id');
      assert.equal(detailed.startTs, 1718031201456789012n, 'started_at');
      assert.equal(detailed.pod?.labels?.app, 'web', 'the pod\'s labels from its sandbox');
      assert.deepEqual(detailed.mounts?.map((m) => [m.dest, m.rw]), [
        ['/var/run/secrets/kubernetes.io/serviceaccount', false], ['/etc/hosts', true], ['/dev/termination-log', true],
      ]);
      assert.equal(p.lookup(identity(ENVOY))?.image, 'docker.io/envoyproxy/envoy:v1.30.1');
      assert.equal(cri.count(`ContainerStatus ${OLD_NGINX}`), 0, 'an exited container is not asked for');
      assert.equal(p.lookup(identity(OLD_NGINX))?.name, 'nginx', 'but is known from the list');
      // The pause container is its pod.
      const sandbox = (fixture('containerd-pods.json').items as { id: string }[])[0]!.id;
      assert.equal(p.lookup(identity(sandbox))?.pod?.name, 'web-1');
      assert.equal(p.lookup(identity(sandbox))?.name, undefined);

      // The host, podman containers and ids without a full id are not asked about.
      assert.equal(p.lookup({ id: 'host', runtime: 'host' }), undefined);
      assert.equal(p.lookup({ id: NGINX.slice(0, 12), runtime: 'docker' }), undefined);
      assert.equal(p.lookup(identity(UNKNOWN, 'podman')), undefined);
      await sleep(20);
      assert.equal(cri.count(`ContainerStatus ${UNKNOWN}`), 0);
    } finally {
      await p.stop();
      cri.stop();
    }
  });

  it('a miss asks ContainerStatus once (de-duplicated) and the next lookup has the answer', async () => {
    const cri = await new FakeCri(sock()).start();
    const p = new CriMetadataProvider({ sockets: [cri.socket], ...FAST, refreshMs: 60_000 });
    try {
      p.start();
      await p.waitForSync(2000);
      const late = identity(LATE, 'cri');
      const before = p.generation;
      for (let i = 0; i < 1000; i++) assert.equal(p.lookup(late), undefined, 'never waits for the runtime');
      await until('the status answer', () => p.lookup(late) !== undefined);
      assert.equal(cri.count(`ContainerStatus ${LATE}`), 1, 'one request for a thousand lookups');
      assert.ok(p.generation > before, 'the generation moved (callers caching answers ask again)');
      const m = p.lookup(late)!;
      assert.equal(m.name, 'debugger');
      assert.equal(m.image, 'docker.io/library/busybox:1.36');
      assert.equal(m.pod?.name, 'debug');
      assert.deepEqual(m.mounts, [{ source: '/', dest: '/host', rw: false, propagation: 'rslave' }]);
      assert.equal(p.lookup(late), m, 'the same frozen object on every hit');
    } finally {
      await p.stop();
      cri.stop();
    }
  });

  it('an id the runtime does not know: undefined, remembered for a while, then asked again', async () => {
    const cri = await new FakeCri(sock()).start();
    let now = 1_000_000;
    const p = new CriMetadataProvider({ sockets: [cri.socket], ...FAST, refreshMs: 60_000, negativeTtlMs: 30_000, now: () => now });
    try {
      p.start();
      await p.waitForSync(2000);
      const unknown = identity(UNKNOWN);
      assert.equal(p.lookup(unknown), undefined);
      await until('NOT_FOUND', () => cri.count(`ContainerStatus ${UNKNOWN}`) === 1);
      await sleep(30);
      for (let i = 0; i < 100; i++) assert.equal(p.lookup(unknown), undefined);
      await sleep(30);
      assert.equal(cri.count(`ContainerStatus ${UNKNOWN}`), 1, 'negative-cached');
      now += 30_001;
      assert.equal(p.lookup(unknown), undefined);
      await until('asked again after the TTL', () => cri.count(`ContainerStatus ${UNKNOWN}`) === 2);
    } finally {
      await p.stop();
      cri.stop();
    }
  });

  it('status requests are rate-limited and bounded in flight and in queue', async () => {
    const cri = await new FakeCri(sock()).start();
    cri.containers = [];
    const p = new CriMetadataProvider({
      sockets: [cri.socket], ...FAST, refreshMs: 60_000, statusRate: 20, statusBurst: 5, maxInFlight: 2, maxQueued: 50,
    });
    try {
      p.start();
      await p.waitForSync(2000);
      // A flood of distinct unknown ids (any process can name a cgroup like a container).
      for (let i = 0; i < 200; i++) p.lookup(identity(`c${i.toString(16).padStart(63, '0')}`));
      assert.equal(p.droppedRequests, 150, 'past the queue bound, dropped (asked again on a later event)');
      await sleep(200);
      const sent = cri.count('ContainerStatus');
      // 5 at once, then 20/s: about 9 in 200 ms, never the 50 queued.
      assert.ok(sent >= 5 && sent <= 12, `rate-limited: ${sent} requests in 200 ms`);
    } finally {
      await p.stop();
      cri.stop();
    }
  });

  it('removed containers stay for the grace period, then are evicted', async () => {
    const cri = await new FakeCri(sock()).start();
    let now = 1_000_000;
    const p = new CriMetadataProvider({ sockets: [cri.socket], ...FAST, refreshMs: 20, graceMs: 60_000, now: () => now });
    try {
      p.start();
      await p.waitForSync(2000);
      const size = p.size;
      cri.containers = cri.containers.filter((c) => c.id !== OLD_NGINX);
      const lists = cri.count('ListContainers');
      await until('two more lists', () => cri.count('ListContainers') >= lists + 2);
      assert.equal(p.lookup(identity(OLD_NGINX))?.name, 'nginx', 'still there within the grace period');
      now += 60_000;
      await until('evicted', () => p.size === size - 1);
      assert.equal(p.lookup(identity(OLD_NGINX)), undefined);
    } finally {
      await p.stop();
      cri.stop();
    }
  });

  it('the cache is bounded: past maxContainers the oldest is evicted', async () => {
    const cri = await new FakeCri(sock()).start();
    const template = cri.containers[2]!;
    cri.containers = Array.from({ length: 100 }, (_, i) => ({ ...template, id: `e${i.toString(16).padStart(63, '0')}` }));
    const p = new CriMetadataProvider({ sockets: [cri.socket], ...FAST, refreshMs: 60_000, maxContainers: 40 });
    try {
      p.start();
      await p.waitForSync(2000);
      assert.equal(p.size, 40);
    } finally {
      await p.stop();
      cri.stop();
    }
  });

  it('no socket: said once, not an error; the runtime appears later: connected', async () => {
    const path = sock();
    const hooks = recorder();
    const p = new CriMetadataProvider({ sockets: [path, join(tmp, 'never.sock')], ...FAST, hooks });
    let cri: FakeCri | undefined;
    try {
      p.start();
      assert.equal(await p.waitForSync(2000), false, 'start does not wait without a socket');
      await sleep(200);
      assert.deepEqual(hooks.events, [`no-socket ${path},${join(tmp, 'never.sock')}`], 'once, however many checks');
      assert.equal(p.lookup(identity(NGINX)), undefined);
      cri = await new FakeCri(path).start();
      await until('connected', () => p.connected && p.lookup(identity(NGINX)) !== undefined);
      assert.deepEqual(hooks.events.slice(1), [`connected ${path} containerd`]);
      assert.equal(hooks.errors.size, 0);
    } finally {
      await p.stop();
      cri?.stop();
    }
  });

  it('a socket nobody answers on (runtime down at start): warned, retried with backoff, connects when it is up', async () => {
    const path = sock();
    // A socket file left by a runtime that died: connect() is refused.
    const made = spawnSync('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', path]);
    assert.equal(made.status, 0, String(made.stderr));
    const hooks = recorder();
    const p = new CriMetadataProvider({ sockets: [path], ...FAST, hooks });
    let cri: FakeCri | undefined;
    try {
      p.start();
      await until('three attempts', () => hooks.events.length >= 3);
      assert.match(hooks.events[0]!, new RegExp(`^connect-error ${path} new: not reachable or not a gRPC server: .*`));
      assert.ok(hooks.events.slice(1).every((e) => e.startsWith(`connect-error ${path} again`)), hooks.events.join('\n'));
      assert.ok((hooks.errors.get('Version') ?? 0) >= 3, 'errors counted');
      rmSync(path);
      cri = await new FakeCri(path).start();
      await until('connected', () => p.connected);
      assert.equal(await p.waitForSync(2000), true);
      assert.equal(p.lookup(identity(NGINX))?.name, 'nginx');
    } finally {
      await p.stop();
      cri?.stop();
    }
  });

  it('the runtime killed mid-run: no crash, errors counted, the cache still answers, reconnects when it is back', async () => {
    const path = sock();
    let cri = await new FakeCri(path).start();
    const hooks = recorder();
    const p = new CriMetadataProvider({ sockets: [path], ...FAST, refreshMs: 30, graceMs: 60_000, hooks });
    try {
      p.start();
      await p.waitForSync(2000);
      cri.stop();
      await until('the failed list', () => hooks.events.some((e) => e.startsWith('disconnected')));
      assert.ok((hooks.errors.get('ListPodSandbox') ?? 0) >= 1, 'the failed list is counted');
      assert.equal(p.connected, false);
      assert.equal(p.lookup(identity(NGINX))?.name, 'nginx', 'what was known still answers');
      assert.equal(p.lookup(identity(LATE)), undefined, 'a miss while disconnected asks nothing');
      await sleep(100);
      cri = await new FakeCri(path).start();
      // Created while the runtime was away: the new list has it, and its status names its image.
      cri.containers = [...cri.containers, { ...cri.containers[0]!, id: LATE }];
      await until('reconnected', () => p.connected && p.lookup(identity(LATE)) !== undefined);
      await until('its status', () => p.lookup(identity(LATE))?.image === 'docker.io/library/busybox:1.36');
      assert.equal(p.lookup(identity(LATE))?.name, 'debugger');
    } finally {
      await p.stop();
      cri.stop();
    }
  });

  it('a socket that is not a gRPC server, or not the CRI: a warning naming the socket and the error, never a crash', async () => {
    const http = sock();
    const server: Server = createServer((c) => c.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n'));
    await new Promise<void>((r) => server.listen(http, r));
    // A gRPC server without the RuntimeService: Docker's containerd, whose CRI plugin is disabled.
    const other = sock();
    const grpcServer = new grpc.Server();
    await new Promise<void>((res, rej) => grpcServer.bindAsync(`unix://${other}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? rej(e) : res())));
    const file = join(tmp, 'regular-file.sock');
    writeFileSync(file, '');

    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, new Writable({ write(chunk, _e, cb) { lines.push(String(chunk)); cb(); } }));
    const p = await createCriMetadataProvider({
      sockets: [file, http, other], hostRoot: '/', ...FAST, backoff: { initialMs: 10_000, maxMs: 10_000 }, syncTimeoutMs: 300,
    }, logger);
    try {
      await until('three warnings', () => lines.filter((l) => l.includes('"level":40')).length >= 3);
      const warnings = lines.filter((l) => l.includes('"level":40')).map((l) => JSON.parse(l) as { msg: string; socket: string });
      assert.deepEqual(warnings.map((w) => w.socket), [file, http, other]);
      assert.match(warnings[0]!.msg, new RegExp(`^CRI socket ${file}: exists but is not a unix socket; retrying in \\d+ ms$`));
      assert.match(warnings[1]!.msg, new RegExp(`^CRI socket ${http}: not reachable or not a gRPC server: .+; retrying in \\d+ ms$`));
      assert.match(warnings[2]!.msg, new RegExp(`^CRI socket ${other}: answers gRPC but not the CRI \\(runtime.v1.RuntimeService\\): .*`));
      assert.equal(p.connected, false);
    } finally {
      await p.stop();
      server.close();
      grpcServer.forceShutdown();
    }
  });

  it('hostile answers are bounded: huge values, control characters, thousands of labels', async () => {
    const cri = await new FakeCri(sock()).start();
    const labels: Record<string, string> = {
      'io.kubernetes.container.name': 'evil\nname\u001b[31m',
      'io.kubernetes.pod.name': 'p'.repeat(100_000),
      'io.kubernetes.pod.namespace': 'default',
      'io.kubernetes.pod.uid': WEB_UID,
    };
    for (let i = 0; i < 5000; i++) labels[`k${i}`] = `v\r\n${i}`;
    cri.containers = [{ ...cri.containers[0]!, labels, image: { image: `evil.example/x:${'t'.repeat(50_000)}\u0000`, userSpecifiedImage: '' } }];
    cri.statuses = new Map();
    const p = new CriMetadataProvider({ sockets: [cri.socket], ...FAST, refreshMs: 60_000 });
    try {
      p.start();
      await p.waitForSync(2000);
      const m = p.lookup(identity(NGINX))!;
      assert.ok(m);
      assert.equal(m.name, 'evil\uFFFDname\uFFFD[31m', 'control characters replaced');
      assert.ok(Object.keys(m.labels!).length <= MAX_LABELS, `${Object.keys(m.labels!).length} labels`);
      for (const [k, v] of Object.entries(m.labels!)) {
        assert.ok(k.length <= MAX_STRING && v.length <= MAX_STRING);
        assert.doesNotMatch(k + v, /[\u0000-\u001f\u007f-\u009f]/);
      }
      assert.equal(m.pod?.name.length, MAX_STRING);
      assert.ok(m.image!.length <= MAX_STRING);
      assert.doesNotMatch(m.image!, /\u0000/);
    } finally {
      await p.stop();
      cri.stop();
    }
  });

  it('as the API provider\'s fallback: a container the API does not know gets the CRI\'s answer once it arrives', async () => {
    const cri = await new FakeCri(sock()).start();
    const p = new CriMetadataProvider({ sockets: [cri.socket], ...FAST, refreshMs: 60_000 });
    try {
      p.start();
      await p.waitForSync(2000);
      const api = new KubernetesMetadataProvider(new PodCache({ graceMs: 1000 }), p);
      const late = identity(LATE);
      assert.equal(api.lookup(late), undefined, 'first: nobody knows it yet');
      await until('the fallback\'s answer through the API provider', () => api.lookup(late)?.name === 'debugger');
      assert.equal(api.lookup(identity(NGINX))?.name, 'nginx');
    } finally {
      await p.stop();
      cri.stop();
    }
  });

  it('CriClient speaks the wire: Version, the lists, and NOT_FOUND as undefined', async () => {
    const cri = await new FakeCri(sock()).start();
    const c = new CriClient(cri.socket, { timeoutMs: 1000 });
    try {
      assert.deepEqual(await c.version(), { version: '0.1.0', runtimeName: 'containerd', runtimeVersion: 'v1.7.13', runtimeApiVersion: 'v1' });
      const list = await c.listContainers();
      assert.equal(list.length, 3);
      assert.equal(list[0]!.createdAt, '1718031201234567890', 'int64 as exact decimal text');
      assert.equal(list[2]!.state, 'CONTAINER_EXITED');
      assert.equal((await c.listPodSandbox())[0]!.metadata?.namespace, 'prod');
      assert.equal((await c.containerStatus(NGINX))?.mounts.length, 3);
      assert.equal(await c.containerStatus(UNKNOWN), undefined);
    } finally {
      c.close();
      cri.stop();
    }
  });
});

describe('agent.cri configuration and wiring', () => {
  const agentOf = (agent: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) =>
    validateConfig({ agent }, { env, defaultRulesSource: 'syscall' }).agent;

  it('defaults to the runtimes\' usual sockets, every 10 s; a path or a list; [] turns it off', () => {
    assert.deepEqual(agentOf({}).cri, {
      sockets: ['/run/containerd/containerd.sock', '/run/crio/crio.sock', '/run/k3s/containerd/containerd.sock', '/var/run/cri-dockerd.sock'],
      refreshMs: 10_000,
    });
    assert.deepEqual(agentOf({ cri: { socket: '/run/x.sock', refresh_interval_ms: 2000 } }).cri, { sockets: ['/run/x.sock'], refreshMs: 2000 });
    assert.equal(agentOf({ cri: { socket: [] } }).cri, undefined);
    assert.throws(() => agentOf({ cri: { socket: 'run/x.sock' } }), /agent\.cri\.socket\[0\].*absolute path/);
    assert.throws(() => agentOf({ cri: { sockets: [] } }), /agent\.cri\.sockets.*unknown key/);
    assert.throws(() => agentOf({ cri: { refresh_interval_ms: 10 } }), /agent\.cri\.refresh_interval_ms/);
  });

  it('socket paths are host paths, looked for under host_root (as Falco does)', () => {
    assert.deepEqual(socketPaths(['/run/crio/crio.sock'], '/host'), ['/host/run/crio/crio.sock']);
    assert.deepEqual(socketPaths(['/run/crio/crio.sock'], '/'), ['/run/crio/crio.sock']);
  });

  it('metrics: tiercel_cri_requests_total, _errors_total, _containers, _connected', async () => {
    const metrics = new AgentMetrics({ defaultMetrics: false });
    const cri = await new FakeCri(join(mkdtempSync(join(tmpdir(), 'tiercel-cri-m-')), 'c.sock')).start();
    const p = new CriMetadataProvider({ sockets: [cri.socket], ...FAST, refreshMs: 60_000, hooks: metrics.cri() });
    try {
      p.start();
      await p.waitForSync(2000);
      p.lookup(identity(UNKNOWN));
      await until('NOT_FOUND', () => cri.count(`ContainerStatus ${UNKNOWN}`) === 1);
      await sleep(20);
      const text = await metrics.registry.metrics();
      assert.match(text, /^tiercel_cri_connected 1$/m);
      assert.match(text, /^tiercel_cri_requests_total\{method="ListContainers"\} 1$/m);
      assert.match(text, /^tiercel_cri_requests_total\{method="ContainerStatus"\} \d+$/m);
      assert.match(text, /^tiercel_cri_containers 5$/m, 'three containers and two sandboxes');
      assert.doesNotMatch(text, /^tiercel_cri_errors_total\{/m, 'NOT_FOUND is an answer, not an error');
    } finally {
      await p.stop();
      cri.stop();
      rmSync(join(cri.socket, '..'), { recursive: true, force: true });
    }
  });

  it('the proto ships: dist/ finds it, and the image copies it where dist/ looks', () => {
    const fromDist = spawnSync(process.execPath, ['-e', "import('./dist/k8s/cri/client.js').then((m) => console.log(m.protoPath()))"], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(fromDist.status, 0, fromDist.stderr);
    assert.equal(fromDist.stdout.trim(), protoPath().replace(/\/src\/k8s\/cri\//, '/src/k8s/cri/'));
    assert.ok(existsSync(fromDist.stdout.trim()));
    const dockerfile = readFileSync(join(ROOT, 'manifests', 'agent', 'Dockerfile'), 'utf8');
    const runtime = dockerfile.split(/^FROM /m).at(-1)!;
    assert.match(runtime, /^COPY --from=build \/app\/src\/k8s\/cri\/runtime-v1\.proto \.\/src\/k8s\/cri\/runtime-v1\.proto$/m);
  });
});
