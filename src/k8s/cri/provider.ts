/**
 * `container.*` (and, without the API, `k8s.pod.*`) metadata from the node's
 * container runtime over the CRI: a {@link MetadataProvider} whose lookups
 * never wait for the runtime.
 *
 * `lookup()` runs for every event of a container, on the evaluation thread,
 * so it only reads an in-memory map keyed by the full container id:
 * - a periodic ListPodSandbox + ListContainers fills it (and finds what was
 *   removed: kept for a grace period, so the last events of a dying
 *   container keep their names, then evicted);
 * - a container the map does not know yet (created since the last list) is
 *   asked for with ContainerStatus, in the background: lookups return
 *   undefined meanwhile, and the next events of that container get the
 *   answer. Requests are de-duplicated, rate-limited (token bucket), bounded
 *   in flight and in queue, so a flood of unknown ids (any process can name
 *   a cgroup like a container) costs the runtime a few requests a second;
 * - an id the runtime does not know (a container of another engine, or not a
 *   container) is remembered as unknown for a while (negative cache).
 * ContainerStatus is also asked once for each new running container the list
 * shows: it names the image where the list (containerd's) gives only its id,
 * and it has the mounts.
 *
 * The connection: the first socket of the candidates that exists and answers
 * Version is used. No socket at all is normal (a machine without a CRI
 * runtime): said once, checked again quietly at each refresh. A socket that
 * fails (permission, not a CRI runtime, runtime down) is reported with the
 * socket and the error, and retried with a jittered backoff; a runtime that
 * stops answering later is reconnected the same way. Nothing here throws into
 * the agent.
 */
import { statSync } from 'node:fs';
import type { ContainerIdentity, ContainerRuntime } from '../../syscall/state/containers.js';
import type { ContainerMetadata, MetadataProvider, PodMetadata } from '../../syscall/state/metadata.js';
import { type BackoffOptions, DEFAULT_BACKOFF, backoffDelay } from '../backoff.js';
import { CriClient, CriError, type CriVersion } from './client.js';
import { type BuildContext, fromListed, fromSandbox, fromStatus, normalizeId, podOfSandbox, runtimeType } from './model.js';

export interface CriHooks {
  /** None of the candidate sockets exists (called once, until one appears). */
  onNoSocket?(candidates: readonly string[]): void;
  onConnected?(socket: string, version: CriVersion): void;
  /** A socket that exists could not be used; `repeated`: the same error as the last attempt on it. */
  onConnectError?(socket: string, err: Error, retryInMs: number, repeated: boolean): void;
  /** The runtime stopped answering the periodic list. */
  onDisconnected?(socket: string, err: Error, retryInMs: number): void;
  onRequest?(method: string): void;
  onError?(method: string, err: Error): void;
  /** Containers (and sandboxes) known, after each change. */
  onCacheSize?(entries: number): void;
}

export interface CriProviderOptions {
  /** Socket paths to try, in order (already under the host root). */
  readonly sockets: readonly string[];
  /** Time between two lists (ms). Default 10 s. */
  readonly refreshMs?: number;
  /** Deadline of each call (ms). Default 5 s. */
  readonly timeoutMs?: number;
  /** Reconnection delays. Default 0.5 s doubling to 30 s. */
  readonly backoff?: BackoffOptions;
  /** Most containers kept; past it the oldest known is evicted. Default 8192. */
  readonly maxContainers?: number;
  /** How long a container gone from the list stays (ms). Default 60 s, as a deleted pod's. */
  readonly graceMs?: number;
  /** How long an id the runtime does not know stays unknown (ms). Default 30 s. */
  readonly negativeTtlMs?: number;
  /** ContainerStatus requests per second, and the burst. Default 50, 100. */
  readonly statusRate?: number;
  readonly statusBurst?: number;
  /** ContainerStatus requests in flight at once. Default 4. */
  readonly maxInFlight?: number;
  /** Ids waiting for a ContainerStatus request; more are dropped (asked again on their next event). Default 1024. */
  readonly maxQueued?: number;
  readonly hooks?: CriHooks;
  /** Clock (ms), for tests. */
  readonly now?: () => number;
}

interface Entry {
  meta: ContainerMetadata;
  /** From ContainerStatus (or a sandbox): nothing more to ask. */
  detailed: boolean;
  /** When a list first missed it (ms). */
  goneAt?: number;
}

const MAX_NEGATIVE = 4096;

/** Is `path` a unix socket? `'absent'` when nothing is there. */
function socketState(path: string): 'socket' | 'absent' | 'other' {
  try {
    return statSync(path).isSocket() ? 'socket' : 'other';
  } catch {
    return 'absent';
  }
}

export class CriMetadataProvider implements MetadataProvider {
  private readonly entries = new Map<string, Entry>();
  /** Ids the runtime said it does not know → until when (ms). */
  private readonly negative = new Map<string, number>();
  private readonly queue = new Set<string>();
  private readonly inFlight = new Set<string>();
  private readonly pods = new Map<string, PodMetadata>();
  private readonly hooks: CriHooks;
  private readonly clock: () => number;
  private readonly refreshMs: number;
  private readonly graceMs: number;
  private readonly negativeTtlMs: number;
  private readonly maxContainers: number;
  private readonly maxInFlight: number;
  private readonly maxQueued: number;
  private readonly rate: number;
  private readonly burst: number;
  private tokens: number;
  private tokensAt: number;
  private client: CriClient | undefined;
  private type: ContainerRuntime | string = 'cri';
  private attempt = 0;
  private readonly lastConnectError = new Map<string, string>();
  private noSocketReported = false;
  private timer: NodeJS.Timeout | undefined;
  private pumpTimer: NodeJS.Timeout | undefined;
  private pumpScheduled = false;
  private stopped = false;
  private synced = false;
  private readonly syncWaiters: (() => void)[] = [];
  private gen = 0;
  /** Lookups that found nothing and could not be queued (queue full). */
  droppedRequests = 0;

  constructor(private readonly options: CriProviderOptions) {
    this.hooks = options.hooks ?? {};
    this.clock = options.now ?? Date.now;
    this.refreshMs = options.refreshMs ?? 10_000;
    this.graceMs = options.graceMs ?? 60_000;
    this.negativeTtlMs = options.negativeTtlMs ?? 30_000;
    this.maxContainers = options.maxContainers ?? 8192;
    this.maxInFlight = options.maxInFlight ?? 4;
    this.maxQueued = options.maxQueued ?? 1024;
    this.rate = options.statusRate ?? 50;
    this.burst = options.statusBurst ?? 100;
    this.tokens = this.burst;
    this.tokensAt = this.clock();
  }

  /** Moves whenever an answer may have changed (for callers that cache answers, e.g. the API's provider). */
  get generation(): number {
    return this.gen;
  }

  /** The socket in use, while connected. */
  get socket(): string | undefined {
    return this.client?.socket;
  }

  get connected(): boolean {
    return this.client !== undefined;
  }

  get size(): number {
    return this.entries.size;
  }

  start(): void {
    if (this.timer || this.stopped) return;
    void this.cycle();
  }

  /**
   * Resolves true after the first list, false after `timeoutMs` or at once
   * when no socket exists (the agent then starts without waiting).
   */
  waitForSync(timeoutMs: number): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    if (this.noSocketReported || this.stopped) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(this.synced), timeoutMs);
      timer.unref();
      this.syncWaiters.push(() => {
        clearTimeout(timer);
        resolve(this.synced);
      });
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.pumpTimer) clearTimeout(this.pumpTimer);
    this.timer = this.pumpTimer = undefined;
    this.queue.clear();
    this.client?.close();
    this.client = undefined;
    this.wakeSyncWaiters();
  }

  lookup(identity: ContainerIdentity): ContainerMetadata | undefined {
    const id = identity.fullId;
    // podman is not a CRI runtime; the host has no container.
    if (id === undefined || identity.runtime === 'host' || identity.runtime === 'podman') return undefined;
    const e = this.entries.get(id);
    if (e !== undefined) return e.meta;
    const until = this.negative.get(id);
    if (until !== undefined) {
      if (this.clock() < until) return undefined;
      this.negative.delete(id);
    }
    this.want(id);
    return undefined;
  }

  // ---- the connection and the periodic list --------------------------------

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.cycle(), ms);
    this.timer.unref();
  }

  private async cycle(): Promise<void> {
    this.timer = undefined;
    if (this.stopped) return;
    let delay = this.refreshMs;
    if (!this.client) delay = await this.connect();
    if (this.client && !this.stopped) {
      const err = await this.refresh();
      if (err) delay = this.disconnect(err);
    }
    this.schedule(delay);
  }

  /** Tries each present socket; returns the delay before the next cycle. */
  private async connect(): Promise<number> {
    const candidates = this.options.sockets;
    const failures: [string, Error][] = [];
    let present = 0;
    for (const path of candidates) {
      const state = socketState(path);
      if (state === 'absent') continue;
      present++;
      if (state === 'other') {
        failures.push([path, new Error('exists but is not a unix socket')]);
        continue;
      }
      const client = new CriClient(path, this.options.timeoutMs !== undefined ? { timeoutMs: this.options.timeoutMs } : {});
      try {
        const version = await this.request('Version', () => client.version());
        if (this.stopped) {
          client.close();
          return this.refreshMs;
        }
        this.client = client;
        this.type = runtimeType(version.runtimeName) ?? 'cri';
        this.attempt = 0;
        this.noSocketReported = false;
        this.lastConnectError.clear();
        this.gen++;
        this.hooks.onConnected?.(path, version);
        return this.refreshMs;
      } catch (e) {
        client.close();
        failures.push([path, explain(e as Error)]);
      }
    }
    if (present === 0) {
      if (!this.noSocketReported) {
        this.noSocketReported = true;
        this.hooks.onNoSocket?.(candidates);
        this.wakeSyncWaiters();
      }
      return this.refreshMs;
    }
    const delay = backoffDelay(this.attempt++, this.options.backoff ?? DEFAULT_BACKOFF);
    for (const [path, err] of failures) {
      const repeated = this.lastConnectError.get(path) === err.message;
      this.lastConnectError.set(path, err.message);
      this.hooks.onConnectError?.(path, err, delay, repeated);
    }
    return delay;
  }

  private disconnect(err: Error): number {
    const socket = this.client?.socket ?? '';
    this.client?.close();
    this.client = undefined;
    this.queue.clear();
    const delay = backoffDelay(this.attempt++, this.options.backoff ?? DEFAULT_BACKOFF);
    this.hooks.onDisconnected?.(socket, err, delay);
    return delay;
  }

  /** One list of sandboxes and containers, applied; the error when the runtime did not answer. */
  private async refresh(): Promise<Error | undefined> {
    const client = this.client!;
    try {
      const sandboxes = await this.request('ListPodSandbox', () => client.listPodSandbox());
      const containers = await this.request('ListContainers', () => client.listContainers());
      if (this.stopped || client !== this.client) return undefined;
      this.apply(sandboxes, containers);
    } catch (e) {
      return this.stopped ? undefined : explain(e as Error);
    }
    if (!this.synced) {
      this.synced = true;
      this.wakeSyncWaiters();
    }
    return undefined;
  }

  private apply(sandboxes: Awaited<ReturnType<CriClient['listPodSandbox']>>, containers: Awaited<ReturnType<CriClient['listContainers']>>): void {
    const now = this.clock();
    const ctx = this.context();
    const seen = new Set<string>();
    // A pod's sandboxes (a restarted one makes a new one): the ready one wins, else the newest.
    this.pods.clear();
    const ranked = [...sandboxes].sort((a, b) => rank(a) - rank(b));
    for (const s of ranked) {
      const id = normalizeId(s.id);
      if (id === undefined) continue;
      const pod = podOfSandbox(s, id);
      if (pod) this.pods.set(pod.uid, pod);
      seen.add(id);
      const e = this.entries.get(id);
      if (e) e.goneAt = undefined;
      else this.put(id, { meta: fromSandbox(pod, id, ctx), detailed: true });
    }
    for (const c of containers) {
      const id = normalizeId(c.id);
      if (id === undefined) continue;
      seen.add(id);
      const e = this.entries.get(id);
      if (e) {
        e.goneAt = undefined;
        const pod = e.meta.pod;
        // An entry made before its sandbox was listed: give it the pod's labels now.
        const known = pod ? this.pods.get(pod.uid) : undefined;
        if (pod && known && pod !== known && pod.name === known.name && pod.namespace === known.namespace) {
          e.meta = Object.freeze({ ...e.meta, pod: known });
          this.gen++;
        }
        continue;
      }
      this.negative.delete(id);
      this.put(id, { meta: fromListed(c, id, ctx), detailed: false });
      if (c.state !== 'CONTAINER_EXITED') this.want(id);
    }
    for (const [id, e] of this.entries) {
      if (seen.has(id)) continue;
      if (e.goneAt === undefined) e.goneAt = now;
      else if (now - e.goneAt >= this.graceMs) {
        this.entries.delete(id);
        this.gen++;
      }
    }
    for (const [id, until] of this.negative) if (now >= until) this.negative.delete(id);
    this.hooks.onCacheSize?.(this.entries.size);
  }

  private context(): BuildContext {
    const pods = this.pods;
    return { type: this.type, podByUid: (uid) => pods.get(uid) };
  }

  private put(id: string, e: Entry): void {
    if (!this.entries.has(id) && this.entries.size >= this.maxContainers) {
      // The oldest known first: Map iterates in insertion order.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(id, e);
    this.gen++;
  }

  private async request<T>(method: string, fn: () => Promise<T>): Promise<T> {
    this.hooks.onRequest?.(method);
    try {
      return await fn();
    } catch (e) {
      if (!this.stopped) this.hooks.onError?.(method, e as Error);
      throw e;
    }
  }

  private wakeSyncWaiters(): void {
    for (const w of this.syncWaiters.splice(0)) w();
  }

  // ---- ContainerStatus, in the background ----------------------------------

  /** Asks for `id` soon, unless already asked, not connected, or the queue is full. */
  private want(id: string): void {
    if (!this.client || this.queue.has(id) || this.inFlight.has(id)) return;
    if (this.queue.size >= this.maxQueued) {
      this.droppedRequests++;
      return;
    }
    this.queue.add(id);
    if (!this.pumpScheduled) {
      this.pumpScheduled = true;
      // Never from inside lookup(): the request starts after the current batch.
      setImmediate(() => {
        this.pumpScheduled = false;
        this.pump();
      });
    }
  }

  private pump(): void {
    if (this.stopped || this.pumpTimer) return;
    const now = this.clock();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.tokensAt) / 1000) * this.rate);
    this.tokensAt = now;
    while (this.queue.size > 0 && this.inFlight.size < this.maxInFlight) {
      if (this.tokens < 1) {
        this.pumpTimer = setTimeout(() => {
          this.pumpTimer = undefined;
          this.pump();
        }, Math.ceil(((1 - this.tokens) / this.rate) * 1000));
        this.pumpTimer.unref();
        return;
      }
      const id = this.queue.values().next().value as string;
      this.queue.delete(id);
      this.tokens -= 1;
      void this.fetch(id);
    }
  }

  private async fetch(id: string): Promise<void> {
    const client = this.client;
    if (!client) return;
    this.inFlight.add(id);
    try {
      const status = await this.request('ContainerStatus', () => client.containerStatus(id));
      if (this.stopped) return;
      if (status) {
        const prev = this.entries.get(id);
        this.negative.delete(id);
        this.put(id, { meta: fromStatus(status, id, this.context()), detailed: true, ...(prev?.goneAt !== undefined ? { goneAt: prev.goneAt } : {}) });
        this.hooks.onCacheSize?.(this.entries.size);
      } else if (!this.entries.has(id)) {
        if (this.negative.size >= MAX_NEGATIVE) {
          const oldest = this.negative.keys().next().value;
          if (oldest !== undefined) this.negative.delete(oldest);
        }
        this.negative.set(id, this.clock() + this.negativeTtlMs);
        this.gen++;
      }
    } catch {
      // Counted by request(); the id is asked again on a later event. A runtime that is down
      // shows in the next list, which reconnects.
    } finally {
      this.inFlight.delete(id);
      if (this.queue.size > 0) this.pump();
    }
  }
}

/** Sandboxes in the order their pods should be taken: not ready first, then ready, older first (the last wins). */
function rank(s: { state: string; createdAt: string }): number {
  const created = Number(s.createdAt) / 1e18; // < 10 for any date before 2286: keeps the state first
  return (s.state === 'SANDBOX_READY' ? 10 : 0) + (Number.isFinite(created) ? created : 0);
}

/** The error with a hint an operator can act on. */
function explain(err: Error): Error {
  if (!(err instanceof CriError)) return err;
  if (err.code === 'UNIMPLEMENTED') {
    return new Error(`answers gRPC but not the CRI (runtime.v1.RuntimeService): ${err.details} (a containerd whose CRI plugin is disabled, e.g. Docker's, is not a CRI runtime)`);
  }
  if (err.code === 'UNAVAILABLE') return new Error(`not reachable or not a gRPC server: ${err.details}`);
  if (err.code === 'DEADLINE_EXCEEDED') return new Error(`did not answer in time: ${err.details}`);
  return new Error(`${err.code}: ${err.details}`);
}
