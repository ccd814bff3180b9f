/**
 * A store on its own thread. The SQLite engine is synchronous: on the
 * analyzer's main thread every commit (a WAL frame per touched page of nine
 * alert indexes, the incidents, the rollup; now and then a checkpoint) stops
 * the event loop that parses webhook bodies, evaluates rules and answers the
 * API. Here the calls go to a worker (thread-worker.ts) and come back as
 * promises, so that work runs on another core. A write still resolves only
 * once committed: an agent's acknowledgement keeps its meaning.
 *
 * The arguments and results are structured-cloned (bigint times, Sets and
 * plain objects survive); a StoreQueryError thrown in the worker is thrown
 * again here as one, so the API still answers 400.
 */
import { Worker } from 'node:worker_threads';
import type { StoreCall, StoreReady, StoreReply, StoreWorkerData } from './thread-worker.js';
import { type Store, StoreQueryError } from './types.js';

function workerUrl(): URL {
  // Under tsx (tests, benches) the sources are .ts; built, .js.
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./thread-worker${ext}`, import.meta.url);
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/**
 * The store thread's young generation, smaller than V8's default (which sizes
 * it as for a main thread): what it allocates per write batch (rows, bound
 * parameters) dies at once, and every megabyte of young generation is resident.
 */
const STORE_THREAD_LIMITS = { maxYoungGenerationSizeMb: 6 };

/** Opens the store (as openStore would) on a worker thread. Rejects with the worker's reason when it cannot open. */
export async function openStoreThread(spec: string | undefined, options: { dataDir?: string } = {}): Promise<Store> {
  const data: StoreWorkerData = { spec, dataDir: options.dataDir };
  const url = workerUrl();
  // A worker does not inherit the TypeScript loader the tests and benches run under: under
  // tsx, a two-line bootstrap registers it in the worker, then loads the worker's source.
  const worker = url.pathname.endsWith('.ts')
    ? new Worker(`import('tsx/esm/api').then((api) => { api.register(); return import(${JSON.stringify(url.href)}); });`,
      { eval: true, workerData: data, resourceLimits: STORE_THREAD_LIMITS })
    : new Worker(url, { workerData: data, resourceLimits: STORE_THREAD_LIMITS });
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let failure: Error | undefined;

  const ready = await new Promise<StoreReady>((resolve, reject) => {
    const onError = (e: Error): void => reject(e);
    worker.once('error', onError);
    worker.once('message', (m: StoreReady) => {
      worker.off('error', onError);
      resolve(m);
    });
  });
  if (!ready.ready) {
    await worker.terminate();
    throw new Error(ready.message);
  }

  const failAll = (e: Error): void => {
    failure ??= e;
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };
  worker.on('message', (r: StoreReply) => {
    const p = pending.get(r.id);
    if (!p) return;
    pending.delete(r.id);
    if (r.ok) p.resolve(r.value);
    else p.reject(r.name === 'StoreQueryError' ? new StoreQueryError(r.message) : Object.assign(new Error(r.message), { name: r.name }));
  });
  worker.on('error', (e) => failAll(new Error(`the store thread failed: ${e.message}`)));
  worker.on('exit', (code) => failAll(new Error(`the store thread exited (${code})`)));

  const call = <T>(method: string, ...args: unknown[]): Promise<T> => {
    if (failure) return Promise.reject(failure);
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage({ id, method, args } satisfies StoreCall);
    });
  };

  let closing: Promise<void> | undefined;
  return {
    engine: ready.engine,
    location: ready.location,
    write: (batch) => call('write', batch),
    getAlert: (id) => call('getAlert', id),
    knownAlertIds: (ids) => call('knownAlertIds', ids),
    listAlerts: (q) => call('listAlerts', q),
    getIncident: (id) => call('getIncident', id),
    listIncidents: (q) => call('listIncidents', q),
    incidentTimeline: (id, limit) => call('incidentTimeline', id, limit),
    incidentLinks: (id) => call('incidentLinks', id),
    setIncidentStatus: (id, status, note) => call('setIncidentStatus', id, status, note),
    activeIncidents: (since) => call('activeIncidents', since),
    stats: (q) => call('stats', q),
    applyRetention: (p) => call('applyRetention', p),
    countAlerts: () => call('countAlerts'),
    close() {
      closing ??= (async () => {
        if (!failure) await call('close');
        await worker.terminate();
      })();
      return closing;
    },
  };
}
