/**
 * Building blocks shared by the syscall golden scenarios: a node with an
 * administrator's SSH session, a pod whose main process is running, and an
 * intruder's shell in it. Everything that already runs when the capture
 * starts is part of the snapshot, so it produces no exec events of its own.
 *
 * Addresses are loopback only: 127.0.0.1 stands for the cluster's API server
 * ClusterIP, the metadata service and remote hosts.
 */
import type { ContainerSpec, ProcessSpec, Scenario, SimProcess } from '../../../src/syscall/synth.js';

export const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** What the kubelet puts in every container's environment (the API server is on loopback in tests). */
export const POD_ENV = [
  PATH_ENV,
  'KUBERNETES_SERVICE_HOST=127.0.0.1',
  'KUBERNETES_SERVICE_PORT=443',
  'KUBERNETES_PORT=tcp://127.0.0.1:443',
  'KUBERNETES_PORT_443_TCP_ADDR=127.0.0.1',
];

/** The audit ID of the `kubectl exec` request, which Tiercel's exec wrapper passes to the session. */
export const EXEC_AUDIT_ID = '5b1f0c6e-4a8e-4c2a-9a57-0c3b1f2d7e91';

/** A node and an SSH session on it: sshd and the user's login shell with a terminal. */
export function hostSession(s: Scenario, user: { uid: number; cwd: string } = { uid: 0, cwd: '/root' }): {
  init: SimProcess; sshd: SimProcess; shell: SimProcess;
} {
  const { init } = s.standardHost();
  const sshd = s.existing({ exe: '/usr/sbin/sshd', args: ['-D'], parent: init, leader: true });
  const shell = s.existing({
    exe: '-bash', exepath: '/usr/bin/bash', comm: 'bash', parent: sshd, leader: true, uid: user.uid,
    loginuid: user.uid, tty: 34816, cwd: user.cwd, env: [PATH_ENV, `HOME=${user.cwd}`, 'SHELL=/bin/bash'],
  });
  return { init, sshd, shell };
}

export interface PodOptions {
  readonly name: string;
  readonly id: string;
  readonly image: string;
  readonly namespace?: string;
  readonly privileged?: boolean;
  /** The container's main process (already running). */
  readonly main: ProcessSpec;
}

/** A pod with one container whose main process is running, on a standard node. */
export function pod(s: Scenario, o: PodOptions): { shim: SimProcess; main: SimProcess; containerd: SimProcess } {
  const { containerd } = s.standardHost();
  declarePod(s, o);
  const shim = s.existing({ exe: '/usr/bin/containerd-shim-runc-v2', args: ['-namespace', 'k8s.io', '-id', o.id], parent: containerd, leader: true });
  const main = s.existing({ env: POD_ENV, ...o.main, container: o.name, parent: shim, leader: true });
  return { shim, main, containerd };
}

export function declarePod(s: Scenario, o: Omit<PodOptions, 'main'>): void {
  const spec: ContainerSpec = {
    id: o.id,
    name: o.name,
    image: o.image,
    privileged: o.privileged ?? false,
    podUid: '8d3c1a52-6f0e-4b7a-9c1d-2e5f7a9b0c13',
    pod: { name: `${o.name}-6c9f7d8b5-x2k4q`, namespace: o.namespace ?? 'shop', labels: { app: o.name } },
  };
  s.container(o.name, spec);
}

/**
 * A pod and a shell an intruder already has in it (through `kubectl exec`
 * without a terminal, or a foothold in the application): its commands are
 * what the scenario records.
 */
export function podShell(s: Scenario, o: PodOptions & { uid?: number }): { shim: SimProcess; main: SimProcess; shell: SimProcess } {
  const { shim, main } = pod(s, o);
  const shell = s.existing({
    exe: '/bin/sh', exepath: '/usr/bin/dash', comm: 'sh', container: o.name, parent: shim, leader: true,
    uid: o.uid ?? 0, env: [...POD_ENV, `KUBERNETES_EXEC_AUDIT_ID=${EXEC_AUDIT_ID}`], cwd: '/',
  });
  return { shim, main, shell };
}
