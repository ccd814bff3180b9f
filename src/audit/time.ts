/**
 * RFC 3339 timestamps to nanoseconds since the epoch, with the strictness of
 * Go's `time.Parse(time.RFC3339Nano, ...)`, which is what the upstream
 * k8saudit plugin applies to `stageTimestamp`.
 */

const NS_PER_SECOND = 1_000_000_000n;

/** The value of `n` decimal digits at `from`, or -1 if any of them is not a digit. */
function digits(s: string, from: number, n: number): number {
  let v = 0;
  for (let i = from; i < from + n; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/**
 * Parses an RFC 3339 timestamp (`2018-10-25T13:58:49.730588Z`,
 * `2024-01-02T03:04:05.123456789+02:00`) into nanoseconds since the Unix
 * epoch. Returns `undefined` for anything else, including non-strings.
 *
 * Like Go: `T` and `Z` must be upper case, fields are range-checked (no
 * February 30, no leap second 60, offsets below 24h), and fractional digits
 * beyond the ninth are accepted and truncated. Called once per event, so it
 * reads characters directly rather than through a regular expression.
 */
export function parseRfc3339Nanos(text: unknown): bigint | undefined {
  const t = parseRfc3339(text);
  return t === undefined ? undefined : BigInt(t.seconds) * NS_PER_SECOND + BigInt(t.nanos);
}

/** A parsed timestamp: whole seconds since the epoch and nanoseconds (plain numbers, no BigInt yet). */
export interface EpochTime {
  readonly seconds: number;
  readonly nanos: number;
}

/**
 * The same parse as {@link parseRfc3339Nanos}, returning seconds and
 * nanoseconds as numbers, so callers that only need to validate (or need the
 * BigInt later, if ever) skip the BigInt arithmetic on the hot path.
 */
export function parseRfc3339(text: unknown): EpochTime | undefined {
  if (typeof text !== 'string') return undefined;
  const s = text;
  const len = s.length;
  if (len < 20 || len > 64) return undefined;
  if (s[4] !== '-' || s[7] !== '-' || s[10] !== 'T' || s[13] !== ':' || s[16] !== ':') return undefined;
  const year = digits(s, 0, 4);
  const month = digits(s, 5, 2);
  const day = digits(s, 8, 2);
  const hour = digits(s, 11, 2);
  const minute = digits(s, 14, 2);
  const second = digits(s, 17, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return undefined;

  let pos = 19;
  let nanos = 0;
  if (s[pos] === '.') {
    pos++;
    const first = pos;
    let scale = 100_000_000;
    for (; pos < len; pos++) {
      const d = s.charCodeAt(pos) - 48;
      if (d < 0 || d > 9) break;
      nanos += d * scale;
      scale = scale >= 10 ? scale / 10 : 0;
    }
    if (pos === first) return undefined;
  }

  let offset = 0;
  const sign = s[pos];
  if (sign === 'Z') {
    if (pos + 1 !== len) return undefined;
  } else if ((sign === '+' || sign === '-') && pos + 6 === len && s[pos + 3] === ':') {
    const oh = digits(s, pos + 1, 2);
    const om = digits(s, pos + 4, 2);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return undefined;
    offset = (oh * 60 + om) * 60 * (sign === '-' ? -1 : 1);
  } else {
    return undefined;
  }
  const seconds =
    daysFromCivil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second - offset;
  return { seconds, nanos };
}

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return isLeap(y) ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

/** Days from 1970-01-01 to the given proleptic Gregorian date (H. Hinnant's algorithm). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}
