/**
 * Small pieces both engines use around their queries: pages and their
 * cursors, timeline rows, retention cutoffs.
 */
import type { IncidentLink, TimelineEntry, WriteBatch } from '../incidents/model.js';
import { encodeCursor, type CursorPosition } from './cursor.js';
import { rowToAlert, rowToLink, type Codec, type Row } from './rows.js';
import { StoreQueryError, type Page, type RetentionPolicy } from './types.js';

/** `rows` holds up to limit + 1 rows: the extra one only says that there is a next page. */
export function page<T>(rows: readonly Row[], limit: number, map: (r: Row) => T, key: (r: Row) => CursorPosition): Page<T> {
  const items = rows.slice(0, limit).map(map);
  const last = rows[limit - 1];
  return rows.length > limit && last ? { items, next: encodeCursor(key(last)) } : { items };
}

export const DEFAULT_TIMELINE_LIMIT = 500;

export function timelineLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_TIMELINE_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) {
    throw new StoreQueryError(`timeline limit must be an integer from 1 to 100000, got ${String(limit)}`);
  }
  return limit;
}

export function timelineEntry(r: Row, c: Codec): TimelineEntry {
  const entry: { -readonly [K in keyof TimelineEntry]: TimelineEntry[K] } = {
    dedupKey: r.dedup_key as string,
    first: rowToAlert(r, c),
    count: c.num(r.group_count),
    lastTime: c.big(r.group_last),
  };
  if (r.link_key !== null && r.link_key !== undefined) entry.link = rowToLink({ ...r, alert_id: r.id });
  return entry;
}

const MAX_INT64 = 9_223_372_036_854_775_807n;

export function checkRetention(policy: RetentionPolicy): void {
  const { maxAgeMs, maxAlerts } = policy;
  if (maxAgeMs !== undefined && (!Number.isFinite(maxAgeMs) || maxAgeMs < 0)) {
    throw new StoreQueryError(`retention maxAgeMs must be a number ≥ 0, got ${String(maxAgeMs)}`);
  }
  if (maxAlerts !== undefined && (!Number.isInteger(maxAlerts) || maxAlerts < 0)) {
    throw new StoreQueryError(`retention maxAlerts must be an integer ≥ 0, got ${String(maxAlerts)}`);
  }
}

/** Everything before now − maxAgeMs (by event time) goes: the last (time, seq) to delete. */
export function ageCutoff(maxAgeMs: number, nowMs = Date.now()): { time: bigint; seq: bigint } {
  return { time: BigInt(Math.floor(nowMs - maxAgeMs)) * 1_000_000n - 1n, seq: MAX_INT64 };
}

/** With `count` alerts and at most `max` kept: the offset (oldest first) of the newest alert to delete, if any must go. */
export function countCutoffOffset(count: number, max: number): number | undefined {
  return count > max ? count - max - 1 : undefined;
}

export const MAX_KNOWN_IDS = 5000;

export function checkKnownIds(ids: readonly string[]): void {
  if (ids.length > MAX_KNOWN_IDS) throw new StoreQueryError(`knownAlertIds: at most ${MAX_KNOWN_IDS} ids per call, got ${ids.length}`);
}

/**
 * The batch's links by alert id, as the engine stores ids (`key`); an alert
 * linked twice keeps its last link. Each goes into its alert's row when the
 * alert is in the batch, else attaches evidence stored earlier.
 */
export function linksByAlert(batch: WriteBatch, key: (id: string) => string = (id) => id): Map<string, IncidentLink> {
  const out = new Map<string, IncidentLink>();
  for (const l of batch.links) out.set(key(l.alertId), l);
  return out;
}
