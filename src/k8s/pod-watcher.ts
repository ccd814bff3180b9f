/**
 * Keeps a {@link PodCache} in step with the pods of one node: list, then
 * watch from the list's resourceVersion, forever.
 *
 * The protocol, as the Kubernetes reflector (client-go
 * `tools/cache/reflector.go`) runs it and as the apiserver documents it
 * ("Efficient detection of changes", API concepts):
 *
 * - list `GET /api/v1/pods?fieldSelector=spec.nodeName=<node>`; the
 *   PodList's `metadata.resourceVersion` is where the watch starts. The first
 *   list asks for `resourceVersion=0` (served from the apiserver's watch
 *   cache, not etcd: every node's agent lists at once when a DaemonSet
 *   rolls out); a list after `410 Gone` asks for the latest (`""`, a quorum
 *   read), since the cache just said that what it has is too old.
 * - watch `?watch=true&resourceVersion=<rv>&allowWatchBookmarks=true
 *   &timeoutSeconds=<n>`; every event moves the resourceVersion on (BOOKMARK
 *   events only do that). The server ends a watch after `timeoutSeconds`
 *   (and proxies end idle connections): the watcher re-watches from the last
 *   resourceVersion, without a list.
 * - `410 Gone` — an ERROR event whose Status has code 410, or an HTTP 410
 *   answer — means the resourceVersion has been compacted away: list again.
 * - Any other failure (connection refused or reset, 5xx, 403 until RBAC is
 *   applied, a stream silent for too long) is retried after a bounded,
 *   jittered backoff, forever; a watch failure re-watches from the last
 *   resourceVersion, and its 410 leads to the relist.
 */
import { CoreV1Api, type KubeConfig, Watch } from '@kubernetes/client-node';
import { backoffDelay, type BackoffOptions, DEFAULT_BACKOFF } from './backoff.js';
import type { PodCache } from './pod-cache.js';
import { type PodRecord, readPod } from './pod-model.js';

export type RelistReason = 'start' | 'gone';
export type WatchEndReason = 'closed' | 'gone' | 'idle' | 'error';

/** What the watcher reports, for logs and metrics. All optional; called synchronously. */
export interface PodWatcherHooks {
  /** A list completed: why it was made, how many pods, the resourceVersion it gave. */
  onRelist?(reason: RelistReason, pods: number, resourceVersion: string): void;
  /** A watch ended and another starts from `resourceVersion` (or a relist follows, for `gone`). */
  onWatchEnd?(reason: WatchEndReason, resourceVersion: string): void;
  /** A list or watch failed; the next try is in `retryInMs`. */
  onError?(error: Error, phase: 'list' | 'watch', retryInMs: number): void;
  /** A watch event was applied. */
  onEvent?(type: string): void;
}

export interface PodWatcherOptions {
  readonly kubeConfig: KubeConfig;
  readonly nodeName: string;
  readonly cache: PodCache;
  readonly hooks?: PodWatcherHooks;
  readonly backoff?: BackoffOptions;
  /** The server ends each watch after this (randomized up to twice as long, as the reflector does). Default 300 s. */
  readonly watchTimeoutSeconds?: number;
  /** A watch with no event (bookmarks included) for this long is abandoned and restarted. Default: 2 × the timeout + 30 s. */
  readonly idleTimeoutMs?: number;
  /** A list that has not answered in this long is abandoned. Default 60 s. */
  readonly listTimeoutMs?: number;
  /** Items per list page (the apiserver ignores it for resourceVersion=0). Default 500. */
  readonly pageSize?: number;
  /** How often deleted pods past their grace period are swept. Default 10 s. */
  readonly sweepIntervalMs?: number;
  readonly random?: () => number;
}

/** The watch-level errors the client raises: HTTP status on `statusCode` (Watch) or `code` (ApiException). */
function httpStatus(e: unknown): number | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const r = e as { statusCode?: unknown; code?: unknown };
  if (typeof r.statusCode === 'number') return r.statusCode;
  if (typeof r.code === 'number') return r.code;
  return undefined;
}

class GoneError extends Error {
  override name = 'GoneError';
}

/** An error safe to log: the client's errors can carry whole response bodies and request options. */
function describeError(e: unknown): Error {
  if (e instanceof GoneError) return e;
  const status = httpStatus(e);
  const msg = e instanceof Error ? e.message : String(e);
  const short = msg.length > 300 ? `${msg.slice(0, 300)}...` : msg;
  const err = new Error(status !== undefined ? `HTTP ${status}: ${short.split('\n')[0]}` : short);
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === 'string') (err as NodeJS.ErrnoException).code = code;
  return err;
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

export class PodWatcher {
  /** The resourceVersion the next watch starts from ('' before the first list). */
  resourceVersion = '';
  readonly stats = { relists: 0, watches: 0, watchRestarts: 0, events: 0, errors: 0, gone: 0 };
  private readonly api: CoreV1Api;
  private readonly watch: Watch;
  private readonly stopper = new AbortController();
  private loop: Promise<void> | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private syncedOnce = false;
  private readonly syncWaiters: Array<() => void> = [];
  private abortCurrent: (() => void) | undefined;

  constructor(private readonly options: PodWatcherOptions) {
    this.api = options.kubeConfig.makeApiClient(CoreV1Api);
    this.watch = new Watch(options.kubeConfig);
  }

  get fieldSelector(): string {
    return `spec.nodeName=${this.options.nodeName}`;
  }

  /** True once a list has completed. */
  get synced(): boolean {
    return this.syncedOnce;
  }

  start(): void {
    if (this.loop) return;
    const every = this.options.sweepIntervalMs ?? 10_000;
    this.sweepTimer = setInterval(() => this.options.cache.sweep(), every);
    this.sweepTimer.unref();
    this.loop = this.run();
  }

  /** Resolves true once the first list is in the cache, false after `timeoutMs`. */
  waitForSync(timeoutMs: number): Promise<boolean> {
    if (this.syncedOnce) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), timeoutMs);
      t.unref();
      this.syncWaiters.push(() => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }

  async stop(): Promise<void> {
    this.stopper.abort();
    this.abortCurrent?.();
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    await this.loop;
  }

  private get stopped(): boolean {
    return this.stopper.signal.aborted;
  }

  private async run(): Promise<void> {
    let listReason: RelistReason | undefined = 'start';
    let failures = 0;
    while (!this.stopped) {
      let phase: 'list' | 'watch' = 'list';
      try {
        if (listReason) {
          await this.list(listReason);
          listReason = undefined;
          failures = 0;
        }
        phase = 'watch';
        const started = Date.now();
        const { reason, events } = await this.watchOnce();
        if (this.stopped) break;
        this.options.hooks?.onWatchEnd?.(reason, this.resourceVersion);
        if (reason === 'gone') {
          this.stats.gone++;
          listReason = 'gone';
          continue;
        }
        this.stats.watchRestarts++;
        if (events > 0 || Date.now() - started > 1000) failures = 0;
        else {
          // A server that ends every watch at once, with nothing in it: do not spin.
          await sleep(backoffDelay(failures++, this.backoff), this.stopper.signal);
        }
      } catch (e) {
        if (this.stopped) break;
        if (e instanceof GoneError || httpStatus(e) === 410) {
          this.stats.gone++;
          this.options.hooks?.onWatchEnd?.('gone', this.resourceVersion);
          listReason = 'gone';
          continue;
        }
        this.stats.errors++;
        const delay = backoffDelay(failures++, this.backoff);
        this.options.hooks?.onError?.(describeError(e), phase, delay);
        if (phase === 'watch') this.options.hooks?.onWatchEnd?.('error', this.resourceVersion);
        // A failed list is retried as a list (listReason is still set); a failed watch re-watches from its resourceVersion.
        await sleep(delay, this.stopper.signal);
      }
    }
  }

  private get backoff(): BackoffOptions {
    return this.options.random ? { ...(this.options.backoff ?? DEFAULT_BACKOFF), random: this.options.random } : (this.options.backoff ?? DEFAULT_BACKOFF);
  }

  /** Lists every pod of the node (all pages) and replaces the cache's content with it. */
  private async list(reason: RelistReason): Promise<void> {
    // After 410 the watch cache's view is too old: read the latest. Otherwise the cache is fine (and cheap).
    const rv = reason === 'gone' ? undefined : reason === 'start' ? '0' : this.resourceVersion || '0';
    const items: unknown[] = [];
    let cont: string | undefined;
    let listRv = '';
    const timeoutMs = this.options.listTimeoutMs ?? 60_000;
    // At most 20 pages (10,000 pods at the default page size): far past any node, a bound against a runaway server.
    for (let page = 0; page < 20; page++) {
      const request = this.api.listPodForAllNamespaces({
        fieldSelector: this.fieldSelector,
        limit: this.options.pageSize ?? 500,
        ...(cont ? { _continue: cont } : rv !== undefined ? { resourceVersion: rv, ...(rv !== '0' ? { resourceVersionMatch: 'NotOlderThan' } : {}) } : {}),
      });
      const result = await this.withTimeout(request, timeoutMs, 'list');
      for (const item of result.items ?? []) items.push(item);
      listRv = result.metadata?.resourceVersion ?? listRv;
      cont = result.metadata?._continue || undefined;
      if (!cont) break;
    }
    const pods: PodRecord[] = [];
    for (const item of items) {
      const pod = readPod(item);
      // The field selector already filtered; a pod of another node here would be a server bug, not ours to show.
      if (pod && (pod.node === undefined || pod.node === this.options.nodeName)) pods.push(pod);
    }
    this.options.cache.replaceAll(pods);
    this.resourceVersion = listRv;
    this.stats.relists++;
    this.options.hooks?.onRelist?.(reason, pods.length, listRv);
    if (!this.syncedOnce) {
      this.syncedOnce = true;
      for (const w of this.syncWaiters.splice(0)) w();
    }
  }

  /** Races a promise against a timer and the stop signal (the client's list call cannot be aborted). */
  private withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
      const onStop = (): void => reject(new Error('stopped'));
      this.stopper.signal.addEventListener('abort', onStop, { once: true });
      p.then(resolve, reject).finally(() => {
        clearTimeout(t);
        this.stopper.signal.removeEventListener('abort', onStop);
      });
    });
  }

  /**
   * One watch, from the current resourceVersion until the server ends it,
   * it goes silent, it fails or the watcher stops. Resolves with why it
   * ended; rejects for failures that need a backoff.
   */
  private watchOnce(): Promise<{ reason: WatchEndReason; events: number }> {
    const base = this.options.watchTimeoutSeconds ?? 300;
    // Randomized per watch, as the reflector does, so the watches of all nodes do not end together.
    const timeoutSeconds = Math.round(base * (1 + (this.options.random ?? Math.random)()));
    const idleMs = this.options.idleTimeoutMs ?? 2 * base * 1000 + 30_000;
    this.stats.watches++;
    let events = 0;
    return new Promise((resolve, reject) => {
      let settled = false;
      let controller: AbortController | undefined;
      let idle: NodeJS.Timeout | undefined;
      const finish = (outcome: { reason: WatchEndReason } | { error: unknown }): void => {
        if (settled) return;
        settled = true;
        if (idle) clearTimeout(idle);
        this.abortCurrent = undefined;
        controller?.abort();
        if ('error' in outcome) reject(outcome.error);
        else resolve({ reason: outcome.reason, events });
      };
      const armIdle = (): void => {
        if (idle) clearTimeout(idle);
        idle = setTimeout(() => finish({ reason: 'idle' }), idleMs);
      };
      this.abortCurrent = () => finish({ reason: 'closed' });
      armIdle();
      const onEvent = (type: string, object: unknown): void => {
        if (settled) return;
        armIdle();
        const outcome = this.apply(type, object);
        if (outcome) return finish(outcome);
        events++;
      };
      const onDone = (err: unknown): void => {
        if (err && !(err instanceof Error && err.name === 'AbortError')) finish({ error: err });
        else finish({ reason: 'closed' });
      };
      this.watch
        .watch('/api/v1/pods', {
          fieldSelector: this.fieldSelector,
          resourceVersion: this.resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds,
        }, onEvent, onDone)
        .then((c) => {
          controller = c;
          if (settled) c.abort();
        }, (e: unknown) => finish({ error: e }));
    });
  }

  /** Applies one watch event; returns how the watch ends when the event ends it. */
  private apply(type: string, object: unknown): { reason: WatchEndReason } | { error: unknown } | undefined {
    const o = (typeof object === 'object' && object !== null ? object : {}) as {
      metadata?: { resourceVersion?: unknown; uid?: unknown };
      code?: unknown;
      message?: unknown;
      reason?: unknown;
    };
    const rv = typeof o.metadata?.resourceVersion === 'string' ? o.metadata.resourceVersion : undefined;
    this.stats.events++;
    this.options.hooks?.onEvent?.(type);
    switch (type) {
      case 'ADDED':
      case 'MODIFIED': {
        const pod = readPod(object);
        if (pod && (pod.node === undefined || pod.node === this.options.nodeName)) this.options.cache.upsert(pod);
        break;
      }
      case 'DELETED': {
        const uid = typeof o.metadata?.uid === 'string' ? o.metadata.uid.toLowerCase() : undefined;
        if (uid) this.options.cache.remove(uid);
        break;
      }
      case 'BOOKMARK':
        break;
      case 'ERROR': {
        if (o.code === 410) return { reason: 'gone' };
        const msg = typeof o.message === 'string' ? o.message.slice(0, 300) : 'no message';
        const error = new Error(`watch ERROR event: ${typeof o.code === 'number' ? `code ${o.code}: ` : ''}${msg}`);
        return { error: Object.assign(error, typeof o.code === 'number' ? { statusCode: o.code } : {}) };
      }
      default:
        return undefined; // an unknown event type: ignore, keep the resourceVersion
    }
    if (rv !== undefined && rv.length <= 64) this.resourceVersion = rv;
    return undefined;
  }
}
