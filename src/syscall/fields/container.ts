/**
 * `container.*` and `k8s.*`: the container and pod of the process. The id,
 * runtime and pod UID come from the cgroup path; everything else (name,
 * image, labels, mounts, pod name and namespace) from a metadata provider —
 * a static file today, the Kubernetes/CRI provider in a deployment.
 */
import { FieldError, type FieldValue } from '../../engine/fields.js';
import { compileGlob } from '../../engine/condition/glob.js';
import type { SyscallEvent } from '../event.js';
import type { ContainerMetadata } from '../state/metadata.js';
import { type SysField, f, fa } from './define.js';

function meta(e: SyscallEvent): ContainerMetadata | undefined {
  const c = e.proc.container;
  if (c.id === 'host' || !e.state.metadata) return undefined;
  return e.memo('container-metadata', () => e.state.metadata!.lookup(c));
}

const isHost = (e: SyscallEvent): boolean => e.proc.container.id === 'host';

type Mount = NonNullable<ContainerMetadata['mounts']>[number];

/** Mount selection by index (`[0]`) or by source path, glob allowed (`[/var/run/*.sock]`). */
function mountSelector(arg: string | undefined, fieldName: string): (mounts: readonly Mount[]) => Mount | undefined {
  if (arg === undefined) throw new FieldError(`field '${fieldName}' requires an argument: a mount index or source path`);
  if (/^[0-9]+$/.test(arg)) {
    const i = Number(arg);
    return (mounts) => mounts[i];
  }
  const match = compileGlob(arg);
  return (mounts) => mounts.find((m) => match(m.source));
}

/**
 * A field about one mount. When no mount matches, the value is `N/A`, as the
 * container plugin reports it (upstream rules test `in ("<NA>", "N/A")` to
 * mean "no such mount"); host processes have no mounts at all (absent).
 */
function mountField(name: string, desc: string, render: (m: Mount) => string | undefined): SysField {
  return fa(name, 'string', 'key', desc, (arg) => {
    const select = mountSelector(arg, name);
    return (e) => {
      if (isHost(e)) return undefined;
      const mounts = meta(e)?.mounts;
      const m = mounts ? select(mounts) : undefined;
      return m ? render(m) ?? 'N/A' : 'N/A';
    };
  });
}

function labelsList(labels: Record<string, string> | undefined): FieldValue {
  if (!labels) return undefined;
  const out = Object.entries(labels).map(([k, v]) => `${k}:${v}`);
  return out.length ? out : undefined;
}

function mountText(m: Mount): string {
  return `${m.source}:${m.dest}:${m.mode ?? ''}:${m.rw === false ? 'false' : 'true'}:${m.propagation ?? ''}`;
}

export const CONTAINER_FIELDS: readonly SysField[] = [
  f('container.id', 'string', "Container id (12 characters), or 'host'", (e) => e.proc.container.id),
  f('container.full_id', 'string', "Full container id, or 'host'", (e) => e.proc.container.fullId ?? e.proc.container.id),
  f('container.name', 'string', "Container name ('host' for host processes)", (e) => (isHost(e) ? 'host' : meta(e)?.name)),
  f('container.type', 'string', 'Container runtime (docker, containerd, cri-o, podman; host)', (e) => e.proc.container.runtime),
  f('container.image', 'string', 'Container image, as the runtime reports it', (e) => meta(e)?.image),
  f('container.image.id', 'string', 'Image id', (e) => meta(e)?.imageId),
  f('container.image.repository', 'string', 'Image repository (registry/name, without tag or digest)', (e) => meta(e)?.imageRepository),
  f('container.image.tag', 'string', 'Image tag', (e) => meta(e)?.imageTag),
  f('container.image.digest', 'string', 'Image digest', (e) => meta(e)?.imageDigest),
  f('container.privileged', 'bool', 'True for a privileged container', (e) => meta(e)?.privileged),
  f('container.mounts', 'string', 'Every mount, as source:dest:mode:rdwr:propagation', (e) => {
    const m = meta(e)?.mounts;
    return m && m.length ? m.map(mountText) : undefined;
  }, { list: true }),
  mountField('container.mount', 'One mount (by index or source path, glob allowed), as source:dest:mode:rdwr:propagation', mountText),
  mountField('container.mount.source', 'Source of a mount (by index or source path)', (m) => m.source),
  mountField('container.mount.dest', 'Destination of a mount (by index or source path)', (m) => m.dest),
  mountField('container.mount.mode', 'Mode of a mount (by index or source path)', (m) => m.mode),
  mountField('container.mount.rdwr', 'Whether a mount is read-write (by index or source path)', (m) => (m.rw === false ? 'false' : 'true')),
  mountField('container.mount.propagation', 'Propagation of a mount (by index or source path)', (m) => m.propagation),
  f('container.start_ts', 'abstime', 'Container start time, ns since the epoch', (e) => meta(e)?.startTs),
  f('container.duration', 'reltime', 'Time since the container started', (e) => {
    const s = meta(e)?.startTs;
    return s !== undefined ? e.time - s : undefined;
  }),
  f('container.ip', 'ipaddr', 'Container IP address', (e) => meta(e)?.ip),
  f('container.cni.json', 'string', 'CNI result of the container, as JSON', (e) => meta(e)?.cniJson),
  fa('container.label', 'string', 'key', 'Value of a container label', (arg) => (e) => meta(e)?.labels?.[arg!]),
  f('container.labels', 'string', 'Container labels, as key:value', (e) => labelsList(meta(e)?.labels), { list: true }),
  f('container.healthcheck', 'string', 'Health check command (not known without runtime metadata)', () => undefined),
  f('container.liveness_probe', 'string', 'Liveness probe command (not known without runtime metadata)', () => undefined),
  f('container.readiness_probe', 'string', 'Readiness probe command (not known without runtime metadata)', () => undefined),

  f('k8s.pod.name', 'string', 'Pod name', (e) => meta(e)?.pod?.name),
  f('k8s.pod.uid', 'string', 'Pod UID (from the cgroup path, or metadata)', (e) => e.proc.container.podUid ?? meta(e)?.pod?.uid),
  f('k8s.pod.id', 'string', 'Pod UID (alias of k8s.pod.uid)', (e) => e.proc.container.podUid ?? meta(e)?.pod?.uid, { deprecated: true }),
  f('k8s.pod.sandbox_id', 'string', 'Pod sandbox id (12 characters)', (e) => meta(e)?.pod?.sandboxId?.slice(0, 12)),
  f('k8s.pod.full_sandbox_id', 'string', 'Pod sandbox id', (e) => meta(e)?.pod?.sandboxId),
  fa('k8s.pod.label', 'string', 'key', 'Value of a pod label', (arg) => (e) => meta(e)?.pod?.labels?.[arg!]),
  f('k8s.pod.labels', 'string', 'Pod labels, as key:value', (e) => labelsList(meta(e)?.pod?.labels), { list: true }),
  f('k8s.pod.ip', 'ipaddr', 'Pod IP address', (e) => meta(e)?.pod?.ip),
  f('k8s.ns.name', 'string', 'Namespace of the pod', (e) => meta(e)?.pod?.namespace),
];
