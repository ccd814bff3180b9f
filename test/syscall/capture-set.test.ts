import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadRules } from '../../src/engine/loader.js';
import { Ruleset } from '../../src/engine/ruleset.js';
import { DEFAULT_RULES } from '../../src/paths.js';
import { createRegistry } from '../../src/sources.js';
import { STATE_SYSCALLS, captureSet } from '../../src/syscall/capture-set.js';
import { anchorPath, anchorsAvailable, anchorsMissingReason } from '../helpers/anchors.js';

const registry = createRegistry();

function setFor(files: string[]) {
  const loaded = loadRules(files.map((name) => ({ name })), registry);
  assert.ok(loaded.ok, JSON.stringify(loaded.findings.filter((f) => f.severity === 'error')));
  return captureSet(new Ruleset(loaded.rules, registry));
}

describe('capture set', () => {
  it('is the state syscalls plus what the rules need, never everything, for the upstream stable rules', { skip: anchorsAvailable ? false : anchorsMissingReason }, () => {
    const set = setFor([anchorPath('falco-rules', 'falco_rules.yaml')]);
    assert.equal(set.everything, false);
    for (const s of STATE_SYSCALLS) assert.ok(set.names.includes(s), s);
    for (const s of ['execve', 'openat', 'connect', 'ptrace', 'linkat', 'symlinkat', 'init_module', 'finit_module', 'memfd_create']) {
      assert.ok(set.names.includes(s), s);
    }
    assert.ok(!set.names.includes('read') && !set.names.includes('write'), 'high-volume I/O stays out');
    assert.ok(set.syscallIds.includes(257), 'openat by number');
    assert.ok(set.syscallIds.length < 120, `a bounded set (${set.syscallIds.length})`);
  });

  it("is bounded for Tiercel's own rules too", () => {
    const set = setFor([DEFAULT_RULES.syscall!]);
    assert.equal(set.everything, false);
    assert.ok(set.syscallIds.length < 150);
  });

  it('becomes everything when one rule does not constrain evt.type', () => {
    const set = captureSet(new Ruleset(loadRules([{ name: 'x.yaml', text: `
- rule: any open of a secret
  desc: d
  condition: fd.name = /etc/shadow
  output: o
  priority: WARNING
  warn_evttypes: false
` }], registry).rules, registry));
    assert.equal(set.everything, true);
    assert.ok(set.syscallIds.length > 300);
  });
});

describe('capture set with base_syscalls', () => {
  const execOnly = (): Ruleset => new Ruleset(loadRules([{ name: 'x.yaml', text: `
- rule: shell started
  desc: d
  condition: evt.type = execve and proc.name = bash
  output: o
  priority: WARNING
` }], registry).rules, registry);
  const connectRule = (): Ruleset => new Ruleset(loadRules([{ name: 'x.yaml', text: `
- rule: outbound
  desc: d
  condition: evt.type = connect and fd.sip = "127.0.0.1"
  output: o
  priority: WARNING
` }], registry).rules, registry);

  it('repair keeps exec rules to the process lifecycle: no open/close at all', () => {
    const set = captureSet(execOnly(), { repair: true });
    for (const s of ['execve', 'clone', 'fork', 'vfork', 'clone3', 'procexit', 'chdir']) assert.ok(set.names.includes(s), s);
    for (const s of ['open', 'openat', 'close', 'socket', 'dup2']) assert.ok(!set.names.includes(s), s);
  });

  it('repair adds the fd syscalls when a rule works on fds', () => {
    const set = captureSet(connectRule(), { repair: true });
    for (const s of ['connect', 'socket', 'close', 'dup2', 'openat', 'execve']) assert.ok(set.names.includes(s), s);
  });

  it('custom_set replaces the state set; !name removes from it but never from what rules need', () => {
    const set = captureSet(connectRule(), { customSet: ['clone', 'execve', 'procexit', '!connect', '!close'] });
    assert.deepEqual(set.names, ['clone', 'connect', 'execve', 'procexit']);
    const trimmed = captureSet(execOnly(), { customSet: ['!openat'] });
    assert.ok(!trimmed.names.includes('openat') && trimmed.names.includes('close') && trimmed.names.includes('execve'));
  });
});
