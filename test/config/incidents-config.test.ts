/**
 * The incident settings (`data_dir`, `store`, `incidents`, `api`) and the
 * agent's `agent.analyzer`: defaults, secrets from the environment, and
 * errors that name the key.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/config/errors.js';
import { parseDurationMs } from '../../src/config/incidents.js';
import { buildConfig } from '../../src/config/load.js';
import { loadOrCreateApiToken, readApiToken } from '../../src/server/api-token.js';

function configFrom(yaml: string, env: NodeJS.ProcessEnv = {}): ReturnType<typeof buildConfig> {
  const dir = mkdtempSync(join(tmpdir(), 'tiercel-inc-config-'));
  const file = join(dir, 'tiercel.yaml');
  writeFileSync(file, yaml);
  return buildConfig({ file, env });
}

function configError(yaml: string, env: NodeJS.ProcessEnv = {}): ConfigError {
  try {
    configFrom(yaml, env);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e;
  }
  assert.fail('expected a ConfigError');
}

describe('incident settings', () => {
  it('defaults: SQLite in ./data, 30 days, a 30 minute window, no configured tokens', () => {
    const c = buildConfig({ env: {} }).incidents;
    assert.equal(c.dataDir, './data');
    assert.equal(c.storeUrl, undefined);
    assert.equal(c.enabled, true);
    assert.equal(c.windowMs, 30 * 60_000);
    assert.equal(c.retention.maxAgeMs, 30 * 86_400_000);
    assert.deepEqual(c.tokens, []);
  });

  it('reads the store URL from the environment and tokens with scopes', () => {
    const c = configFrom([
      'store: { url_env: DB_URL, retention: { max_age: 7d, max_alerts: 5000 } }',
      'incidents: { window: 90s }',
      'api:',
      '  tokens:',
      '    - { name: ui, token_env: UI_TOKEN, scopes: [read, write] }',
      '    - { name: agents, token: "0123456789abcdef0123", scopes: [ingest] }',
    ].join('\n'), { DB_URL: 'postgres://tiercel:secret@127.0.0.1:5432/tiercel', UI_TOKEN: 'ui-token-ui-token-ui' }).incidents;
    assert.equal(c.storeUrl, 'postgres://tiercel:secret@127.0.0.1:5432/tiercel');
    assert.equal(c.retention.maxAgeMs, 7 * 86_400_000);
    assert.equal(c.retention.maxAlerts, 5000);
    assert.equal(c.windowMs, 90_000);
    assert.deepEqual(c.tokens.map((t) => [t.name, t.scopes]), [['ui', ['read', 'write']], ['agents', ['ingest']]]);
    assert.equal(c.tokens[0]!.token, 'ui-token-ui-token-ui');
  });

  it('names the key and the problem', () => {
    assert.match(configError('api: { tokens: [ { name: x, token: short } ] }').message, /api\.tokens\[0\]\.token.*16 characters/);
    assert.match(configError('api: { tokens: [ { token: "0123456789abcdef0123" } ] }').message, /api\.tokens\[0\]\.name/);
    assert.match(configError('api: { tokens: [ { name: x, token_env: NOPE } ] }').message, /NOPE is not set/);
    assert.match(configError('api: { tokens: [ { name: x, token: "0123456789abcdef0123", scopes: [admin] } ] }').message, /"admin" is not a scope/);
    assert.match(configError('store: { url: mysql://db/x }').message, /store\.url.*postgres/);
    assert.match(configError('store: { retention: { max_age: forever } }').message, /store\.retention\.max_age.*duration/);
    assert.match(configError('incidents: { windw: 5m }').message, /incidents.*windw/);
  });

  it('parses durations', () => {
    assert.equal(parseDurationMs('1500ms'), 1500);
    assert.equal(parseDurationMs('2h'), 7_200_000);
    assert.equal(parseDurationMs('1.5m'), 90_000);
    assert.equal(parseDurationMs(250), 250);
    assert.equal(parseDurationMs('5 parsecs'), undefined);
    assert.equal(parseDurationMs(-1), undefined);
  });
});

describe('agent.analyzer', () => {
  it('is off by default and reads url, token and bounds', () => {
    assert.equal(buildConfig({ env: {} }).agent.analyzer, undefined);
    const a = configFrom('agent: { analyzer: { url: "http://127.0.0.1:9765", token_env: T, batch_max: 100 } }', { T: 'agent-token-agent-token' }).agent.analyzer!;
    assert.equal(a.url.href, 'http://127.0.0.1:9765/');
    assert.equal(a.token, 'agent-token-agent-token');
    assert.equal(a.batchMax, 100);
    assert.equal(a.queueCapacity, 10_000);
  });

  it('refuses credentials in the URL and other schemes', () => {
    assert.match(configError('agent: { analyzer: { url: "http://u:p@127.0.0.1:9765" } }').message, /agent\.analyzer\.url.*token_env/);
    assert.match(configError('agent: { analyzer: { url: "ftp://127.0.0.1" } }').message, /agent\.analyzer\.url/);
    assert.match(configError('agent: { analyzer: { url: "http://127.0.0.1", ca_file: /nonexistent/ca.crt } }').message, /agent\.analyzer\.ca_file.*ENOENT/);
  });
});

describe('the generated API token', () => {
  it('is created once, 0600, and read back by the CLI', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'tiercel-token-')), 'data');
    const first = loadOrCreateApiToken(dir);
    assert.equal(first.created, true);
    assert.ok(first.token.length >= 40);
    assert.equal(statSync(first.path).mode & 0o777, 0o600);
    const again = loadOrCreateApiToken(dir);
    assert.equal(again.created, false);
    assert.equal(again.token, first.token);
    assert.equal(readApiToken(dir), first.token);
    assert.equal(readApiToken(join(dir, 'nowhere')), undefined);
  });
});
