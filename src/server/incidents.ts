/**
 * The analyzer's incident side, assembled: the store, the correlator warmed
 * from it, the recorder that commits evidence, the query API router, and the
 * periodic retention. `tiercel serve` starts it when `incidents.enabled`.
 *
 * Audit evidence arrives through {@link IncidentsRuntime.observe} (called by
 * the pipeline for every evaluated event); agents' alerts through
 * `POST /api/v1/alerts`.
 */
import { randomUUID } from 'node:crypto';
import type { Router } from 'express';
import type { Logger } from 'pino';
import { createApiRouter } from '../api/router.js';
import type { ApiToken } from '../api/auth.js';
import { IngestRejected } from '../api/ingest-types.js';
import { createAlertStream } from '../api/stream.js';
import type { AuditEvent } from '../audit/event.js';
import type { IncidentsConfig } from '../config/incidents.js';
import type { Alert } from '../engine/alert.js';
import { Correlator } from '../incidents/correlator.js';
import { EvidenceInputError, contextFromAuditEvent, evidenceFromAlert, parseAlertJson } from '../incidents/evidence.js';
import type { StoredAlert } from '../incidents/model.js';
import { openStore, parseStoreSpec } from '../store/index.js';
import { openStoreThread } from '../store/thread.js';
import type { Store } from '../store/types.js';
import { loadOrCreateApiToken } from './api-token.js';
import { IncidentRecorder } from './incident-recorder.js';
import type { ServerMetrics } from './metrics.js';
import { createUiRouter } from './ui.js';

export interface IncidentsRuntime {
  readonly store: Store;
  readonly router: Router;
  /** The web UI's files (src/server/ui.ts). */
  readonly ui: Router;
  /** Where the generated token is, when no tokens were configured. */
  readonly tokenFile: string | undefined;
  /** Hands an evaluated audit event and its alerts to correlation. Never throws. */
  observe(evt: AuditEvent, alerts: readonly Alert[]): void;
  /** Commits what is queued, stops retention, closes the store. */
  stop(): Promise<void>;
}

/** Most alerts one POST may carry; an agent sends a few hundred at a time. */
const MAX_ALERTS_PER_REQUEST = 10_000;

/**
 * The store as the API sees it: a status change also reaches the correlator,
 * so a resolved incident takes no more evidence (the next opens a new one)
 * and a reopened one takes evidence again.
 */
function tellingCorrelator(store: Store, correlator: Correlator): Store {
  const setIncidentStatus: Store['setIncidentStatus'] = async (id, status, note) => {
    const updated = await store.setIncidentStatus(id, status, note);
    if (updated) {
      correlator.statusChanged(id, status, note);
      if (status !== 'resolved') correlator.warm([updated]);
    }
    return updated;
  };
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'setIncidentStatus') return setIncidentStatus;
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

export async function startIncidents(config: IncidentsConfig, logger: Logger, metrics: ServerMetrics): Promise<IncidentsRuntime> {
  const log = logger.child({ component: 'incidents' });
  // SQLite is synchronous: on its own thread its commits do not stop the event loop that
  // parses, evaluates and answers. PostgreSQL's client is asynchronous already.
  const store = parseStoreSpec(config.storeUrl, config.dataDir).engine === 'sqlite'
    ? await openStoreThread(config.storeUrl, { dataDir: config.dataDir })
    : await openStore(config.storeUrl, { dataDir: config.dataDir });
  try {
    const correlator = new Correlator({ windowMs: config.windowMs });
    const since = BigInt(Date.now() - config.windowMs) * 1_000_000n;
    const active = await store.activeIncidents(since);
    correlator.warm(active);
    log.info({ store: store.location, engine: store.engine, activeIncidents: active.length }, `incident store: ${store.engine} at ${store.location}`);

    // The live view of committed alerts (GET /api/v1/alerts/stream), fed by the recorder after each commit.
    const stream = createAlertStream({
      onSlowClient: (bytes) => log.info({ bufferedBytes: bytes }, 'alert stream: disconnected a client that stopped reading'),
    });
    const recorder = new IncidentRecorder({
      store, correlator, logger: log, metrics: metrics.recorder(), capacity: config.queueCapacity,
      onCommitted: (evidence) => stream.publish(evidence),
    });

    let tokens: ApiToken[] = config.tokens.map((t) => ({ name: t.name, token: t.token, scopes: t.scopes }));
    let tokenFile: string | undefined;
    if (tokens.length === 0) {
      const generated = loadOrCreateApiToken(config.dataDir);
      tokens = [{ name: 'generated', token: generated.token, scopes: ['read', 'write', 'ingest'] }];
      tokenFile = generated.path;
      log.info({ file: generated.path }, `${generated.created ? 'generated an' : 'using the'} API token in ${generated.path} (configure api.tokens to choose your own)`);
    }

    const router = createApiRouter({
      store: tellingCorrelator(store, correlator),
      tokens,
      logger: log,
      stream,
      ingest: async (items) => {
        if (items.length > MAX_ALERTS_PER_REQUEST) {
          throw new IngestRejected(413, `at most ${MAX_ALERTS_PER_REQUEST} alerts per request, got ${items.length}`);
        }
        const receivedAt = Date.now();
        const evidence: StoredAlert[] = [];
        for (let i = 0; i < items.length; i++) {
          try {
            evidence.push(parseAlertJson(items[i], receivedAt));
          } catch (e) {
            if (e instanceof EvidenceInputError) throw new IngestRejected(400, e.message, { path: `[${i}]${e.path ? `.${e.path}` : ''}` });
            throw e;
          }
        }
        return recorder.ingest(evidence);
      },
      onRequest: (route, status) => metrics.apiRequests.labels(route, String(status)).inc(),
    });

    const retention = setInterval(() => {
      store.applyRetention({ maxAgeMs: config.retention.maxAgeMs, maxAlerts: config.retention.maxAlerts }).then(
        (r) => {
          if (r.deletedAlerts || r.deletedIncidents) log.info(r, `retention: deleted ${r.deletedAlerts} alerts and ${r.deletedIncidents} incidents`);
        },
        (err: Error) => log.error({ err }, 'retention failed; will retry'),
      );
    }, config.retention.intervalMs);
    retention.unref();

    return {
      store,
      router,
      ui: createUiRouter(),
      tokenFile,
      observe(evt, alerts) {
        try {
          const receivedAt = Date.now();
          const context = contextFromAuditEvent(evt);
          if (context) recorder.record(context);
          for (const a of alerts) recorder.record(evidenceFromAlert(a, { id: randomUUID(), receivedAt }));
        } catch (err) {
          // Attacker-shaped events must not stop evaluation; the alert still went to the outputs.
          log.warn({ err }, 'could not turn an audit event into incident evidence');
        }
      },
      async stop() {
        clearInterval(retention);
        stream.close();
        await recorder.close();
        await store.close();
      },
    };
  } catch (e) {
    await store.close().catch(() => undefined);
    throw e;
  }
}
