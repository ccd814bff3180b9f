/** The API's pure parts: time parsing, bucket defaults, terminal escaping. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultBucketMs } from '../../src/api/query.js';
import { escapeTerminal, safeJson, table } from '../../src/api/text-format.js';
import { formatDuration, parseDuration, parseInstant } from '../../src/api/time.js';

test('parseInstant: RFC 3339 exact to the nanosecond, offsets, dates, ns integers', () => {
  assert.equal(parseInstant('2026-11-28T12:00:00.123456789Z'), 1_795_867_200_123_456_789n);
  assert.equal(parseInstant('2026-11-28T13:00:00.123456789+01:00'), 1_795_867_200_123_456_789n);
  assert.equal(parseInstant('2026-11-28t12:00:00.5z'), 1_795_867_200_500_000_000n);
  assert.equal(parseInstant('2026-11-28 12:00:00Z'), 1_795_867_200_000_000_000n);
  assert.equal(parseInstant('2026-11-28'), 1_795_824_000_000_000_000n);
  assert.equal(parseInstant('1795867200123456789'), 1_795_867_200_123_456_789n);
  assert.equal(parseInstant('2024-02-29T00:00:00Z'), 1_709_164_800_000_000_000n);
  for (const bad of ['2023-02-29', '2026-13-01', '2026-11-28T12:00:00', '2026-11-28T12:00:60Z', '2026-11-28T12:00:00.1234567891Z',
    '2026-11-28T12:00:00+24:00', '1969-12-31T23:59:59Z', 'now', '', '-5', '99999999999999999999999', '2026-11-28T12:00Z']) {
    assert.equal(parseInstant(bad), undefined, bad);
  }
});

test('parseDuration and formatDuration round-trip', () => {
  assert.equal(parseDuration('15m'), 900_000);
  assert.equal(parseDuration('7d'), 604_800_000);
  assert.equal(parseDuration('2w'), 1_209_600_000);
  for (const bad of ['0s', '15', 'm', '1.5h', '-1h', '3651d', '1y']) assert.equal(parseDuration(bad), undefined, bad);
  for (const t of ['90s', '5m', '1h', '36h', '1d', '1w']) assert.equal(formatDuration(parseDuration(t)!), t);
});

test('default buckets: round widths, at most 200 per range', () => {
  const ms = (text: string): bigint => BigInt(parseDuration(text)!) * 1_000_000n;
  assert.equal(defaultBucketMs(ms('5m')), 5_000);
  assert.equal(defaultBucketMs(ms('1h')), 30_000);
  assert.equal(defaultBucketMs(ms('24h')), 600_000);
  assert.equal(defaultBucketMs(ms('30d')), 6 * 3_600_000);
  for (const r of ['1s', '10m', '3h', '7d', '30d', '3650d']) {
    const b = defaultBucketMs(ms(r));
    assert.ok(Number(ms(r) / 1_000_000n) / b <= 200 || b === 7 * 86_400_000, r);
  }
});

test('escapeTerminal: controls, DEL, C1, bidi and separators become visible escapes', () => {
  assert.equal(escapeTerminal('web\x1b[2J\nrow\r\t\\'), 'web\\x1b[2J\\nrow\\r\\t\\\\');
  assert.equal(escapeTerminal('a\x00b\x7fc\x9bd'), 'a\\x00b\\x7fc\\x9bd');
  assert.equal(escapeTerminal('x\u202ey\u2028z\u2066'), 'x\\u202ey\\u2028z\\u2066');
  assert.equal(escapeTerminal('plain ünïcødé 漢字 ok'), 'plain ünïcødé 漢字 ok');
  const out = safeJson({ s: '\x1b\x9b\u202e' });
  assert.ok(!/[\x00-\x1f\x7f-\x9f\u202e]/.test(out.replace(/\n/g, '')), out);
  assert.deepEqual(JSON.parse(out), { s: '\x1b\x9b\u202e' });
});

test('table: aligned, escaped, huge cells clipped except the last column', () => {
  const t = table(['A', 'B'], [['x'.repeat(100), 'y\nz'], ['1', 'last '.repeat(30)]]);
  const lines = t.trimEnd().split('\n');
  assert.equal(lines.length, 3);
  assert.equal(lines[1]!.indexOf('y\\nz'), lines[0]!.indexOf('B'));
  assert.ok(lines[1]!.includes('…'));
  assert.ok(lines[2]!.endsWith('last last'));
});
