/**
 * What the query API does, apart from HTTP: parse a request's parameters,
 * ask the store, and build the JSON answer. The router is a thin HTTP layer
 * over it, and `tiercel incidents --store` calls it directly, so the CLI
 * prints exactly what the API would have answered.
 *
 * Store failures are translated here: a {@link StoreQueryError} (a cursor
 * the store cannot read, a limit it refuses) is the client's fault, 400 with
 * the store's message; anything else is the store being unavailable, 503,
 * with the cause kept for the log and never sent to the client.
 */
import { INCIDENT_STATUSES, type IncidentStatus } from '../incidents/model.js';
import { StoreQueryError, type Store } from '../store/types.js';
import { ApiError, badParameter, notFound } from './errors.js';
import { parseAlertQuery, parseIncidentQuery, parseStatsQuery } from './query.js';
import {
  type AlertJson, type IncidentDetailJson, type IncidentJson, type PageJson, type StatsJson,
  alertJson, incidentJson, linkJson, pageJson, statsJson, timelineEntryJson,
} from './serialize.js';

/** Timeline entries returned with an incident (storms collapsed, so this is many more alerts). */
export const TIMELINE_LIMIT = 500;
/** Longest id looked up; longer ones cannot exist and are answered 404 without asking the store. */
export const MAX_ID_LENGTH = 256;
export const MAX_NOTE_LENGTH = 2000;

/** The store failed (unreachable, corrupt, closed): 503, the cause only in `cause` for the log. */
export class StoreUnavailableError extends ApiError {
  constructor(readonly storeCause: unknown) {
    super(503, 'store_unavailable', 'the incident store is unavailable; try again later', {}, { 'Retry-After': '5' });
  }
}

async function ask<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    if (e instanceof StoreQueryError) throw new ApiError(400, 'bad_request', e.message);
    if (e instanceof ApiError) throw e;
    throw new StoreUnavailableError(e);
  }
}

function checkId(id: string, what: string): void {
  if (id.length === 0 || id.length > MAX_ID_LENGTH) throw notFound(`no ${what} with this id`);
}

export interface StatusChange {
  readonly status: IncidentStatus;
  readonly note?: string;
  /** Who asks (a token's name, `cli:alice`), recorded in the incident's status note. */
  readonly by: string;
}

/** Validates a status-change body `{status, note?}` (the JSON of `POST /incidents/{id}/status`). */
export function parseStatusBody(body: unknown, fixedStatus?: IncidentStatus): { status: IncidentStatus; note?: string } {
  const obj = body === undefined || body === null ? {} : body;
  if (typeof obj !== 'object' || Array.isArray(obj)) throw badParameter('body', 'expected a JSON object');
  const allowed = fixedStatus ? ['note'] : ['status', 'note'];
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) throw badParameter(k.slice(0, 64), `unknown field (expected ${allowed.join(', ')})`);
  }
  const rec = obj as Record<string, unknown>;
  let status = fixedStatus;
  if (!status) {
    const s = rec['status'];
    if (typeof s !== 'string' || !(INCIDENT_STATUSES as readonly string[]).includes(s)) {
      throw badParameter('status', `expected one of ${INCIDENT_STATUSES.join(', ')}`);
    }
    status = s as IncidentStatus;
  }
  const note = rec['note'];
  if (note === undefined || note === null) return { status };
  if (typeof note !== 'string') throw badParameter('note', 'expected a string');
  if (note.length > MAX_NOTE_LENGTH) throw badParameter('note', `longer than ${MAX_NOTE_LENGTH} characters`);
  return note.trim() === '' ? { status } : { status, note: note.trim() };
}

/**
 * The status note stored with the incident: who changed it and, when given,
 * why (`oncall-ui: false positive, CI job`).
 */
export function statusNote(change: StatusChange): string {
  return change.note ? `${change.by}: ${change.note}` : change.by;
}

export interface QueryService {
  listIncidents(search: URLSearchParams): Promise<PageJson<IncidentJson>>;
  incident(id: string): Promise<IncidentDetailJson>;
  setStatus(id: string, change: StatusChange): Promise<IncidentJson>;
  listAlerts(search: URLSearchParams): Promise<PageJson<AlertJson>>;
  alert(id: string): Promise<AlertJson>;
  stats(search: URLSearchParams): Promise<StatsJson>;
}

export function createQueryService(store: Store): QueryService {
  return {
    async listIncidents(search) {
      const query = parseIncidentQuery(search);
      return pageJson(await ask(() => store.listIncidents(query)), incidentJson);
    },

    async incident(id) {
      checkId(id, 'incident');
      const incident = await ask(() => store.getIncident(id));
      if (!incident) throw notFound('no incident with this id');
      const [timeline, links] = await ask(() => Promise.all([
        store.incidentTimeline(id, TIMELINE_LIMIT + 1),
        store.incidentLinks(id),
      ]));
      return {
        incident: incidentJson(incident),
        timeline: timeline.slice(0, TIMELINE_LIMIT).map(timelineEntryJson),
        timeline_truncated: timeline.length > TIMELINE_LIMIT,
        links: links.map(linkJson),
      };
    },

    async setStatus(id, change) {
      checkId(id, 'incident');
      const updated = await ask(() => store.setIncidentStatus(id, change.status, statusNote(change)));
      if (!updated) throw notFound('no incident with this id');
      return incidentJson(updated);
    },

    async listAlerts(search) {
      const query = parseAlertQuery(search);
      return pageJson(await ask(() => store.listAlerts(query)), alertJson);
    },

    async alert(id) {
      checkId(id, 'alert');
      const alert = await ask(() => store.getAlert(id));
      if (!alert) throw notFound('no alert with this id');
      return alertJson(alert);
    },

    async stats(search) {
      const query = parseStatsQuery(search);
      const stats = await ask(() => store.stats(query));
      return statsJson(stats, query);
    },
  };
}
