/**
 * Opaque keyset cursors. A page ends at some row; the next page starts right
 * after it in the listing's order (newest first), so inserts between two
 * requests neither repeat nor skip rows, and no OFFSET is ever scanned.
 *
 * The cursor is base64url of `<time>.<tiebreak>`: the last row's sort time
 * (ns, decimal) and its tie-breaker (alerts: the store's insertion sequence,
 * incidents: the id). Clients must treat it as opaque; anything that does not
 * decode exactly is refused with a {@link StoreQueryError} (the API's 400).
 */
import { StoreQueryError } from './types.js';

export interface CursorPosition {
  readonly time: bigint;
  readonly tie: string;
}

export function encodeCursor(pos: CursorPosition): string {
  return Buffer.from(`${pos.time}.${pos.tie}`, 'utf8').toString('base64url');
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const TIME = /^-?[0-9]{1,20}$/;

export function decodeCursor(cursor: string, tieIsInteger: boolean): CursorPosition {
  if (cursor.length === 0 || cursor.length > 2048 || !BASE64URL.test(cursor)) throw bad();
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  // Re-encoding must give the same string: rejects padding tricks and bytes that are not UTF-8.
  if (Buffer.from(text, 'utf8').toString('base64url') !== cursor) throw bad();
  const dot = text.indexOf('.');
  if (dot < 0) throw bad();
  const time = text.slice(0, dot);
  const tie = text.slice(dot + 1);
  if (!TIME.test(time) || tie.length === 0) throw bad();
  if (tieIsInteger && !/^[0-9]{1,19}$/.test(tie)) throw bad();
  return { time: BigInt(time), tie };
}

function bad(): StoreQueryError {
  return new StoreQueryError('invalid cursor: pass the `next` value of the previous page unchanged');
}
