/**
 * CRI answers → {@link ContainerMetadata}. Everything a runtime reports about
 * a container was chosen by whoever created it (labels, names, image
 * references, mount paths), so it is copied, never interpreted, and bounded:
 * strings are cut at {@link MAX_STRING}, maps and lists at the pod model's
 * limits, and control characters (which no valid Kubernetes name, label or
 * image reference contains) become U+FFFD so a value cannot forge a line in
 * a text output or a log.
 */
import type { ContainerRuntime } from '../../syscall/state/containers.js';
import { type ContainerMetadata, type ContainerMount, type PodMetadata, parseImageReference } from '../../syscall/state/metadata.js';
import { MAX_LABELS, MAX_MOUNTS, MAX_STRING } from '../pod-model.js';
import type { CriContainer, CriContainerStatus, CriImageSpec, CriMount, CriPodSandbox } from './client.js';

/** The labels the kubelet sets on every container it creates through the CRI. */
export const LABEL_POD_NAME = 'io.kubernetes.pod.name';
export const LABEL_POD_NAMESPACE = 'io.kubernetes.pod.namespace';
export const LABEL_POD_UID = 'io.kubernetes.pod.uid';
export const LABEL_CONTAINER_NAME = 'io.kubernetes.container.name';

// C0 controls, DEL and C1 controls.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** A bounded, printable copy; undefined for empty or non-strings. */
export function clean(v: unknown): string | undefined {
  if (typeof v !== 'string' || v === '') return undefined;
  const s = v.length > MAX_STRING ? v.slice(0, MAX_STRING) : v;
  return s.replace(CONTROL, '\uFFFD');
}

/** At most {@link MAX_LABELS} labels, keys and values cleaned; `skip` drops keys (e.g. the kubelet's own). */
export function cleanLabels(raw: unknown, skip?: (key: string) => boolean): Readonly<Record<string, string>> {
  const out: Record<string, string> = {};
  if (typeof raw !== 'object' || raw === null) return Object.freeze(out);
  let n = 0;
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (skip?.(k)) continue;
    const key = clean(k);
    if (key === undefined || typeof v !== 'string') continue;
    if (n++ >= MAX_LABELS) break;
    out[key] = clean(v) ?? '';
  }
  return Object.freeze(out);
}

/** ns since the epoch from the decimal text of an int64; undefined for 0, junk or negatives. */
export function nanos(v: unknown): bigint | undefined {
  if (typeof v !== 'string' || !/^\d{1,20}$/.test(v)) return undefined;
  const n = BigInt(v);
  return n > 0n ? n : undefined;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** A container or sandbox id as the cgroup parser spells it (64 lower-case hex), or undefined. */
export function normalizeId(v: unknown): string | undefined {
  if (typeof v !== 'string' || v.length !== 64) return undefined;
  const id = v.toLowerCase();
  return HEX64.test(id) ? id : undefined;
}

/** `sha256:<64hex>` or a bare 64-hex id: an image id, not a name a person would recognize. */
const IMAGE_ID = /^(sha256:)?[0-9a-f]{64}$/;

/**
 * The image's name. containerd's ListContainers gives the image *id*
 * (`sha256:...`, what the kubelet passed to CreateContainer) where its
 * ContainerStatus gives the tag (`docker.io/library/nginx:1.25`); Kubernetes
 * 1.30+ also passes the name the pod spec used (`user_specified_image`).
 */
function imageName(spec: CriImageSpec | null): string | undefined {
  const image = clean(spec?.image);
  if (image !== undefined && !IMAGE_ID.test(image)) return image;
  return clean(spec?.userSpecifiedImage);
}

/** The image id (config digest): the explicit field, else an id-shaped image or image_ref. */
function imageIdOf(imageId: string, spec: CriImageSpec | null, imageRef: string): string | undefined {
  for (const v of [imageId, spec?.image, imageRef]) {
    const s = clean(v);
    if (s !== undefined && IMAGE_ID.test(s)) return s.startsWith('sha256:') ? s : `sha256:${s}`;
  }
  return clean(imageId);
}

/** The repository digest from a digested reference (`docker.io/library/nginx@sha256:...`); never an image id. */
function repoDigest(...refs: (string | undefined)[]): string | undefined {
  for (const r of refs) {
    if (r === undefined) continue;
    const d = parseImageReference(r).digest;
    if (d !== undefined) return d;
  }
  return undefined;
}

const PROPAGATION: Readonly<Record<string, string>> = {
  PROPAGATION_PRIVATE: 'rprivate',
  PROPAGATION_HOST_TO_CONTAINER: 'rslave',
  PROPAGATION_BIDIRECTIONAL: 'rshared',
};

function mountsOf(list: readonly CriMount[] | undefined): readonly ContainerMount[] | undefined {
  if (!list || list.length === 0) return undefined;
  const out: ContainerMount[] = [];
  for (const m of list.slice(0, MAX_MOUNTS)) {
    const dest = clean(m.containerPath);
    if (dest === undefined) continue;
    const mount: { -readonly [K in keyof ContainerMount]: ContainerMount[K] } = { source: clean(m.hostPath) ?? '', dest, rw: !m.readonly };
    const prop = PROPAGATION[m.propagation];
    if (prop !== undefined) mount.propagation = prop;
    out.push(Object.freeze(mount));
  }
  return Object.freeze(out);
}

/** The pod of a sandbox: its metadata, and the pod's labels (the sandbox's, without the kubelet's own). */
export function podOfSandbox(s: CriPodSandbox, id: string): PodMetadata | undefined {
  const name = clean(s.metadata?.name);
  const namespace = clean(s.metadata?.namespace);
  const uid = clean(s.metadata?.uid)?.toLowerCase();
  if (name === undefined || namespace === undefined || uid === undefined) return undefined;
  return Object.freeze({
    name, namespace, uid, sandboxId: id,
    labels: cleanLabels(s.labels, (k) => k.startsWith('io.kubernetes.')),
  });
}

/** What the provider needs besides the answer: the runtime's name, and the pods by UID from the sandboxes. */
export interface BuildContext {
  readonly type: ContainerRuntime | string;
  podByUid(uid: string): PodMetadata | undefined;
}

/**
 * The pod from the kubelet's labels on the container, with the sandbox's
 * labels when the sandbox is known. Without the three labels (a container
 * made by crictl or nerdctl in the k8s.io namespace) there is no pod.
 */
function podOfLabels(labels: Readonly<Record<string, string>>, ctx: BuildContext): PodMetadata | undefined {
  const uid = labels[LABEL_POD_UID]?.toLowerCase();
  const name = labels[LABEL_POD_NAME];
  const namespace = labels[LABEL_POD_NAMESPACE];
  if (uid === undefined || name === undefined || namespace === undefined) return undefined;
  const known = ctx.podByUid(uid);
  if (known && known.name === name && known.namespace === namespace) return known;
  return Object.freeze({ name, namespace, uid });
}

type Mutable = { -readonly [K in keyof ContainerMetadata]: ContainerMetadata[K] };

function common(fullId: string, ctx: BuildContext, rawLabels: unknown, metaName: string | undefined): Mutable {
  const labels = cleanLabels(rawLabels);
  const out: Mutable = { id: fullId.slice(0, 12), fullId, type: ctx.type, labels };
  const name = labels[LABEL_CONTAINER_NAME] ?? clean(metaName);
  if (name !== undefined) out.name = name;
  const pod = podOfLabels(labels, ctx);
  if (pod) out.pod = pod;
  return out;
}

function setImage(out: Mutable, name: string | undefined, imageId: string | undefined, digest: string | undefined): void {
  if (name !== undefined) {
    out.image = name;
    const ref = parseImageReference(name);
    out.imageRepository = ref.repository;
    if (ref.tag !== undefined) out.imageTag = ref.tag;
  }
  if (digest !== undefined) out.imageDigest = digest;
  if (imageId !== undefined) out.imageId = imageId;
}

/** From a ListContainers item (no mounts; containerd names the image only by id here). */
export function fromListed(c: CriContainer, fullId: string, ctx: BuildContext): ContainerMetadata {
  const out = common(fullId, ctx, c.labels, c.metadata?.name);
  const name = imageName(c.image);
  setImage(out, name, imageIdOf(c.imageId, c.image, c.imageRef), repoDigest(name, clean(c.imageRef)));
  const ts = nanos(c.createdAt);
  if (ts !== undefined) out.startTs = ts;
  return Object.freeze(out);
}

/** From a ContainerStatus answer: the image by name, its digest, the mounts, the start time. */
export function fromStatus(s: CriContainerStatus, fullId: string, ctx: BuildContext): ContainerMetadata {
  const out = common(fullId, ctx, s.labels, s.metadata?.name);
  const name = imageName(s.image);
  setImage(out, name, imageIdOf(s.imageId, s.image, s.imageRef), repoDigest(name, clean(s.imageRef)));
  const mounts = mountsOf(s.mounts);
  if (mounts) out.mounts = mounts;
  const ts = nanos(s.startedAt) ?? nanos(s.createdAt);
  if (ts !== undefined) out.startTs = ts;
  return Object.freeze(out);
}

/** The sandbox ("pause") container itself: its pod, no container name or image of its own. */
export function fromSandbox(pod: PodMetadata | undefined, fullId: string, ctx: BuildContext): ContainerMetadata {
  const out: Mutable = { id: fullId.slice(0, 12), fullId, type: ctx.type };
  if (pod) out.pod = pod;
  return Object.freeze(out);
}

/** `containerd`, `cri-o`, `docker` (cri-dockerd): the runtime's own name for itself, as `container.type`. */
export function runtimeType(runtimeName: string): ContainerRuntime | undefined {
  const n = runtimeName.toLowerCase();
  if (n === 'containerd') return 'containerd';
  if (n === 'cri-o' || n === 'crio') return 'cri-o';
  if (n === 'docker') return 'docker';
  return undefined;
}
