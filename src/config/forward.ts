/**
 * `agent.analyzer`: where a node agent sends its alerts so the analyzer can
 * correlate them with the audit trail into incidents.
 *
 * ```yaml
 * agent:
 *   analyzer:
 *     url: https://tiercel.tiercel-system.svc:9765   # the analyzer's base URL
 *     token_env: TIERCEL_AGENT_TOKEN                   # a token with the ingest scope
 *     ca_file: /etc/tiercel/ca.crt                     # trust for an https URL (default: the system's)
 *     queue_capacity: 10000                            # alerts held while the analyzer is away
 *     batch_max: 500
 * ```
 */
import { readFileSync } from 'node:fs';
import type { MapReader } from './read.js';

export interface AnalyzerForwardConfig {
  /** Base URL; alerts go to `<url>/api/v1/alerts`. */
  readonly url: URL;
  readonly token: string | undefined;
  /** PEM text of the CA that signs the analyzer's certificate. */
  readonly ca: string | undefined;
  readonly queueCapacity: number;
  readonly batchMax: number;
}

/** Reads `agent.analyzer`; undefined when it has no url. Throws ConfigError. */
export function readAnalyzerForward(r: MapReader, env: NodeJS.ProcessEnv): AnalyzerForwardConfig | undefined {
  const urlText = r.optionalString('url');
  // Read now (an unknown key is an error), resolved below: only an agent that forwards needs the variable.
  r.get('token_env');
  const caFile = r.optionalString('ca_file');
  const queueCapacity = r.int('queue_capacity', 10_000, 10, 10_000_000);
  const batchMax = r.int('batch_max', 500, 1, 10_000);
  r.rejectUnknown();
  if (urlText === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(urlText);
  } catch {
    throw r.error('url', `expected an http:// or https:// URL, got "${urlText}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw r.error('url', `expected an http:// or https:// URL, got "${urlText}"`);
  if (url.username || url.password) throw r.error('url', 'put credentials in token_env, not in the URL');
  const token = r.envSecret('token_env', env)?.value;
  let ca: string | undefined;
  if (caFile !== undefined) {
    try {
      ca = readFileSync(caFile, 'utf8');
    } catch (e) {
      throw r.error('ca_file', `cannot read ${caFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  return { url, token, ca, queueCapacity, batchMax };
}
