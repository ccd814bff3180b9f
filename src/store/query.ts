/**
 * Engine-neutral pieces of the list queries: validation of what the caller
 * asks for, LIKE patterns that take text literally, and a WHERE-clause builder
 * whose values always travel as parameters (every value is attacker-controlled
 * text: pod names, command lines, rule outputs).
 */
import { PRIORITIES, priorityRank, type Priority } from '../engine/priority.js';
import { StoreQueryError } from './types.js';

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;

export function pageLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new StoreQueryError(`limit must be an integer from 1 to ${MAX_LIMIT}, got ${String(limit)}`);
  }
  return limit;
}

export function rankOf(p: Priority): number {
  const r = priorityRank(p);
  if (r < 0) throw new StoreQueryError(`unknown priority ${JSON.stringify(p)}; one of ${PRIORITIES.join(', ')}`);
  return r;
}

/** The escape character of every LIKE we build (`ESCAPE '\'`). */
export const LIKE_ESCAPE = '\\';

/**
 * A LIKE pattern matching `text` anywhere, case-folded the same way as the
 * stored search column ({@link foldForSearch}). `%`, `_` and the escape
 * character itself are escaped, so they match only themselves.
 */
export function containsPattern(text: string): string {
  return `%${foldForSearch(text).replace(/[\\%_]/g, (c) => LIKE_ESCAPE + c)}%`;
}

/**
 * Case folding for search, done in JS on both sides (stored column and
 * pattern) so that both engines fold Unicode identically: SQLite's LIKE and
 * lower() only fold ASCII, PostgreSQL's depend on the server's locale.
 * U+0000 becomes a space: SQLite's LIKE stops at it, PostgreSQL cannot store it.
 */
export function foldForSearch(text: string): string {
  return text.toLowerCase().replaceAll('\u0000', ' ');
}

/** Builds `WHERE a AND b ...` with `?` placeholders; {@link toDollar} converts them for PostgreSQL. */
export class Where {
  private readonly parts: string[] = [];
  readonly params: unknown[] = [];

  add(condition: string, ...params: unknown[]): this {
    this.parts.push(condition);
    this.params.push(...params);
    return this;
  }

  sql(): string {
    return this.parts.length ? `WHERE ${this.parts.join(' AND ')}` : '';
  }
}

/**
 * `?` → `$1, $2, …`. Our SQL texts are constants (no user text is ever
 * spliced in), and none uses `?` for anything else.
 */
export function toDollar(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

export function checkTimeRange(from: bigint | undefined, to: bigint | undefined): void {
  if (from !== undefined && typeof from !== 'bigint') throw new StoreQueryError('from must be a bigint (ns)');
  if (to !== undefined && typeof to !== 'bigint') throw new StoreQueryError('to must be a bigint (ns)');
  if (from !== undefined && to !== undefined && from > to) throw new StoreQueryError('from is after to');
}
