/**
 * Where the agent finds the Kubernetes API and which node it is on.
 *
 * In a pod: the service account's token and CA (mounted under
 * /var/run/secrets/kubernetes.io/serviceaccount) and KUBERNETES_SERVICE_HOST/
 * PORT, which the kubelet sets in every container. Elsewhere: a kubeconfig
 * file. The node comes from `node_name`, else `NODE_NAME` (the DaemonSet sets
 * it from the Downward API `spec.nodeName`), else the host name — which is
 * the node name on most clusters, but not all (cloud providers may use FQDNs).
 */
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { KubeConfig } from '@kubernetes/client-node';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface KubernetesConnectOptions {
  /** A kubeconfig file; without it, the in-cluster configuration. */
  readonly kubeconfig?: string;
  /** The node whose pods to watch; default NODE_NAME, else the host name. */
  readonly nodeName?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/** Thrown when no API configuration can be built; the message says what is missing. */
export class KubernetesConfigError extends Error {
  override name = 'KubernetesConfigError';
}

/** True when the process runs in a pod that can reach the API (the env vars and the mounted token). */
export function inClusterAvailable(env: NodeJS.ProcessEnv = process.env, dir = SERVICE_ACCOUNT_DIR): boolean {
  return Boolean(env['KUBERNETES_SERVICE_HOST'] && env['KUBERNETES_SERVICE_PORT']) && existsSync(`${dir}/token`);
}

/** Builds the client configuration. Throws {@link KubernetesConfigError}. */
export function loadKubeConfig(options: KubernetesConnectOptions): KubeConfig {
  const env = options.env ?? process.env;
  const kc = new KubeConfig();
  if (options.kubeconfig) {
    try {
      kc.loadFromFile(options.kubeconfig);
    } catch (e) {
      throw new KubernetesConfigError(`kubeconfig ${options.kubeconfig}: ${(e as Error).message.split('\n')[0]}`);
    }
    if (!kc.getCurrentCluster()) throw new KubernetesConfigError(`kubeconfig ${options.kubeconfig}: no current context with a cluster`);
    return kc;
  }
  if (!env['KUBERNETES_SERVICE_HOST'] || !env['KUBERNETES_SERVICE_PORT']) {
    throw new KubernetesConfigError('not in a pod (KUBERNETES_SERVICE_HOST/PORT unset) and no kubeconfig given');
  }
  if (!existsSync(`${SERVICE_ACCOUNT_DIR}/token`)) {
    throw new KubernetesConfigError(
      `in a pod but no service account token at ${SERVICE_ACCOUNT_DIR}/token (automountServiceAccountToken: false?)`,
    );
  }
  // Reads the token file again as it rotates (bound service account tokens expire).
  kc.loadFromCluster();
  return kc;
}

export function resolveNodeName(options: KubernetesConnectOptions): string {
  const env = options.env ?? process.env;
  return options.nodeName || env['NODE_NAME'] || hostname();
}
