/**
 * syslog_output against real listeners on loopback: UDP and TCP receivers
 * that parse RFC 5424 (TCP with RFC 6587 octet counting), a unix stream
 * socket and a unix datagram socket (a perl listener: Node cannot open
 * one) standing in for /dev/log. Hostile alert text must never break a frame.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { type AddressInfo, type Server, type Socket, createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PRIORITIES, priorityRank } from '../../src/engine/priority.js';
import { createOutputs } from '../../src/outputs/index.js';
import { MAX_UDP_BYTES, truncateUtf8 } from '../../src/outputs/syslog.js';
import { RecordingMetrics, hostileAlert, memoryLogger, outputsConfig, sampleAlert, tempDir, waitFor } from './helpers.js';

interface Rfc5424 {
  pri: number;
  timestamp: string;
  hostname: string;
  appName: string;
  procId: string;
  msgId: string;
  sd: string;
  msg: string;
}

const RFC5424 = /^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) (-|\[.*?\]) ([\s\S]*)$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$/;

function parse5424(frame: string): Rfc5424 {
  const m = RFC5424.exec(frame);
  assert.ok(m, `not an RFC 5424 message: ${JSON.stringify(frame.slice(0, 200))}`);
  const [, pri, timestamp, hostname, appName, procId, msgId, sd, msg] = m as unknown as string[];
  return { pri: Number(pri), timestamp: timestamp!, hostname: hostname!, appName: appName!, procId: procId!, msgId: msgId!, sd: sd!, msg: msg! };
}

/** Frames of an RFC 6587 octet-counted stream; throws on anything else. */
class OctetCountingParser {
  #buf = Buffer.alloc(0);
  readonly frames: string[] = [];

  push(data: Buffer): void {
    this.#buf = Buffer.concat([this.#buf, data]);
    for (;;) {
      const sp = this.#buf.indexOf(0x20);
      if (sp < 0) return;
      const lenText = this.#buf.subarray(0, sp).toString('latin1');
      assert.match(lenText, /^[1-9]\d*$/, `bad frame length ${JSON.stringify(lenText)}`);
      const len = Number(lenText);
      if (this.#buf.length < sp + 1 + len) return;
      this.frames.push(this.#buf.subarray(sp + 1, sp + 1 + len).toString('utf8'));
      this.#buf = this.#buf.subarray(sp + 1 + len);
    }
  }
}

function assertNoControl(text: string): void {
  assert.doesNotMatch(text, /[\u0000-\u001f\u007f]/, 'a raw control character reached the frame');
}

describe('syslog output over UDP', () => {
  const datagrams: Buffer[] = [];
  const server = createSocket('udp4');
  let port = 0;
  before(async () => {
    server.on('message', (msg) => datagrams.push(msg));
    await new Promise<void>((resolve) => server.bind(0, '127.0.0.1', resolve));
    port = server.address().port;
  });
  after(() => server.close());

  it('sends one RFC 5424 message per alert, severity from the Falco priority, facility user', async () => {
    datagrams.length = 0;
    const outputs = await createOutputs(outputsConfig({ syslog_output: { enabled: true, host: '127.0.0.1', port } }), {
      logger: memoryLogger().logger, metrics: new RecordingMetrics(),
    });
    for (const p of PRIORITIES) outputs.publish(sampleAlert({ priority: p, message: `at ${p}` }));
    await outputs.close();
    await waitFor(() => datagrams.length === PRIORITIES.length, 'all datagrams');
    const got = datagrams.map((d) => parse5424(d.toString('utf8')));
    for (const [i, p] of PRIORITIES.entries()) {
      const m = got.find((g) => g.msg.endsWith(`${p} at ${p}`));
      assert.ok(m, `no message for ${p}`);
      assert.equal(m.pri, 1 * 8 + priorityRank(p), `PRI for ${p}`);
      assert.equal(i, priorityRank(p));
      assert.match(m.timestamp, RFC3339);
      assert.equal(m.hostname, 'node-1');
      assert.equal(m.appName, 'falco');
      assert.equal(m.procId, String(process.pid));
    }
  });

  it('uses the configured facility and keeps JSON intact', async () => {
    datagrams.length = 0;
    const outputs = await createOutputs(
      outputsConfig({ json_output: true, syslog_output: { enabled: true, host: '127.0.0.1', port, facility: 'local3', tag: 'tiercel' } }),
      { logger: memoryLogger().logger, metrics: new RecordingMetrics() },
    );
    outputs.publish(sampleAlert({ priority: 'Warning' }));
    await outputs.close();
    await waitFor(() => datagrams.length === 1, 'the datagram');
    const m = parse5424(datagrams[0]!.toString('utf8'));
    assert.equal(m.pri, 19 * 8 + 4);
    assert.equal(m.appName, 'tiercel');
    assert.equal((JSON.parse(m.msg) as { rule: string }).rule, 'Terminal shell in container');
  });

  it('escapes hostile text and cuts over-long messages at a character boundary', async () => {
    datagrams.length = 0;
    const outputs = await createOutputs(outputsConfig({ syslog_output: { enabled: true, host: '127.0.0.1', port } }), {
      logger: memoryLogger().logger, metrics: new RecordingMetrics(),
    });
    outputs.publish(hostileAlert(1));
    outputs.publish(sampleAlert({ message: 'é'.repeat(100_000) }));
    await outputs.close();
    await waitFor(() => datagrams.length === 2, 'both datagrams');
    const hostile = parse5424(datagrams.find((d) => d.includes('Forged'))!.toString('utf8'));
    assertNoControl(hostile.msg);
    assert.match(hostile.msg, /evil\\nForged: Critical fake alert\\r\\x00nul\\ttab/);
    assert.match(hostile.msg, / end-1$/);
    const long = datagrams.find((d) => !d.includes('Forged'))!;
    assert.ok(long.length <= MAX_UDP_BYTES);
    assert.ok(long.length > MAX_UDP_BYTES - 4);
    assert.doesNotMatch(long.toString('utf8'), /\uFFFD/, 'no character was split');
  });
});

describe('truncateUtf8', () => {
  it('never splits a multi-byte character', () => {
    const buf = Buffer.from('aé€😀');
    for (let max = 0; max <= buf.length; max++) {
      const cut = truncateUtf8(buf, max);
      assert.ok(cut.length <= max);
      assert.equal(Buffer.from(cut.toString('utf8')).length, cut.length);
    }
  });
});

describe('syslog output over TCP', () => {
  let server: Server;
  let port = 0;
  const parsers: OctetCountingParser[] = [];
  const connections: Socket[] = [];
  let dropNextConnection = false;
  before(async () => {
    server = createServer((socket) => {
      connections.push(socket);
      const parser = new OctetCountingParser();
      parsers.push(parser);
      socket.on('data', (d: Buffer) => {
        parser.push(d);
        if (dropNextConnection && parser.frames.length > 0) {
          dropNextConnection = false;
          socket.destroy();
        }
      });
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    for (const c of connections) c.destroy();
    server.close();
  });
  const frames = (): string[] => parsers.flatMap((p) => p.frames);

  it('frames every alert with octet counting, however hostile or long its text', async () => {
    parsers.length = 0;
    const outputs = await createOutputs(outputsConfig({ syslog_output: { enabled: true, host: '127.0.0.1', port, protocol: 'tcp' } }), {
      logger: memoryLogger().logger, metrics: new RecordingMetrics(),
    });
    for (let i = 0; i < 20; i++) outputs.publish(hostileAlert(i));
    outputs.publish(sampleAlert({ message: 'z'.repeat(200_000) + '\n' }));
    await outputs.close();
    await waitFor(() => frames().length === 21, 'all frames');
    const got = frames().map(parse5424);
    for (let i = 0; i < 20; i++) {
      const m = got[i]!;
      assertNoControl(m.msg);
      assert.equal(m.pri, 8 + 2);
      assert.match(m.msg, new RegExp(` end-${i}$`), 'frames arrive whole and in order');
    }
    assert.ok(got[20]!.msg.endsWith('z'.repeat(1000) + '\\n'), 'a long message is not cut over TCP');
  });

  it('reconnects after the receiver drops the connection', async () => {
    parsers.length = 0;
    dropNextConnection = true;
    const metrics = new RecordingMetrics();
    const outputs = await createOutputs(outputsConfig({ syslog_output: { enabled: true, host: '127.0.0.1', port, protocol: 'tcp' } }), {
      logger: memoryLogger().logger, metrics,
    });
    outputs.publish(sampleAlert({ message: 'first' }));
    await outputs.flush();
    await waitFor(() => parsers.length === 1 && parsers[0]!.frames.length === 1, 'the first frame');
    // A write racing the close may be lost or fail; keep sending until one lands on a new connection.
    for (let i = 0; i < 200 && parsers.length < 2; i++) {
      outputs.publish(sampleAlert({ message: `again ${i}` }));
      await outputs.flush();
      await new Promise((r) => setTimeout(r, 5));
    }
    await outputs.close();
    assert.ok(parsers.length >= 2, 'a second connection was made');
    assert.ok(parsers[parsers.length - 1]!.frames.some((f) => /again \d+$/.test(f)));
  });

  it('counts failures while the receiver is down, without blocking', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const metrics = new RecordingMetrics();
    const outputs = await createOutputs(outputsConfig({ syslog_output: { enabled: true, host: '127.0.0.1', port: deadPort, protocol: 'tcp' } }), {
      logger: memoryLogger().logger, metrics,
    });
    for (let i = 0; i < 3; i++) outputs.publish(sampleAlert());
    await outputs.close();
    assert.equal(metrics.failedCount('syslog'), 3);
    assert.equal(metrics.droppedCount('syslog', 'failed'), 3);
  });
});

describe('syslog output to the local socket', () => {
  it('writes glibc-style NUL-terminated messages to a stream socket', async () => {
    const dir = tempDir('devlog');
    const path = join(dir, 'log');
    const chunks: Buffer[] = [];
    const server = createServer((s) => s.on('data', (d: Buffer) => chunks.push(d)));
    await new Promise<void>((resolve) => server.listen(path, resolve));
    try {
      const outputs = await createOutputs(outputsConfig({ syslog_output: { enabled: true, socket_path: path } }), {
        logger: memoryLogger().logger, metrics: new RecordingMetrics(),
      });
      assert.deepEqual(outputs.names, ['syslog']);
      outputs.publish(sampleAlert({ priority: 'Error' }));
      outputs.publish(hostileAlert(7));
      await outputs.close();
      await waitFor(() => Buffer.concat(chunks).filter((b) => b === 0).length === 2, 'two messages');
      const messages = Buffer.concat(chunks).toString('utf8').split('\0').filter(Boolean);
      assert.equal(messages.length, 2);
      assert.match(messages[0]!, /^<11>[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} falco: \d{2}:\d{2}:\d{2}\.\d{9}: Error A shell/);
      assertNoControl(messages[1]!);
      assert.match(messages[1]!, /^<10>.* falco: .*evil\\nForged.* end-7$/);
    } finally {
      server.close();
    }
  });

  it('writes to a datagram socket (journald, rsyslog) through logger', async () => {
    const dir = tempDir('devlog-dgram');
    const path = join(dir, 'log');
    const script = join(dir, 'listen.pl');
    writeFileSync(script, [
      'use strict; use IO::Socket::UNIX; use Socket;',
      'my $s = IO::Socket::UNIX->new(Type => SOCK_DGRAM, Local => $ARGV[0]) or die "listen: $!";',
      '$| = 1; print "ready\\n";',
      'while (1) { my $buf; defined($s->recv($buf, 262144)) or die "recv: $!"; print unpack("H*", $buf), "\\n"; }',
    ].join('\n'));
    const listener: ChildProcess = spawn('perl', [script, path], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    listener.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')));
    try {
      await waitFor(() => out.startsWith('ready\n'), 'the perl listener');
      const { logger, records } = memoryLogger();
      const metrics = new RecordingMetrics();
      const outputs = await createOutputs(outputsConfig({ syslog_output: { enabled: true, socket_path: path } }), { logger, metrics });
      outputs.publish(sampleAlert({ priority: 'Alert', message: 'via logger' }));
      outputs.publish(hostileAlert(3));
      await outputs.flush();
      const messages = (): string[] => out.split('\n').slice(1).filter(Boolean).map((h) => Buffer.from(h, 'hex').toString('utf8'));
      await waitFor(() => messages().length === 2, 'two datagrams');
      await outputs.close();
      const [first, second] = messages();
      assert.match(first!, /^<9>[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} falco: .*Alert via logger$/);
      assert.match(second!, /^<10>.* falco: .*evil\\nForged.* end-3$/);
      assertNoControl(second!);
      assert.ok(records.some((r) => r.msg.includes('datagram socket')));
      assert.equal(metrics.deliveredCount('syslog'), 2);
    } finally {
      listener.kill();
    }
  });

  it('leaves syslog out, with a warning, when the local socket does not exist', async () => {
    const { logger, records } = memoryLogger();
    const outputs = await createOutputs(
      outputsConfig({ syslog_output: { enabled: true, socket_path: join(tempDir('nolog'), 'log') } }),
      { logger, metrics: new RecordingMetrics() },
    );
    assert.deepEqual(outputs.names, []);
    assert.ok(records.some((r) => r.msg.includes('syslog output disabled')));
    outputs.publish(sampleAlert());
    await outputs.close();
  });
});
