/**
 * Container metadata from the node's CRI runtime, assembled for the agent:
 * the socket candidates under the host root, the provider, and what it logs.
 */
import type { Logger } from 'pino';
import { type CriHooks, CriMetadataProvider, type CriProviderOptions } from './provider.js';
import { socketPaths } from './sockets.js';

export { CriClient, CriError, protoPath, runtimeService } from './client.js';
export { CriMetadataProvider } from './provider.js';
export type { CriHooks, CriProviderOptions } from './provider.js';
export { DEFAULT_CRI_SOCKETS, socketPaths } from './sockets.js';

export interface CriMetadataOptions extends Omit<CriProviderOptions, 'hooks' | 'sockets'> {
  /** Host paths of the sockets to try. */
  readonly sockets: readonly string[];
  readonly hostRoot: string;
  /** How long start waits for the first list (ms). Default 2 s: a runtime answers in milliseconds. */
  readonly syncTimeoutMs?: number;
  /** Metrics (or a test's) hooks, called besides the logging. */
  readonly hooks?: CriHooks;
}

/**
 * Starts the provider and waits briefly for its first list, so the
 * containers already running have names when the first events arrive. Never
 * throws for a missing or failing runtime: that is logged, and retried.
 */
export async function createCriMetadataProvider(options: CriMetadataOptions, logger: Logger): Promise<CriMetadataProvider> {
  const { sockets, hostRoot, syncTimeoutMs, hooks: user, ...rest } = options;
  const paths = socketPaths(sockets, hostRoot);
  const provider = new CriMetadataProvider({
    ...rest,
    sockets: paths,
    hooks: {
      onNoSocket(candidates) {
        logger.info({ sockets: candidates }, `no CRI socket found (${candidates.join(', ')}): container names and images come from the API or the metadata file only`);
        user?.onNoSocket?.(candidates);
      },
      onConnected(socket, v) {
        logger.info({ socket, runtime: v.runtimeName, runtimeVersion: v.runtimeVersion, apiVersion: v.runtimeApiVersion },
          `CRI runtime ${v.runtimeName} ${v.runtimeVersion} at ${socket}: container names and images from it`);
        user?.onConnected?.(socket, v);
      },
      onConnectError(socket, err, retryInMs, repeated) {
        // The same failure every 30 s (a socket that is not a CRI runtime) is said once at warn level.
        const line = `CRI socket ${socket}: ${err.message}; retrying in ${retryInMs} ms`;
        if (repeated) logger.debug({ socket, retryInMs }, line);
        else logger.warn({ socket, err: err.message, retryInMs }, line);
        user?.onConnectError?.(socket, err, retryInMs, repeated);
      },
      onDisconnected(socket, err, retryInMs) {
        logger.warn({ socket, err: err.message, retryInMs }, `CRI runtime at ${socket} stopped answering: ${err.message}; reconnecting in ${retryInMs} ms`);
        user?.onDisconnected?.(socket, err, retryInMs);
      },
      onRequest: (m) => user?.onRequest?.(m),
      onError: (m, e) => user?.onError?.(m, e),
      onCacheSize: (n) => user?.onCacheSize?.(n),
    },
  });
  provider.start();
  await provider.waitForSync(syncTimeoutMs ?? 2000);
  return provider;
}
