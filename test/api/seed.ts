/**
 * A seeded store and a live API for the API and CLI tests: a real SQLite
 * store in a temp directory, written through `store.write()` with a small
 * world of incidents, and the router on a real express server on 127.0.0.1.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import type { Priority } from '../../src/engine/priority.js';
import type { Incident, IncidentLink, StoredAlert } from '../../src/incidents/model.js';
import { openStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/types.js';
import { type ApiRouterOptions, createApiRouter } from '../../src/api/router.js';
import type { ApiToken } from '../../src/api/auth.js';
import { baseApp } from '../../src/server/http.js';

export const MS = 1_000_000n;
export const SEC = 1000n * MS;
export const MIN = 60n * SEC;
export const HOUR = 60n * MIN;

/** Seeding time, whole ms plus a nanosecond tail so exactness is visible. */
export const NOW = BigInt(Date.now()) * MS;
export const ago = (ns: bigint): bigint => NOW - ns + 123_456_789n;

export const TOKENS: readonly ApiToken[] = [
  { name: 'reader', token: 'r3ad-t0ken-0123456789', scopes: ['read'] },
  { name: 'writer', token: 'wr1te-t0ken-0123456789', scopes: ['read', 'write'] },
  { name: 'agent', token: 'ag3nt-t0ken-0123456789', scopes: ['ingest'] },
  { name: 'admin', token: 'adm1n-t0ken-0123456789', scopes: ['read', 'write', 'ingest'] },
];
export const bearer = (name: string): Record<string, string> =>
  ({ Authorization: `Bearer ${TOKENS.find((t) => t.name === name)!.token}` });

/** Hostile text: a terminal escape that clears the screen, a newline forging a row, markup, SQL-ish and LIKE wildcards. */
export const EVIL_POD = 'web\x1b[2J\nFAKE  ROW\u202e';
export const EVIL_TITLE = '<script>alert(1)</script> 100% _done_ \'q\' "dq" \x9b31m';

let seq = 0;
export function alert(over: Partial<StoredAlert> & { id: string; time: bigint }): StoredAlert {
  seq++;
  return {
    kind: 'alert',
    rule: 'Terminal shell in container',
    priority: 'Notice',
    source: 'syscall',
    tags: ['container', 'shell', 'mitre_execution'],
    output: `Notice A shell was spawned in a container (#${seq})`,
    outputFields: { 'proc.cmdline': 'bash -i', 'proc.pid': 4242 },
    hostname: 'node-1',
    correlation: {},
    dedupKey: `dedup-${over.id}`,
    receivedAt: Number((over.time / MS)) + 500,
    ...over,
  };
}

export function incident(over: Partial<Incident> & { id: string; firstSeen: bigint; lastSeen: bigint }): Incident {
  return {
    title: `incident ${over.id}`,
    severity: 'Notice' as Priority,
    status: 'open',
    target: {},
    alertCount: 1,
    rules: [],
    tactics: [],
    keys: [],
    createdAt: Number(over.firstSeen / MS),
    updatedAt: Number(over.lastSeen / MS),
    ...over,
  };
}

const link = (incidentId: string, alertId: string, over: Partial<IncidentLink> = {}): IncidentLink =>
  ({ incidentId, alertId, key: 'pod', confidence: 'probable', ...over });

/**
 * The world:
 * - `inc-exec`: alice exec'd into prod/web-1 ten minutes ago; a shell, then a storm of five
 *   "Drop and execute" alerts (Critical); the exec request is a context event. Open.
 * - `inc-etc`: service account ci:builder created a hostPath pod, then /etc was written from it,
 *   two hours ago (Error). Acknowledged.
 * - `inc-evil`: hostile names (terminal escapes, markup, wildcards), 25 hours ago (Warning). Resolved.
 * - `inc-load-00..24`: 25 small incidents in namespace `load`, three hours ago (Notice), for paging.
 */
export async function seed(store: Store): Promise<void> {
  seq = 0; // two stores seeded alike hold identical values
  const t0 = ago(10n * MIN);
  const exec: StoredAlert[] = [
    alert({ id: 'ev-exec', kind: 'context', time: t0, rule: 'pods/exec request', source: 'k8s_audit', priority: 'Informational',
      hostname: 'analyzer-0', namespace: 'prod', pod: 'web-1', user: 'alice', incidentId: 'inc-exec',
      output: 'alice exec into prod/web-1 command=sh' }),
    alert({ id: 'al-audit-exec', time: t0 + MS, rule: 'Attach/Exec Pod', source: 'k8s_audit', priority: 'Notice',
      tags: ['k8s'], hostname: 'analyzer-0', namespace: 'prod', pod: 'web-1', user: 'alice', incidentId: 'inc-exec',
      output: 'Attach/Exec to pod (user=alice pod=web-1 ns=prod action=exec command=sh)' }),
    alert({ id: 'al-shell', time: t0 + SEC, namespace: 'prod', pod: 'web-1', podUid: 'uid-web-1', containerId: 'c0ffee',
      user: 'alice', incidentId: 'inc-exec' }),
    ...[1, 2, 3, 4, 5].map((n) => alert({
      id: `al-drop-${n}`, time: t0 + BigInt(1 + n) * SEC, rule: 'Drop and execute new binary in container', priority: 'Critical',
      tags: ['container', 'mitre_persistence'], namespace: 'prod', pod: 'web-1', containerId: 'c0ffee', user: 'alice',
      dedupKey: 'drop|c0ffee|/tmp/x', incidentId: 'inc-exec', output: 'Critical Executing binary not part of base image (proc.exe=/tmp/x)',
    })),
  ];
  const etc: StoredAlert[] = [
    alert({ id: 'al-hostpath', time: ago(2n * HOUR), rule: 'Create HostPath Mount Pod', source: 'k8s_audit', priority: 'Warning',
      tags: ['k8s'], hostname: 'analyzer-0', namespace: 'ci', pod: 'runner-7', user: 'system:serviceaccount:ci:builder',
      incidentId: 'inc-etc', output: 'Pod with hostPath created (pod=runner-7)' }),
    alert({ id: 'al-etc', time: ago(2n * HOUR) + 30n * SEC, rule: 'Write below etc', priority: 'Error', hostname: 'node-2',
      namespace: 'ci', pod: 'runner-7', incidentId: 'inc-etc', tags: ['filesystem', 'mitre_persistence'],
      output: 'Error File below /etc opened for writing (file=/host/etc/passwd)' }),
  ];
  const evil: StoredAlert[] = [
    alert({ id: 'al-evil', time: ago(25n * HOUR), priority: 'Warning', hostname: 'node-3', namespace: 'evil', pod: EVIL_POD,
      incidentId: 'inc-evil', output: `Warning shell (pod=${EVIL_POD} cmd=${EVIL_TITLE})` }),
  ];
  const load = Array.from({ length: 25 }, (_, n) => alert({
    id: `al-load-${String(n).padStart(2, '0')}`, time: ago(3n * HOUR) + BigInt(n) * SEC, rule: 'Read sensitive file untrusted',
    hostname: 'node-4', namespace: 'load', pod: `load-${n}`, user: 'bob', incidentId: `inc-load-${String(n).padStart(2, '0')}`,
  }));

  await store.write({
    alerts: [...exec, ...etc, ...evil, ...load],
    incidents: [
      incident({
        id: 'inc-exec', title: 'alice exec\'d into prod/web-1, spawned a shell, downloaded and ran a binary',
        severity: 'Critical', actor: { kind: 'user', name: 'alice', confidence: 'exact' },
        target: { namespace: 'prod', pod: 'web-1', podUid: 'uid-web-1', container: 'app', node: 'node-1' },
        firstSeen: t0, lastSeen: t0 + 6n * SEC, alertCount: 7,
        rules: ['Attach/Exec Pod', 'Terminal shell in container', 'Drop and execute new binary in container'],
        tactics: ['execution', 'persistence'], keys: [{ kind: 'audit_id', value: 'aud-1' }, { kind: 'pod_uid', value: 'uid-web-1' }],
      }),
      incident({
        id: 'inc-etc', title: 'a hostPath pod created by ci:builder wrote the host\'s /etc', severity: 'Error', status: 'acknowledged',
        actor: { kind: 'serviceaccount', name: 'system:serviceaccount:ci:builder', confidence: 'probable' },
        target: { namespace: 'ci', pod: 'runner-7', node: 'node-2' },
        firstSeen: ago(2n * HOUR), lastSeen: ago(2n * HOUR) + 30n * SEC, alertCount: 2,
        rules: ['Create HostPath Mount Pod', 'Write below etc'], tactics: ['persistence'],
      }),
      incident({
        id: 'inc-evil', title: EVIL_TITLE, severity: 'Warning', status: 'resolved',
        target: { namespace: 'evil', pod: EVIL_POD, node: 'node-3' },
        firstSeen: ago(25n * HOUR), lastSeen: ago(25n * HOUR), alertCount: 1, rules: ['Terminal shell in container'],
      }),
      ...load.map((a) => incident({
        id: a.incidentId!, title: `bob read a sensitive file in load/${a.pod!}`, severity: 'Notice',
        actor: { kind: 'user', name: 'bob', confidence: 'ambiguous' }, target: { namespace: 'load', pod: a.pod! },
        firstSeen: a.time, lastSeen: a.time, rules: ['Read sensitive file untrusted'],
      })),
    ],
    links: [
      link('inc-exec', 'ev-exec', { key: 'first', confidence: 'exact' }),
      link('inc-exec', 'al-audit-exec', { key: 'audit_id', confidence: 'exact', linkedTo: 'ev-exec', detail: 'audit id aud-1' }),
      link('inc-exec', 'al-shell', { key: 'audit_id', confidence: 'exact', linkedTo: 'ev-exec', detail: 'KUBERNETES_EXEC_AUDIT_ID=aud-1' }),
      link('inc-exec', 'al-drop-1', { key: 'exec_session', confidence: 'probable', linkedTo: 'al-shell' }),
      ...[2, 3, 4, 5].map((n) => link('inc-exec', `al-drop-${n}`, { key: 'storm', confidence: 'exact', linkedTo: 'al-drop-1' })),
      link('inc-etc', 'al-hostpath', { key: 'first', confidence: 'exact' }),
      link('inc-etc', 'al-etc', { key: 'pod', confidence: 'probable', linkedTo: 'al-hostpath', detail: 'ci/runner-7' }),
      link('inc-evil', 'al-evil', { key: 'first', confidence: 'exact', detail: EVIL_TITLE }),
      ...load.map((a) => link(a.incidentId!, a.id, { key: 'first', confidence: 'exact' })),
    ],
  });
}

export interface TempStore {
  readonly store: Store;
  readonly dir: string;
  readonly path: string;
  cleanup(): Promise<void>;
}

/** A real SQLite store in a fresh temp directory. */
export async function tempStore(): Promise<TempStore> {
  const dir = mkdtempSync(join(tmpdir(), 'tiercel-api-'));
  const path = join(dir, 'tiercel.db');
  const store = await openStore(`sqlite:${path}`);
  return {
    store, dir, path,
    async cleanup() {
      await store.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A logger whose output is kept (to check what is logged, and that no token ever is). */
export function memoryLogger(): { logger: Logger; text: () => string } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString('utf8'));
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), text: () => chunks.join('') };
}

export interface LiveApi {
  /** `http://127.0.0.1:PORT/api/v1` */
  readonly base: string;
  readonly origin: string;
  readonly logs: () => string;
  readonly requests: { route: string; status: number; ms: number }[];
  close(): Promise<void>;
}

/** The router mounted at /api/v1 on a real server listening on 127.0.0.1. */
export async function startApi(options: Omit<ApiRouterOptions, 'logger' | 'tokens'> & { tokens?: readonly ApiToken[] }): Promise<LiveApi> {
  const { logger, text } = memoryLogger();
  const requests: LiveApi['requests'] = [];
  const app = baseApp();
  app.use('/api/v1', createApiRouter({
    tokens: TOKENS, ...options, logger,
    onRequest: (route, status, ms) => requests.push({ route, status, ms }),
  }));
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;
  return {
    base: `${origin}/api/v1`, origin, logs: text, requests,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
