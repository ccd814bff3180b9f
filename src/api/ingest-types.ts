/**
 * The contract between `POST /api/v1/alerts` (the router) and whoever stores
 * and correlates the alerts (the analyzer's pipeline). The router only reads
 * the body and answers; the handler decides what a valid alert is.
 */

/** Who sent the batch: the name (never the secret) of the token that authenticated it. */
export interface IngestContext {
  readonly token: string;
}

export interface IngestResult {
  /** Alerts newly committed. */
  readonly accepted: number;
  /** Alerts already stored (an agent's retry); counted, not an error. */
  readonly duplicates: number;
}

/**
 * Takes the alerts of one request. Resolves only once they are committed, so
 * the 200 the agent gets means nothing it sent can be lost; rejects with
 * {@link IngestRejected} to answer with a specific status. Any other error is
 * answered 503 (the agent retries).
 */
export type AlertIngestHandler = (alerts: unknown[], context: IngestContext) => Promise<IngestResult>;

export type IngestRejectedStatus = 400 | 413 | 429 | 503;

/**
 * A batch the ingest handler refuses. 400 and 413 tell the agent that a retry
 * cannot help; 429 and 503 that it should retry, after `retryAfterSeconds`
 * when given (sent as `Retry-After`).
 */
export class IngestRejected extends Error {
  readonly status: IngestRejectedStatus;
  readonly retryAfterSeconds: number | undefined;
  /** For a validation error: where in the body, e.g. `[3].output_fields`. */
  readonly path: string | undefined;

  constructor(status: IngestRejectedStatus, message: string, options: { retryAfterSeconds?: number; path?: string } = {}) {
    super(message);
    this.name = 'IngestRejected';
    this.status = status;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.path = options.path;
  }
}
