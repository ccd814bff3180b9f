/**
 * CPU profile of a process that loads the eBPF sensor, taken after the load.
 * `node --cpu-prof bin/tiercel.js agent` cannot open the sensor: V8's
 * sampling profiler sends SIGPROF every interval, the kernel's verifier
 * returns EAGAIN when a signal is pending, and the sys_exit program takes
 * longer to verify than a sampling interval. This preload starts the
 * profiler after a delay instead, and writes a .cpuprofile (open it in
 * Chrome DevTools or speedscope) when the duration ends or the process exits.
 *
 *   BENCH_PROF_OUT=/tmp/agent.cpuprofile BENCH_PROF_DELAY_MS=3000 BENCH_PROF_MS=5000 \
 *     node --import ./bench/lib/late-cpu-prof.mjs bin/tiercel.js agent ...
 *
 * With bench/sensor-overhead.ts: BENCH_AGENT_NODE_ARGS="--import /abs/path/bench/lib/late-cpu-prof.mjs".
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const out = process.env.BENCH_PROF_OUT ?? `/tmp/tiercel-${process.pid}.cpuprofile`;
const delay = Number(process.env.BENCH_PROF_DELAY_MS ?? 3000);
const duration = Number(process.env.BENCH_PROF_MS ?? 0);
const interval = Number(process.env.BENCH_PROF_INTERVAL_US ?? 1000);

const session = new Session();
session.connect();
let running = false;
let written = false;

function stop() {
  if (!running || written) return;
  written = true;
  // The main thread's session answers synchronously.
  session.post('Profiler.stop', (err, res) => {
    if (!err) writeFileSync(out, JSON.stringify(res.profile));
  });
}

setTimeout(() => {
  session.post('Profiler.enable', () => {
    session.post('Profiler.setSamplingInterval', { interval }, () => {
      session.post('Profiler.start', () => {
        running = true;
        if (duration > 0) setTimeout(stop, duration).unref();
      });
    });
  });
}, delay).unref();

process.on('exit', stop);
