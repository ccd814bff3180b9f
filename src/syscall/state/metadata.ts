/**
 * Container metadata (`container.name`, `container.image*`,
 * `container.privileged`, `container.mounts`, labels, `k8s.pod.*`,
 * `k8s.ns.name`) beyond what the cgroup path tells (containers.ts). A
 * {@link MetadataProvider} looks it up by {@link ContainerIdentity}: the
 * Kubernetes provider (src/k8s) from the pods of the node, and
 * {@link StaticMetadataProvider} from a YAML or JSON file (tests, replays,
 * and overrides of the API's answers).
 */
import type { ContainerMetadataInput } from '../capture.js';
import { readFileSync } from 'node:fs';
import { YAMLParseError, parse } from 'yaml';
import { parseRfc3339Nanos } from '../../audit/time.js';
import type { ContainerIdentity, ContainerRuntime } from './containers.js';

/** One mount of a container (`container.mounts`, `container.mount.*`). */
export interface ContainerMount {
  readonly source: string;
  readonly dest: string;
  /** SELinux/bind mode string as the runtime reports it (`z`, `Z`, `ro`, ...). */
  readonly mode?: string;
  readonly rw?: boolean;
  /** `rprivate`, `rshared`, `rslave`, ... */
  readonly propagation?: string;
}

/** The pod a container belongs to (`k8s.pod.*`, `k8s.ns.name`). */
export interface PodMetadata {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly ip?: string;
  /** The pod sandbox (pause container) id. */
  readonly sandboxId?: string;
}

/** Everything known about a container beyond its identity. Absent fields are unknown. */
export interface ContainerMetadata {
  /** 12-char id, as `container.id`. */
  readonly id: string;
  readonly fullId?: string;
  readonly name?: string;
  /** The image as the runtime names it (`docker.io/library/nginx:1.25`). */
  readonly image?: string;
  /** `image` without tag and digest (`docker.io/library/nginx`). */
  readonly imageRepository?: string;
  readonly imageTag?: string;
  /** `sha256:...` */
  readonly imageDigest?: string;
  /** The image's id (config digest), as the runtime reports it. */
  readonly imageId?: string;
  /** The runtime (`container.type`). */
  readonly type: ContainerRuntime | string;
  readonly privileged?: boolean;
  readonly mounts?: readonly ContainerMount[];
  /** Creation time, ns since the epoch. */
  readonly startTs?: bigint;
  readonly labels?: Readonly<Record<string, string>>;
  readonly ip?: string;
  /** The CNI result as JSON text (`container.cni.json`). */
  readonly cniJson?: string;
  readonly pod?: PodMetadata;
}

/** Looks up metadata for a container identity. Must be fast or cached: fields call it per event. */
export interface MetadataProvider {
  lookup(identity: ContainerIdentity): ContainerMetadata | undefined;
  /**
   * For providers whose answers change while the agent runs without the
   * identity changing (the CRI's fill in the background): a number that
   * moves when any answer may have changed, so a caller that caches answers
   * (the API's provider, over its fallback) knows to ask again.
   */
  readonly generation?: number;
}

/** A provider that knows nothing (the default when none is configured). */
export const NO_METADATA: MetadataProvider = Object.freeze({ lookup: () => undefined });

// --- image references -------------------------------------------------------

/** An image reference split into its parts. */
export interface ImageReference {
  /** Registry host, port and path, without tag or digest (`registry:5000/team/app`). */
  readonly repository: string;
  readonly tag?: string;
  /** `algorithm:hex` (`sha256:...`). */
  readonly digest?: string;
}

/**
 * Splits `[registry[:port]/]path[:tag][@digest]` as the OCI distribution
 * reference grammar does, so a registry port is not taken for a tag (the
 * k8saudit plugin's `image.split(":")[0]` turns `registry:5000/app:1.0` into
 * `registry`). The digest starts at the first `@`; the tag is the text after
 * the last `:` that follows the last `/`. Matches libsinsp's
 * `split_container_image` without repository splitting (falcosecurity/libs
 * `test/container_engine/container_image_splitting.ut.cpp`). No defaults are
 * invented: `nginx` has no tag.
 */
export function parseImageReference(image: string): ImageReference {
  let rest = image.trim();
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1) || undefined;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1) || undefined;
    rest = rest.slice(0, colon);
  }
  const out: { repository: string; tag?: string; digest?: string } = { repository: rest };
  if (tag !== undefined) out.tag = tag;
  if (digest !== undefined) out.digest = digest;
  return out;
}

// --- static provider --------------------------------------------------------

/** Thrown for an unreadable or invalid static metadata file; the message names the file and every bad entry. */
export class MetadataFileError extends Error {
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(`${file}: ${problems.length === 1 ? problems[0] : `${problems.length} problems:\n  ${problems.join('\n  ')}`}`);
    this.name = 'MetadataFileError';
  }
}

const HEX12 = /^[0-9a-f]{12}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const RUNTIMES: ReadonlySet<string> = new Set(['docker', 'containerd', 'cri-o', 'podman', 'cri']);

interface Entry {
  /** Container fields; `id`/`fullId` are taken from the identity at lookup when the entry has none. */
  readonly meta: Omit<ContainerMetadata, 'id' | 'type'> & { readonly type?: string };
  readonly shortId?: string;
  readonly fullId?: string;
  readonly podUid?: string;
  readonly name?: string;
}

type Raw = Record<string, unknown>;
const isMap = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

const CONTAINER_KEYS = new Set([
  'id', 'name', 'image', 'imageRepository', 'imageTag', 'imageDigest', 'imageId', 'type', 'privileged',
  'mounts', 'startTs', 'labels', 'ip', 'cniJson', 'pod',
]);
const POD_KEYS = new Set(['name', 'namespace', 'uid', 'labels', 'ip', 'sandboxId']);
const MOUNT_KEYS = new Set(['source', 'dest', 'mode', 'rw', 'propagation']);

/** Validates one entry, pushing problems as `where: message`. */
function readEntry(raw: unknown, where: string, problems: string[]): Entry | undefined {
  if (!isMap(raw)) {
    problems.push(`${where}: must be a mapping`);
    return undefined;
  }
  const before = problems.length;
  const bad = (msg: string): void => void problems.push(`${where}: ${msg}`);
  for (const k of Object.keys(raw)) if (!CONTAINER_KEYS.has(k)) bad(`unknown key "${k}"`);

  const str = (obj: Raw, key: string, label = key): string | undefined => {
    const v = obj[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return v;
    if (typeof v === 'number' && key !== 'id') return String(v);
    bad(`${label} must be a string`);
    return undefined;
  };
  const labelsOf = (v: unknown, label: string): Record<string, string> | undefined => {
    if (v === undefined || v === null) return undefined;
    if (!isMap(v)) {
      bad(`${label} must be a mapping of strings`);
      return undefined;
    }
    const out: Record<string, string> = {};
    for (const [k, x] of Object.entries(v)) {
      if (typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean') out[k] = String(x);
      else bad(`${label}.${k} must be a string`);
    }
    return Object.freeze(out);
  };

  let shortId: string | undefined;
  let fullId: string | undefined;
  // YAML reads an all-digit id as a number (and drops leading zeros): ask for quotes.
  if (typeof raw.id === 'number') bad(`id ${raw.id} must be quoted (YAML reads it as a number)`);
  const id = typeof raw.id === 'number' ? undefined : str(raw, 'id');
  if (id !== undefined) {
    const lower = id.toLowerCase();
    if (HEX64.test(lower)) {
      fullId = lower;
      shortId = lower.slice(0, 12);
    } else if (HEX12.test(lower)) {
      shortId = lower;
    } else {
      bad(`id "${id}" must be a 12- or 64-digit hex container id`);
    }
  }

  const meta: {
    -readonly [K in keyof Entry['meta']]: Entry['meta'][K];
  } = {};
  if (fullId) meta.fullId = fullId;
  const name = str(raw, 'name');
  if (name !== undefined) meta.name = name;
  const image = str(raw, 'image');
  if (image !== undefined) {
    meta.image = image;
    const ref = parseImageReference(image);
    meta.imageRepository = ref.repository;
    if (ref.tag !== undefined) meta.imageTag = ref.tag;
    if (ref.digest !== undefined) meta.imageDigest = ref.digest;
  }
  for (const k of ['imageRepository', 'imageTag', 'imageDigest', 'imageId', 'ip', 'cniJson'] as const) {
    const v = str(raw, k);
    if (v !== undefined) meta[k] = v;
  }
  const type = str(raw, 'type');
  if (type !== undefined) {
    if (RUNTIMES.has(type)) meta.type = type;
    else bad(`type "${type}" must be one of ${[...RUNTIMES].join(', ')}`);
  }
  if (raw.privileged !== undefined && raw.privileged !== null) {
    if (typeof raw.privileged === 'boolean') meta.privileged = raw.privileged;
    else bad('privileged must be true or false');
  }
  if (raw.startTs !== undefined && raw.startTs !== null) {
    const v = raw.startTs;
    let ts: bigint | undefined;
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) ts = BigInt(v);
    else if (typeof v === 'string' && /^\d{1,20}$/.test(v)) ts = BigInt(v);
    else if (typeof v === 'string') ts = parseRfc3339Nanos(v);
    else if (v instanceof Date) ts = BigInt(v.getTime()) * 1_000_000n;
    if (ts === undefined) bad('startTs must be ns since the epoch or an RFC 3339 time');
    else meta.startTs = ts;
  }
  const labels = labelsOf(raw.labels, 'labels');
  if (labels) meta.labels = labels;
  if (raw.mounts !== undefined && raw.mounts !== null) {
    if (!Array.isArray(raw.mounts)) bad('mounts must be a list');
    else {
      const mounts: ContainerMount[] = [];
      raw.mounts.forEach((m, i) => {
        const w = `mounts[${i}]`;
        if (!isMap(m)) return bad(`${w} must be a mapping`);
        for (const k of Object.keys(m)) if (!MOUNT_KEYS.has(k)) bad(`${w}: unknown key "${k}"`);
        const source = str(m, 'source', `${w}.source`);
        const dest = str(m, 'dest', `${w}.dest`);
        if (source === undefined || dest === undefined) return bad(`${w} needs source and dest`);
        const mount: { -readonly [K in keyof ContainerMount]: ContainerMount[K] } = { source, dest };
        const mode = str(m, 'mode', `${w}.mode`);
        if (mode !== undefined) mount.mode = mode;
        const prop = str(m, 'propagation', `${w}.propagation`);
        if (prop !== undefined) mount.propagation = prop;
        if (m.rw !== undefined) {
          if (typeof m.rw === 'boolean') mount.rw = m.rw;
          else bad(`${w}.rw must be true or false`);
        }
        mounts.push(Object.freeze(mount));
      });
      meta.mounts = Object.freeze(mounts);
    }
  }
  let podUid: string | undefined;
  if (raw.pod !== undefined && raw.pod !== null) {
    const p = raw.pod;
    if (!isMap(p)) bad('pod must be a mapping');
    else {
      for (const k of Object.keys(p)) if (!POD_KEYS.has(k)) bad(`pod: unknown key "${k}"`);
      const pname = str(p, 'name', 'pod.name');
      const ns = str(p, 'namespace', 'pod.namespace');
      const uid = str(p, 'uid', 'pod.uid');
      if (pname === undefined || ns === undefined || uid === undefined) bad('pod needs name, namespace and uid');
      else {
        podUid = uid.toLowerCase();
        const pod: { -readonly [K in keyof PodMetadata]: PodMetadata[K] } = { name: pname, namespace: ns, uid: podUid };
        const pl = labelsOf(p.labels, 'pod.labels');
        if (pl) pod.labels = pl;
        const ip = str(p, 'ip', 'pod.ip');
        if (ip !== undefined) pod.ip = ip;
        const sb = str(p, 'sandboxId', 'pod.sandboxId');
        if (sb !== undefined) pod.sandboxId = sb;
        meta.pod = Object.freeze(pod);
      }
    }
  }
  if (shortId === undefined && raw.id === undefined && (podUid === undefined || name === undefined)) {
    bad('needs an id, or a pod (with its uid) and a container name');
  }
  if (problems.length > before) return undefined;
  const entry: { -readonly [K in keyof Entry]: Entry[K] } = { meta: Object.freeze(meta) };
  if (shortId !== undefined) entry.shortId = shortId;
  if (fullId !== undefined) entry.fullId = fullId;
  if (podUid !== undefined) entry.podUid = podUid;
  if (name !== undefined) entry.name = name;
  return entry;
}

function describeEntry(raw: unknown, i: number): string {
  if (isMap(raw)) {
    if (typeof raw.id === 'string') return `containers[${i}] (id ${raw.id})`;
    const pod = isMap(raw.pod) ? raw.pod : undefined;
    if (typeof raw.name === 'string') return `containers[${i}] (name ${raw.name}${pod && typeof pod.name === 'string' ? ` in pod ${pod.name}` : ''})`;
  }
  return `containers[${i}]`;
}

const MAX_LOOKUP_CACHE = 4096;

/**
 * Metadata from a fixed list of containers, each keyed by its id (64 hex, or
 * the 12-char short id) or, without an id, by its pod's UID and its name.
 *
 * File format (YAML or JSON): a list of containers, or `{ containers: [...] }`:
 *
 * ```yaml
 * containers:
 *   - id: 3ad7b26ded6d                      # or the full 64-hex id
 *     name: nginx
 *     image: registry:5000/web/nginx:1.25@sha256:...
 *     type: containerd
 *     privileged: false
 *     mounts: [{ source: /var/run/docker.sock, dest: /var/run/docker.sock, rw: true }]
 *     labels: { app: web }
 *     pod: { name: web-1, namespace: prod, uid: 0f6a...-..., labels: { app: web } }
 *   - name: sidecar                         # no id: matched by pod uid
 *     pod: { name: web-1, namespace: prod, uid: 0f6a...-... }
 * ```
 *
 * Lookup: the full id, then the short id, then the identity's pod UID. A pod
 * UID with one id-less entry gives that entry; with several (the identity
 * cannot say which container it is) it gives only what they share: the pod.
 * The result's `id`/`fullId` are the identity's, `type` the entry's or else
 * the identity's runtime.
 */
export class StaticMetadataProvider implements MetadataProvider {
  private readonly byFullId = new Map<string, Entry>();
  private readonly byShortId = new Map<string, Entry>();
  private readonly byPod = new Map<string, Entry[]>();
  private readonly cache = new Map<string, ContainerMetadata | null>();

  /** Builds a provider from already validated entries (see {@link StaticMetadataProvider.fromText}). */
  private constructor(entries: readonly Entry[], private readonly source: readonly unknown[] = []) {
    for (const e of entries) {
      if (e.fullId) this.byFullId.set(e.fullId, e);
      if (e.shortId) this.byShortId.set(e.shortId, e);
      else if (e.podUid) {
        const list = this.byPod.get(e.podUid) ?? [];
        list.push(e);
        this.byPod.set(e.podUid, list);
      }
    }
  }

  /** Reads a YAML or JSON file. Throws {@link MetadataFileError}. */
  static fromFile(path: string): StaticMetadataProvider {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw new MetadataFileError(path, [`cannot read: ${(e as Error).message}`]);
    }
    return StaticMetadataProvider.fromText(text, path);
  }

  /** Parses YAML or JSON text; `file` names it in errors. Throws {@link MetadataFileError}. */
  static fromText(text: string, file = '<metadata>'): StaticMetadataProvider {
    let doc: unknown;
    try {
      doc = parse(text, { uniqueKeys: true, maxAliasCount: 100 });
    } catch (e) {
      const pos = e instanceof YAMLParseError ? e.linePos?.[0] : undefined;
      const where = pos ? `line ${pos.line}, column ${pos.col}: ` : '';
      throw new MetadataFileError(file, [`${where}invalid YAML/JSON: ${(e as Error).message.split('\n')[0]}`]);
    }
    return StaticMetadataProvider.fromObject(doc, file);
  }

  /** Validates an already parsed document. Throws {@link MetadataFileError}. */
  static fromObject(doc: unknown, file = '<metadata>'): StaticMetadataProvider {
    if (doc === undefined || doc === null) return new StaticMetadataProvider([]);
    let list: unknown;
    if (Array.isArray(doc)) list = doc;
    else if (isMap(doc)) {
      const extra = Object.keys(doc).filter((k) => k !== 'containers');
      if (extra.length) throw new MetadataFileError(file, [`unknown top-level key "${extra[0]}" (expected "containers")`]);
      list = doc.containers ?? [];
    }
    if (!Array.isArray(list)) throw new MetadataFileError(file, ['expected a list of containers, or a mapping with "containers:"']);
    const problems: string[] = [];
    const entries: Entry[] = [];
    const seen = new Map<string, string>();
    list.forEach((raw, i) => {
      const where = describeEntry(raw, i);
      const e = readEntry(raw, where, problems);
      if (!e) return;
      const key = e.shortId !== undefined ? `id ${e.shortId}` : `pod ${e.podUid} container ${e.name}`;
      const prev = seen.get(key);
      if (prev) problems.push(`${where}: same ${key} as ${prev}`);
      else seen.set(key, where);
      entries.push(e);
    });
    if (problems.length) throw new MetadataFileError(file, problems);
    return new StaticMetadataProvider(entries, list);
  }

  /** The entries as given (validated), for a capture header: a replay serves the same metadata. */
  captureEntries(): ContainerMetadataInput[] {
    return JSON.parse(JSON.stringify(this.source)) as ContainerMetadataInput[];
  }

  lookup(identity: ContainerIdentity): ContainerMetadata | undefined {
    if (identity.runtime === 'host') return undefined;
    const key = `${identity.fullId ?? identity.id}/${identity.podUid ?? ''}/${identity.runtime}`;
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit ?? undefined;
    const r = this.resolve(identity);
    if (this.cache.size >= MAX_LOOKUP_CACHE) this.cache.clear();
    this.cache.set(key, r ?? null);
    return r;
  }

  /** The id-less entry for a container of a pod, by the container's name. */
  lookupByPodAndName(podUid: string, name: string, identity?: ContainerIdentity): ContainerMetadata | undefined {
    const e = this.byPod.get(podUid.toLowerCase())?.find((x) => x.name === name);
    return e ? this.materialize(e, identity) : undefined;
  }

  private resolve(identity: ContainerIdentity): ContainerMetadata | undefined {
    const e =
      (identity.fullId !== undefined ? this.byFullId.get(identity.fullId) : undefined) ?? this.byShortId.get(identity.id);
    if (e) {
      // An entry keyed by short id must not claim a different full id.
      if (e.fullId !== undefined && identity.fullId !== undefined && e.fullId !== identity.fullId) return undefined;
      return this.materialize(e, identity);
    }
    if (identity.podUid === undefined) return undefined;
    const list = this.byPod.get(identity.podUid);
    if (!list || list.length === 0) return undefined;
    if (list.length === 1) return this.materialize(list[0]!, identity);
    const pod = list[0]!.meta.pod;
    return Object.freeze(this.base(identity, pod ? { pod } : {}));
  }

  private materialize(e: Entry, identity: ContainerIdentity | undefined): ContainerMetadata {
    return Object.freeze(this.base(identity, e.meta, e));
  }

  private base(
    identity: ContainerIdentity | undefined,
    meta: Entry['meta'],
    e?: Entry,
  ): ContainerMetadata {
    const id = identity?.id ?? e?.shortId ?? '';
    const fullId = identity?.fullId ?? e?.fullId;
    const type = meta.type ?? identity?.runtime ?? 'cri';
    const out: ContainerMetadata = { ...meta, id, type };
    return fullId !== undefined ? { ...out, fullId } : out;
  }
}
