/**
 * The node agent's keys in tiercel.yaml (src/config/agent.ts): `agent`,
 * Falco's `webserver`, `syscall_event_drops` and `base_syscalls`. Defaults,
 * every key read, HOST_ROOT, an error naming the key for every kind of
 * invalid setting, and the warnings for `base_syscalls`; docs/agent.md
 * documents every key and every metric.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AgentMetrics } from '../../src/agent/metrics.js';
import { AGENT_DEFAULT_PORT, DEFAULT_RING_BYTES, readAgentConfig } from '../../src/config/agent.js';
import { ConfigError } from '../../src/config/errors.js';
import { buildConfig } from '../../src/config/load.js';
import { MapReader } from '../../src/config/read.js';
import { DEFAULT_RULES } from '../../src/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'tiercel-agent-config-'));
let fileNo = 0;
function file(text: string): string {
  const p = join(dir, `c${fileNo++}.yaml`);
  writeFileSync(p, text);
  return p;
}

/** The configuration `tiercel agent` builds (its default rules are the syscall rules). */
function agentConfig(text?: string, env: NodeJS.ProcessEnv = {}, options: string[] = []) {
  return buildConfig({ env, defaultRulesSource: 'syscall', options, ...(text !== undefined ? { file: file(text) } : {}) });
}

describe('agent config defaults', () => {
  it("Falco's defaults where Falco has the key, the syscall rules, loopback web server", () => {
    const c = agentConfig();
    assert.deepEqual(c.rulesFiles, [DEFAULT_RULES.syscall]);
    const a = c.agent;
    assert.deepEqual(a.listen, { host: '127.0.0.1', port: 8765 });
    assert.equal(AGENT_DEFAULT_PORT, 8765, "Falco's webserver.listen_port");
    assert.equal(a.ringBytes, 8 * 1024 * 1024, "Falco's 8 MiB per buffer");
    assert.equal(DEFAULT_RING_BYTES, a.ringBytes);
    assert.equal(a.cpusPerRing, 1, "Falco's cpus_for_each_buffer");
    assert.equal(a.statsIntervalMs, 1000);
    assert.equal(a.maxProcesses, 131_072);
    assert.equal(a.hostRoot, '/');
    assert.equal(a.metadataFile, undefined);
    assert.equal(a.captureFile, undefined);
    assert.deepEqual(a.drops, { threshold: 0.1, actions: ['log', 'alert'], rate: 0.03333, maxBurst: 1 }, "falco.yaml's syscall_event_drops");
    assert.deepEqual(a.baseSyscalls, { customSet: [], repair: false });
    assert.deepEqual(c.warnings, []);
  });

  it('tiercel serve builds the same agent defaults (one config file for both) with its own rules', () => {
    const c = buildConfig({ env: {} });
    assert.deepEqual(c.rulesFiles, [DEFAULT_RULES.k8s_audit]);
    assert.deepEqual(c.agent, agentConfig().agent);
  });
});

describe('agent config keys', () => {
  it('reads every key', () => {
    const c = agentConfig(`
agent:
  ring_buffer_bytes: 16MiB
  cpus_for_each_buffer: 4
  stats_interval_ms: 250
  max_processes: 50000
  host_root: /host
  metadata_file: /etc/tiercel/metadata.yaml
  capture_file: /var/lib/tiercel/all.tcap
webserver:
  enabled: true
  listen_address: 0.0.0.0
  listen_port: 9876
syscall_event_drops:
  threshold: 0.25
  actions: [log, alert, exit]
  rate: 2
  max_burst: 5
base_syscalls:
  custom_set: [clone, execve, "!close"]
  repair: true
`);
    const a = c.agent;
    assert.equal(a.ringBytes, 16 * 1024 * 1024);
    assert.equal(a.cpusPerRing, 4);
    assert.equal(a.statsIntervalMs, 250);
    assert.equal(a.maxProcesses, 50_000);
    assert.equal(a.hostRoot, '/host');
    assert.equal(a.metadataFile, '/etc/tiercel/metadata.yaml');
    assert.equal(a.captureFile, '/var/lib/tiercel/all.tcap');
    assert.deepEqual(a.listen, { host: '0.0.0.0', port: 9876 });
    assert.deepEqual(a.drops, { threshold: 0.25, actions: ['log', 'alert', 'exit'], rate: 2, maxBurst: 5 });
    assert.deepEqual(a.baseSyscalls, { customSet: ['clone', 'execve', '!close'], repair: true });
    assert.deepEqual(c.warnings, []);
  });

  it('agent.syscall_attach: sys_exit by default (the mode CI verifies), auto and fexit on request, else an error naming the key', () => {
    assert.equal(agentConfig().agent.syscallAttach, 'sys_exit');
    assert.equal(agentConfig('agent:\n  syscall_attach: auto\n').agent.syscallAttach, 'auto');
    assert.equal(agentConfig(undefined, {}, ['agent.syscall_attach=fexit']).agent.syscallAttach, 'fexit');
    assert.throws(() => agentConfig('agent:\n  syscall_attach: kprobe\n'),
      (e: Error) => e instanceof ConfigError && /agent\.syscall_attach: expected one of auto, fexit, sys_exit, got "kprobe"/.test(e.message));
  });

  it('sizes as numbers or with units', () => {
    assert.equal(agentConfig('agent: {ring_buffer_bytes: 65536}').agent.ringBytes, 65536);
    assert.equal(agentConfig('agent: {ring_buffer_bytes: 4Mi}').agent.ringBytes, 4 * 1024 * 1024);
    assert.equal(agentConfig('agent: {ring_buffer_bytes: 1GiB}').agent.ringBytes, 1024 ** 3);
  });

  it('--option sets agent keys over the file, as Falco -o', () => {
    const c = agentConfig('agent: {ring_buffer_bytes: 4MiB}', {}, ['agent.ring_buffer_bytes=32MiB', 'syscall_event_drops.actions=[alert]']);
    assert.equal(c.agent.ringBytes, 32 * 1024 * 1024);
    assert.deepEqual(c.agent.drops.actions, ['alert']);
  });

  it('webserver.enabled: false turns the web server off', () => {
    assert.equal(agentConfig('webserver: {enabled: false}').agent.listen, undefined);
  });

  it('webserver addresses: IPv6, any port (0 picks a free one)', () => {
    assert.deepEqual(agentConfig('webserver: {listen_address: "::", listen_port: 0}').agent.listen, { host: '::', port: 0 });
    assert.deepEqual(agentConfig('webserver: {listen_address: "::1"}').agent.listen, { host: '::1', port: 8765 });
  });

  it("Falco's other webserver and drop keys are accepted without a warning", () => {
    const c = agentConfig(`
webserver: {enabled: true, threadiness: 0, ssl_enabled: false, ssl_certificate: /etc/falco/falco.pem,
            k8s_healthz_endpoint: /healthz, prometheus_metrics_enabled: true}
syscall_event_drops: {simulate_drops: false}
`);
    assert.deepEqual(c.warnings, []);
  });

  it("`ignore` among the actions means no action (Falco's meaning)", () => {
    assert.deepEqual(agentConfig('syscall_event_drops: {actions: [ignore]}').agent.drops.actions, []);
    assert.deepEqual(agentConfig('syscall_event_drops: {actions: [log, ignore]}').agent.drops.actions, []);
    assert.deepEqual(agentConfig('syscall_event_drops: {actions: []}').agent.drops.actions, []);
    assert.deepEqual(agentConfig('syscall_event_drops: {actions: exit}').agent.drops.actions, ['exit'], 'a single string is a list of one');
  });
});

describe('HOST_ROOT', () => {
  it('is the default of agent.host_root, as Falco reads it', () => {
    assert.equal(agentConfig(undefined, { HOST_ROOT: '/host' }).agent.hostRoot, '/host');
  });
  it('an empty HOST_ROOT means /', () => {
    assert.equal(agentConfig(undefined, { HOST_ROOT: '' }).agent.hostRoot, '/');
  });
  it('agent.host_root in the file wins over the environment', () => {
    assert.equal(agentConfig('agent: {host_root: /mnt/node}', { HOST_ROOT: '/host' }).agent.hostRoot, '/mnt/node');
  });
  it('${HOST_ROOT} in the file is expanded like any variable', () => {
    assert.equal(agentConfig('agent: {host_root: "${HOST_ROOT}/root"}', { HOST_ROOT: '/host' }).agent.hostRoot, '/host/root');
  });
});

describe('invalid agent configuration names the key', () => {
  const cases: [string, string, RegExp][] = [
    ['agent: {ring_buffer_bytes: 3000}', 'agent.ring_buffer_bytes', /between 65536 and 1073741824 bytes, got 3000/],
    ['agent: {ring_buffer_bytes: 2GiB}', 'agent.ring_buffer_bytes', /between 65536 and 1073741824/],
    ['agent: {ring_buffer_bytes: 3MiB}', 'agent.ring_buffer_bytes', /power of two/],
    ['agent: {ring_buffer_bytes: lots}', 'agent.ring_buffer_bytes', /size in bytes/],
    ['agent: {cpus_for_each_buffer: 0}', 'agent.cpus_for_each_buffer', /between 1 and 4096/],
    ['agent: {cpus_for_each_buffer: 1.5}', 'agent.cpus_for_each_buffer', /integer/],
    ['agent: {stats_interval_ms: 10}', 'agent.stats_interval_ms', /between 100 and 60000/],
    ['agent: {max_processes: 100}', 'agent.max_processes', /between 1024/],
    ['agent: {host_root: [a, b]}', 'agent.host_root', /expected a string/],
    ['agent: {metadata_file: {a: 1}}', 'agent.metadata_file', /expected a string/],
    ['agent: {ring_bufer_bytes: 8MiB}', 'agent.ring_bufer_bytes', /unknown key \(known: .*ring_buffer_bytes/],
    ['agent: [1]', 'agent', /mapping/],
    ['webserver: {enabled: maybe}', 'webserver.enabled', /true or false/],
    ['webserver: {listen_port: 70000}', 'webserver.listen_port', /between 0 and 65535/],
    ['webserver: {listen_address: "not an address"}', 'webserver.listen_address', /IP address or host name/],
    ['syscall_event_drops: {threshold: 2}', 'syscall_event_drops.threshold', /between 0 and 1/],
    ['syscall_event_drops: {threshold: high}', 'syscall_event_drops.threshold', /expected a number/],
    ['syscall_event_drops: {actions: [log, shout]}', 'syscall_event_drops.actions[1]', /one of ignore, log, alert, exit, got "shout"/],
    ['syscall_event_drops: {rate: -1}', 'syscall_event_drops.rate', /between 0/],
    ['syscall_event_drops: {max_burst: 0}', 'syscall_event_drops.max_burst', /between 1/],
    ['base_syscalls: {custom_set: {a: 1}}', 'base_syscalls.custom_set', /list of strings/],
    ['base_syscalls: {custom_set: [open, 3]}', 'base_syscalls.custom_set[1]', /non-empty string/],
    ['base_syscalls: {repair: sometimes}', 'base_syscalls.repair', /true or false/],
  ];
  for (const [yaml, key, problem] of cases) {
    it(`${yaml} → ${key}`, () => {
      assert.throws(() => agentConfig(yaml), (e: unknown) => {
        assert.ok(e instanceof ConfigError, String(e));
        assert.equal(e.key, key, e.message);
        assert.match(e.message, problem);
        assert.ok(e.message.includes(key), 'the message names the key');
        return true;
      });
    });
  }

  it('--option values are checked the same way', () => {
    assert.throws(() => agentConfig(undefined, {}, ['agent.ring_buffer_bytes=3000']), /^ConfigError: agent\.ring_buffer_bytes: must be between/);
  });
});

describe('base_syscalls warnings', () => {
  it('names in custom_set that are not syscalls are reported and ignored, with or without !', () => {
    const c = agentConfig('base_syscalls: {custom_set: [openat, nosuchcall, "!close", "!alsonot"]}');
    assert.deepEqual(c.warnings, ['base_syscalls.custom_set: not syscalls on x86_64, ignored: nosuchcall, alsonot']);
    assert.deepEqual(c.agent.baseSyscalls.customSet, ['openat', 'nosuchcall', '!close', '!alsonot'], 'kept as written; the capture set skips unknown names');
  });

  it('event names that are not syscall numbers (procexit) are not reported', () => {
    assert.deepEqual(agentConfig('base_syscalls: {custom_set: [clone, execve, procexit]}').warnings, []);
  });

  it("Falco's base_syscalls.all is not supported: a warning, not a silent no-op", () => {
    assert.deepEqual(agentConfig('base_syscalls: {all: false}').warnings, []);
    assert.deepEqual(agentConfig('base_syscalls: {all: true}').warnings, [
      'base_syscalls.all: not supported, ignored (the sensor captures what the rules need plus the state syscalls; list more in custom_set)',
    ]);
    assert.throws(() => agentConfig('base_syscalls: {all: everything}'), /base_syscalls\.all: expected true or false/);
  });

  it('the warnings come first from the file, then from the other keys', () => {
    const c = agentConfig('base_syscalls: {custom_set: [nosuchcall]}\nnot_a_key: 1\n');
    assert.deepEqual(c.warnings, ['base_syscalls.custom_set: not syscalls on x86_64, ignored: nosuchcall', 'not_a_key: unknown key, ignored']);
  });
});

describe('docs/agent.md', () => {
  const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'agent.md'), 'utf8');

  it('documents every key the agent reads', () => {
    const readers = ['agent', 'webserver', 'syscall_event_drops', 'base_syscalls'].map((s) => new MapReader({}, s, undefined));
    readAgentConfig(readers[0]!, readers[1]!, readers[2]!, readers[3]!, {}, []);
    for (const r of readers) {
      // The keys each section asked for (MapReader remembers them to reject or warn about the rest).
      const seen = [...(r as unknown as { seen: Set<string> }).seen];
      assert.ok(seen.length > 0, r.path);
      for (const k of seen) assert.ok(doc.includes(`\`${k}\``), `docs/agent.md does not document ${r.path}.${k}`);
    }
  });

  it('documents every metric the agent serves', async () => {
    const metrics = new AgentMetrics({ defaultMetrics: false });
    const names = (await metrics.registry.getMetricsAsJSON()).map((m) => m.name);
    assert.ok(names.length > 10);
    for (const n of names) assert.ok(doc.includes(`\`${n}\``) || doc.includes(`\`${n.replace(/_total$/, '')}`), `docs/agent.md does not document ${n}`);
  });
});
