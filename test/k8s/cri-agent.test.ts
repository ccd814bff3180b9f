/**
 * `tiercel agent` (from dist/, as a user runs it) with no API and a CRI
 * runtime: container.name, container.image* and k8s.pod.* of alerts come from
 * the runtime's socket. The runtime is a real gRPC server on a unix socket
 * (fixtures/cri/fake-cri.ts); the containers are container-like processes in
 * cgroups named as containerd names them (test/helpers/container-env.ts):
 * one the runtime listed before the agent started, one created after (only
 * ContainerStatus knows it, so its first events may go without a name).
 *
 * Needs root, kernel BTF, the sensor, cgroup v2 and dist/; skips with the
 * reason otherwise.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkPrerequisites, tryLoadNative } from '../../src/syscall/native/index.js';
import { BIN, ROOT, jsonAlerts } from '../helpers/cli.js';
import { type Container, cgroupMounts, ctrExec, newIdentity, sleep, startContainer, stopContainer } from '../helpers/container-env.js';
import { FakeCri, fixture } from './fixtures/cri/fake-cri.js';

let skip: string | false = false;
{
  const native = tryLoadNative();
  if (!native.addon) skip = `the eBPF sensor addon is not built: ${native.error.message.split('\n')[0]}`;
  else if (!checkPrerequisites().btf) skip = 'no kernel BTF at /sys/kernel/btf/vmlinux';
  else if (process.getuid?.() !== 0) skip = `needs root (BPF, namespaces, cgroups); running as uid ${process.getuid?.()}`;
  else if (!cgroupMounts().v2) skip = 'no cgroup v2 hierarchy mounted';
  else if (!existsSync(join(ROOT, 'dist'))) skip = 'dist/ is not built (run `npm run build`)';
}

type Obj = Record<string, any>;

/** A containerd-shaped container (list item and status) for a test container. */
function runtimeContainer(fullId: string, podUid: string, name: string, pod: string, ns: string, image: string): { listed: Obj; status: Obj } {
  const listed = structuredClone((fixture('containerd-containers.json').containers as Obj[])[0]!);
  const labels = { 'io.kubernetes.container.name': name, 'io.kubernetes.pod.name': pod, 'io.kubernetes.pod.namespace': ns, 'io.kubernetes.pod.uid': podUid };
  Object.assign(listed, { id: fullId, metadata: { name, attempt: 0 }, labels });
  const status = structuredClone(Object.values(fixture('containerd-status.json'))[0] as Obj);
  Object.assign(status.status, { id: fullId, metadata: { name, attempt: 0 }, labels, mounts: [] });
  status.status.image = { image, annotations: {}, userSpecifiedImage: '', runtimeHandler: '' };
  return { listed, status };
}

describe('tiercel agent with a CRI runtime and no Kubernetes API', { skip }, () => {
  let tmp = '';
  let cri: FakeCri | undefined;
  let agent: ChildProcess | undefined;
  let out = '';
  let err = '';
  const containers: Container[] = [];
  const listedWho = newIdentity();
  const lateWho = newIdentity();

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'tiercel-cri-agent-'));
    cri = await new FakeCri(join(tmp, 'containerd.sock')).start();
    const a = runtimeContainer(listedWho.fullId, listedWho.podUid, 'app', 'web-1', 'shop', 'registry.example/shop/web:1.4');
    const b = runtimeContainer(lateWho.fullId, lateWho.podUid, 'debugger', 'debug', 'default', 'docker.io/library/busybox:1.36');
    cri.containers = [a.listed];
    cri.statuses = new Map([[listedWho.fullId, a.status], [lateWho.fullId, b.status]]);
    const rel = (uid: string, id: string): string =>
      `kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${uid.replace(/-/g, '_')}.slice/cri-containerd-${id}.scope`;
    for (const [label, who] of [['cri-a', listedWho], ['cri-b', lateWho]] as const) {
      containers.push(await startContainer(label, who, { cgroupRoot: cgroupMounts().v2!, rel, runtime: 'containerd', tmp, overlay: false }));
    }

    const rules = join(tmp, 'rules.yaml');
    const ids = containers.map((c) => `"${c.id}"`).join(', ');
    writeFileSync(rules, [
      '- rule: tiercel cri test exec',
      '  desc: an exec in one of the test containers',
      `  condition: evt.type = execve and container.id in (${ids})`,
      '  output: "exec %proc.name in %container.id %container.name (%container.image.repository:%container.image.tag) pod %k8s.ns.name/%k8s.pod.name type %container.type"',
      '  priority: WARNING',
      '  source: syscall',
    ].join('\n') + '\n');
    agent = spawn(process.execPath, [BIN, 'agent', '-o', 'json', '-r', rules, '--listen', '127.0.0.1:0', '--log-format', 'json',
      '--option', `agent.cri.socket=${cri.socket}`, '--option', 'agent.cri.refresh_interval_ms=60000',
      '--option', 'agent.kubernetes.enabled=false', '--option', 'base_syscalls.repair=true', '--option', 'watch_config_files=false'],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TZ: 'UTC', KUBERNETES_SERVICE_HOST: '' } });
    agent.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    agent.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    const deadline = Date.now() + 60_000;
    while (!/agent running/.test(err)) {
      if (agent.exitCode !== null) throw new Error(`the agent exited:\n${err}`);
      if (Date.now() > deadline) throw new Error(`the agent did not start within 60 s:\n${err}`);
      await sleep(50);
    }
  });

  after(async () => {
    if (agent && agent.exitCode === null) {
      const exited = new Promise((r) => agent!.on('exit', r));
      agent.kill('SIGTERM');
      await exited;
    }
    for (const c of containers) await stopContainer(c);
    cri?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('names, images and pods of alerts come from the CRI: a listed container at once, a new one once ContainerStatus answered', async () => {
    assert.match(err, /CRI runtime containerd v1\.7\.13 at [^"]*containerd\.sock/, 'the agent says which runtime it uses');
    const [a, b] = containers as [Container, Container];
    const alertsOf = (c: Container) => jsonAlerts(out).filter((x) => x.output_fields['container.id'] === c.id);

    await ctrExec(a, ['/bin/true']);
    const deadline = Date.now() + 20_000;
    // The late container: exec until an alert carries its name (its first events may not).
    for (;;) {
      await ctrExec(b, ['/bin/true']);
      if (alertsOf(b).some((x) => x.output_fields['container.name'] === 'debugger') && alertsOf(a).length > 0) break;
      assert.ok(Date.now() < deadline, `no alert with the CRI's names within 20 s:\n${out.slice(-3000)}\n${err.slice(-2000)}`);
      await sleep(100);
    }
    const fa = alertsOf(a)[0]!.output_fields;
    assert.equal(fa['container.name'], 'app', 'the listed container is named from its first event');
    assert.equal(fa['container.image.repository'], 'registry.example/shop/web');
    assert.equal(fa['container.image.tag'], '1.4');
    assert.equal(fa['k8s.pod.name'], 'web-1');
    assert.equal(fa['k8s.ns.name'], 'shop');
    assert.equal(fa['container.type'], 'containerd');
    const fb = alertsOf(b).find((x) => x.output_fields['container.name'] === 'debugger')!.output_fields;
    assert.equal(fb['container.image.repository'], 'docker.io/library/busybox');
    assert.equal(fb['k8s.pod.name'], 'debug');
    assert.equal(cri!.count(`ContainerStatus ${lateWho.fullId}`), 1, 'asked once');

    const url = /health and metrics at (http:\/\/[^"\s;]+)/.exec(err)?.[1];
    assert.ok(url, err);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /^tiercel_cri_connected 1$/m);
    assert.match(metrics, /^tiercel_cri_requests_total\{method="ContainerStatus"\} [1-9]\d*$/m);
  });
});
