/**
 * parseOutputsConfig: Falco's keys and defaults, Tiercel's additions, and
 * errors that name the exact key path.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { defaultOutputsConfig, parseOutputsConfig } from '../../src/outputs/index.js';

describe('parseOutputsConfig', () => {
  it('gives Falco defaults for an empty configuration', () => {
    const c = defaultOutputsConfig();
    assert.deepEqual(c.common, {
      jsonOutput: false,
      jsonIncludeOutputProperty: true,
      jsonIncludeTagsProperty: true,
      jsonIncludeMessageProperty: false,
      timeFormatIso8601: false,
      bufferedOutputs: false,
      outputTimeoutMs: 2000,
      queueCapacity: 0,
    });
    assert.equal(c.priority, 'Debug');
    assert.equal(c.stdout.enabled, true);
    assert.equal(c.syslog.enabled, true);
    assert.equal(c.file.enabled, false);
    assert.equal(c.file.filename, './events.txt');
    assert.equal(c.file.keepAlive, false);
    assert.equal(c.http.enabled, false);
    assert.equal(c.http.userAgent, 'falcosecurity/falco');
    assert.equal(c.http.insecure, false);
    assert.equal(c.http.mtls, false);
    assert.equal(c.http.clientCert, '/etc/ssl/certs/client.crt');
    assert.equal(c.http.clientKey, '/etc/ssl/certs/client.key');
    assert.equal(c.http.maxConsecutiveTimeouts, 5);
    assert.equal(c.http.retries, 5);
    assert.equal(c.http.timeoutMs, 2000);
    assert.equal(c.program.enabled, false);
    assert.equal(c.program.keepAlive, false);
    assert.equal(c.syslog.facility, 1);
    assert.equal(c.syslog.tag, 'falco');
    assert.equal(c.syslog.socketPath, '/dev/log');
    assert.equal(c.syslog.host, '');
  });

  it('reads every key of a full Falco-shaped configuration', () => {
    const { config, errors } = parseOutputsConfig({
      json_output: true,
      json_include_output_property: false,
      json_include_tags_property: false,
      json_include_message_property: true,
      time_format_iso_8601: true,
      buffered_outputs: true,
      priority: 'warning',
      output_timeout: 500,
      outputs_queue: { capacity: 42 },
      rules_files: ['/etc/falco/falco_rules.yaml'], // another part's key: ignored here
      stdout_output: { enabled: false, priority: 'error' },
      file_output: { enabled: true, filename: '/var/log/tiercel/events.txt', keep_alive: true, create_dirs: true },
      syslog_output: { enabled: true, host: 'logs.example', port: 6514, protocol: 'TCP', facility: 'local3', tag: 'tiercel' },
      http_output: {
        enabled: true, url: 'https://sidekick:2801/', user_agent: 'tiercel', insecure: true, ca_cert: '/ca.pem',
        mtls: true, client_cert: '/c.pem', client_key: '/k.pem', compress_uploads: true, keep_alive: true,
        headers: { Authorization: 'Bearer x', 'X-Count': 3 }, timeout: 900, retries: 2, retry_backoff: 10,
      },
      program_output: { enabled: true, program: "jq '.' >> /tmp/x", keep_alive: true, priority: 'info' },
    }, '');
    assert.deepEqual(errors, []);
    assert.ok(config);
    assert.equal(config.common.jsonOutput, true);
    assert.equal(config.common.jsonIncludeMessageProperty, true);
    assert.equal(config.common.queueCapacity, 42);
    assert.equal(config.common.outputTimeoutMs, 500);
    assert.equal(config.priority, 'Warning');
    assert.equal(config.stdout.priority, 'Error');
    assert.equal(config.file.createDirs, true);
    assert.equal(config.syslog.protocol, 'tcp');
    assert.equal(config.syslog.facility, 19);
    assert.equal(config.syslog.port, 6514);
    assert.deepEqual(config.http.headers, { Authorization: 'Bearer x', 'X-Count': '3' });
    assert.equal(config.http.timeoutMs, 900);
    assert.equal(config.http.retries, 2);
    assert.equal(config.http.retryBackoffMs, 10);
    assert.equal(config.program.priority, 'Informational');
  });

  it('takes http retries from max_consecutive_timeouts unless retries is set', () => {
    assert.equal(parseOutputsConfig({ http_output: { max_consecutive_timeouts: 1 } }, '').config?.http.retries, 1);
    assert.equal(parseOutputsConfig({ http_output: { max_consecutive_timeouts: 1, retries: 0 } }, '').config?.http.retries, 0);
  });

  it('takes the http timeout from output_timeout unless timeout is set', () => {
    assert.equal(parseOutputsConfig({ output_timeout: 1234 }, '').config?.http.timeoutMs, 1234);
  });

  it('accepts booleans and numbers written as text (-o overrides) and null as "not set"', () => {
    const { config, errors } = parseOutputsConfig({
      json_output: 'true', output_timeout: '300', file_output: { keep_alive: 'False', filename: null },
    }, '');
    assert.deepEqual(errors, []);
    assert.equal(config?.common.jsonOutput, true);
    assert.equal(config?.common.outputTimeoutMs, 300);
    assert.equal(config?.file.keepAlive, false);
    assert.equal(config?.file.filename, './events.txt');
  });

  const rejects: [string, Record<string, unknown>, string, RegExp][] = [
    ['a non-http URL', { http_output: { enabled: true, url: 'ftp://x/' } }, 'http_output.url', /must be an http\(s\) URL/],
    ['a URL that is not one', { http_output: { url: 'not a url' } }, 'http_output.url', /must be an http\(s\) URL/],
    ['an enabled http output without URL', { http_output: { enabled: true } }, 'http_output.url', /required/],
    ['an enabled program output without program', { program_output: { enabled: true } }, 'program_output.program', /required when program_output.enabled is true/],
    ['a boolean as a number', { json_output: 1 }, 'json_output', /must be true or false/],
    ['a zero output_timeout', { output_timeout: 0 }, 'output_timeout', /positive integer/],
    ['a negative queue capacity', { outputs_queue: { capacity: -1 } }, 'outputs_queue.capacity', /non-negative integer/],
    ['an unknown priority', { priority: 'WARN' }, 'priority', /must be one of emergency, alert, critical, error, warning, notice, informational, debug/],
    ['an unknown per-output priority', { file_output: { priority: 'loud' } }, 'file_output.priority', /must be one of/],
    ['a typo in a section', { http_output: { urll: 'http://x/' } }, 'http_output.urll', /unknown key/],
    ['a section that is not a mapping', { file_output: true }, 'file_output', /must be a mapping/],
    ['an empty file name', { file_output: { filename: '' } }, 'file_output.filename', /must not be empty/],
    ['a bad syslog protocol', { syslog_output: { protocol: 'quic' } }, 'syslog_output.protocol', /must be one of udp, tcp/],
    ['a bad syslog port', { syslog_output: { port: 70000 } }, 'syslog_output.port', /port number/],
    ['a bad facility', { syslog_output: { facility: 'local9' } }, 'syslog_output.facility', /facility name/],
    ['a tag with a space', { syslog_output: { tag: 'my tag' } }, 'syslog_output.tag', /printable ASCII/],
    ['a header set by Tiercel', { http_output: { headers: { 'Content-Length': '3' } } }, 'http_output.headers.Content-Length', /set by Tiercel/],
    ['a header name with a space', { http_output: { headers: { 'Bad Name': 'x' } } }, 'http_output.headers.Bad Name', /not a valid HTTP header name/],
    ['a header value with a newline', { http_output: { headers: { 'X-A': 'a\r\nX-Injected: 1' } } }, 'http_output.headers.X-A', /control characters/],
    ['too many retries', { http_output: { retries: 1000 } }, 'http_output.retries', /0 to 100/],
    ['a string where a string list is not allowed', { program_output: { program: ['a'] } }, 'program_output.program', /must be a string/],
  ];
  for (const [what, raw, key, message] of rejects) {
    it(`rejects ${what}, naming ${key}`, () => {
      const { config, errors } = parseOutputsConfig(raw, '');
      assert.equal(config, undefined);
      const hit = errors.find((e) => e.key === key);
      assert.ok(hit, `no error for ${key} in ${JSON.stringify(errors)}`);
      assert.match(hit.message, message);
    });
  }

  it('prefixes error keys with the key path it was given', () => {
    const { errors } = parseOutputsConfig({ http_output: { enabled: true, url: 'x' } }, 'outputs');
    assert.deepEqual(errors, [{ key: 'outputs.http_output.url', message: 'must be an http(s) URL' }]);
  });

  it('reports every error, not just the first', () => {
    const { errors } = parseOutputsConfig({ json_output: 'yes', output_timeout: -5, syslog_output: { port: 0 } }, '');
    assert.deepEqual(errors.map((e) => e.key).sort(), ['json_output', 'output_timeout', 'syslog_output.port']);
  });

  it('rejects a configuration that is not a mapping', () => {
    assert.deepEqual(parseOutputsConfig([1, 2], 'outputs').errors, [{ key: 'outputs', message: 'must be a mapping' }]);
  });

  it('documents every key it accepts in docs/outputs.md', () => {
    const doc = readFileSync(new URL('../../docs/outputs.md', import.meta.url), 'utf8');
    const keys = [
      'json_output', 'json_include_output_property', 'json_include_tags_property', 'json_include_message_property',
      'time_format_iso_8601', 'priority', 'buffered_outputs', 'output_timeout', 'outputs_queue.capacity',
      'stdout_output.enabled', 'file_output.filename', 'file_output.keep_alive', 'file_output.create_dirs',
      'syslog_output.host', 'syslog_output.port', 'syslog_output.protocol', 'syslog_output.facility',
      'syslog_output.socket_path', 'syslog_output.tag', 'http_output.url', 'http_output.user_agent',
      'http_output.insecure', 'http_output.ca_cert', 'http_output.ca_bundle', 'http_output.ca_path',
      'http_output.mtls', 'http_output.client_cert', 'http_output.client_key', 'http_output.echo',
      'http_output.compress_uploads', 'http_output.keep_alive', 'http_output.max_consecutive_timeouts',
      'http_output.headers', 'http_output.timeout', 'http_output.retries', 'http_output.retry_backoff',
      'program_output.program', 'program_output.keep_alive',
    ];
    for (const k of keys) assert.ok(doc.includes(`\`${k}\``), `docs/outputs.md does not document ${k}`);
  });
});
