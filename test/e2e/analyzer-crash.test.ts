/**
 * Issue 6, "Done when" 3: the analyzer is killed with SIGKILL while an agent
 * keeps posting alert batches; after a restart on the same store, every alert
 * the analyzer had acknowledged (answered 200) is stored, once.
 *
 * The posters speak the agent's protocol (src/agent/forwarder.ts): batches of
 * Falco-schema alerts with an id each, to POST /api/v1/alerts with a bearer
 * token, the same batch retried until it is acknowledged. They record which
 * ids were acknowledged; the store is then opened directly and asked.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openStore } from '../../src/store/index.js';
import { sleep } from '../helpers/container-env.js';
import { type ServeProcess, startServe } from '../server/helpers.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** One agent-like alert: a syscall alert of a shell in pod `pod`. */
function alert(n: number, pod: string): Record<string, unknown> {
  const ns = BigInt(Date.now()) * 1_000_000n + BigInt(n % 1_000_000);
  return {
    id: randomUUID(),
    time: new Date(Number(ns / 1_000_000n)).toISOString(),
    rule: 'Terminal Shell in Container',
    priority: 'Notice',
    source: 'syscall',
    tags: ['container', 'shell', 'mitre_execution'],
    output: `Interactive shell opened in a container | shell=sh n=${n} pod=${pod}`,
    output_fields: { 'evt.time': Number(ns / 1000n), 'proc.name': 'sh', 'k8s.pod.name': pod, 'k8s.ns.name': 'crash-test', 'container.id': 'abcdef012345' },
    hostname: 'node-1',
    correlation: { containerId: 'abcdef012345', namespace: 'crash-test', pod, pid: String(1000 + (n % 50_000)) },
  };
}

describe('kill -9 of the analyzer while an agent posts: nothing acknowledged is lost', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'tiercel-crash-'));
  const dataDir = join(tmp, 'data');
  const token = randomBytes(24).toString('base64url');
  let server: ServeProcess | undefined;
  after(async () => {
    await server?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('every acknowledged alert is in the store after the restart, exactly once', async () => {
    const port = await freePort();
    const start = (): Promise<ServeProcess> => startServe(
      ['--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, '--option', 'api.tokens[0].name=agent',
        '--option', 'api.tokens[0].token_env=TIERCEL_CRASH_TOKEN', '--option', 'api.tokens[0].scopes=[ingest,read]'],
      { env: { TIERCEL_CRASH_TOKEN: token } });
    server = await start();
    const url = `http://127.0.0.1:${port}/api/v1/alerts`;

    const acked = new Set<string>();
    let sent = 0;
    let failures = 0;
    let posting = true;
    let counter = 0;
    // Two agents, each retrying its current batch until it is acknowledged.
    const poster = async (pod: string): Promise<void> => {
      while (posting) {
        const batch = Array.from({ length: 40 }, () => alert(counter++, pod));
        for (;;) {
          try {
            const res = await fetch(url, {
              method: 'POST',
              headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
              body: JSON.stringify(batch),
            });
            await res.arrayBuffer();
            if (res.status === 200) {
              for (const a of batch) acked.add(a.id as string);
              sent += batch.length;
              break;
            }
            failures++;
          } catch {
            failures++;
          }
          await sleep(50);
        }
      }
    };
    const posters = [poster('web-1'), poster('web-2')];

    // Let acknowledgements accumulate, then kill the analyzer mid-stream.
    while (acked.size < 2000) await sleep(20);
    const before = acked.size;
    server.child.kill('SIGKILL');
    await server.exited;
    // The posters now fail and retry; the analyzer comes back on the same store.
    await sleep(300);
    server = await start();
    const target = acked.size + 2000;
    while (acked.size < target) await sleep(20);
    posting = false;
    await Promise.all(posters);
    await server.stop();
    server = undefined;

    assert.ok(before >= 2000 && failures > 0, `the kill happened while posting (acknowledged before: ${before}, failed attempts: ${failures})`);
    const store = await openStore(`sqlite:${join(dataDir, 'tiercel.db')}`);
    try {
      const ids = [...acked];
      const missing: string[] = [];
      for (let i = 0; i < ids.length; i += 5000) {
        const chunk = ids.slice(i, i + 5000);
        const known = await store.knownAlertIds(chunk);
        for (const id of chunk) if (!known.has(id)) missing.push(id);
      }
      assert.deepEqual(missing.slice(0, 10), [], `${missing.length} of ${ids.length} acknowledged alerts are missing`);
      // Retried batches that had been committed before the kill are stored once, not twice.
      assert.equal(await store.countAlerts(), acked.size, `stored alerts = acknowledged alerts (${sent} acknowledged sends)`);
    } finally {
      await store.close();
    }
  });
});
