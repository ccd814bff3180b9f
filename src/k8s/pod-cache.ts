/**
 * The pods of one node, indexed for the per-event lookups: container id →
 * (pod, container), pod UID → pod, and pod UID + container name →
 * container (for a cgroup identity whose container id the kubelet has not
 * reported yet).
 *
 * Deleted pods and replaced container ids (a restart gives a container a new
 * id) are not dropped at once: the events of a dying container, and the
 * alerts about them, still need its pod; they go after a grace period.
 *
 * `generation` changes on every change, so a consumer can cache its own
 * derived results and know when they are stale.
 */
import type { ContainerRecord, PodRecord } from './pod-model.js';

/** Pods kept at most (a node runs ≤ 110 by default, a few hundred when tuned). */
export const MAX_PODS = 5000;

export interface ContainerRef {
  readonly pod: PodRecord;
  readonly container: ContainerRecord;
}

interface PodEntry {
  pod: PodRecord;
  /** ms timestamp after which a deleted pod goes; undefined while it lives. */
  expiresAt?: number;
}

interface IdEntry {
  ref: ContainerRef;
  /** ms timestamp after which an id no longer in its pod's status goes. */
  expiresAt?: number;
}

export interface PodCacheOptions {
  /** How long a deleted pod, or a replaced container id, stays resolvable (ms). */
  readonly graceMs: number;
  readonly now?: () => number;
  readonly maxPods?: number;
}

export class PodCache {
  private readonly pods = new Map<string, PodEntry>();
  private readonly ids = new Map<string, IdEntry>();
  private readonly now: () => number;
  private readonly maxPods: number;
  /** Bumped on every change. */
  generation = 0;
  /** Pods refused because the cache was full. */
  refused = 0;

  constructor(private readonly options: PodCacheOptions) {
    this.now = options.now ?? Date.now;
    this.maxPods = options.maxPods ?? MAX_PODS;
  }

  /** Live pods (not deleted). */
  get size(): number {
    let n = 0;
    for (const e of this.pods.values()) if (e.expiresAt === undefined) n++;
    return n;
  }

  /** Every pod held, deleted ones (still in their grace period) included. */
  get heldPods(): number {
    return this.pods.size;
  }

  /** Adds or replaces a pod (ADDED, MODIFIED, or an item of a list). Returns false when refused (cache full). */
  upsert(pod: PodRecord): boolean {
    const prev = this.pods.get(pod.uid);
    if (!prev && this.pods.size >= this.maxPods) {
      this.sweep();
      if (this.pods.size >= this.maxPods) {
        this.refused++;
        return false;
      }
    }
    this.pods.set(pod.uid, { pod });
    const now = this.now();
    const current = new Set<string>();
    for (const container of pod.containers) {
      const ref: ContainerRef = { pod, container };
      if (container.fullId) {
        current.add(container.fullId);
        this.ids.set(container.fullId, { ref });
      }
      for (const old of container.previousIds) {
        if (current.has(old)) continue;
        const e = this.ids.get(old);
        // A restarted container's earlier id keeps resolving to it, for the grace period.
        this.ids.set(old, { ref, expiresAt: e?.expiresAt ?? now + this.options.graceMs });
      }
    }
    if (prev) this.retireIds(prev.pod, current, now);
    this.generation++;
    return true;
  }

  /** A DELETED pod: resolvable for the grace period, then gone. */
  remove(uid: string): void {
    const e = this.pods.get(uid);
    if (!e || e.expiresAt !== undefined) return;
    const now = this.now();
    e.expiresAt = now + this.options.graceMs;
    this.retireIds(e.pod, new Set(), now);
    this.generation++;
  }

  /** A relist: pods in `pods` are upserted, live pods missing from it are removed (with grace). */
  replaceAll(pods: readonly PodRecord[]): void {
    const seen = new Set<string>();
    for (const p of pods) {
      seen.add(p.uid);
      this.upsert(p);
    }
    for (const [uid, e] of this.pods) if (e.expiresAt === undefined && !seen.has(uid)) this.remove(uid);
  }

  /** Drops what outlived its grace period. Cheap; called from a timer. */
  sweep(): void {
    const now = this.now();
    let changed = false;
    for (const [uid, e] of this.pods) {
      if (e.expiresAt !== undefined && e.expiresAt <= now) {
        this.pods.delete(uid);
        changed = true;
      }
    }
    for (const [id, e] of this.ids) {
      if (e.expiresAt !== undefined && e.expiresAt <= now) {
        this.ids.delete(id);
        changed = true;
      }
    }
    if (changed) this.generation++;
  }

  byContainerId(fullId: string): ContainerRef | undefined {
    return this.ids.get(fullId)?.ref;
  }

  byPodUid(uid: string): PodRecord | undefined {
    return this.pods.get(uid)?.pod;
  }

  byPodAndName(uid: string, name: string): ContainerRef | undefined {
    const pod = this.pods.get(uid)?.pod;
    const container = pod?.containers.find((c) => c.name === name);
    return pod && container ? { pod, container } : undefined;
  }

  /** Every pod held (for debugging and tests). */
  allPods(): PodRecord[] {
    return [...this.pods.values()].map((e) => e.pod);
  }

  isDeleted(uid: string): boolean {
    return this.pods.get(uid)?.expiresAt !== undefined;
  }

  /** Ids that `pod` owned and that are not in `keep` start their grace period. */
  private retireIds(pod: PodRecord, keep: ReadonlySet<string>, now: number): void {
    for (const c of pod.containers) {
      for (const id of c.fullId ? [c.fullId, ...c.previousIds] : c.previousIds) {
        if (keep.has(id)) continue;
        const e = this.ids.get(id);
        if (e && e.ref.pod.uid === pod.uid && e.expiresAt === undefined) e.expiresAt = now + this.options.graceMs;
      }
    }
  }
}
