/**
 * The agent's batch evaluation without the kernel: batches of real wire
 * records (from the scenario builder) go through BatchEvaluator exactly as
 * the sensor's batches do, with the real rules, state and metrics.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { BatchEvaluator } from '../../src/agent/evaluator.js';
import { AgentMetrics } from '../../src/agent/metrics.js';
import type { Alert } from '../../src/engine/alert.js';
import { loadRules } from '../../src/engine/loader.js';
import { Ruleset } from '../../src/engine/ruleset.js';
import { DEFAULT_RULES } from '../../src/paths.js';
import { createRegistry } from '../../src/sources.js';
import { SyscallState } from '../../src/syscall/state/index.js';
import { UserDatabase } from '../../src/syscall/state/users.js';
import { Scenario } from '../../src/syscall/synth.js';

const registry = createRegistry();
const loaded = loadRules([{ name: DEFAULT_RULES.syscall! }], registry);
assert.ok(loaded.ok);

function setup(s: Scenario): { evaluator: BatchEvaluator; alerts: Alert[]; metrics: AgentMetrics; tapped: Buffer[] } {
  const header = s.header();
  const state = new SyscallState({ users: new UserDatabase({ users: [...header.host.users], groups: [...header.host.groups] }) });
  state.seed(header.host);
  const alerts: Alert[] = [];
  const metrics = new AgentMetrics({ defaultMetrics: false });
  const tapped: Buffer[] = [];
  const evaluator = new BatchEvaluator({
    state, ruleset: new Ruleset(loaded.ok ? loaded.rules : [], registry), publish: (a) => alerts.push(a), metrics,
    logger: pino({ level: 'silent' }), tap: (b) => tapped.push(b),
  });
  return { evaluator, alerts, metrics, tapped };
}

/** The bytes as an ArrayBuffer of their own, as the addon hands them over. */
function batchOf(bytes: Buffer): ArrayBuffer {
  const ab = new ArrayBuffer(bytes.length);
  new Uint8Array(ab).set(bytes);
  return ab;
}

describe('agent batch evaluation', () => {
  it('evaluates each record of a batch in order, with state carried across batches', async () => {
    const s = new Scenario();
    const { init } = s.standardHost();
    const shell = init.spawn({ exe: '/bin/bash', comm: 'bash', leader: true });
    const cat = shell.spawn({ exe: 'cat', exepath: '/usr/bin/cat', args: ['/etc/shadow'] });
    // Two batches: the process is created in the first, opens the file in the second.
    const one = s.recordBytes();
    cat.open('/etc/shadow');
    const all = s.recordBytes();
    const two = all.subarray(one.length);
    const { evaluator, alerts, metrics, tapped } = setup(s);
    evaluator.handle(batchOf(one));
    assert.equal(alerts.length, 0);
    evaluator.handle(batchOf(two));
    const read = alerts.find((a) => a.rule === 'Sensitive File Read');
    assert.ok(read, `alerts: ${alerts.map((a) => a.rule).join(', ')}`);
    assert.equal(read.outputFields['proc.name'], 'cat');
    assert.equal(read.outputFields['proc.pname'], 'bash');
    assert.equal(read.outputFields['fd.name'], '/etc/shadow');
    assert.equal(evaluator.events, s.recordCount);
    assert.equal(tapped.length, 2);
    assert.equal(Buffer.concat(tapped).compare(all), 0, 'the tap sees the batches byte for byte');
    const text = await metrics.registry.metrics();
    assert.match(text, /tiercel_syscall_events_total\{type="openat"\} 1\b/);
    assert.match(text, /tiercel_sensor_batches_total 2\b/);
    assert.match(text, /tiercel_alerts_total\{rule="Sensitive File Read",priority="Warning",source="syscall"\} 1\b/);
  });

  it('skips a batch with a malformed record and keeps going', () => {
    const s = new Scenario();
    const { init } = s.standardHost();
    init.spawn({ exe: '/bin/bash', comm: 'bash', leader: true }).spawn({ exe: 'cat', exepath: '/usr/bin/cat' }).open('/etc/shadow');
    const { evaluator, alerts, metrics } = setup(s);
    const bad = Buffer.from(s.recordBytes());
    bad.writeUInt32LE(3, 16); // a length no record has: the stream cannot be resynced
    assert.doesNotThrow(() => evaluator.handle(batchOf(bad)));
    assert.equal(alerts.length, 0);
    evaluator.handle(batchOf(s.recordBytes()));
    assert.ok(alerts.some((a) => a.rule === 'Sensitive File Read'));
    return metrics.registry.metrics().then((text) => assert.match(text, /tiercel_sensor_bad_batches_total 1\b/));
  });
});
