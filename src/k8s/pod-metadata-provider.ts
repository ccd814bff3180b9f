/**
 * `container.*` and `k8s.*` metadata from the pods the {@link PodWatcher}
 * keeps: a {@link MetadataProvider} over a {@link PodCache}.
 *
 * Lookup order for a cgroup identity:
 * 1. its full container id in a pod's status (the container, or an earlier
 *    instance of it, or one that died within the grace period);
 * 2. its pod UID (from the kubepods cgroup) when the id is not (yet) in a
 *    status: the kubelet reports a container's id only after the runtime
 *    started it, and the first events of a container come before that. The
 *    pod is certain; the container is given only when the pod has exactly
 *    one container without a reported id (otherwise the identity cannot say
 *    which, and a wrong name is worse than none). The sandbox ("pause")
 *    container lands here too, and gets the pod.
 * 3. the fallback provider, if any (CRI, or a static file).
 *
 * Results are cached per identity object (the cgroup parser hands out one
 * frozen object per distinct cgroup line), invalidated when the cache's
 * generation moves, so a hit costs a WeakMap get and a compare, and
 * allocates nothing.
 */
import type { ContainerIdentity } from '../syscall/state/containers.js';
import {
  type ContainerMetadata,
  type MetadataProvider,
  type PodMetadata,
  parseImageReference,
} from '../syscall/state/metadata.js';
import type { PodCache } from './pod-cache.js';
import { type ContainerRecord, digestOf, type PodRecord } from './pod-model.js';

/** {@link PodMetadata} with what the API adds beyond the CRI's view (for correlation). */
export interface KubernetesPodMetadata extends PodMetadata {
  readonly serviceAccount?: string;
  readonly node?: string;
  readonly hostNetwork?: boolean;
  readonly hostPid?: boolean;
  readonly hostIpc?: boolean;
}

interface Cached {
  generation: number;
  meta: ContainerMetadata | undefined;
}

export class KubernetesMetadataProvider implements MetadataProvider {
  private readonly cache = new WeakMap<ContainerIdentity, Cached>();
  /** Pod metadata objects, shared by all containers of a pod record. */
  private readonly pods = new WeakMap<PodRecord, KubernetesPodMetadata>();

  constructor(
    private readonly podCache: PodCache,
    private readonly fallback?: MetadataProvider,
  ) {}

  lookup(identity: ContainerIdentity): ContainerMetadata | undefined {
    if (identity.runtime === 'host') return undefined;
    // Both only grow, so the sum moves when either does: a fallback's late answer (the CRI's) is seen.
    const generation = this.podCache.generation + (this.fallback?.generation ?? 0);
    const hit = this.cache.get(identity);
    if (hit !== undefined && hit.generation === generation) return hit.meta;
    const meta = this.resolve(identity) ?? this.fallback?.lookup(identity);
    if (hit) {
      hit.generation = generation;
      hit.meta = meta;
    } else this.cache.set(identity, { generation, meta });
    return meta;
  }

  /** A container by its pod's UID and its name (for callers that know the name, e.g. from the CRI). */
  lookupByPodAndName(podUid: string, name: string, identity?: ContainerIdentity): ContainerMetadata | undefined {
    const ref = this.podCache.byPodAndName(podUid.toLowerCase(), name);
    return ref ? this.containerMeta(ref.pod, ref.container, identity) : undefined;
  }

  private resolve(identity: ContainerIdentity): ContainerMetadata | undefined {
    if (identity.fullId !== undefined) {
      const ref = this.podCache.byContainerId(identity.fullId);
      if (ref) return this.containerMeta(ref.pod, ref.container, identity);
    }
    if (identity.podUid === undefined) return undefined;
    const pod = this.podCache.byPodUid(identity.podUid);
    if (!pod) return undefined;
    let only: ContainerRecord | undefined;
    let unreported = 0;
    for (const c of pod.containers) {
      if (c.fullId === undefined) {
        unreported++;
        only = c;
      }
    }
    if (unreported === 1 && only) return this.containerMeta(pod, only, identity);
    // Several candidates: the runtime (CRI) knows this id's container name, which picks one.
    const name = this.fallback?.lookup(identity)?.name;
    if (name !== undefined) {
      const ref = this.podCache.byPodAndName(pod.uid, name);
      if (ref) return this.containerMeta(ref.pod, ref.container, identity);
    }
    return Object.freeze({
      id: identity.id,
      ...(identity.fullId !== undefined ? { fullId: identity.fullId } : {}),
      type: identity.runtime,
      ...(pod.ip !== undefined ? { ip: pod.ip } : {}),
      pod: this.podMeta(pod),
    });
  }

  private containerMeta(pod: PodRecord, c: ContainerRecord, identity: ContainerIdentity | undefined): ContainerMetadata {
    const out: { -readonly [K in keyof ContainerMetadata]: ContainerMetadata[K] } = {
      id: identity?.id ?? c.fullId?.slice(0, 12) ?? '',
      // The status's scheme names the runtime where the cgroup path only says "a CRI runtime".
      type: c.runtime ?? identity?.runtime ?? 'cri',
      name: c.name,
      privileged: c.privileged,
      mounts: c.mounts,
      // What the kubelet sets on every CRI container, so `container.label[io.kubernetes.pod.name]` works as with the CRI.
      labels: Object.freeze({
        'io.kubernetes.container.name': c.name,
        'io.kubernetes.pod.name': pod.name,
        'io.kubernetes.pod.namespace': pod.namespace,
        'io.kubernetes.pod.uid': pod.uid,
      }),
      pod: this.podMeta(pod),
    };
    const fullId = identity?.fullId ?? c.fullId;
    if (fullId !== undefined) out.fullId = fullId;
    if (c.image !== undefined) {
      out.image = c.image;
      const ref = parseImageReference(c.image);
      out.imageRepository = ref.repository;
      if (ref.tag !== undefined) out.imageTag = ref.tag;
      const digest = ref.digest ?? digestOf(c.imageId);
      if (digest !== undefined) out.imageDigest = digest;
    }
    if (c.imageId !== undefined) out.imageId = c.imageId;
    if (c.startTs !== undefined) out.startTs = c.startTs;
    if (pod.ip !== undefined) out.ip = pod.ip;
    return Object.freeze(out);
  }

  private podMeta(pod: PodRecord): KubernetesPodMetadata {
    let m = this.pods.get(pod);
    if (m) return m;
    const out: { -readonly [K in keyof KubernetesPodMetadata]: KubernetesPodMetadata[K] } = {
      name: pod.name,
      namespace: pod.namespace,
      uid: pod.uid,
      labels: pod.labels,
      hostNetwork: pod.hostNetwork,
      hostPid: pod.hostPid,
      hostIpc: pod.hostIpc,
    };
    if (pod.ip !== undefined) out.ip = pod.ip;
    if (pod.serviceAccount !== undefined) out.serviceAccount = pod.serviceAccount;
    if (pod.node !== undefined) out.node = pod.node;
    m = Object.freeze(out);
    this.pods.set(pod, m);
    return m;
  }
}

/** The first provider that knows a container wins (e.g. a static file over the API). */
export class LayeredMetadataProvider implements MetadataProvider {
  constructor(private readonly layers: readonly MetadataProvider[]) {}

  lookup(identity: ContainerIdentity): ContainerMetadata | undefined {
    for (const p of this.layers) {
      const m = p.lookup(identity);
      if (m !== undefined) return m;
    }
    return undefined;
  }
}
