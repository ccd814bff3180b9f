/**
 * The UI's pure modules under Node: CSV export (injection-safe cells, quoted
 * columns and rows), the exec session's process tree, and the SSE parser the
 * live stream reads with.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CSV_COLUMNS, alertsToCsv, csvCell } from '../../ui/src/export.js';
import { buildProcessTree } from '../../ui/src/proctree.js';
import { parseSse } from '../../ui/src/sse-parse.js';
import type { Alert } from '../../ui/src/types.js';

function alert(over: Partial<Alert>): Alert {
  return {
    id: 'a1', kind: 'alert', time: '2026-11-28T12:00:00.000000000Z', time_ns: '1', rule: 'R', priority: 'Notice', source: 'syscall',
    tags: [], output: 'o', output_fields: {}, hostname: 'node-1', correlation: {}, namespace: null, pod: null, pod_uid: null,
    container_id: null, user: null, dedup_key: 'd', incident_id: null, received_at: '2026-11-28T12:00:00.000Z', ...over,
  };
}

test('CSV cells that a spreadsheet would run as formulas get a leading quote', () => {
  for (const v of ['=1+1', '+cmd', '-2+3', '@SUM(A1)', '\t=x', '\r=x']) assert.equal(csvCell(v), `"'${v}"`);
  for (const v of ['plain', 'a=b', ' =x', '']) assert.equal(csvCell(v), `"${v}"`);
  assert.equal(csvCell('say "hi"'), '"say ""hi"""');
});

test('CSV rows: a header, one quoted row per alert; commas and newlines cannot forge columns or rows', () => {
  const csv = alertsToCsv([alert({ output: 'a,b\r\n"c"', pod: '=evil', tags: ['x', 'y'], output_fields: { 'proc.cmdline': 'sh -c "id"' } })]);
  const lines = csv.split('\r\n');
  assert.equal(lines.length, 4); // header, the row (its output holds one CRLF inside quotes), then the final empty string
  assert.equal(lines[0], CSV_COLUMNS.map((c) => `"${c}"`).join(','));
  assert.ok(csv.includes('"a,b\r\n""c"""'));
  assert.ok(csv.includes('"\'=evil"'));
  assert.ok(csv.includes('"x y"'));
  assert.ok(csv.includes('"{""proc.cmdline"":""sh -c \\""id\\""""}"'));
});

test('the process tree nests processes by ppid, names parents from pcmdline, and ignores audit alerts', () => {
  const f = (pid: number, ppid: number, cmdline: string, pcmdline: string): Alert['output_fields'] =>
    ({ 'proc.pid': pid, 'proc.ppid': ppid, 'proc.cmdline': cmdline, 'proc.pcmdline': pcmdline });
  const roots = buildProcessTree([
    alert({ id: 's', rule: 'Shell', output_fields: f(100, 50, 'sh', 'containerd-shim') }),
    alert({ id: 'c', rule: 'Curl', output_fields: f(101, 100, 'curl x', 'sh') }),
    alert({ id: 'x', rule: 'Drop', output_fields: f(102, 100, '/tmp/x', 'sh') }),
    alert({ id: 'x2', rule: 'Drop', output_fields: f(102, 100, '/tmp/x', 'sh') }),
    alert({ id: 'n', rule: 'Net', output_fields: { 'proc.ppid': 102, 'proc.cmdline': 'nc' }, correlation: { pid: '103' } }),
    alert({ id: 'k', source: 'k8s_audit', output_fields: { 'proc.pid': 1 } }),
    alert({ id: 'none', output_fields: {} }),
  ]);
  assert.equal(roots.length, 1);
  const shim = roots[0]!;
  assert.deepEqual([shim.pid, shim.cmdline, shim.alerts.length], [50, 'containerd-shim', 0]);
  const sh = shim.children[0]!;
  assert.deepEqual(sh.children.map((c) => [c.pid, c.cmdline, c.alerts.length]), [[101, 'curl x', 1], [102, '/tmp/x', 2]]);
  assert.deepEqual(sh.children[1]!.children.map((c) => [c.pid, c.cmdline]), [[103, 'nc']]);
});

test('the process tree survives pid cycles in attacker-shaped data', () => {
  const roots = buildProcessTree([
    alert({ id: 'a', output_fields: { 'proc.pid': 1, 'proc.ppid': 2 } }),
    alert({ id: 'b', output_fields: { 'proc.pid': 2, 'proc.ppid': 1 } }),
  ]);
  assert.deepEqual(roots.map((r) => r.pid), [1, 2]);
});

test('SSE parsing: events, comments, CRLF, multi-line data, and a partial event kept for the next chunk', () => {
  const { events, rest } = parseSse('retry: 3000\n\n: ping\n\nid: 1\nevent: alert\ndata: {"a":1}\n\r\nevent: alert\ndata: x\ndata: y\n\nevent: alert\ndata: {"par');
  assert.deepEqual(events, [{ event: 'alert', data: '{"a":1}' }, { event: 'alert', data: 'x\ny' }]);
  assert.equal(rest, 'event: alert\ndata: {"par');
  assert.deepEqual(parseSse(`${rest}tial":2}\n\n`).events, [{ event: 'alert', data: '{"partial":2}' }]);
});
