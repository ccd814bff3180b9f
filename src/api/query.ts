/**
 * Query parameters of the listing and stats routes, parsed into the store's
 * queries. Shared by the router and the CLI (which applies the same filters
 * to a store it opens itself), so both accept and refuse exactly the same
 * input.
 *
 * Parameters are read from the raw query string (URLSearchParams), not from
 * express's parsed `req.query`, whose shape depends on the application's
 * query-parser setting (`a[b]=1` becomes an object with `qs`). Every value
 * is a client's text: it is length-checked, a parameter given twice is an
 * error rather than a silent pick, and an unknown parameter is an error too
 * (a typo like `namespce=prod` must not quietly list every namespace).
 */
import { PRIORITIES, type Priority, parsePriority } from '../engine/priority.js';
import { type EvidenceKind, INCIDENT_STATUSES, type IncidentStatus } from '../incidents/model.js';
import type { AlertQuery, IncidentQuery, StatsQuery } from '../store/types.js';
import { badParameter } from './errors.js';
import { formatDuration, msToNs, nowNs, parseDuration, parseInstant } from './time.js';

/** Longest accepted value of a text parameter. */
export const MAX_PARAM_LENGTH = 1024;
export const MAX_LIMIT = 1000;
export const DEFAULT_LIMIT = 100;

const TIME_PARAMS = ['from', 'to', 'since'] as const;
const COMMON_PARAMS = [...TIME_PARAMS, 'namespace', 'pod', 'user', 'severity', 'rule', 'q', 'limit', 'cursor'] as const;
export const INCIDENT_PARAMS: readonly string[] = [...COMMON_PARAMS, 'status'];
export const ALERT_PARAMS: readonly string[] = [...COMMON_PARAMS, 'source', 'hostname', 'incident', 'kind'];
export const STATS_PARAMS: readonly string[] = [...TIME_PARAMS, 'bucket', 'top'];

/** A view of the query string with the checks every parameter needs. */
class Params {
  constructor(private readonly search: URLSearchParams, allowed: readonly string[]) {
    for (const name of new Set(search.keys())) {
      if (!allowed.includes(name)) {
        throw badParameter(clipName(name), `unknown parameter (expected one of ${allowed.join(', ')})`);
      }
    }
  }

  /** The value, trimmed; undefined when absent or empty (`?namespace=` means no filter, as forms send it). */
  text(name: string): string | undefined {
    const all = this.search.getAll(name);
    if (all.length > 1) throw badParameter(name, 'given more than once');
    const value = all[0];
    if (value === undefined) return undefined;
    if (value.length > MAX_PARAM_LENGTH) throw badParameter(name, `longer than ${MAX_PARAM_LENGTH} characters`);
    // Text search keeps its spaces (a search for " sh " is not one for "sh"); names and numbers are trimmed.
    const v = name === 'q' ? value : value.trim();
    return v === '' ? undefined : v;
  }

  int(name: string, min: number, max: number): number | undefined {
    const t = this.text(name);
    if (t === undefined) return undefined;
    if (!/^\d{1,7}$/.test(t) || Number(t) < min || Number(t) > max) {
      throw badParameter(name, `expected an integer from ${min} to ${max}`);
    }
    return Number(t);
  }
}

/** A hostile parameter name is quoted in the error, so it is clipped first. */
function clipName(name: string): string {
  return name.length > 64 ? `${name.slice(0, 64)}...` : name;
}

export const SEVERITY_EXPECTED = `expected one of ${PRIORITIES.join(', ')} (case-insensitive; info = Informational)`;

function severity(p: Params): Priority | undefined {
  const t = p.text('severity');
  if (t === undefined) return undefined;
  const prio = parsePriority(t);
  if (!prio) throw badParameter('severity', SEVERITY_EXPECTED);
  return prio;
}

/** The time range of `from`/`to` or `since`; `defaultSinceMs` applies when none is given. */
function timeRange(p: Params, now: bigint, defaultSinceMs?: number): { from?: bigint; to?: bigint } {
  const instant = (name: 'from' | 'to'): bigint | undefined => {
    const t = p.text(name);
    if (t === undefined) return undefined;
    const ns = parseInstant(t);
    if (ns === undefined) {
      throw badParameter(name, 'expected an RFC 3339 time with a zone (2026-11-28T12:00:00Z, 2026-11-28T13:00:00.5+01:00), '
        + 'a date (2026-11-28) or integer nanoseconds since the epoch');
    }
    return ns;
  };
  const sinceText = p.text('since');
  let from = instant('from');
  const to = instant('to');
  if (sinceText !== undefined) {
    if (from !== undefined) throw badParameter('since', 'give either since or from, not both');
    const ms = parseDuration(sinceText);
    if (ms === undefined) throw badParameter('since', 'expected a duration like 30s, 15m, 24h, 7d or 2w');
    from = now - msToNs(ms);
  } else if (from === undefined && defaultSinceMs !== undefined) {
    from = (to ?? now) - msToNs(defaultSinceMs);
  }
  if (from !== undefined && to !== undefined && to < from) throw badParameter('to', 'is before from');
  return { ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) };
}

function common(p: Params, now: bigint): IncidentQuery & AlertQuery {
  const limit = p.int('limit', 1, MAX_LIMIT);
  const minPriority = severity(p);
  const out: Record<string, unknown> = { ...timeRange(p, now) };
  for (const [param, key] of [['namespace', 'namespace'], ['pod', 'pod'], ['user', 'user'], ['rule', 'rule'],
    ['q', 'text'], ['cursor', 'cursor']] as const) {
    const v = p.text(param);
    if (v !== undefined) out[key] = v;
  }
  if (minPriority) out['minPriority'] = minPriority;
  out['limit'] = limit ?? DEFAULT_LIMIT;
  return out as IncidentQuery & AlertQuery;
}

export function parseIncidentQuery(search: URLSearchParams, now: bigint = nowNs()): IncidentQuery {
  const p = new Params(search, INCIDENT_PARAMS);
  const q: IncidentQuery = common(p, now);
  const status = p.text('status');
  if (status === undefined) return q;
  const s = status.toLowerCase();
  if (!(INCIDENT_STATUSES as readonly string[]).includes(s)) {
    throw badParameter('status', `expected one of ${INCIDENT_STATUSES.join(', ')}`);
  }
  return { ...q, status: s as IncidentStatus };
}

const KINDS = ['alert', 'context', 'any'] as const;

export function parseAlertQuery(search: URLSearchParams, now: bigint = nowNs()): AlertQuery {
  const p = new Params(search, ALERT_PARAMS);
  const q: Record<string, unknown> = { ...common(p, now) };
  for (const [param, key] of [['source', 'source'], ['hostname', 'hostname'], ['incident', 'incidentId']] as const) {
    const v = p.text(param);
    if (v !== undefined) q[key] = v;
  }
  const kind = p.text('kind');
  if (kind !== undefined) {
    const k = kind.toLowerCase();
    if (!(KINDS as readonly string[]).includes(k)) throw badParameter('kind', `expected one of ${KINDS.join(', ')}`);
    q['kind'] = k as EvidenceKind | 'any';
  }
  return q as AlertQuery;
}

/** The stats range when none is given. */
export const DEFAULT_STATS_RANGE_MS = 24 * 3_600_000;
/** Upper bound of the number of buckets a client may ask for (a chart needs a few hundred at most). */
export const MAX_BUCKETS = 2000;
/** Bucket widths a default is picked from: round values a chart's axis can label. */
const NICE_BUCKETS_MS = [
  1, 5, 10, 15, 30, 60, 5 * 60, 10 * 60, 15 * 60, 30 * 60, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86_400, 7 * 86_400,
].map((s) => s * 1000);
/** Buckets a default width aims to stay under. */
export const TARGET_BUCKETS = 200;

/** The smallest round bucket width giving at most {@link TARGET_BUCKETS} buckets over the range. */
export function defaultBucketMs(rangeNs: bigint): number {
  const rangeMs = Number(rangeNs / 1_000_000n);
  for (const b of NICE_BUCKETS_MS) if (Math.ceil(rangeMs / b) <= TARGET_BUCKETS) return b;
  return NICE_BUCKETS_MS[NICE_BUCKETS_MS.length - 1]!;
}

export interface ParsedStatsQuery extends StatsQuery {
  /** The bucket width as text (`5m`), for the answer. */
  readonly bucket: string;
}

export function parseStatsQuery(search: URLSearchParams, now: bigint = nowNs()): ParsedStatsQuery {
  const p = new Params(search, STATS_PARAMS);
  const relative = p.text('from') === undefined;
  const range = timeRange(p, now, DEFAULT_STATS_RANGE_MS);
  let from = range.from!;
  const to = range.to ?? now;
  if (to < from) throw badParameter('to', 'is before since');
  const top = p.int('top', 1, 100);
  const bucketText = p.text('bucket');
  let bucketMs: number;
  if (bucketText === undefined) {
    bucketMs = defaultBucketMs(to - from);
  } else {
    const ms = parseDuration(bucketText);
    if (ms === undefined) throw badParameter('bucket', 'expected a duration of at least 1s like 10s, 5m, 1h or 1d');
    const buckets = (to - from) / msToNs(ms) + 1n;
    if (buckets > BigInt(MAX_BUCKETS)) {
      throw badParameter('bucket', `${bucketText} makes ${buckets} buckets over this range (at most ${MAX_BUCKETS}); `
        + `use ${formatDuration(defaultBucketMs(to - from))} or more`);
    }
    bucketMs = ms;
  }
  // A relative range (since, or the default) starts on a bucket boundary, so a
  // refreshing chart keeps the same buckets instead of sliding them every time.
  if (relative) from -= from % msToNs(bucketMs);
  return { from, to, bucketMs, bucket: formatDuration(bucketMs), ...(top !== undefined ? { top } : {}) };
}
