/**
 * The OpenAPI 3.1 description of /api/v1, served at `GET /api/v1/openapi.json`
 * without authentication (it describes the API and holds no data; clients
 * and the web UI read it before signing in). A test keeps it and the router's
 * routes identical in both directions.
 */
import { PRIORITIES } from '../engine/priority.js';
import { CONFIDENCES, INCIDENT_STATUSES, LINK_KEYS } from '../incidents/model.js';
import { DEFAULT_LIMIT, MAX_LIMIT, MAX_PARAM_LENGTH } from './query.js';

/** A JSON Schema (2020-12, as OpenAPI 3.1 uses it) or a `$ref`. */
export interface Schema {
  readonly $ref?: string;
  readonly type?: string | readonly string[];
  readonly format?: string;
  readonly description?: string;
  readonly enum?: readonly (string | null)[];
  readonly properties?: Readonly<Record<string, Schema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean | Schema;
  readonly items?: Schema;
  readonly oneOf?: readonly Schema[];
  readonly minimum?: number;
  readonly maximum?: number;
  readonly maxLength?: number;
  readonly pattern?: string;
  readonly default?: unknown;
  readonly example?: unknown;
}

export interface Parameter {
  readonly name: string;
  readonly in: 'query' | 'path' | 'header';
  readonly required?: boolean;
  readonly description: string;
  readonly schema: Schema;
}

export interface ResponseObject {
  readonly description: string;
  readonly headers?: Readonly<Record<string, { readonly description: string; readonly schema: Schema }>>;
  readonly content?: Readonly<Record<string, { readonly schema: Schema }>>;
}

export interface Operation {
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  readonly tags: readonly string[];
  /** Empty: no authentication. Absent: the document's default (bearer). */
  readonly security?: readonly Readonly<Record<string, readonly string[]>>[];
  readonly parameters?: readonly (Parameter | { readonly $ref: string })[];
  readonly requestBody?: {
    readonly required: boolean;
    readonly description?: string;
    readonly content: Readonly<Record<string, { readonly schema: Schema }>>;
  };
  readonly responses: Readonly<Record<string, ResponseObject | { readonly $ref: string }>>;
  /** The scope the bearer token needs (read, write, ingest); an extension, since bearer tokens have no standard scopes. */
  readonly 'x-scope'?: string;
}

export type HttpMethod = 'get' | 'post';
export type PathItem = Partial<Record<HttpMethod, Operation>>;

export interface OpenApiDocument {
  readonly openapi: '3.1.0';
  readonly info: { readonly title: string; readonly version: string; readonly description: string };
  readonly servers: readonly { readonly url: string }[];
  readonly security: readonly Readonly<Record<string, readonly string[]>>[];
  readonly tags: readonly { readonly name: string; readonly description: string }[];
  readonly paths: Readonly<Record<string, PathItem>>;
  readonly components: {
    readonly securitySchemes: Readonly<Record<string, { readonly type: 'http'; readonly scheme: 'bearer'; readonly description: string }>>;
    readonly schemas: Readonly<Record<string, Schema>>;
    readonly parameters: Readonly<Record<string, Parameter>>;
    readonly responses: Readonly<Record<string, ResponseObject>>;
  };
}

const ref = (kind: 'schemas' | 'parameters' | 'responses', name: string): { $ref: string } => ({ $ref: `#/components/${kind}/${name}` });
const json = (schema: Schema): Readonly<Record<string, { readonly schema: Schema }>> => ({ 'application/json': { schema } });
const str = (description: string): Schema => ({ type: 'string', description });
const nullableStr = (description: string): Schema => ({ type: ['string', 'null'], description });
const nsTimePair = (name: string, what: string): Record<string, Schema> => ({
  [name]: { type: 'string', format: 'date-time', description: `${what}: RFC 3339 UTC with nanoseconds` },
  [`${name}_ns`]: { type: 'string', pattern: '^[0-9]+$', description: `${what}: exact nanoseconds since the epoch` },
});
const ok = (description: string, schema: Schema): ResponseObject => ({ description, content: json(schema) });

const textParam = (name: string, description: string): Parameter => ({
  name, in: 'query', description, schema: { type: 'string', maxLength: MAX_PARAM_LENGTH },
});

const idParam = (what: string): Parameter => ({ name: 'id', in: 'path', required: true, description: `The ${what}'s id`, schema: { type: 'string' } });

const COMMON_FILTERS = ['from', 'to', 'since', 'namespace', 'pod', 'user', 'severity', 'rule', 'q', 'limit', 'cursor']
  .map((p) => ref('parameters', p));

const ERRORS = {
  400: ref('responses', 'BadRequest'),
  401: ref('responses', 'Unauthorized'),
  403: ref('responses', 'Forbidden'),
  503: ref('responses', 'StoreUnavailable'),
} as const;

const statusChange = (operationId: string, summary: string, status: string): Operation => ({
  operationId,
  summary,
  description: `Sets the status to ${status}. The note, when given, is stored as \`<token name>: <note>\`.`,
  tags: ['incidents'],
  'x-scope': 'write',
  parameters: [idParam('incident')],
  requestBody: { required: false, content: json(ref('schemas', 'StatusNote')) },
  responses: { 200: ok('The updated incident', ref('schemas', 'Incident')), ...ERRORS, 404: ref('responses', 'NotFound') },
});

const countList: Schema = {
  type: 'array',
  items: { type: 'object', required: ['key', 'count'], properties: { key: { type: 'string' }, count: { type: 'integer' } } },
};
const countMap: Schema = { type: 'object', additionalProperties: { type: 'integer' } };

export const OPENAPI_DOCUMENT: OpenApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'Tiercel query API',
    version: '1',
    description: 'Incidents (audit and syscall evidence correlated), alerts, statistics and alert ingestion. '
      + 'Every route but this document needs `Authorization: Bearer <token>`; tokens come from the analyzer\'s '
      + 'configuration, each with scopes read, write and/or ingest. Times: every evidence time is given as RFC 3339 '
      + 'UTC with nanoseconds and, in `<name>_ns`, as exact nanoseconds since the epoch. Errors: '
      + '`{"error": code, "message": text}` (plus `parameter` naming the bad input).',
  },
  servers: [{ url: '/api/v1' }],
  security: [{ bearer: [] }],
  tags: [
    { name: 'incidents', description: 'Correlated incidents' },
    { name: 'alerts', description: 'Alerts and context events' },
    { name: 'stats', description: 'Counts over time' },
    { name: 'meta', description: 'The API itself' },
  ],
  paths: {
    '/openapi.json': {
      get: {
        operationId: 'getOpenApi', summary: 'This document', tags: ['meta'], security: [],
        responses: { 200: ok('The OpenAPI document', { type: 'object' }) },
      },
    },
    '/whoami': {
      get: {
        operationId: 'whoami', summary: 'The token\'s name and scopes (a sign-in check)', tags: ['meta'],
        responses: {
          200: ok('The principal', {
            type: 'object', required: ['name', 'scopes'],
            properties: { name: str('The token\'s configured name'), scopes: { type: 'array', items: { type: 'string', enum: ['read', 'write', 'ingest'] } } },
          }),
          401: ref('responses', 'Unauthorized'),
        },
      },
    },
    '/incidents': {
      get: {
        operationId: 'listIncidents', summary: 'Incidents, newest first, filtered', tags: ['incidents'], 'x-scope': 'read',
        parameters: [...COMMON_FILTERS, ref('parameters', 'status')],
        responses: { 200: ok('A page of incidents', ref('schemas', 'IncidentPage')), ...ERRORS },
      },
    },
    '/incidents/{id}': {
      get: {
        operationId: 'getIncident', summary: 'One incident with its timeline (storms collapsed) and links', tags: ['incidents'],
        'x-scope': 'read', parameters: [idParam('incident')],
        responses: { 200: ok('The incident', ref('schemas', 'IncidentDetail')), ...ERRORS, 404: ref('responses', 'NotFound') },
      },
    },
    '/incidents/{id}/status': {
      post: {
        ...statusChange('setIncidentStatus', 'Changes an incident\'s status', 'the one given'),
        requestBody: { required: true, content: json(ref('schemas', 'StatusChange')) },
      },
    },
    '/incidents/{id}/acknowledge': { post: statusChange('acknowledgeIncident', 'Acknowledges an incident', 'acknowledged') },
    '/incidents/{id}/resolve': { post: statusChange('resolveIncident', 'Resolves an incident', 'resolved') },
    '/alerts': {
      get: {
        operationId: 'listAlerts', summary: 'Alerts, newest first, filtered', tags: ['alerts'], 'x-scope': 'read',
        parameters: [...COMMON_FILTERS, ...['source', 'hostname', 'incident', 'kind'].map((p) => ref('parameters', p))],
        responses: { 200: ok('A page of alerts', ref('schemas', 'AlertPage')), ...ERRORS },
      },
      post: {
        operationId: 'ingestAlerts', summary: 'Posts alerts (agents, Falco, Falcosidekick)', tags: ['alerts'], 'x-scope': 'ingest',
        description: 'Answers 200 only once the alerts are committed, so a 200 means nothing sent can be lost; '
          + 'a retried batch is counted in `duplicates`. The body may be gzip-compressed (Content-Encoding: gzip). '
          + '404 when the server takes no alerts.',
        requestBody: {
          required: true,
          content: json({
            oneOf: [
              { type: 'object', description: 'One Falco alert' },
              { type: 'array', items: { type: 'object' }, description: 'Falco alerts' },
              { type: 'object', required: ['alerts'], properties: { alerts: { type: 'array', items: { type: 'object' } } } },
            ],
          }),
        },
        responses: {
          200: ok('Committed', {
            type: 'object', required: ['accepted', 'duplicates'],
            properties: { accepted: { type: 'integer' }, duplicates: { type: 'integer' } },
          }),
          400: ref('responses', 'BadRequest'),
          401: ref('responses', 'Unauthorized'),
          403: ref('responses', 'Forbidden'),
          404: ref('responses', 'NotFound'),
          413: { description: 'The body is too large (compressed or not)', content: json(ref('schemas', 'Error')) },
          415: { description: 'Not JSON, or an unsupported Content-Encoding', content: json(ref('schemas', 'Error')) },
          429: ref('responses', 'Busy'),
          503: ref('responses', 'Busy'),
        },
      },
    },
    '/alerts/stream': {
      get: {
        operationId: 'streamAlerts', summary: 'New alerts as server-sent events', tags: ['alerts'], 'x-scope': 'read',
        description: 'A `text/event-stream` that stays open: one event per alert once it is committed '
          + '(`id: <alert id>`, `event: alert`, `data: <the alert as GET /alerts/{id} answers it>`), and a `: ping` '
          + 'comment every 15 s. Send the bearer token in the Authorization header (read the stream with fetch; '
          + 'never put the token in the URL). A client that stops reading is disconnected once 1 MiB waits for it; '
          + 'catch up with GET /alerts after reconnecting. 404 when the server has no stream (incidents disabled), '
          + '503 when too many clients are connected or the server is shutting down.',
        responses: {
          200: { description: 'The event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } },
          401: ref('responses', 'Unauthorized'),
          403: ref('responses', 'Forbidden'),
          404: ref('responses', 'NotFound'),
          503: ref('responses', 'Busy'),
        },
      },
    },
    '/alerts/{id}': {
      get: {
        operationId: 'getAlert', summary: 'One alert or context event', tags: ['alerts'], 'x-scope': 'read',
        parameters: [idParam('alert')],
        responses: { 200: ok('The alert', ref('schemas', 'Alert')), ...ERRORS, 404: ref('responses', 'NotFound') },
      },
    },
    '/stats': {
      get: {
        operationId: 'getStats', summary: 'Alert counts by priority, rule, source, namespace, node and tag, and over time',
        tags: ['stats'], 'x-scope': 'read',
        parameters: [ref('parameters', 'from'), ref('parameters', 'to'), ref('parameters', 'since'),
          ref('parameters', 'bucket'), ref('parameters', 'top')],
        responses: { 200: ok('The statistics', ref('schemas', 'Stats')), ...ERRORS },
      },
    },
  },
  components: {
    securitySchemes: {
      bearer: { type: 'http', scheme: 'bearer', description: 'A token from the analyzer\'s configuration' },
    },
    parameters: {
      from: textParam('from', 'Start of the time range (inclusive): RFC 3339 with a zone, a date (midnight UTC) or integer ns since the epoch. '
        + 'Incidents overlap the range; alerts fall in it.'),
      to: textParam('to', 'End of the time range (inclusive), like `from`'),
      since: textParam('since', 'Relative start instead of `from`: `30s`, `15m`, `24h`, `7d`, `2w` before now'),
      namespace: textParam('namespace', 'Kubernetes namespace (exact)'),
      pod: textParam('pod', 'Pod name (exact)'),
      user: textParam('user', 'Alerts: their user; incidents: the actor (exact)'),
      severity: {
        name: 'severity', in: 'query', description: 'Minimum priority, case-insensitive (`info` = Informational)',
        schema: { type: 'string', enum: [...PRIORITIES] },
      },
      rule: textParam('rule', 'Rule name (exact); incidents holding an alert of this rule'),
      q: textParam('q', 'Case-insensitive text search, taken literally (%, _, quotes are ordinary characters)'),
      limit: { name: 'limit', in: 'query', description: 'Page size', schema: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT } },
      cursor: textParam('cursor', 'The `next` of the previous page'),
      status: { name: 'status', in: 'query', description: 'Incident status', schema: { type: 'string', enum: [...INCIDENT_STATUSES] } },
      source: textParam('source', 'Event source: `k8s_audit`, `syscall`'),
      hostname: textParam('hostname', 'The node (syscall) or analyzer (k8s_audit) that produced the alert'),
      incident: textParam('incident', 'Alerts of this incident (all of them, storms uncollapsed)'),
      kind: {
        name: 'kind', in: 'query', description: '`alert` (default), `context` (audit events that joined incidents) or `any`',
        schema: { type: 'string', enum: ['alert', 'context', 'any'], default: 'alert' },
      },
      bucket: textParam('bucket', 'Series bucket width (`10s`, `5m`, `1h`, `1d`); default: a round width giving at most 200 buckets'),
      top: { name: 'top', in: 'query', description: 'Entries per breakdown', schema: { type: 'integer', minimum: 1, maximum: 100, default: 10 } },
    },
    responses: {
      BadRequest: { description: 'Bad input; `parameter` names it', content: json(ref('schemas', 'Error')) },
      Unauthorized: {
        description: 'No or an invalid bearer token',
        headers: { 'WWW-Authenticate': { description: 'Bearer challenge', schema: { type: 'string' } } },
        content: json(ref('schemas', 'Error')),
      },
      Forbidden: { description: 'The token lacks the scope', content: json(ref('schemas', 'Error')) },
      NotFound: { description: 'No such thing', content: json(ref('schemas', 'Error')) },
      StoreUnavailable: {
        description: 'The store is unavailable; retry',
        headers: { 'Retry-After': { description: 'Seconds', schema: { type: 'string' } } },
        content: json(ref('schemas', 'Error')),
      },
      Busy: {
        description: 'Not accepted now; retry (after Retry-After when given)',
        headers: { 'Retry-After': { description: 'Seconds', schema: { type: 'string' } } },
        content: json(ref('schemas', 'Error')),
      },
    },
    schemas: {
      Error: {
        type: 'object', required: ['error', 'message'],
        properties: {
          error: str('A short code: bad_request, unauthorized, forbidden, not_found, store_unavailable, ...'),
          message: str('What went wrong, for people'),
          parameter: str('The query parameter or body field at fault'),
          path: str('Ingest: where in the body an alert is invalid'),
        },
      },
      Alert: {
        type: 'object',
        description: 'A Falco alert (time, rule, priority, source, tags, output, output_fields, hostname) with Tiercel\'s keys',
        required: ['id', 'kind', 'time', 'time_ns', 'rule', 'priority', 'source', 'tags', 'output', 'output_fields', 'hostname'],
        properties: {
          id: str('Assigned by the producer; stable across retries'),
          kind: { type: 'string', enum: ['alert', 'context'] },
          ...nsTimePair('time', 'Event time'),
          rule: str('Rule name'),
          priority: { type: 'string', enum: [...PRIORITIES] },
          source: str('k8s_audit, syscall, ...'),
          tags: { type: 'array', items: { type: 'string' } },
          output: str('Falco\'s output line'),
          output_fields: { type: 'object', additionalProperties: true },
          hostname: str('Node or analyzer'),
          correlation: { type: 'object', additionalProperties: { type: 'string' } },
          namespace: nullableStr('Namespace'),
          pod: nullableStr('Pod name'),
          pod_uid: nullableStr('Pod UID'),
          container_id: nullableStr('Container id'),
          user: nullableStr('Kubernetes user'),
          dedup_key: str('Identical alerts (a storm) share it'),
          incident_id: nullableStr('The incident holding it'),
          received_at: { type: 'string', format: 'date-time', description: 'When the analyzer received it' },
        },
      },
      Incident: {
        type: 'object',
        required: ['id', 'title', 'severity', 'status', 'target', 'first_seen', 'last_seen', 'alert_count', 'rules', 'tactics'],
        properties: {
          id: str('Incident id'),
          title: str('Summary'),
          severity: { type: 'string', enum: [...PRIORITIES] },
          status: { type: 'string', enum: [...INCIDENT_STATUSES] },
          actor: {
            type: ['object', 'null'],
            properties: {
              kind: { type: 'string', enum: ['user', 'serviceaccount', 'unknown'] },
              name: str('alice, system:serviceaccount:prod:builder'),
              confidence: { type: 'string', enum: [...CONFIDENCES] },
            },
          },
          target: {
            type: 'object',
            properties: {
              namespace: nullableStr('Namespace'), pod: nullableStr('Pod'), pod_uid: nullableStr('Pod UID'),
              container: nullableStr('Container'), node: nullableStr('Node'),
            },
          },
          ...nsTimePair('first_seen', 'Earliest evidence'),
          ...nsTimePair('last_seen', 'Latest evidence'),
          alert_count: { type: 'integer', description: 'Alerts, storms counted in full' },
          rules: { type: 'array', items: { type: 'string' } },
          tactics: { type: 'array', items: { type: 'string' }, description: 'MITRE ATT&CK tactics' },
          keys: { type: 'array', items: { type: 'object', properties: { kind: { type: 'string' }, value: { type: 'string' } } } },
          status_note: nullableStr('Who changed the status last, and why'),
          created_at: { type: 'string', format: 'date-time' },
          updated_at: { type: 'string', format: 'date-time' },
        },
      },
      Link: {
        type: 'object', required: ['incident_id', 'alert_id', 'key', 'confidence'],
        properties: {
          incident_id: str('Incident'),
          alert_id: str('The evidence joined'),
          key: { type: 'string', enum: [...LINK_KEYS], description: 'What joined it' },
          confidence: { type: 'string', enum: [...CONFIDENCES] },
          linked_to: nullableStr('The evidence it was joined to'),
          detail: nullableStr('The joined value or an explanation'),
        },
      },
      TimelineEntry: {
        type: 'object', required: ['dedup_key', 'count', 'first', 'last_time', 'last_time_ns'],
        properties: {
          dedup_key: str('Identical alerts share it'),
          count: { type: 'integer', description: '1, or the size of a storm collapsed into this entry' },
          first: ref('schemas', 'Alert'),
          ...nsTimePair('last_time', 'Time of the entry\'s last alert'),
          link: { oneOf: [ref('schemas', 'Link'), { type: 'null' }] },
        },
      },
      IncidentDetail: {
        type: 'object', required: ['incident', 'timeline', 'timeline_truncated', 'links'],
        properties: {
          incident: ref('schemas', 'Incident'),
          timeline: { type: 'array', items: ref('schemas', 'TimelineEntry'), description: 'Oldest first' },
          timeline_truncated: { type: 'boolean', description: 'The timeline was cut at 500 entries; list the rest with GET /alerts?incident=ID' },
          links: { type: 'array', items: ref('schemas', 'Link') },
        },
      },
      IncidentPage: {
        type: 'object', required: ['items', 'next'],
        properties: { items: { type: 'array', items: ref('schemas', 'Incident') }, next: nullableStr('Cursor of the next page') },
      },
      AlertPage: {
        type: 'object', required: ['items', 'next'],
        properties: { items: { type: 'array', items: ref('schemas', 'Alert') }, next: nullableStr('Cursor of the next page') },
      },
      StatusChange: {
        type: 'object', required: ['status'], additionalProperties: false,
        properties: { status: { type: 'string', enum: [...INCIDENT_STATUSES] }, note: { type: 'string', maxLength: 2000 } },
      },
      StatusNote: {
        type: 'object', additionalProperties: false,
        properties: { note: { type: 'string', maxLength: 2000 } },
      },
      Stats: {
        type: 'object',
        required: ['from', 'to', 'bucket', 'total', 'by_priority', 'by_rule', 'by_source', 'by_namespace', 'by_hostname', 'by_tag', 'series', 'incidents'],
        properties: {
          ...nsTimePair('from', 'Range start'),
          ...nsTimePair('to', 'Range end'),
          bucket: str('Bucket width, e.g. 5m'),
          bucket_ms: { type: 'integer' },
          total: { type: 'integer' },
          by_priority: countMap,
          by_rule: countList,
          by_source: countMap,
          by_namespace: countList,
          by_hostname: countList,
          by_tag: countList,
          series: {
            type: 'array', description: 'Every bucket of the range, empty ones included',
            items: { type: 'object', properties: { ...nsTimePair('start', 'Bucket start'), by_priority: countMap } },
          },
          incidents: { type: 'object', description: 'Incidents by status', additionalProperties: { type: 'integer' } },
        },
      },
    },
  },
};
