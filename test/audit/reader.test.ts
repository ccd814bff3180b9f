import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { type AuditReadItem, readAuditFile, readAuditStream } from '../../src/audit/reader.js';
import { TRACE_DIR, traceNames } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'tiercel-audit-reader-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let fileNo = 0;
function file(content: string | Buffer, ext = '.jsonl'): string {
  const p = join(dir, `input-${fileNo++}${ext}`);
  writeFileSync(p, content);
  return p;
}

const ev = (id: string, extra: Record<string, unknown> = {}) => ({
  kind: 'Event',
  apiVersion: 'audit.k8s.io/v1',
  auditID: id,
  stage: 'ResponseComplete',
  verb: 'get',
  stageTimestamp: '2024-01-02T03:04:05.000001Z',
  ...extra,
});
const line = (id: string, extra: Record<string, unknown> = {}) => JSON.stringify(ev(id, extra));

interface Summary {
  events: { id: unknown; line: number }[];
  problems: { line: number; message: string }[];
  files: Set<string>;
}

async function collect(items: AsyncIterable<AuditReadItem>): Promise<Summary> {
  const s: Summary = { events: [], problems: [], files: new Set() };
  for await (const it of items) {
    s.files.add(it.file);
    if (it.type === 'event') s.events.push({ id: it.event.obj['auditID'], line: it.line });
    else s.problems.push({ line: it.line, message: it.message });
  }
  return s;
}

const ids = (s: Summary) => s.events.map((e) => e.id);

describe('reading JSON Lines', () => {
  test('yields one event per line with its line number, skipping blank lines and CRLF', async () => {
    const p = file(`${line('a')}\r\n\r\n  \n${line('b')}\n${line('c')}`);
    const s = await collect(readAuditFile(p));
    assert.deepEqual(s.events, [{ id: 'a', line: 1 }, { id: 'b', line: 4 }, { id: 'c', line: 5 }]);
    assert.deepEqual(s.problems, []);
    assert.deepEqual([...s.files], [p]);
  });

  test('reports bad lines with their numbers and goes on', async () => {
    const p = file(
      [
        line('1'),
        'this is not json',
        '{"kind": 0}',
        line('2', { stageTimestamp: 'never', requestReceivedTimestamp: undefined }),
        '42',
        `${line('3')} trailing`,
        JSON.stringify({ kind: 'EventList', items: [ev('4'), 'x', ev('5')] }),
        line('6'),
      ].join('\n'),
    );
    const s = await collect(readAuditFile(p));
    assert.deepEqual(ids(s), ['1', '3', '4', '5', '6']);
    assert.deepEqual(s.events.map((e) => e.line), [1, 6, 7, 7, 8]);
    assert.deepEqual(s.problems.map((x) => x.line), [2, 3, 4, 5, 6, 7]);
    assert.match(s.problems[0]!.message, /^not valid JSON: /);
    assert.equal(s.problems[1]!.message, 'data not recognized as a k8s audit event');
    assert.match(s.problems[2]!.message, /^event 2: cannot read the event time/);
    assert.equal(s.problems[3]!.message, 'data not recognized as a k8s audit event');
    assert.match(s.problems[4]!.message, /^not valid JSON/);
    assert.equal(s.problems[5]!.message, 'items[1]: an audit event must be a JSON object');
  });

  test('a truncated line costs only that line', async () => {
    const full = line('whole');
    const p = file(
      [line('1'), full.slice(0, 40), line('2'), full.slice(0, full.indexOf('"stage"')), line('3'), '{"a":{"b":[1,', line('4'), '{"x":1', line('5')].join('\n'),
    );
    const s = await collect(readAuditFile(p));
    assert.deepEqual(ids(s), ['1', '2', '3', '4', '5']);
    assert.deepEqual(s.problems.map((x) => x.line), [2, 4, 6, 8]);
    assert.match(s.problems[0]!.message, /^not valid JSON: unexpected end of line inside a string at line 2/);
    for (const pr of s.problems.slice(1)) assert.match(pr.message, /^not valid JSON: the line ends inside a JSON value \(truncated line\?\)/);
  });

  test('a value left open at the end of the input is reported', async () => {
    const s = await collect(readAuditFile(file(`${line('1')}\n{"kind":"Event",`)));
    assert.deepEqual(ids(s), ['1']);
    assert.equal(s.problems.length, 1);
    assert.match(s.problems[0]!.message, /unexpected end of input: the JSON value starting at line 2 is incomplete/);
    const doc = await collect(readAuditFile(file(`{\n"kind": "EventList",\n"items": [\n${line('1')}\n`)));
    assert.deepEqual(ids(doc), ['1']);
    assert.match(doc.problems[0]!.message, /the JSON value starting at line 1 is incomplete/);
  });

  test('a line over the size limit is reported and skipped, without holding it in memory', async () => {
    const big = line('big', { requestObject: { data: { blob: 'x'.repeat(5000) } } });
    const p = file([line('1'), big, line('2'), 'y'.repeat(5000), line('3')].join('\n'));
    const s = await collect(readAuditFile(p, { maxValueBytes: 2048 }));
    assert.deepEqual(ids(s), ['1', '2', '3']);
    assert.deepEqual(s.problems, [
      { line: 2, message: 'JSON value starting at line 2 is larger than the limit of 2048 bytes; skipped' },
      { line: 4, message: 'line starting at line 4 is larger than the limit of 2048 bytes; skipped' },
    ]);
  });

  test('the size limit must be a positive integer', async () => {
    await assert.rejects(collect(readAuditFile(file(line('1')), { maxValueBytes: 0 })), RangeError);
  });
});

describe('reading JSON documents', () => {
  const events = [ev('1'), ev('2', { verb: 'ünïcödé ✓ 🚀' }), ev('3')];

  test('a pretty-printed EventList is read item by item with the line of each item', async () => {
    const p = file(JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', metadata: {}, items: events }, null, 2), '.json');
    const s = await collect(readAuditFile(p));
    assert.deepEqual(ids(s), ['1', '2', '3']);
    assert.deepEqual(s.problems, []);
    assert.equal(s.events[0]!.line, 6);
    assert.ok(s.events[1]!.line > s.events[0]!.line);
  });

  test('an EventList larger than the limit streams when kind comes before items', async () => {
    const many = Array.from({ length: 200 }, (_, i) => ev(`e${i}`, { requestObject: { pad: 'p'.repeat(200) } }));
    const text = JSON.stringify({ kind: 'EventList', items: many }, null, 1);
    assert.ok(text.length > 40_000);
    const s = await collect(readAuditFile(file(text, '.json'), { maxValueBytes: 4096 }));
    assert.equal(s.events.length, 200);
    assert.deepEqual(s.problems, []);
  });

  test('an oversize item in a streamed EventList is skipped alone', async () => {
    const text = JSON.stringify({ kind: 'EventList', items: [ev('1'), ev('2', { pad: 'z'.repeat(5000) }), ev('3')] });
    const s = await collect(readAuditFile(file(text), { maxValueBytes: 2048 }));
    assert.deepEqual(ids(s), ['1', '3']);
    assert.equal(s.problems.length, 1);
    assert.match(s.problems[0]!.message, /larger than the limit of 2048 bytes/);
  });

  test('an EventList with kind after items is read whole, within the limit', async () => {
    const s = await collect(readAuditFile(file(JSON.stringify({ items: events, kind: 'EventList' }, null, 2), '.json')));
    assert.deepEqual(ids(s), ['1', '2', '3']);
    const tooBig = await collect(readAuditFile(file(JSON.stringify({ items: events, kind: 'EventList' }, null, 2)), { maxValueBytes: 500 }));
    assert.deepEqual(ids(tooBig), []);
    assert.match(tooBig.problems[0]!.message, /starting at line 1 is larger than the limit of 500 bytes/);
  });

  test('a JSON array of events, pretty or not, is read element by element', async () => {
    for (const text of [JSON.stringify(events, null, 4), JSON.stringify(events), `[\n${events.map((e) => JSON.stringify(e)).join(',\n')}\n]\n`]) {
      const s = await collect(readAuditFile(file(text, '.json'), { maxValueBytes: 1024 }));
      assert.deepEqual(ids(s), ['1', '2', '3']);
      assert.deepEqual(s.problems, []);
    }
  });

  test('an array element that is not an event is reported with its index', async () => {
    const s = await collect(readAuditFile(file(JSON.stringify([ev('1'), { kind: 0 }, [ev('2'), 7]]))));
    assert.deepEqual(ids(s), ['1', '2']);
    assert.deepEqual(s.problems.map((p) => p.message), ['[1]: data not recognized as a k8s audit event', '[2][1]: data not recognized as a k8s audit event']);
  });

  test('several documents back to back are all read', async () => {
    const text = `${JSON.stringify({ kind: 'EventList', items: [ev('1')] }, null, 2)}\n${JSON.stringify(ev('2'), null, 2)}\n[${line('3')}]\n`;
    const s = await collect(readAuditFile(file(text)));
    assert.deepEqual(ids(s), ['1', '2', '3']);
    assert.deepEqual(s.problems, []);
  });

  test('a broken document is reported and reading resumes at a line boundary', async () => {
    // In a document, what follows a truncated element may legally continue it
    // (here line 4 becomes the value of auditID), so that neighbour is lost too.
    const text = `[\n${line('1')},\n{"kind":"Event","auditID":\n${line('2')},\n${line('3')}\n]\n${line('4')}\n`;
    const s = await collect(readAuditFile(file(text)));
    assert.deepEqual(ids(s), ['1', '3', '4']);
    assert.equal(s.problems.length, 1);
    assert.equal(s.problems[0]!.line, 3);
    assert.match(s.problems[0]!.message, /^not valid JSON: unexpected '\{' at line 5 \(value starting at line 3 skipped\)$/);
  });

  test('a UTF-8 byte order mark is ignored', async () => {
    const s = await collect(readAuditFile(file(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${line('1')}\n`)]))));
    assert.deepEqual(ids(s), ['1']);
    assert.deepEqual(s.problems, []);
  });
});

describe('compressed and streamed input', () => {
  test('gzip is detected by its magic bytes whatever the file name', async () => {
    const text = `${line('1')}\n${line('2')}\n`;
    for (const ext of ['.gz', '.json', '']) {
      const s = await collect(readAuditFile(file(gzipSync(text), ext)));
      assert.deepEqual(ids(s), ['1', '2'], ext);
    }
    const doc = await collect(readAuditFile(file(gzipSync(JSON.stringify({ kind: 'EventList', items: [ev('x')] }, null, 2)))));
    assert.deepEqual(ids(doc), ['x']);
  });

  test('concatenated gzip members are read in full', async () => {
    const s = await collect(readAuditFile(file(Buffer.concat([gzipSync(`${line('1')}\n`), gzipSync(`${line('2')}\n`)]))));
    assert.deepEqual(ids(s), ['1', '2']);
  });

  test('truncated gzip data yields what was readable and then a problem', async () => {
    const many = Array.from({ length: 2000 }, (_, i) => line(`e${i}`)).join('\n');
    const gz = gzipSync(many);
    const s = await collect(readAuditFile(file(gz.subarray(0, Math.floor(gz.length * 0.8)))));
    assert.ok(s.events.length > 100 && s.events.length < 2000);
    assert.match(s.problems.at(-1)!.message, /^gzip data is corrupt or truncated/);
  });

  test('input split into one-byte chunks reads the same as a whole file', async () => {
    const text = [
      JSON.stringify({ kind: 'EventList', items: [ev('1', { verb: 'ü ✓ 🚀' }), ev('2', { user: { username: '日本' } })] }, null, 2),
      'garbage',
      JSON.stringify([ev('3')], null, 1),
      '{"kind":0}',
      line('4'),
      `${line('5')} trailing`,
    ].join('\n');
    const whole = await collect(readAuditFile(file(text)));
    const bytes = Buffer.from(text);
    const chunks = Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1));
    const split = await collect(readAuditStream(Readable.from(chunks), 'chunks'));
    assert.deepEqual(split.events, whole.events);
    assert.deepEqual(split.problems, whole.problems);
    assert.deepEqual(ids(whole), ['1', '2', '3', '4', '5']);
    assert.equal(whole.problems.length, 3);
  });

  test('a file that starts as JSON Lines reports a later multi-line value as truncated lines', async () => {
    const text = `${line('1')}\n${JSON.stringify(ev('2'), null, 2)}\n${line('3')}\n`;
    const s = await collect(readAuditFile(file(text)));
    assert.deepEqual(ids(s), ['1', '3']);
    assert.ok(s.problems.length >= 1);
    assert.equal(s.problems[0]!.line, 2);
  });

  test('string chunks and gzip from any async iterable are accepted', async () => {
    const s = await collect(readAuditStream((async function* () { yield `${line('1')}\n`; yield line('2'); })(), 'strings'));
    assert.deepEqual(ids(s), ['1', '2']);
    const gz = gzipSync(`${line('3')}\n`);
    const g = await collect(readAuditStream((async function* () { yield gz.subarray(0, 1); yield gz.subarray(1); })(), 'gz'));
    assert.deepEqual(ids(g), ['3']);
  });

  test('stopping early closes the input', async () => {
    const p = file(Array.from({ length: 5000 }, (_, i) => line(`e${i}`)).join('\n'));
    let n = 0;
    for await (const it of readAuditFile(p)) {
      if (it.type === 'event' && ++n === 3) break;
    }
    assert.equal(n, 3);
  });

  test('a missing file is an I/O error, thrown', async () => {
    await assert.rejects(collect(readAuditFile(join(dir, 'does-not-exist.jsonl'))), { code: 'ENOENT' });
  });

  test('the path - reads standard input, plain or gzip, in a child process', async () => {
    const reader = fileURLToPath(new URL('../../src/audit/reader.ts', import.meta.url));
    const script = `
      import { readAuditFile } from ${JSON.stringify(reader)};
      for await (const it of readAuditFile('-')) {
        console.log(JSON.stringify(it.type === 'event' ? [it.file, it.line, it.event.obj.auditID] : [it.file, it.line, it.message]));
      }`;
    const run = (input: Buffer) =>
      new Promise<string[]>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.on('error', reject);
        child.on('close', (code) => (code === 0 ? resolve(out.trim().split('\n')) : reject(new Error(`exit ${code}`))));
        child.stdin.end(input);
      });
    const plain = await run(Buffer.from(`${line('s1')}\nnope\n${line('s2')}\n`));
    assert.deepEqual(plain.map((l) => JSON.parse(l) as unknown), [
      ['<stdin>', 1, 's1'],
      ['<stdin>', 2, plain[1] && (JSON.parse(plain[1]) as string[])[2]],
      ['<stdin>', 3, 's2'],
    ]);
    assert.match((JSON.parse(plain[1]!) as string[])[2]!, /^not valid JSON/);
    const gz = await run(gzipSync(`${line('z1')}\n`));
    assert.deepEqual(gz.map((l) => JSON.parse(l) as unknown), [['<stdin>', 1, 'z1']]);
  });
});

describe('the suite traces', () => {
  test('every trace file reads as JSON Lines, and the invalid one gives a clear problem', async () => {
    let events = 0;
    for (const name of traceNames()) {
      const s = await collect(readAuditFile(TRACE_DIR + name));
      events += s.events.length;
      if (name === 'fal_01_003.json') {
        assert.deepEqual(s.events, []);
        assert.deepEqual(s.problems, [{ line: 1, message: 'data not recognized as a k8s audit event' }]);
      } else {
        assert.deepEqual(s.problems, [], name);
        assert.ok(s.events.length >= 1, name);
      }
    }
    assert.ok(events >= 50);
    const combined = file(traceNames().map((n) => readFileSync(TRACE_DIR + n, 'utf8').trim()).join('\n'));
    const s = await collect(readAuditFile(combined));
    assert.equal(s.events.length, events);
  });
});
