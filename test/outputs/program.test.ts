/**
 * program_output with real child processes: `sh -c 'cat >> FILE'` per alert
 * and kept alive, restart after the program exits, EPIPE from a program that
 * does not read, and close() stopping a program that ignores end of input.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createOutputs } from '../../src/outputs/index.js';
import { RecordingMetrics, fileLines, memoryLogger, outputsConfig, sampleAlert, tempDir, waitFor } from './helpers.js';

const deps = (metrics = new RecordingMetrics(), logger = memoryLogger().logger) => ({ logger, metrics, programStdio: 'ignore' as const });

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('program output', () => {
  it('runs the program once per alert without keep_alive, writing the alert to its stdin', async () => {
    const dir = tempDir('prog');
    const out = join(dir, 'out.jsonl');
    const pids = join(dir, 'pids');
    const metrics = new RecordingMetrics();
    const outputs = await createOutputs(outputsConfig({
      json_output: true,
      program_output: { enabled: true, program: `echo $$ >> '${pids}'; cat >> '${out}'` },
    }), deps(metrics));
    for (let i = 0; i < 4; i++) outputs.publish(sampleAlert({ rule: `r${i}` }));
    await outputs.close();
    assert.deepEqual(fileLines(out).map((l) => (JSON.parse(l) as { rule: string }).rule), ['r0', 'r1', 'r2', 'r3']);
    assert.equal(new Set(fileLines(pids)).size, 4, 'one process per alert');
    assert.equal(metrics.deliveredCount('program'), 4);
  });

  it('keeps one process with keep_alive, one alert per line', async () => {
    const dir = tempDir('prog-keep');
    const out = join(dir, 'out.txt');
    const pids = join(dir, 'pids');
    const outputs = await createOutputs(outputsConfig({
      program_output: { enabled: true, keep_alive: true, program: `echo $$ >> '${pids}'; cat >> '${out}'` },
    }), deps());
    for (let i = 0; i < 50; i++) outputs.publish(sampleAlert({ message: `m${i}` }));
    await outputs.close();
    const lines = fileLines(out);
    assert.equal(lines.length, 50);
    assert.match(lines[49] as string, /Critical m49$/);
    assert.equal(fileLines(pids).length, 1, 'a single process');
  });

  it('restarts a kept-alive program after it exits', async () => {
    const dir = tempDir('prog-restart');
    const out = join(dir, 'out.txt');
    const pids = join(dir, 'pids');
    const { logger, records } = memoryLogger();
    const metrics = new RecordingMetrics();
    // Reads one alert, then exits.
    const outputs = await createOutputs(outputsConfig({
      program_output: { enabled: true, keep_alive: true, program: `echo $$ >> '${pids}'; IFS= read -r line; printf '%s\\n' "$line" >> '${out}'` },
    }), deps(metrics, logger));
    for (let i = 1; i <= 3; i++) {
      outputs.publish(sampleAlert({ message: `m${i}` }));
      await outputs.flush();
      await waitFor(() => fileLines(out).length === i, `alert ${i} written`);
      await waitFor(() => records.filter((r) => r.msg.includes('process ended')).length === i, `program ${i} to exit`);
    }
    await outputs.close();
    assert.deepEqual(fileLines(out).map((l) => l.replace(/^.*Critical /, '')), ['m1', 'm2', 'm3']);
    assert.equal(new Set(fileLines(pids)).size, 3, 'a new process each time');
    assert.equal(metrics.deliveredCount('program'), 3);
  });

  it('never lets EPIPE from a program that does not read crash Tiercel', async () => {
    for (const keepAlive of [true, false]) {
      const metrics = new RecordingMetrics();
      const outputs = await createOutputs(outputsConfig({
        output_timeout: 5000,
        program_output: { enabled: true, keep_alive: keepAlive, program: 'exit 0' },
      }), deps(metrics));
      // Far more than a pipe holds, so the write meets a closed pipe.
      for (let i = 0; i < 3; i++) outputs.publish(sampleAlert({ message: 'x'.repeat(1 << 20) }));
      await outputs.close();
      const settled = metrics.deliveredCount('program') + metrics.droppedCount('program');
      assert.equal(settled, 3, `every alert accounted for (keep_alive ${keepAlive})`);
      if (keepAlive) assert.ok(metrics.failedCount('program') >= 1, 'a write to an exited program fails');
    }
  });

  it('counts a non-zero exit status as a failure', async () => {
    const metrics = new RecordingMetrics();
    const outputs = await createOutputs(outputsConfig({ program_output: { enabled: true, program: 'cat > /dev/null; exit 3' } }), deps(metrics));
    outputs.publish(sampleAlert());
    await outputs.close();
    assert.equal(metrics.failedCount('program'), 1);
    assert.equal(metrics.droppedCount('program', 'failed'), 1);
  });

  it('counts a program that cannot start as failures', async () => {
    const metrics = new RecordingMetrics();
    const outputs = await createOutputs(outputsConfig({
      program_output: { enabled: true, keep_alive: true, program: '/nonexistent/tiercel-no-such-program' },
    }), deps(metrics));
    outputs.publish(sampleAlert());
    await outputs.close();
    assert.equal(metrics.deliveredCount('program') + metrics.droppedCount('program'), 1);
  });

  it('on close, kills a kept-alive program that ignores the end of its input', async () => {
    const dir = tempDir('prog-stuck');
    const pidFile = join(dir, 'pid');
    const outputs = await createOutputs(outputsConfig({
      output_timeout: 200,
      program_output: { enabled: true, keep_alive: true, program: `echo $$ > '${pidFile}'; exec sleep 1000` },
    }), deps());
    outputs.publish(sampleAlert());
    await outputs.flush();
    await waitFor(() => fileLines(pidFile).length === 1, 'the program to start');
    const pid = Number(fileLines(pidFile)[0]);
    assert.ok(isAlive(pid));
    await outputs.close();
    await waitFor(() => !isAlive(pid), 'the program to be killed');
  });
});
