/**
 * Container identity from a process's cgroup paths: the container id, the
 * runtime that made it, and the Kubernetes pod UID. This is what Falco's
 * container plugin does on every clone/fork/execve ("the container_id is
 * extracted by looking at the `cgroups` field"); the other container.* and
 * k8s.* fields come from a {@link MetadataProvider} (metadata.ts), keyed by
 * this identity.
 *
 * Patterns, and where each one was seen in public code (samples of each are
 * in test/fixtures/cgroups/, with their sources in its README):
 *
 * | segment (one path component)              | runtime      | source |
 * |-------------------------------------------|--------------|--------|
 * | `<64hex>` under `docker`                  | `docker`     | falcosecurity/plugins container `matchers/docker.cpp` `{"/", ""}`; neuvector `share/system/cgroup_test.go` (Ubuntu, RancherOS) |
 * | `<64hex>` at the root or any other parent | `docker`     | same `{"/", ""}` layout, tried first by Falco; neuvector (Debian, `N:ctl:/<64hex>`) |
 * | `<64hex>` under `actions_job`             | `docker`     | GitHub-hosted runners (`/sys/fs/cgroup/freezer/actions_job/<64hex>/...`, kubernetes/minikube `kverify/api_server.go`) |
 * | `<64hex>` under a kubepods tree           | `cri`        | kubelet cgroupfs driver `/kubepods/<qos>/pod<uid>/<64hex>` (falcosecurity/plugins `test/matchers.cpp` containerd_cgroupfs; neuvector Kubepods, containerd 1.2.13). Docker (dockershim) and containerd write the same path, so only the runtime's API can tell: Falco reports such containers as `cri` until it asks |
 * | `<64hex>` under `default` or `k8s.io`     | `containerd` | `ctr`/nerdctl with cgroupfs: `/<namespace>/<id>` (falcosecurity/plugins `matchers/containerd.cpp`) |
 * | `<64hex>` under `podman-<pid>.scope`      | `podman`     | rootless podman (falcosecurity/libs `container_engine/docker/podman.cpp`, `podman-%d.scope/`) |
 * | `docker-<64hex>[.scope]`                  | `docker`     | systemd driver (falcosecurity/plugins `matchers/docker.cpp` `{"/docker-", ".scope"}`; cri-dockerd in `matchers/cri.cpp`; neuvector CentOS, Kubepods2, cgroup v2) |
 * | `cri-containerd-<64hex>.scope`            | `containerd` | systemd driver (falcosecurity/plugins `matchers/cri.cpp`; neuvector Bottlerocket; kind in sustainable-computing-io/kepler `internal/resource/container_test.go`) |
 * | `<slice>:cri-containerd:<64hex>`          | `containerd` | containerd without `SystemdCgroup = true` under a systemd kubelet (falcosecurity/plugins `matchers/cri.cpp` `{":cri-containerd:", ""}`; neuvector containerd 1.4.4) |
 * | `crio-<64hex>[.scope]`                    | `cri-o`      | falcosecurity/plugins `matchers/cri.cpp` `{"/crio-", ""}`, `{"/crio-", ".scope"}`; neuvector CRI-O 1.17/1.19 and cgroup v2 |
 * | `libpod-<64hex>[.scope]`                  | `podman`     | falcosecurity/plugins `matchers/podman.cpp` (`.scope`, `.scope/container`, bare); kepler (rootful, rootless) |
 * | `libpod-payload-<64hex>[.scope]`          | `podman`     | podman `--cgroups=split` / quadlet (falcosecurity/plugins `test/matchers.cpp`; kepler "podman quadlet") |
 * | `nerdctl-<64hex>.scope`                   | `containerd` | falcosecurity/plugins `test/matchers.cpp` nerdctl_systemd_scope |
 *
 * Not containers: `crio-conmon-<id>[.scope]` (cri-o's monitor, placed next to the
 * container: cri-o `internal/config/cgmgr/cgroupfs_linux.go` MoveConmonToCgroup),
 * `libpod-conmon-<id>.scope` (podman's monitor), `init.scope`, `user.slice/...`,
 * `system.slice/<unit>.service`, and anything whose id is not exactly 64 hex
 * digits. (Falco's containerd matcher also accepts any `/<namespace>/<name>`;
 * we do not, because it turns every two-level cgroup into a "container" — this
 * very test machine has `memory:/process_api/<32hex>`.)
 *
 * Pod UIDs come from the kubelet's naming (kubernetes/kubernetes
 * `pkg/kubelet/cm/cgroup_manager_linux.go`): cgroupfs `/kubepods[/<qos>]/pod<uid>`,
 * systemd `kubepods[-<qos>]-pod<uid with "-" escaped to "_">.slice` (the
 * kubelet's `escapeSystemdCgroupName`; we undo it). Static pods have a 32-hex
 * UID (a hash of the manifest), which we return as is. Kind nodes add a
 * `kubelet-` prefix (`kubelet-kubepods-besteffort-pod<uid>.slice`).
 *
 * Nesting: a container id followed by more segments is still that container
 * (`libpod-<id>.scope/container`, `crio-<id>.scope/container`,
 * `/kubepods/.../<id>/kube-proxy`). A second container id deeper in the same
 * path wins only when a container manager's segment lies between the two
 * (`docker`, `actions_job`, `kubepods*`, `kubelet*`, `*.slice`): that is how
 * kind, docker-in-docker and minikube-on-GitHub-Actions nest, and it keeps a
 * process that can create sub-cgroups of its own container from claiming
 * another container's id just by naming a child cgroup `<64hex>`.
 *
 * cgroup v2 paths seen from another cgroup namespace start with `/..`
 * (`0::/../../kubepods-...slice/docker-<id>.scope`); `..` segments are skipped.
 */

/** Runtime names, as Falco's `container.type` spells them. */
export type ContainerRuntime = 'docker' | 'containerd' | 'cri-o' | 'podman' | 'cri' | 'host';

/** Who a process belongs to, as far as its cgroups tell. */
export interface ContainerIdentity {
  /** First 12 hex digits of the container id (Falco's `container.id`), or `host`. */
  readonly id: string;
  /** The full 64-hex container id; absent for `host`. */
  readonly fullId?: string;
  /** `docker`, `containerd`, `cri-o`, `podman`, `cri` (a CRI runtime the path does not name) or `host`. */
  readonly runtime: ContainerRuntime;
  /** Kubernetes pod UID (dashes restored), when the container is in a kubepods cgroup. */
  readonly podUid?: string;
}

/** The identity of every process not in a container. */
export const HOST_IDENTITY: ContainerIdentity = Object.freeze({ id: 'host', runtime: 'host' });

/** A parsed `/proc/<pid>/cgroup` line. */
export interface CgroupLine {
  /** Hierarchy id (`0` for the cgroup v2 unified hierarchy); empty when the line had none. */
  readonly hierarchy: string;
  /** Comma-separated controllers (`cpu,cpuacct`, `name=systemd`); empty for v2. */
  readonly controllers: string;
  /** The cgroup path. */
  readonly path: string;
}

/**
 * Splits one cgroup line. Accepts `/proc/<pid>/cgroup` lines
 * (`hierarchy:controllers:path`; the path may itself contain `:`), the
 * `controller=path` form Falco's drivers put in the execve `cgroups` parameter,
 * and bare paths. Returns `undefined` for anything else.
 */
export function parseCgroupLine(line: string): CgroupLine | undefined {
  const c1 = line.indexOf(':');
  if (c1 > 0 && isDigits(line, 0, c1)) {
    const c2 = line.indexOf(':', c1 + 1);
    if (c2 < 0) return undefined;
    return { hierarchy: line.slice(0, c1), controllers: line.slice(c1 + 1, c2), path: line.slice(c2 + 1) };
  }
  if (line.charCodeAt(0) === 47 /* / */) return { hierarchy: '', controllers: '', path: line };
  const eq = line.indexOf('=/');
  if (eq > 0) return { hierarchy: '', controllers: line.slice(0, eq), path: line.slice(eq + 1) };
  // Paths relative to the cgroup root, as some tools print them (`kubelet/kubepods/...`).
  if (line.length > 0 && c1 < 0) return { hierarchy: '', controllers: '', path: line };
  return undefined;
}

function isDigits(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

// --- segment patterns (compiled once) ---------------------------------------

const HEX64 = /^[0-9a-fA-F]{64}$/;
/** `<prefix>-<64hex>` with an optional `.scope`; group 1 prefix, group 2 id. */
const PREFIXED = /^(docker|cri-containerd|crio|libpod|libpod-payload|nerdctl)-([0-9a-fA-F]{64})(?:\.scope)?$/;
/** containerd's literal `slice:prefix:name` cgroupsPath; group 1 the slice, group 2 the id. */
const CRI_CONTAINERD_COLON = /^(.*):cri-containerd:([0-9a-fA-F]{64})$/;
const PREFIX_RUNTIME: Readonly<Record<string, ContainerRuntime>> = {
  docker: 'docker',
  'cri-containerd': 'containerd',
  crio: 'cri-o',
  libpod: 'podman',
  'libpod-payload': 'podman',
  nerdctl: 'containerd',
};
const UUID_ESCAPED = '[0-9a-fA-F]{8}_[0-9a-fA-F]{4}_[0-9a-fA-F]{4}_[0-9a-fA-F]{4}_[0-9a-fA-F]{12}';
const UUID = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';
const HASH_UID = '[0-9a-fA-F]{32}';
/** systemd driver pod slice; group 1 the UID (escaped or 32-hex). */
const POD_SLICE = new RegExp(`(?:^|-)kubepods(?:-besteffort|-burstable|-guaranteed)?-pod(${UUID_ESCAPED}|${HASH_UID})\\.slice$`);
/** cgroupfs driver pod directory; group 1 the UID. */
const POD_DIR = new RegExp(`^pod(${UUID}|${HASH_UID})$`);
const PODMAN_ROOTLESS_SCOPE = /^podman-\d+\.scope$/;

interface SegmentMatch {
  readonly fullId: string;
  readonly runtime: ContainerRuntime;
  /** Pod UID carried by the segment itself (the `:cri-containerd:` form). */
  readonly podUid?: string;
}

function isKubepods(seg: string): boolean {
  return seg.startsWith('kubepods') || seg.startsWith('kubelet-kubepods');
}

/** True for the segments container managers put between nested containers. */
function isManagerSegment(seg: string): boolean {
  return (
    seg === 'docker' ||
    seg === 'actions_job' ||
    seg.startsWith('kubepods') ||
    seg.startsWith('kubelet') ||
    seg.endsWith('.slice')
  );
}

function podUidFrom(seg: string, underKubepods: boolean): string | undefined {
  let m = POD_SLICE.exec(seg);
  if (m) return m[1]!.replace(/_/g, '-').toLowerCase();
  if (underKubepods) {
    m = POD_DIR.exec(seg);
    if (m) return m[1]!.toLowerCase();
  }
  return undefined;
}

/** Runtime of a bare `<64hex>` segment, from what encloses it. */
function bareRuntime(segs: readonly string[], i: number, underKubepods: boolean): ContainerRuntime {
  const parent = i > 0 ? segs[i - 1]! : '';
  if (parent === 'docker' || parent === 'actions_job') return 'docker';
  if (PODMAN_ROOTLESS_SCOPE.test(parent)) return 'podman';
  if (underKubepods) return 'cri';
  if (parent === 'default' || parent === 'k8s.io') return 'containerd';
  return 'docker';
}

function matchSegment(segs: readonly string[], i: number, underKubepods: boolean): SegmentMatch | undefined {
  const seg = segs[i]!;
  // Cheap rejection first: every pattern needs 64 hex digits.
  if (seg.length < 64) return undefined;
  if (seg.length === 64) {
    return HEX64.test(seg) ? { fullId: seg.toLowerCase(), runtime: bareRuntime(segs, i, underKubepods) } : undefined;
  }
  let m = PREFIXED.exec(seg);
  if (m) return { fullId: m[2]!.toLowerCase(), runtime: PREFIX_RUNTIME[m[1]!]! };
  m = CRI_CONTAINERD_COLON.exec(seg);
  if (m) {
    const podUid = podUidFrom(m[1]!, true);
    return podUid ? { fullId: m[2]!.toLowerCase(), runtime: 'containerd', podUid } : { fullId: m[2]!.toLowerCase(), runtime: 'containerd' };
  }
  return undefined;
}

/**
 * The identity one cgroup path describes, or `undefined` when it names no
 * container. Pure; not cached (see {@link containerFromCgroups}).
 */
export function identityFromCgroupPath(path: string): ContainerIdentity | undefined {
  const segs = path.split('/').filter((s) => s !== '' && s !== '.' && s !== '..');
  let found: SegmentMatch | undefined;
  let foundAt = -1;
  let podUid: string | undefined;
  let podAt = -1;
  let underKubepods = false;
  let managerSince = false; // a manager segment since the last container match
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i]!;
    const m = matchSegment(segs, i, underKubepods);
    if (m) {
      if (!found || managerSince) {
        // A pod outside the outer container does not enclose the inner one.
        if (podAt < foundAt) {
          podUid = undefined;
          podAt = -1;
        }
        found = m;
        foundAt = i;
        managerSince = false;
      }
      continue;
    }
    if (isKubepods(seg)) underKubepods = true;
    const uid = podUidFrom(seg, underKubepods);
    if (uid !== undefined && (!found || managerSince)) {
      podUid = uid;
      podAt = i;
    }
    if (found && isManagerSegment(seg)) managerSince = true;
  }
  if (!found) return undefined;
  // The pod must enclose the container: a pod segment after it belongs to nobody.
  const pod = found.podUid ?? (podAt >= 0 && podAt < foundAt ? podUid : undefined);
  const identity: ContainerIdentity = pod
    ? { id: found.fullId.slice(0, 12), fullId: found.fullId, runtime: found.runtime, podUid: pod }
    : { id: found.fullId.slice(0, 12), fullId: found.fullId, runtime: found.runtime };
  return Object.freeze(identity);
}

// --- cache --------------------------------------------------------------------

/** Lines cached (a node has a few hundred distinct ones; v1 has ~13 per process). */
const MAX_CACHE_ENTRIES = 8192;
/** Longer lines are resolved but not cached, so the cache's memory stays bounded. */
const MAX_CACHED_LINE = 2048;
/** `null` caches "no container in this line". */
const lineCache = new Map<string, ContainerIdentity | null>();

function resolveLine(line: string): ContainerIdentity | null {
  const parsed = parseCgroupLine(line);
  const r = parsed ? identityFromCgroupPath(parsed.path) ?? null : null;
  if (line.length <= MAX_CACHED_LINE) {
    if (lineCache.size >= MAX_CACHE_ENTRIES) {
      // Evict the oldest insertion: cheaper than LRU bookkeeping on every hit,
      // and the working set (the node's containers) is far below the bound.
      const oldest = lineCache.keys().next();
      if (!oldest.done) lineCache.delete(oldest.value);
    }
    lineCache.set(line, r);
  }
  return r;
}

/**
 * The container a process belongs to, from its cgroup lines (all of
 * `/proc/<pid>/cgroup`, or the execve record's `cgroups` parameter). The first
 * line that names a container decides; a process none of whose lines does is
 * on the `host` ({@link HOST_IDENTITY}).
 *
 * Called on every exec/clone record, so it is cached by line text (a bounded
 * map): a hit costs one map lookup per line until the first container line.
 * Results are frozen and shared: equal inputs give the same object.
 */
export function containerFromCgroups(lines: readonly string[]): ContainerIdentity {
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    let r = lineCache.get(line);
    if (r === undefined) r = resolveLine(line);
    if (r !== null) return r;
  }
  return HOST_IDENTITY;
}

/** Empties the line cache (tests and benchmarks). */
export function clearContainerCache(): void {
  lineCache.clear();
}

/** Number of cached lines (tests). */
export function containerCacheSize(): number {
  return lineCache.size;
}
