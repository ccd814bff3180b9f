/**
 * The worker side of {@link openStoreThread} (thread.ts): opens the store and
 * answers the main thread's calls one at a time, in order. better-sqlite3 is
 * synchronous; here its work blocks only this thread, not the event loop
 * that parses webhook bodies, evaluates rules and answers the API.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openStore } from './index.js';
import type { Store } from './types.js';

export interface StoreWorkerData {
  readonly spec: string | undefined;
  readonly dataDir: string | undefined;
}

/** A call: the Store method and its arguments (structured-cloned: bigints, Sets and plain objects survive). */
export interface StoreCall {
  readonly id: number;
  readonly method: string;
  readonly args: unknown[];
}

export type StoreReply =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly name: string; readonly message: string };

export type StoreReady =
  | { readonly ready: true; readonly engine: Store['engine']; readonly location: string }
  | { readonly ready: false; readonly message: string };

/** The methods a call may name: the Store interface's, nothing else. */
export const STORE_METHODS = new Set([
  'write', 'getAlert', 'knownAlertIds', 'listAlerts', 'getIncident', 'listIncidents', 'incidentTimeline',
  'incidentLinks', 'setIncidentStatus', 'activeIncidents', 'stats', 'applyRetention', 'countAlerts', 'close',
]);

async function main(): Promise<void> {
  const port = parentPort!;
  const data = workerData as StoreWorkerData;
  let store: Store;
  try {
    store = await openStore(data.spec, data.dataDir !== undefined ? { dataDir: data.dataDir } : {});
  } catch (e) {
    port.postMessage({ ready: false, message: (e as Error).message } satisfies StoreReady);
    return;
  }
  port.postMessage({ ready: true, engine: store.engine, location: store.location } satisfies StoreReady);
  // One call at a time: a write and a read never interleave differently than on the main thread.
  let chain = Promise.resolve();
  port.on('message', (call: StoreCall) => {
    chain = chain.then(async () => {
      let reply: StoreReply;
      try {
        if (!STORE_METHODS.has(call.method)) throw new Error(`no such store method: ${call.method}`);
        const fn = (store as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[call.method]!;
        reply = { id: call.id, ok: true, value: await fn.apply(store, call.args) };
      } catch (e) {
        const err = e as Error;
        reply = { id: call.id, ok: false, name: err.name, message: err.message };
      }
      port.postMessage(reply);
      if (call.method === 'close' && reply.ok) port.close();
    });
  });
}

void main();
