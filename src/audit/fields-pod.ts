/**
 * `ka.req.pod.*`, `ka.req.container.*`, `ka.req.volume.*` and
 * `ka.req.service.*`: fields over the pod (or service) in `requestObject`.
 *
 * The per-container lists exist three times, over `spec.containers`,
 * `spec.initContainers` and `spec.ephemeralContainers`; {@link containerListFields}
 * builds one family.
 */
import type { AuditEvent } from './event.js';
import {
  type AuditExtractor,
  type AuditField,
  fanOutSkipNil,
  field,
  getPath,
  listAt,
  scalarAt,
} from './field-def.js';
import {
  collectValues,
  fixedPath,
  getFixed,
  parseIndexArg,
  renderAllOrNothing,
  renderJson,
  renderSkipNil,
  renderWithDefault,
  requireKeyArg,
} from './json-walk.js';

/** Which pod spec list a container family reads. */
export type ContainerList = 'containers' | 'initContainers' | 'ephemeralContainers';

const WHAT: Record<ContainerList, string> = {
  containers: 'container',
  initContainers: 'init container',
  ephemeralContainers: 'ephemeral container',
};

/**
 * Upstream `readContainerImages`: the `image` of each container (or of
 * container `index`). Unlike most lists a container without an image makes
 * the whole field unavailable (upstream uses `arrayAsStrings`, which fails on
 * nil), so an image can never be silently left out of an `in` check.
 */
function readImages(e: AuditEvent, keys: readonly string[], index: number): string[] | undefined {
  const out: unknown[] = [];
  if (!collectValues(e.obj, keys, 0, index, out)) return undefined;
  return renderAllOrNothing(out) as string[] | undefined;
}

/** `image.split(":")[0].split("@")[0]`, upstream's repository (it mangles `registry:5000/x`, as upstream does). */
function repositoryOf(image: string): string {
  const colon = image.indexOf(':');
  const noTag = colon < 0 ? image : image.slice(0, colon);
  const at = noTag.indexOf('@');
  return at < 0 ? noTag : noTag.slice(0, at);
}

/** `command`/`args`: one string per container that has the key, its array elements joined by a space. */
function joinedPerContainer(name: string, keys: readonly string[]) {
  return (arg: string | undefined): AuditExtractor => {
    const index = parseIndexArg(name, arg);
    return (e) => {
      if (!e.hasAuditID) return undefined;
      const found: unknown[] = [];
      if (!collectValues(e.obj, keys, 0, index, found)) return undefined;
      let n = 0;
      for (let i = 0; i < found.length; i++) {
        const v = found[i];
        if (v === undefined) continue;
        let s: string | undefined;
        if (Array.isArray(v)) {
          const parts: string[] = [];
          for (let j = 0; j < v.length; j++) {
            const p = renderJson(v[j]);
            if (p !== undefined) parts.push(p);
          }
          s = parts.join(' ');
        } else {
          // Not an array (malformed pod): the value itself stands for the command line.
          s = renderJson(v);
        }
        if (s !== undefined) found[n++] = s;
      }
      if (n === 0) return undefined;
      found.length = n;
      return found as string[];
    };
  };
}

/**
 * Upstream `readFromContainerEffectively`: each container's own
 * `securityContext.<key>`, else the pod default, else "0". Upstream quirk kept:
 * the pod default is read from `spec.<key>`, not `spec.securityContext.<key>`
 * (where Kubernetes actually puts it). With an index, a container without its
 * own value makes the field unavailable instead of falling back (also
 * upstream: the index path reports "not available" rather than nil).
 */
function effective(name: string, list: ContainerList, key: string) {
  const podDefault = fixedPath('requestObject', 'spec', key);
  const perContainer = fixedPath('requestObject', 'spec', list, 'securityContext', key);
  return (arg: string | undefined): AuditExtractor => {
    const index = parseIndexArg(name, arg);
    return (e) => {
      if (!e.hasAuditID) return undefined;
      const fallback = renderJson(getPath(e.obj, podDefault)) ?? '0';
      const found: unknown[] = [];
      if (!collectValues(e.obj, perContainer, 0, index, found)) return undefined;
      return renderWithDefault(found, fallback);
    };
  };
}

/**
 * Upstream `readContainerHostPorts`: for each container's `ports[]` entry, its
 * `hostPort`, else its `containerPort`. A `ports` that is not an array makes
 * the whole field unavailable (upstream's wrong-type error).
 */
function hostPorts(name: string, list: ContainerList) {
  const keys = fixedPath('requestObject', 'spec', list, 'ports');
  return (arg: string | undefined): AuditExtractor => {
    const index = parseIndexArg(name, arg);
    return (e) => {
      if (!e.hasAuditID) return undefined;
      const found: unknown[] = [];
      if (!collectValues(e.obj, keys, 0, index, found)) return undefined;
      let out: string[] | undefined;
      for (let i = 0; i < found.length; i++) {
        const ports = found[i];
        if (ports === undefined) continue;
        if (!Array.isArray(ports)) return undefined;
        for (let j = 0; j < ports.length; j++) {
          const port = ports[j];
          let v = getFixed(port, 'hostPort');
          if (v === undefined) v = getFixed(port, 'containerPort');
          const s = renderJson(v);
          if (s !== undefined) (out ??= []).push(s);
        }
      }
      return out;
    };
  };
}

/**
 * The per-container list fields over one pod spec list, keyed by their name
 * suffix (`image`, `privileged`, ...). `host_port` only where the list can
 * declare ports (not ephemeral containers).
 */
export function containerListFields(list: ContainerList): Record<string, AuditField> {
  const prefix = `ka.req.pod.${list}`;
  const what = WHAT[list];
  const base = ['requestObject', 'spec', list] as const;
  const fields: Record<string, AuditField> = {};
  const add = (suffix: string, desc: string, bind: (arg: string | undefined) => AuditExtractor) => {
    fields[suffix] = field({ name: `${prefix}.${suffix}`, desc, list: true, arg: 'index', bind });
  };
  const sc = (suffix: string, key: string, desc: string) => {
    const name = `${prefix}.${suffix}`;
    add(suffix, desc, fanOutSkipNil(name, ...base, 'securityContext', key));
  };

  add('name', `Name of each ${what} of the pod in the request`, fanOutSkipNil(`${prefix}.name`, ...base, 'name'));
  const imageKeys = fixedPath(...base, 'image');
  add('image', `Image of each ${what} of the pod in the request`, (arg) => {
    const index = parseIndexArg(`${prefix}.image`, arg);
    return (e) => (e.hasAuditID ? readImages(e, imageKeys, index) : undefined);
  });
  add(
    'image.repository',
    `Image of each ${what} without its :tag or @digest (e.g. falcosecurity/falco)`,
    (arg) => {
      const index = parseIndexArg(`${prefix}.image.repository`, arg);
      return (e) => {
        if (!e.hasAuditID) return undefined;
        const images = readImages(e, imageKeys, index);
        if (images === undefined) return undefined;
        for (let i = 0; i < images.length; i++) images[i] = repositoryOf(images[i]!);
        return images;
      };
    },
  );
  add(
    'command',
    `Command of each ${what} that sets one, its words joined by spaces`,
    joinedPerContainer(`${prefix}.command`, fixedPath(...base, 'command')),
  );
  add(
    'args',
    `Arguments of each ${what} that sets them, joined by spaces`,
    joinedPerContainer(`${prefix}.args`, fixedPath(...base, 'args')),
  );
  sc('privileged', 'privileged', `securityContext.privileged of each ${what} that sets it`);
  sc(
    'allow_privilege_escalation',
    'allowPrivilegeEscalation',
    `securityContext.allowPrivilegeEscalation of each ${what} that sets it`,
  );
  sc(
    'read_only_fs',
    'readOnlyRootFilesystem',
    `securityContext.readOnlyRootFilesystem of each ${what} that sets it`,
  );
  sc('run_as_user', 'runAsUser', `securityContext.runAsUser of each ${what} that sets it`);
  add(
    'eff_run_as_user',
    `Effective uid of each ${what}: its own runAsUser, else the pod's spec.runAsUser, else 0`,
    effective(`${prefix}.eff_run_as_user`, list, 'runAsUser'),
  );
  sc('run_as_group', 'runAsGroup', `securityContext.runAsGroup of each ${what} that sets it`);
  add(
    'eff_run_as_group',
    `Effective gid of each ${what}: its own runAsGroup, else the pod's spec.runAsGroup, else 0`,
    effective(`${prefix}.eff_run_as_group`, list, 'runAsGroup'),
  );
  sc('proc_mount', 'procMount', `securityContext.procMount of each ${what} that sets it`);
  add(
    'add_capabilities',
    `securityContext.capabilities.add of each ${what}, one JSON array text per ${what}`,
    fanOutSkipNil(`${prefix}.add_capabilities`, ...base, 'securityContext', 'capabilities', 'add'),
  );
  if (list !== 'ephemeralContainers') {
    add(
      'host_port',
      `Ports of each ${what}: hostPort where set, else containerPort`,
      hostPorts(`${prefix}.host_port`, list),
    );
  }
  return fields;
}

/** Suffix order of the init/ephemeral families in upstream's table. */
export const CONTAINER_SUFFIXES = [
  'name',
  'image',
  'image.repository',
  'command',
  'args',
  'privileged',
  'allow_privilege_escalation',
  'read_only_fs',
  'run_as_user',
  'eff_run_as_user',
  'run_as_group',
  'eff_run_as_group',
  'proc_mount',
  'add_capabilities',
  'host_port',
] as const;

const containerImages = fixedPath('requestObject', 'spec', 'containers', 'image');
const containerPrivileged = fixedPath('requestObject', 'spec', 'containers', 'securityContext', 'privileged');

/** `ka.req.container.image`: deprecated, the first container's image. */
export const reqContainerImage = field({
  name: 'ka.req.container.image',
  desc: 'Image of the first container of the pod in the request (use ka.req.pod.containers.image)',
  deprecated: true,
  bind: () => (e) => (e.hasAuditID ? readImages(e, containerImages, 0)?.[0] : undefined),
});

/** `ka.req.container.image.repository`: deprecated, the first container's repository. */
export const reqContainerImageRepository = field({
  name: 'ka.req.container.image.repository',
  desc: 'Repository of the first container image (use ka.req.pod.containers.image.repository)',
  deprecated: true,
  bind: () => (e) => {
    if (!e.hasAuditID) return undefined;
    const first = readImages(e, containerImages, 0)?.[0];
    return first === undefined ? undefined : repositoryOf(first);
  },
});

/**
 * `ka.req.container.privileged`: "true" if any container has
 * `securityContext.privileged` set to JSON `true`, else "false" (present even
 * when no container sets it, as long as `spec.containers` exists).
 */
export const reqContainerPrivileged = field({
  name: 'ka.req.container.privileged',
    cache: true,
  desc: 'Whether any container of the pod is privileged, "true" or "false" (use ka.req.pod.containers.privileged)',
  deprecated: true,
  bind: () => (e) => {
    if (!e.hasAuditID) return undefined;
    const found: unknown[] = [];
    if (!collectValues(e.obj, containerPrivileged, 0, -1, found)) return undefined;
    for (let i = 0; i < found.length; i++) if (found[i] === true) return 'true';
    return 'false';
  },
});

const volumeHostPaths = fixedPath('requestObject', 'spec', 'volumes', 'hostPath', 'path');
const volumes = fixedPath('requestObject', 'spec', 'volumes', '');

/** Pod-level, volume and service fields, in upstream's table order (containers excluded). */
export const podScalarFields = {
  hostIpc: field({
    name: 'ka.req.pod.host_ipc',
    desc: 'spec.hostIPC of the pod in the request ("true"/"false")',
    bind: scalarAt('requestObject', 'spec', 'hostIPC'),
  }),
  hostNetwork: field({
    name: 'ka.req.pod.host_network',
    desc: 'spec.hostNetwork of the pod in the request ("true"/"false")',
    bind: scalarAt('requestObject', 'spec', 'hostNetwork'),
  }),
  containerHostNetwork: field({
    name: 'ka.req.container.host_network',
    desc: 'Same as ka.req.pod.host_network (deprecated name)',
    deprecated: true,
    bind: scalarAt('requestObject', 'spec', 'hostNetwork'),
  }),
  hostPid: field({
    name: 'ka.req.pod.host_pid',
    desc: 'spec.hostPID of the pod in the request ("true"/"false")',
    bind: scalarAt('requestObject', 'spec', 'hostPID'),
  }),
  runAsUser: field({
    name: 'ka.req.pod.run_as_user',
    desc: 'Pod-level securityContext.runAsUser of the pod in the request',
    bind: scalarAt('requestObject', 'spec', 'securityContext', 'runAsUser'),
  }),
  runAsGroup: field({
    name: 'ka.req.pod.run_as_group',
    desc: 'Pod-level securityContext.runAsGroup of the pod in the request',
    bind: scalarAt('requestObject', 'spec', 'securityContext', 'runAsGroup'),
  }),
  fsGroup: field({
    name: 'ka.req.pod.fs_group',
    desc: 'Pod-level securityContext.fsGroup of the pod in the request',
    bind: scalarAt('requestObject', 'spec', 'securityContext', 'fsGroup'),
  }),
  supplementalGroups: field({
    name: 'ka.req.pod.supplemental_groups',
    desc: 'Pod-level securityContext.supplementalGroups of the pod in the request',
    list: true,
    bind: listAt('requestObject', 'spec', 'securityContext', 'supplementalGroups'),
  }),
  serviceType: field({
    name: 'ka.req.service.type',
    desc: 'spec.type of the service in the request (ClusterIP, NodePort, ...)',
    bind: scalarAt('requestObject', 'spec', 'type'),
  }),
  servicePorts: field({
    name: 'ka.req.service.ports',
    // Upstream quirk kept: the fan-out only happens at an array met before a
    // further key, and `ports` is the last key, so this is a single value, the
    // whole array as JSON text; the index has no effect on a normal service.
    desc: 'spec.ports of the service in the request, as one JSON text',
    list: true,
    arg: 'index',
    bind: fanOutSkipNil('ka.req.service.ports', 'requestObject', 'spec', 'ports'),
  }),
  volumesHostpath: field({
    name: 'ka.req.pod.volumes.hostpath',
    desc: 'hostPath.path of each hostPath volume of the pod in the request',
    list: true,
    arg: 'index',
    bind: fanOutSkipNil('ka.req.pod.volumes.hostpath', ...volumeHostPaths),
  }),
  volumeHostpath: field({
    name: 'ka.req.volume.hostpath',
    cache: true,
    desc: 'Whether a hostPath volume uses the given path ("true"/"false"); a trailing * matches a prefix',
    arg: 'key',
    deprecated: true,
    bind: (arg) => {
      const key = requireKeyArg('ka.req.volume.hostpath', arg);
      const isPrefix = key.endsWith('*');
      const prefix = key.slice(0, -1);
      // Spec: any volume matches. (Upstream's newer code passes the key
      // argument's unset index, 0, as an index filter, so it would look at the
      // first volume only; the documented "any volume" is kept.)
      return (e) => {
        if (!e.hasAuditID) return undefined;
        const found: unknown[] = [];
        if (!collectValues(e.obj, volumeHostPaths, 0, -1, found)) return undefined;
        const paths = renderSkipNil(found) ?? [];
        for (const p of paths) {
          if ((isPrefix && p.startsWith(prefix)) || p === key) return 'true';
        }
        return 'false';
      };
    },
  }),
  flexvolumeDriver: field({
    name: 'ka.req.pod.volumes.flexvolume_driver',
    desc: 'flexVolume.driver of each flexVolume volume of the pod in the request',
    list: true,
    arg: 'index',
    bind: fanOutSkipNil(
      'ka.req.pod.volumes.flexvolume_driver',
      'requestObject',
      'spec',
      'volumes',
      'flexVolume',
      'driver',
    ),
  }),
  volumeType: field({
    name: 'ka.req.pod.volumes.volume_type',
    desc: 'Type of each volume of the pod in the request (its keys other than name, e.g. hostPath)',
    list: true,
    arg: 'index',
    bind: (arg) => {
      const index = parseIndexArg('ka.req.pod.volumes.volume_type', arg);
      return (e) => {
        if (!e.hasAuditID) return undefined;
        const found: unknown[] = [];
        if (!collectValues(e.obj, volumes, 0, index, found)) return undefined;
        let out: string[] | undefined;
        for (const v of found) {
          if (v === null || typeof v !== 'object' || Array.isArray(v)) continue;
          for (const k of Object.keys(v)) if (k !== 'name') (out ??= []).push(k);
        }
        return out;
      };
    },
  }),
};
