/**
 * WHERE clauses of the alert and incident listings, shared by both engines
 * (the SQL is standard enough: row-value comparison, LIKE … ESCAPE, EXISTS).
 */
import { PRIORITIES } from '../engine/priority.js';
import type { Row } from './rows.js';
import type { AlertQuery, IncidentQuery } from './types.js';
import { decodeCursor } from './cursor.js';
import { LIKE_ESCAPE, Where, checkTimeRange, containsPattern, rankOf } from './query.js';

const LIKE = `LIKE ? ESCAPE '${LIKE_ESCAPE}'`;

/** Alerts newest first; the tie-breaker is the insertion sequence (compact in every index). */
export const ALERT_ORDER = 'ORDER BY time DESC, seq DESC';

/**
 * Priority ranks to list one by one for `minPriority`, or undefined when one
 * query does. `priority_rank <= n` is a range: no index gives its rows in time
 * order, so when few alerts are that severe the engine would walk the whole
 * time index to fill a page. One query per rank (`priority_rank = r`, served
 * in time order by the (priority_rank, time) index), merged, costs at most
 * seven short index walks whatever the mix.
 */
export function priorityFanout(q: AlertQuery): number[] | undefined {
  if (q.minPriority === undefined) return undefined;
  // With an equality filter that has its own (x, time) index, that index drives
  // the query better: splitting by priority would tempt the planner onto the
  // priority index, walking every alert of that priority in the range.
  const indexed = [q.namespace, q.pod, q.user, q.rule, q.incidentId];
  if (indexed.some((v) => v !== undefined)) return undefined;
  const max = rankOf(q.minPriority);
  return max >= PRIORITIES.length - 1 ? undefined : Array.from({ length: max + 1 }, (_, r) => r);
}

/** Merges per-rank pages (each newest first) into one: the first `n` by (time, seq) descending. */
export function mergeNewestFirst(pages: readonly Row[][], n: number, big: (v: unknown) => bigint): Row[] {
  const all = pages.flat();
  all.sort((a, b) => {
    const ta = big(a.time);
    const tb = big(b.time);
    if (ta !== tb) return ta < tb ? 1 : -1;
    const sa = big(a.seq);
    const sb = big(b.seq);
    return sa === sb ? 0 : sa < sb ? 1 : -1;
  });
  return all.slice(0, n);
}

/** `exactRank`: one query of a {@link priorityFanout} (replaces the minPriority range). */
export function alertWhere(q: AlertQuery, exactRank?: number): Where {
  checkTimeRange(q.from, q.to);
  const w = new Where();
  const kind = q.kind ?? 'alert';
  if (kind !== 'any') w.add('kind = ?', kind);
  if (q.from !== undefined) w.add('time >= ?', q.from);
  if (q.to !== undefined) w.add('time <= ?', q.to);
  if (q.namespace !== undefined) w.add('namespace = ?', q.namespace);
  if (q.pod !== undefined) w.add('pod = ?', q.pod);
  if (q.user !== undefined) w.add('user_name = ?', q.user);
  if (q.rule !== undefined) w.add('rule = ?', q.rule);
  if (q.source !== undefined) w.add('source = ?', q.source);
  if (q.hostname !== undefined) w.add('hostname = ?', q.hostname);
  if (q.incidentId !== undefined) w.add('incident_id = ?', q.incidentId);
  if (exactRank !== undefined) w.add('priority_rank = ?', exactRank);
  else if (q.minPriority !== undefined) w.add('priority_rank <= ?', rankOf(q.minPriority));
  if (q.text !== undefined && q.text !== '') w.add(`search ${LIKE}`, containsPattern(q.text));
  if (q.cursor !== undefined) {
    const c = decodeCursor(q.cursor, true);
    w.add('(time, seq) < (?, ?)', c.time, BigInt(c.tie));
  }
  return w;
}

export const INCIDENT_ORDER = 'ORDER BY last_seen DESC, id DESC';

export function incidentWhere(q: IncidentQuery): Where {
  checkTimeRange(q.from, q.to);
  const w = new Where();
  // Overlapping the range: it began before the range ends and was last seen after it starts.
  if (q.from !== undefined) w.add('last_seen >= ?', q.from);
  if (q.to !== undefined) w.add('first_seen <= ?', q.to);
  if (q.namespace !== undefined) w.add('target_namespace = ?', q.namespace);
  if (q.pod !== undefined) w.add('target_pod = ?', q.pod);
  if (q.user !== undefined) w.add('actor_name = ?', q.user);
  if (q.status !== undefined) w.add('status = ?', q.status);
  if (q.minPriority !== undefined) w.add('severity_rank <= ?', rankOf(q.minPriority));
  if (q.rule !== undefined) {
    w.add('EXISTS (SELECT 1 FROM incident_rules r WHERE r.incident_id = incidents.id AND r.rule = ?)', q.rule);
  }
  if (q.text !== undefined && q.text !== '') w.add(`search ${LIKE}`, containsPattern(q.text));
  if (q.cursor !== undefined) {
    const c = decodeCursor(q.cursor, false);
    w.add('(last_seen, id) < (?, ?)', c.time, c.tie);
  }
  return w;
}
