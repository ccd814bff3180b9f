/**
 * stdout_output and file_output through createOutputs: Falco's text and
 * JSON lines, buffered_outputs, keep_alive, rotation and removal of the file,
 * and start-up errors.
 */
import assert from 'node:assert/strict';
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { OutputSetupError, createOutputs } from '../../src/outputs/index.js';
import {
  RecordingMetrics, fileLines, hostileAlert, memoryLogger, memoryStream, outputsConfig, sampleAlert, tempDir,
} from './helpers.js';

describe('stdout output', () => {
  it('writes Falco text lines, one per alert', async () => {
    const { stream, text } = memoryStream();
    const metrics = new RecordingMetrics();
    const outputs = await createOutputs(
      outputsConfig({ stdout_output: { enabled: true }, time_format_iso_8601: true }),
      { logger: memoryLogger().logger, metrics, stdout: stream },
    );
    assert.deepEqual(outputs.names, ['stdout']);
    outputs.publish(sampleAlert());
    outputs.publish(sampleAlert({ priority: 'Notice', message: 'second' }));
    await outputs.close();
    assert.equal(text(),
      '2023-05-25T13:44:05.478445995Z: Critical A shell was spawned in a container (user=root shell=sh)\n' +
      '2023-05-25T13:44:05.478445995Z: Notice second\n');
    assert.equal(metrics.deliveredCount('stdout'), 2);
  });

  it('writes Falco JSON lines with json_output', async () => {
    const { stream, text } = memoryStream();
    const outputs = await createOutputs(
      outputsConfig({ stdout_output: { enabled: true }, json_output: true, json_include_tags_property: false }),
      { logger: memoryLogger().logger, metrics: new RecordingMetrics(), stdout: stream },
    );
    outputs.publish(sampleAlert());
    await outputs.close();
    const lines = text().split('\n').filter(Boolean);
    assert.equal(lines.length, 1);
    const obj = JSON.parse(lines[0] as string) as Record<string, unknown>;
    assert.equal(obj.rule, 'Terminal shell in container');
    assert.equal(obj.priority, 'Critical');
    assert.equal(obj.tags, undefined);
    assert.match(lines[0] as string, /"evt.time":1685022245478445995/);
  });

  it('keeps one alert per line whatever the alert text holds', async () => {
    const { stream, text } = memoryStream();
    const outputs = await createOutputs(outputsConfig({ stdout_output: { enabled: true } }), {
      logger: memoryLogger().logger, metrics: new RecordingMetrics(), stdout: stream,
    });
    for (let i = 0; i < 3; i++) outputs.publish(hostileAlert(i));
    await outputs.close();
    const lines = text().split('\n').filter(Boolean);
    assert.equal(lines.length, 3);
    assert.match(lines[0] as string, /evil\\nForged: Critical fake alert\\r\\x00nul\\ttab\\x1b\[31mred\\x7fdel\\x85nel x+ end-0$/);
  });

  it('with buffered_outputs, coalesces lines into fewer writes and writes them all by flush', async () => {
    const { stream, text, writes } = memoryStream();
    const outputs = await createOutputs(outputsConfig({ stdout_output: { enabled: true }, buffered_outputs: true }), {
      logger: memoryLogger().logger, metrics: new RecordingMetrics(), stdout: stream,
    });
    for (let i = 0; i < 100; i++) outputs.publish(sampleAlert());
    await outputs.flush();
    assert.equal(text().split('\n').filter(Boolean).length, 100);
    assert.ok(writes() < 100, `${writes()} writes for 100 alerts`);
    await outputs.close();
  });

  it('without buffered_outputs, writes each alert as it comes', async () => {
    const { stream, writes } = memoryStream();
    const outputs = await createOutputs(outputsConfig({ stdout_output: { enabled: true } }), {
      logger: memoryLogger().logger, metrics: new RecordingMetrics(), stdout: stream,
    });
    for (let i = 0; i < 10; i++) outputs.publish(sampleAlert());
    await outputs.flush();
    assert.equal(writes(), 10);
    await outputs.close();
  });

  it('counts a closed stdout (EPIPE) as failures without crashing', async () => {
    const broken = new Writable({
      write(_chunk, _enc, cb) {
        const err = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
        cb(err);
      },
    });
    const metrics = new RecordingMetrics();
    const outputs = await createOutputs(outputsConfig({ stdout_output: { enabled: true } }), {
      logger: memoryLogger().logger, metrics, stdout: broken,
    });
    outputs.publish(sampleAlert());
    outputs.publish(sampleAlert());
    await outputs.close();
    assert.equal(metrics.failedCount('stdout'), 2);
    assert.equal(metrics.deliveredCount('stdout'), 0);
  });
});

describe('file output', () => {
  for (const keepAlive of [false, true]) {
    it(`appends one line per alert (keep_alive: ${keepAlive})`, async () => {
      const dir = tempDir('file');
      const filename = join(dir, 'events.txt');
      const metrics = new RecordingMetrics();
      const outputs = await createOutputs(outputsConfig({ json_output: true, file_output: { enabled: true, filename, keep_alive: keepAlive } }), {
        logger: memoryLogger().logger, metrics,
      });
      for (let i = 0; i < 20; i++) outputs.publish(sampleAlert({ rule: `r${i}` }));
      await outputs.close();
      const lines = fileLines(filename);
      assert.equal(lines.length, 20);
      assert.deepEqual(lines.map((l) => (JSON.parse(l) as { rule: string }).rule), Array.from({ length: 20 }, (_, i) => `r${i}`));
      assert.equal(metrics.deliveredCount('file'), 20);
    });

    it(`survives the file being rotated and removed (keep_alive: ${keepAlive})`, async () => {
      const dir = tempDir('rotate');
      const filename = join(dir, 'events.txt');
      const outputs = await createOutputs(outputsConfig({ file_output: { enabled: true, filename, keep_alive: keepAlive } }), {
        logger: memoryLogger().logger, metrics: new RecordingMetrics(),
      });
      outputs.publish(sampleAlert({ message: 'one' }));
      await outputs.flush();
      renameSync(filename, `${filename}.1`);
      outputs.publish(sampleAlert({ message: 'two' }));
      await outputs.flush();
      rmSync(filename);
      outputs.publish(sampleAlert({ message: 'three' }));
      await outputs.close();
      assert.equal(fileLines(`${filename}.1`).length, 1);
      assert.match(fileLines(`${filename}.1`)[0] as string, /Critical one$/);
      assert.deepEqual(fileLines(filename).map((l) => l.replace(/^.*Critical /, '')), ['three']);
    });
  }

  it('with buffered_outputs and keep_alive, writes everything by close', async () => {
    const dir = tempDir('buffered');
    const filename = join(dir, 'events.txt');
    const outputs = await createOutputs(outputsConfig({ buffered_outputs: true, file_output: { enabled: true, filename, keep_alive: true } }), {
      logger: memoryLogger().logger, metrics: new RecordingMetrics(),
    });
    for (let i = 0; i < 1000; i++) outputs.publish(sampleAlert());
    await outputs.close();
    assert.equal(fileLines(filename).length, 1000);
  });

  it('refuses to start when the directory is missing, naming the key', async () => {
    const dir = tempDir('missing');
    await assert.rejects(
      createOutputs(outputsConfig({ file_output: { enabled: true, filename: join(dir, 'no/such/dir/events.txt') } }), {
        logger: memoryLogger().logger, metrics: new RecordingMetrics(),
      }),
      (err: unknown) => err instanceof OutputSetupError && err.key === 'file_output.filename' && /does not exist/.test(err.message),
    );
  });

  it('creates missing directories with create_dirs', async () => {
    const dir = tempDir('mkdir');
    const filename = join(dir, 'a/b/events.txt');
    const outputs = await createOutputs(outputsConfig({ file_output: { enabled: true, filename, create_dirs: true } }), {
      logger: memoryLogger().logger, metrics: new RecordingMetrics(),
    });
    outputs.publish(sampleAlert());
    await outputs.close();
    assert.equal(fileLines(filename).length, 1);
  });

  it('counts failures when the directory disappears, and recovers when it is back', async () => {
    const dir = tempDir('vanish');
    const sub = join(dir, 'logs');
    mkdirSync(sub);
    const filename = join(sub, 'events.txt');
    const metrics = new RecordingMetrics();
    const outputs = await createOutputs(outputsConfig({ file_output: { enabled: true, filename, keep_alive: true } }), {
      logger: memoryLogger().logger, metrics,
    });
    outputs.publish(sampleAlert());
    await outputs.flush();
    rmSync(sub, { recursive: true });
    outputs.publish(sampleAlert());
    await outputs.flush();
    assert.equal(metrics.failedCount('file'), 1);
    mkdirSync(sub);
    outputs.publish(sampleAlert({ message: 'back' }));
    await outputs.close();
    assert.equal(metrics.deliveredCount('file'), 2);
    assert.match(fileLines(filename)[0] as string, /back$/);
  });
});
