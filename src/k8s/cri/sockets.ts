/**
 * Where the CRI sockets are. Kept free of imports so the configuration can
 * name the defaults without loading gRPC.
 */
import { join } from 'node:path';

/**
 * Where runtimes put their CRI socket by default, in the order tried:
 * containerd, cri-o, k3s's embedded containerd, cri-dockerd (Docker Engine
 * behind a CRI shim). Falco's `container_engines.cri.sockets` default plus
 * cri-dockerd.
 */
export const DEFAULT_CRI_SOCKETS: readonly string[] = [
  '/run/containerd/containerd.sock',
  '/run/crio/crio.sock',
  '/run/k3s/containerd/containerd.sock',
  '/var/run/cri-dockerd.sock',
];

/** Host paths → paths in this process's view: under `agent.host_root` (`/host` in the DaemonSet), as Falco does. */
export function socketPaths(sockets: readonly string[], hostRoot: string): string[] {
  return sockets.map((s) => (hostRoot === '/' || hostRoot === '' ? s : join(hostRoot, s)));
}
