/**
 * tiercel.yaml: defaults, Falco's key names, precedence (defaults < file <
 * --option < flags), environment variables, and an error naming the key for
 * every kind of invalid setting.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/config/errors.js';
import { applyOption, buildConfig, expandEnv, mergeConfig, parseKeyPath } from '../../src/config/load.js';
import { parseBytes } from '../../src/config/read.js';
import { formatListen, parseListen } from '../../src/config/schema.js';
import { DEFAULT_RULES } from '../../src/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'tiercel-config-'));
let fileNo = 0;
function file(text: string): string {
  const p = join(dir, `c${fileNo++}.yaml`);
  writeFileSync(p, text);
  return p;
}
const existing = file('# a readable file\n');

describe('config defaults', () => {
  it('without a file: loopback webhook on Falco\'s port, Tiercel\'s rules, stdout only', () => {
    const c = buildConfig({ env: {} });
    assert.deepEqual(c.webhook.listen, { host: '127.0.0.1', port: 9765 });
    assert.equal(c.webhook.enabled, true);
    assert.equal(c.webhook.tls, undefined);
    assert.equal(c.webhook.auth.bearerToken, undefined);
    assert.equal(c.webhook.maxBodyBytes, 12 * 1024 * 1024, "Falco's webhookMaxBatchSize");
    assert.equal(c.webhook.maxNestingDepth, 300, "fastjson's MaxDepth, as in Falco's k8saudit plugin");
    assert.deepEqual(c.rulesFiles, [DEFAULT_RULES.k8s_audit]);
    assert.equal(c.ruleMatching, 'first');
    assert.equal(c.minPriority, 'Debug');
    assert.equal(c.watchConfigFiles, true);
    assert.equal(c.queue.capacity, 10_000);
    assert.equal(c.dedupCapacity, 100_000);
    assert.equal(c.auditLog, undefined);
    assert.equal(c.outputs.stdout.enabled, true);
    assert.equal(c.outputs.syslog.enabled, false, 'unlike Falco: containers rarely have /dev/log');
    assert.equal(c.outputs.file.enabled, false);
    assert.equal(c.outputs.common.jsonOutput, false);
    assert.deepEqual(c.warnings, []);
  });
});

describe('config keys', () => {
  it('reads Falco\'s keys and Tiercel\'s sections', () => {
    const c = buildConfig({
      env: { TOKEN: 'abc' },
      file: file(`
rules_files: [/etc/tiercel/rules.d, /etc/tiercel/local.yaml]
rule_matching: all
priority: warning
watch_config_files: false
rules:
  - disable: {rule: "K8s *"}
  - enable: {tag: k8s}
json_output: true
file_output: {enabled: true, filename: /tmp/x.jsonl}
webhook:
  listen: "[::1]:8443"
  tls: {cert_file: ${existing}, key_file: ${existing}, client_ca_file: ${existing}}
  auth: {bearer_token_env: TOKEN, allowed_common_names: [kube-apiserver]}
  max_body_bytes: 4MiB
  max_nesting_depth: 64
queue: {capacity: 500, max_bytes: 8Mi}
dedup: {capacity: 0}
audit_log: {path: /var/log/audit.log, start_at: beginning}
log_level: warning
log_format: json
plugins: []
webserver: {enabled: true}
`),
    });
    assert.deepEqual(c.rulesFiles, ['/etc/tiercel/rules.d', '/etc/tiercel/local.yaml']);
    assert.equal(c.ruleMatching, 'all');
    assert.equal(c.minPriority, 'Warning');
    assert.equal(c.watchConfigFiles, false);
    assert.deepEqual(c.selections, [{ action: 'disable', rule: 'K8s *' }, { action: 'enable', tag: 'k8s' }]);
    assert.equal(c.outputs.common.jsonOutput, true);
    assert.equal(c.outputs.file.filename, '/tmp/x.jsonl');
    assert.deepEqual(c.webhook.listen, { host: '::1', port: 8443 });
    assert.deepEqual(c.webhook.tls, { certFile: existing, keyFile: existing, clientCaFile: existing });
    assert.equal(c.webhook.auth.bearerToken, 'abc');
    assert.deepEqual(c.webhook.auth.allowedCommonNames, ['kube-apiserver']);
    assert.equal(c.webhook.maxBodyBytes, 4 * 1024 * 1024);
    assert.equal(c.webhook.maxNestingDepth, 64);
    assert.deepEqual(c.queue, { capacity: 500, maxBytes: 8 * 1024 * 1024 });
    assert.equal(c.dedupCapacity, 0);
    assert.deepEqual(c.auditLog, { path: '/var/log/audit.log', startAt: 'beginning', pollIntervalMs: 250, maxLineBytes: 16 * 1024 * 1024 });
    assert.equal(c.logLevel, 'warn');
    assert.equal(c.logFormat, 'json');
    assert.deepEqual(c.warnings, [], "Falco's other keys (plugins, webserver) are accepted silently");
  });

  it('warns about unknown top-level keys and the deprecated rules_file', () => {
    const c = buildConfig({ env: {}, file: file('rules_file: /x.yaml\nrule_matchng: all\n') });
    assert.deepEqual(c.rulesFiles, ['/x.yaml']);
    assert.deepEqual(c.warnings, ['rules_file is deprecated (as in Falco): use rules_files', 'rule_matchng: unknown key, ignored']);
  });

  it('precedence: defaults < file < --option < flags', () => {
    const f = file('webhook: {listen: "127.0.0.1:1000"}\nrule_matching: all\njson_output: true\n');
    const c = buildConfig({
      env: {}, file: f,
      options: ['webhook.listen=127.0.0.1:2000', 'priority=error'],
      flags: [['webhook.listen', '127.0.0.1:3000'], ['json_output', false]],
    });
    assert.equal(c.webhook.listen.port, 3000);
    assert.equal(c.ruleMatching, 'all');
    assert.equal(c.minPriority, 'Error');
    assert.equal(c.outputs.common.jsonOutput, false);
    assert.equal(c.outputs.stdout.enabled, true, 'embedded default kept under the file');
  });

  it('expands ${VAR} in string values, as Falco; $${VAR} stays literal; unset is empty and warned', () => {
    const c = buildConfig({
      env: { HOST: '10.0.0.1', URL: 'http://sidekick:2801/' },
      file: file('webhook: {listen: "${HOST}:9765"}\nhttp_output: {enabled: true, url: "${URL}", headers: {X-Lit: "$${HOST}", X-Unset: "a${NOPE}b"}}\n'),
    });
    assert.equal(c.webhook.listen.host, '10.0.0.1');
    assert.equal(c.outputs.http.url, 'http://sidekick:2801/');
    assert.equal(c.outputs.http.headers['X-Lit'], '${HOST}');
    assert.equal(c.outputs.http.headers['X-Unset'], 'ab');
    assert.ok(c.warnings.some((w) => /NOPE is not set/.test(w)));
  });
});

describe('invalid configuration names the key', () => {
  const cases: [string, string, RegExp][] = [
    ['webhook: {listen: nope}', 'webhook.listen', /expected HOST:PORT/],
    ['webhook: {listen: "1.2.3.4:70000"}', 'webhook.listen', /HOST:PORT/],
    ['webhook: {lisen: ":1"}', 'webhook.lisen', /unknown key/],
    ['webhook: {tls: {client_ca_fle: /x}}', 'webhook.tls.client_ca_fle', /unknown key/],
    ['webhook: {tls: {cert_file: /nonexistent/cert.pem, key_file: /nonexistent/key.pem}}', 'webhook.tls.cert_file', /cannot read/],
    [`webhook: {tls: {cert_file: ${existing}}}`, 'webhook.tls.key_file', /must be set together/],
    [`webhook: {tls: {client_ca_file: ${existing}}}`, 'webhook.tls.client_ca_file', /need TLS/],
    ['webhook: {auth: {bearer_token_env: TIERCEL_UNSET}}', 'webhook.auth.bearer_token_env', /TIERCEL_UNSET is not set/],
    ['webhook: {auth: {bearer_token_env: "not a name"}}', 'webhook.auth.bearer_token_env', /name of an environment variable/],
    ['webhook: {auth: {allowed_common_names: [a]}}', 'webhook.auth.allowed_common_names', /client_ca_file/],
    ['webhook: {max_body_bytes: 12XB}', 'webhook.max_body_bytes', /size in bytes/],
    ['webhook: {max_nesting_depth: 2}', 'webhook.max_nesting_depth', /between 8/],
    ['webhook: {enabled: yes please}', 'webhook.enabled', /true or false/],
    ['webhook: [1]', 'webhook', /mapping/],
    ['rule_matching: sometimes', 'rule_matching', /first, all/],
    ['priority: loud', 'priority', /expected emergency/],
    ['rules_files: []', 'rules_files', /at least one/],
    ['rules_files: [a, 3]', 'rules_files[1]', /non-empty string/],
    ['rules: [{enable: {}}]', 'rules[0].enable', /rule or a tag/],
    ['rules: [{switch: {rule: x}}]', 'rules[0]', /enable/],
    ['queue: {capacity: 0}', 'queue.capacity', /between 1/],
    ['queue: {capacity: many}', 'queue.capacity', /integer/],
    ['dedup: {capacity: -1}', 'dedup.capacity', /between 0/],
    ['audit_log: {path: /x, start_at: middle}', 'audit_log.start_at', /end, beginning/],
    ['log_level: loud', 'log_level', /expected one of/],
    ['log_format: xml', 'log_format', /auto, json, pretty/],
    ['watch_interval_ms: 1', 'watch_interval_ms', /between 50/],
    ['file_output: {enabled: maybe}', 'file_output.enabled', /true or false/],
    ['http_output: {enabled: true, url: "ftp://x"}', 'http_output.url', /http/],
    ['stdout_output: {enabld: true}', 'stdout_output.enabld', /./],
  ];
  for (const [yaml, key, problem] of cases) {
    it(`${yaml} → ${key}`, () => {
      assert.throws(() => buildConfig({ env: {}, file: file(yaml) }), (e: unknown) => {
        assert.ok(e instanceof ConfigError, String(e));
        assert.equal(e.key, key, e.message);
        assert.match(e.message, problem);
        assert.ok(e.message.includes(key), 'the message names the key');
        return true;
      });
    });
  }

  it('invalid YAML gives the line', () => {
    assert.throws(() => buildConfig({ env: {}, file: file('a: 1\nb: [\n') }), /line \d+, column \d+: invalid YAML/);
    assert.throws(() => buildConfig({ env: {}, file: file('a: 1\na: 2\n') }), /invalid YAML/);
  });
  it('a config that is not a mapping', () => {
    assert.throws(() => buildConfig({ env: {}, file: file('- a\n- b\n') }), /must be a YAML mapping/);
  });
  it('an empty file is an empty config', () => {
    assert.equal(buildConfig({ env: {}, file: file('') }).webhook.listen.port, 9765);
  });
  it('a missing file', () => {
    assert.throws(() => buildConfig({ env: {}, file: join(dir, 'absent.yaml') }), /cannot read the config file/);
  });
});

describe('config helpers', () => {
  it('--option key paths and YAML values', () => {
    assert.deepEqual(parseKeyPath('a.b[0].c'), ['a', 'b', 0, 'c']);
    assert.deepEqual(parseKeyPath('file_output.enabled'), ['file_output', 'enabled']);
    for (const bad of ['', '.a', 'a.', 'a..b', '[0]', 'a[x]', 'a b']) assert.equal(parseKeyPath(bad), undefined, bad);
    assert.deepEqual(applyOption({}, 'a.b[0].c=5'), { a: { b: [{ c: 5 }] } });
    assert.deepEqual(applyOption({ a: { x: 1 } }, 'a.y=[p, q]'), { a: { x: 1, y: ['p', 'q'] } });
    assert.deepEqual(applyOption({}, 'a=true'), { a: true });
    assert.deepEqual(applyOption({}, 'a=http://h:1/x'), { a: 'http://h:1/x' });
    assert.throws(() => applyOption({}, 'novalue'), /key=value/);
  });
  it('merges mappings key by key; lists replace', () => {
    assert.deepEqual(mergeConfig({ a: { b: 1, c: 2 }, l: [1] }, { a: { c: 3 }, l: [2] }), { a: { b: 1, c: 3 }, l: [2] });
  });
  it('environment expansion', () => {
    const warn: string[] = [];
    assert.deepEqual(expandEnv({ a: ['${X}-${Y}'], b: 3 }, { X: 'x' }, (w) => warn.push(w)), { a: ['x-'], b: 3 });
    assert.match(warn[0]!, /a\[0\]: environment variable Y is not set/);
  });
  it('listen addresses and sizes', () => {
    assert.deepEqual(parseListen(':9765'), { host: '', port: 9765 });
    assert.deepEqual(parseListen('0.0.0.0:1'), { host: '0.0.0.0', port: 1 });
    assert.deepEqual(parseListen('[::]:443'), { host: '::', port: 443 });
    assert.equal(parseListen('::1:80'), undefined);
    assert.equal(parseListen('host'), undefined);
    assert.equal(formatListen({ host: '::1', port: 1 }), '[::1]:1');
    assert.equal(parseBytes('12MiB'), 12 * 1024 * 1024);
    assert.equal(parseBytes('64MB'), 64_000_000);
    assert.equal(parseBytes('512'), 512);
    assert.equal(parseBytes('1.5Gi'), 1.5 * 1024 ** 3);
    assert.equal(parseBytes('12 parsecs'), undefined);
  });
});

describe('tiercel.example.yaml', () => {
  it('is a valid config without warnings whose values are the defaults', () => {
    const example = buildConfig({ env: {}, file: join(import.meta.dirname, '..', '..', 'tiercel.example.yaml') });
    const defaults = buildConfig({ env: {} });
    assert.deepEqual(example.warnings, []);
    assert.deepEqual(example.rulesFiles, ['rules/k8s_audit_rules.yaml']);
    for (const k of ['ruleMatching', 'minPriority', 'selections', 'watchConfigFiles', 'watchIntervalMs', 'webhook', 'queue',
      'dedupCapacity', 'auditLog', 'logLevel', 'logFormat', 'outputs', 'incidents'] as const) {
      assert.deepEqual(example[k], defaults[k], k);
    }
  });
});
