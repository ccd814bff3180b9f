/**
 * A pod as the agent keeps it: the few fields the `container.*` / `k8s.*`
 * fields and correlation need, read from a Pod object of the Kubernetes API
 * (a list item or a watch event's object).
 *
 * Everything in a Pod is attacker-controlled text (whoever can create pods
 * on the node chooses names, labels, images, mount paths), so it is only
 * copied, never interpreted, and every string, list and map is bounded: the
 * apiserver validates most of these sizes already, but a compromised or
 * buggy apiserver (or a proxy) must not make the agent grow without limit.
 *
 * The input is `unknown`: watch events arrive as raw JSON, while the
 * client's list call deserializes through its model classes (times become
 * `Date`), so the reader accepts both forms.
 */
import { type ContainerMount, parseImageReference } from '../syscall/state/metadata.js';
import type { ContainerRuntime } from '../syscall/state/containers.js';

/** Longest string kept (names are ≤ 253, labels ≤ 63+317; images and paths can be longer, but not this long). */
export const MAX_STRING = 4096;
/** Most labels kept per pod; more are dropped (counted in {@link PodRecord.truncated}). */
export const MAX_LABELS = 128;
/** Most containers (of all kinds) and mounts per container kept. */
export const MAX_CONTAINERS = 128;
export const MAX_MOUNTS = 128;

export type ContainerKind = 'container' | 'init' | 'ephemeral';

/** One container of a pod, joined from its spec and its status. */
export interface ContainerRecord {
  readonly name: string;
  readonly kind: ContainerKind;
  /** The runtime from the status's `containerID` scheme (`containerd://`, `cri-o://`, `docker://`). */
  readonly runtime?: ContainerRuntime;
  /** 64 hex, lower case; absent until the kubelet reports the container. */
  readonly fullId?: string;
  /** Ids of earlier instances (restarts: `lastState.terminated.containerID`), still owned by this container. */
  readonly previousIds: readonly string[];
  /** The image as the kubelet reports it (resolved: `docker.io/library/nginx:1.25`), else the spec's. */
  readonly image?: string;
  readonly imageId?: string;
  readonly privileged: boolean;
  readonly mounts: readonly ContainerMount[];
  /** ns since the epoch, from `state.running.startedAt` (or `terminated.startedAt`). */
  readonly startTs?: bigint;
}

export interface PodRecord {
  readonly uid: string;
  readonly name: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly serviceAccount?: string;
  readonly node?: string;
  readonly ip?: string;
  readonly hostNetwork: boolean;
  readonly hostPid: boolean;
  readonly hostIpc: boolean;
  readonly resourceVersion?: string;
  readonly containers: readonly ContainerRecord[];
  /** True when something was dropped to respect the bounds above. */
  readonly truncated: boolean;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const obj = (v: unknown): Obj => (isObj(v) ? v : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function str(v: unknown): string | undefined {
  if (typeof v !== 'string' || v === '') return undefined;
  return v.length > MAX_STRING ? v.slice(0, MAX_STRING) : v;
}

/** RFC 3339 text or a Date → ns since the epoch (API times have second precision, so ms is exact). */
function nanos(v: unknown): bigint | undefined {
  const ms = v instanceof Date ? v.getTime() : typeof v === 'string' && v.length <= 64 ? Date.parse(v) : NaN;
  return Number.isFinite(ms) && ms >= 0 ? BigInt(ms) * 1_000_000n : undefined;
}

const SCHEMES: Readonly<Record<string, ContainerRuntime>> = {
  containerd: 'containerd',
  'cri-o': 'cri-o',
  docker: 'docker',
};
const CONTAINER_ID = /^([a-z-]{1,16}):\/\/([0-9a-fA-F]{64})$/;

/** `containerd://<64hex>` → runtime and id; anything else (other runtimes, junk) → undefined. */
export function parseContainerId(v: unknown): { runtime: ContainerRuntime; fullId: string } | undefined {
  if (typeof v !== 'string' || v.length > 100) return undefined;
  const m = CONTAINER_ID.exec(v);
  if (!m) return undefined;
  const runtime = SCHEMES[m[1]!];
  return runtime ? { runtime, fullId: m[2]!.toLowerCase() } : undefined;
}

/**
 * Where a volume's data lives on the node, as `container.mount.source`
 * shows it. A hostPath volume's path is exact (the rules that look for
 * `/var/run/docker.sock` or `/etc` mounted into a container key on it).
 * Volumes the kubelet materializes itself live under its pods directory at
 * the kubelet's default `--root-dir`; for other volume types (PVCs, CSI) the
 * node path is not in the Pod, and the source says only what the volume is.
 */
const KUBELET_PLUGIN_DIRS: Readonly<Record<string, string>> = {
  emptyDir: 'kubernetes.io~empty-dir',
  configMap: 'kubernetes.io~configmap',
  secret: 'kubernetes.io~secret',
  projected: 'kubernetes.io~projected',
  downwardAPI: 'kubernetes.io~downward-api',
};

function volumeSource(volume: Obj, podUid: string): string {
  const name = str(volume.name) ?? '';
  const hostPath = str(obj(volume.hostPath).path);
  if (hostPath !== undefined) return hostPath;
  for (const [key, dir] of Object.entries(KUBELET_PLUGIN_DIRS)) {
    if (isObj(volume[key])) return `/var/lib/kubelet/pods/${podUid}/volumes/${dir}/${name}`;
  }
  const kind = Object.keys(volume).find((k) => k !== 'name' && isObj(volume[k]));
  return `${kind ?? 'volume'}:${name}`;
}

/** How runtimes spell the pod API's mountPropagation (the kubelet's CRI translation). */
const PROPAGATION: Readonly<Record<string, string>> = {
  None: 'rprivate',
  HostToContainer: 'rslave',
  Bidirectional: 'rshared',
};

function joinSubPath(source: string, subPath: string | undefined): string {
  if (!subPath || !source.startsWith('/')) return source;
  return `${source.replace(/\/+$/, '')}/${subPath.replace(/^\/+/, '')}`;
}

function readMounts(spec: Obj, volumes: ReadonlyMap<string, Obj>, podUid: string, flag: () => void): ContainerMount[] {
  const mounts: ContainerMount[] = [];
  for (const raw of list(spec.volumeMounts)) {
    if (mounts.length >= MAX_MOUNTS) {
      flag();
      break;
    }
    const m = obj(raw);
    const dest = str(m.mountPath);
    const name = str(m.name);
    if (dest === undefined || name === undefined) continue;
    const volume = volumes.get(name);
    const source = joinSubPath(volume ? volumeSource(volume, podUid) : `volume:${name}`, str(m.subPath));
    const mount: { -readonly [K in keyof ContainerMount]: ContainerMount[K] } = { source, dest, rw: m.readOnly !== true };
    const prop = PROPAGATION[str(m.mountPropagation) ?? 'None'];
    if (prop) mount.propagation = prop;
    mounts.push(Object.freeze(mount));
  }
  return mounts;
}

function readLabels(v: unknown, flag: () => void): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  let n = 0;
  for (const [k, x] of Object.entries(obj(v))) {
    if (typeof x !== 'string' || k.length > 317 || x.length > 1024) {
      flag();
      continue;
    }
    if (n++ >= MAX_LABELS) {
      flag();
      break;
    }
    out[k] = x;
  }
  return Object.freeze(out);
}

/**
 * Reads a Pod. Returns undefined when it has no uid, name or namespace (not
 * a pod we can key). Containers come from the spec (`containers`,
 * `initContainers`, `ephemeralContainers`) joined by name with the matching
 * status list; a status without a spec entry is kept too (the spec is what
 * holds `privileged` and the mounts, the status the id and the image).
 */
export function readPod(raw: unknown): PodRecord | undefined {
  const pod = obj(raw);
  const meta = obj(pod.metadata);
  const uid = str(meta.uid)?.toLowerCase();
  const name = str(meta.name);
  const namespace = str(meta.namespace);
  if (uid === undefined || name === undefined || namespace === undefined || uid.length > 64) return undefined;
  let truncated = false;
  const flag = (): void => void (truncated = true);
  const spec = obj(pod.spec);
  const status = obj(pod.status);

  const volumes = new Map<string, Obj>();
  for (const v of list(spec.volumes)) {
    const vol = obj(v);
    const vname = str(vol.name);
    if (vname !== undefined && volumes.size < MAX_MOUNTS * 4) volumes.set(vname, vol);
  }

  const containers: ContainerRecord[] = [];
  const kinds: ReadonlyArray<readonly [ContainerKind, string, string]> = [
    ['init', 'initContainers', 'initContainerStatuses'],
    ['container', 'containers', 'containerStatuses'],
    ['ephemeral', 'ephemeralContainers', 'ephemeralContainerStatuses'],
  ];
  for (const [kind, specKey, statusKey] of kinds) {
    const statuses = new Map<string, Obj>();
    for (const s of list(status[statusKey])) {
      const st = obj(s);
      const sname = str(st.name);
      if (sname !== undefined && statuses.size < MAX_CONTAINERS) statuses.set(sname, st);
    }
    const names = new Set<string>();
    const specs = list(spec[specKey]).map(obj);
    for (const c of specs) {
      const cname = str(c.name);
      if (cname !== undefined) names.add(cname);
    }
    for (const sname of statuses.keys()) names.add(sname);
    for (const cname of names) {
      if (containers.length >= MAX_CONTAINERS) {
        flag();
        break;
      }
      const cspec = specs.find((c) => c.name === cname) ?? {};
      containers.push(readContainer(cname, kind, cspec, statuses.get(cname) ?? {}, volumes, uid, flag));
    }
  }

  const record: { -readonly [K in keyof PodRecord]: PodRecord[K] } = {
    uid, name, namespace,
    labels: readLabels(meta.labels, flag),
    hostNetwork: spec.hostNetwork === true,
    hostPid: spec.hostPID === true,
    hostIpc: spec.hostIPC === true,
    containers: Object.freeze(containers),
    truncated,
  };
  const sa = str(spec.serviceAccountName) ?? str(spec.serviceAccount);
  if (sa !== undefined) record.serviceAccount = sa;
  const node = str(spec.nodeName);
  if (node !== undefined) record.node = node;
  const ip = str(status.podIP);
  if (ip !== undefined && ip.length <= 64) record.ip = ip;
  const rv = str(meta.resourceVersion);
  if (rv !== undefined) record.resourceVersion = rv;
  record.truncated = truncated; // readContainer may have set it after the object literal was built
  return Object.freeze(record);
}

function readContainer(
  name: string, kind: ContainerKind, spec: Obj, status: Obj, volumes: ReadonlyMap<string, Obj>, podUid: string, flag: () => void,
): ContainerRecord {
  const c: { -readonly [K in keyof ContainerRecord]: ContainerRecord[K] } = {
    name,
    kind,
    privileged: obj(spec.securityContext).privileged === true,
    mounts: Object.freeze(readMounts(spec, volumes, podUid, flag)),
    previousIds: [],
  };
  const id = parseContainerId(status.containerID);
  if (id) {
    c.runtime = id.runtime;
    c.fullId = id.fullId;
  }
  const last = parseContainerId(obj(obj(status.lastState).terminated).containerID);
  if (last && last.fullId !== c.fullId) c.previousIds = Object.freeze([last.fullId]);
  // The status's image is what the runtime resolved (`docker.io/library/nginx:1.25` for `nginx:1.25`).
  const image = str(status.image) ?? str(spec.image);
  if (image !== undefined) c.image = image;
  const imageId = str(status.imageID);
  if (imageId !== undefined) c.imageId = imageId;
  const state = obj(status.state);
  const started = nanos(obj(state.running).startedAt) ?? nanos(obj(state.terminated).startedAt);
  if (started !== undefined) c.startTs = started;
  return Object.freeze(c);
}

/** The digest of an image id (`docker.io/library/nginx@sha256:...`, `docker-pullable://x@sha256:...`, `sha256:...`). */
export function digestOf(imageId: string | undefined): string | undefined {
  if (!imageId) return undefined;
  const ref = parseImageReference(imageId.replace(/^[a-z-]+:\/\//, ''));
  if (ref.digest) return ref.digest;
  return /^sha256:[0-9a-f]{64}$/.test(imageId) ? imageId : undefined;
}
