/**
 * Kubernetes pod metadata for the node agent, assembled: the client
 * configuration (in-cluster or kubeconfig), the pod watcher of this node,
 * its cache, and the {@link MetadataProvider} over it.
 */
import type { Logger } from 'pino';
import type { MetadataProvider } from '../syscall/state/metadata.js';
import type { BackoffOptions } from './backoff.js';
import { type KubernetesConnectOptions, loadKubeConfig, resolveNodeName } from './config.js';
import { PodCache } from './pod-cache.js';
import { KubernetesMetadataProvider, LayeredMetadataProvider } from './pod-metadata-provider.js';
import { PodWatcher, type PodWatcherHooks } from './pod-watcher.js';

export { KubernetesConfigError, inClusterAvailable, loadKubeConfig, resolveNodeName } from './config.js';
export { KubernetesMetadataProvider, LayeredMetadataProvider } from './pod-metadata-provider.js';
export { PodCache } from './pod-cache.js';
export { PodWatcher } from './pod-watcher.js';

export interface KubernetesMetadataOptions extends KubernetesConnectOptions {
  /** Consulted first; the API's metadata serves what it does not know (e.g. agent.metadata_file). */
  readonly override?: MetadataProvider;
  /** Consulted when the API knows nothing of a container (e.g. the CRI). */
  readonly fallback?: MetadataProvider;
  /** How long start waits for the first list before going on without it (ms). Default 10 s. */
  readonly syncTimeoutMs?: number;
  /** How long a deleted pod's metadata stays (ms). Default 60 s: its last events and alerts still need it. */
  readonly deletedGraceMs?: number;
  readonly backoff?: BackoffOptions;
  readonly watchTimeoutSeconds?: number;
  readonly hooks?: PodWatcherHooks;
}

export interface KubernetesMetadata {
  readonly provider: MetadataProvider;
  readonly watcher: PodWatcher;
  readonly cache: PodCache;
  stop(): Promise<void>;
}

/**
 * Connects to the API and starts watching this node's pods. Throws
 * {@link KubernetesConfigError} only when there is no usable configuration;
 * an unreachable or refusing API is logged and retried for as long as the
 * agent runs (metadata then arrives late, the agent runs meanwhile).
 */
export async function createKubernetesMetadataProvider(options: KubernetesMetadataOptions, logger: Logger): Promise<KubernetesMetadata> {
  const kubeConfig = loadKubeConfig(options);
  const nodeName = resolveNodeName(options);
  const cache = new PodCache({ graceMs: options.deletedGraceMs ?? 60_000 });
  const server = kubeConfig.getCurrentCluster()?.server;
  const user = options.hooks;
  const watcher = new PodWatcher({
    kubeConfig,
    nodeName,
    cache,
    ...(options.backoff ? { backoff: options.backoff } : {}),
    ...(options.watchTimeoutSeconds ? { watchTimeoutSeconds: options.watchTimeoutSeconds } : {}),
    hooks: {
      onRelist(reason, pods, rv) {
        logger.info({ node: nodeName, pods, resourceVersion: rv, reason }, `pods of node ${nodeName} listed: ${pods}`);
        user?.onRelist?.(reason, pods, rv);
      },
      onWatchEnd(reason, rv) {
        if (reason === 'gone') logger.info({ resourceVersion: rv }, 'pod watch expired (410 Gone): listing again');
        else if (reason === 'idle') logger.warn({ resourceVersion: rv }, 'pod watch silent for too long: restarting it');
        else logger.debug({ resourceVersion: rv, reason }, 'pod watch ended: restarting it');
        user?.onWatchEnd?.(reason, rv);
      },
      onError(err, phase, retryInMs) {
        logger.warn({ err: err.message, phase, retryInMs, server }, `pod ${phase} failed, retrying in ${retryInMs} ms: ${err.message}`);
        user?.onError?.(err, phase, retryInMs);
      },
      ...(user?.onEvent ? { onEvent: user.onEvent.bind(user) } : {}),
    },
  });
  watcher.start();
  const timeout = options.syncTimeoutMs ?? 10_000;
  if (!(await watcher.waitForSync(timeout))) {
    logger.warn({ server, node: nodeName }, `no pod list from the API within ${timeout} ms: container and pod fields stay <NA> until it answers`);
  }
  const api = new KubernetesMetadataProvider(cache, options.fallback);
  const provider = options.override ? new LayeredMetadataProvider([options.override, api]) : api;
  return { provider, watcher, cache, stop: () => watcher.stop() };
}
