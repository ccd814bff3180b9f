/**
 * Times in the API: parsing what clients send (RFC 3339 with up to
 * nanosecond precision, exact nanosecond integers, relative durations) and
 * nothing else. Everything is exact in bigint nanoseconds: a time the API
 * printed (`time_ns`) parses back to the same instant, so a client can page
 * or zoom on exactly the alert it saw.
 */
const NS_PER_MS = 1_000_000n;

/** Days per month in a non-leap year. */
const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2})))?$/;

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

/**
 * Parses an instant: RFC 3339 (`2026-11-28T12:00:00.123456789Z`, any
 * offset), a date alone (midnight UTC), or an integer of nanoseconds since the
 * epoch (what the API returns as `*_ns`). Returns undefined for anything
 * else, including impossible dates (Feb 30) and times without an offset
 * (which would depend on the server's time zone).
 */
export function parseInstant(text: string): bigint | undefined {
  const s = text.trim();
  if (/^\d{1,20}$/.test(s)) {
    const ns = BigInt(s);
    return ns <= 0xffff_ffff_ffff_ffffn ? ns : undefined;
  }
  const m = RFC3339.exec(s);
  if (!m) return undefined;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (month < 1 || month > 12 || year < 1970) return undefined;
  const maxDay = month === 2 && isLeap(year) ? 29 : MONTH_DAYS[month - 1]!;
  if (day < 1 || day > maxDay) return undefined;
  if (m[4] === undefined) return BigInt(Date.UTC(year, month - 1, day)) * NS_PER_MS;
  // A time of day needs an offset: without one the instant would depend on the server's zone.
  if (m[8] === undefined && m[9] === undefined) return undefined;
  const [hour, minute, second] = [Number(m[4]), Number(m[5]), Number(m[6])];
  // RFC 3339 allows :60 for a leap second; the epoch count has no such second, so it is refused.
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetMin = 0;
  if (m[9] !== undefined) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return undefined;
    offsetMin = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const ms = Date.UTC(year, month - 1, day, hour, minute, second) - offsetMin * 60_000;
  if (ms < 0) return undefined;
  const fraction = BigInt((m[7] ?? '').padEnd(9, '0') || '0');
  return BigInt(ms) * NS_PER_MS + fraction;
}

const DURATION_UNITS: Readonly<Record<string, number>> = {
  s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000,
};

/** Longest duration accepted (10 years): enough for any retention, small enough to stay exact. */
const MAX_DURATION_MS = 3650 * 86_400_000;

/**
 * Parses a duration like `30s`, `15m`, `24h`, `7d`, `2w` into milliseconds;
 * undefined unless it is a positive whole number of one unit within ten years.
 */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d{1,10})([smhdw])$/.exec(text.trim());
  if (!m) return undefined;
  const ms = Number(m[1]) * DURATION_UNITS[m[2]!]!;
  return ms > 0 && ms <= MAX_DURATION_MS ? ms : undefined;
}

/** Formats milliseconds as the shortest duration text `parseDuration` reads back (`90s`, `1h`, `7d`). */
export function formatDuration(ms: number): string {
  for (const unit of ['w', 'd', 'h', 'm'] as const) {
    const size = DURATION_UNITS[unit]!;
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${Math.round(ms / 1000)}s`;
}

export function nowNs(): bigint {
  return BigInt(Date.now()) * NS_PER_MS;
}

export function msToNs(ms: number): bigint {
  return BigInt(Math.trunc(ms)) * NS_PER_MS;
}
