/**
 * Webhook authentication against a real `tiercel serve` over TLS, with
 * certificates made by the openssl CLI at test time: client certificates
 * (mTLS, CA from config, optional CN allow-list) and bearer tokens (from an
 * environment variable). Anything else gets a 401 with a JSON body, counted
 * in the metrics; health, readiness and metrics stay reachable for probes.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { anchorsAvailable, anchorsMissingReason } from '../helpers/anchors.js';
import {
  type RequestOptions, type ServeProcess, type TestPki, eventList, makePki, metricValue, metrics, postJson, request,
  startServe, tempDir, traceEvents, withIds, writeYaml,
} from './helpers.js';

const TOKEN = 'b9c1f0e2-test-token-7d4e';

describe('webhook authentication', { skip: anchorsAvailable ? false : anchorsMissingReason }, () => {
  let pki: TestPki;
  let ca: Buffer;
  let client: RequestOptions;
  let rogue: RequestOptions;
  let other: RequestOptions;
  let n = 0;
  const batch = (): unknown => eventList(withIds(traceEvents('create_secret.json'), `auth-${n++}`));

  before(() => {
    pki = makePki();
    ca = readFileSync(pki.caCert);
    client = { ca, cert: readFileSync(pki.clientCert), key: readFileSync(pki.clientKey) };
    rogue = { ca, cert: readFileSync(pki.rogueCert), key: readFileSync(pki.rogueKey) };
    other = { ca, cert: readFileSync(pki.otherCert), key: readFileSync(pki.otherKey) };
  });

  describe('client certificates (mTLS)', () => {
    let server: ServeProcess;
    before(async () => {
      server = await startServe(['--tls-cert', pki.serverCert, '--tls-key', pki.serverKey, '--client-ca', pki.caCert,
        '--option', 'stdout_output.enabled=false']);
    });
    after(async () => {
      assert.equal(await server.stop(), 0);
    });

    it('serves HTTPS', () => {
      assert.match(server.webhook, /^https:\/\/127\.0\.0\.1:\d+\/k8s-audit$/);
    });
    it('refuses a request without a client certificate (401)', async () => {
      const r = await postJson(server.webhook, batch(), { ca });
      assert.equal(r.status, 401, r.text);
      assert.equal(r.json.error, 'unauthorized');
    });
    it('refuses a certificate from another CA (401)', async () => {
      const r = await postJson(server.webhook, batch(), rogue);
      assert.equal(r.status, 401, r.text);
      assert.match(r.json.message, /not trusted/);
    });
    it('accepts the apiserver\'s certificate', async () => {
      const r = await postJson(server.webhook, batch(), client);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.accepted, 1);
    });
    it('answers health, readiness and metrics without a certificate', async () => {
      assert.equal((await request(`${server.url}/healthz`, undefined, { ca })).status, 200);
      assert.equal((await request(`${server.url}/readyz`, undefined, { ca })).status, 200);
      const text = await metrics(server.url, { ca });
      assert.equal(metricValue(text, 'tiercel_webhook_unauthorized_total'), 2);
      assert.equal(metricValue(text, 'tiercel_webhook_unauthorized_total', { reason: 'no_credentials' }), 1);
      assert.equal(metricValue(text, 'tiercel_webhook_unauthorized_total', { reason: 'bad_client_cert' }), 1);
      assert.equal(metricValue(text, 'tiercel_audit_events_accepted_total'), 1, 'only the authenticated batch was queued');
    });
  });

  describe('bearer token from an environment variable', () => {
    let server: ServeProcess;
    before(async () => {
      server = await startServe(['--token-env', 'TIERCEL_TEST_TOKEN', '--option', 'stdout_output.enabled=false'],
        { env: { TIERCEL_TEST_TOKEN: TOKEN } });
    });
    after(async () => {
      assert.equal(await server.stop(), 0);
    });

    it('refuses a request without a token (401, WWW-Authenticate)', async () => {
      const r = await postJson(server.webhook, batch());
      assert.equal(r.status, 401);
      assert.match(String(r.headers['www-authenticate']), /^Bearer/);
    });
    it('refuses a wrong token and a non-bearer Authorization', async () => {
      assert.equal((await postJson(server.webhook, batch(), { headers: { authorization: `Bearer ${TOKEN}x` } })).status, 401);
      assert.equal((await postJson(server.webhook, batch(), { headers: { authorization: `Basic ${Buffer.from(`a:${TOKEN}`).toString('base64')}` } })).status, 401);
    });
    it('accepts the token', async () => {
      const r = await postJson(server.webhook, batch(), { headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(r.status, 200, r.text);
    });
    it('counts the refusals', async () => {
      const text = await metrics(server.url);
      assert.equal(metricValue(text, 'tiercel_webhook_unauthorized_total'), 3);
      assert.equal(metricValue(text, 'tiercel_webhook_requests_total', { code: '401' }), 3);
    });
    it('never logs the token', () => {
      assert.ok(!server.stderr().includes(TOKEN));
    });
  });

  describe('both, with a CN allow-list (config file)', () => {
    let server: ServeProcess;
    before(async () => {
      const dir = tempDir();
      const config = writeYaml(dir, 'tiercel.yaml', [
        'stdout_output: {enabled: false}',
        'webhook:',
        '  tls:',
        `    cert_file: ${pki.serverCert}`,
        `    key_file: ${pki.serverKey}`,
        `    client_ca_file: ${pki.caCert}`,
        '  auth:',
        '    bearer_token_env: TIERCEL_TEST_TOKEN',
        '    allowed_common_names: [kube-apiserver]',
      ].join('\n'));
      server = await startServe(['--config', config], { env: { TIERCEL_TEST_TOKEN: TOKEN } });
    });
    after(async () => {
      assert.equal(await server.stop(), 0);
    });

    it('accepts the allowed client certificate, or the token alone', async () => {
      assert.equal((await postJson(server.webhook, batch(), client)).status, 200);
      assert.equal((await postJson(server.webhook, batch(), { ca, headers: { authorization: `Bearer ${TOKEN}` } })).status, 200);
    });
    it('refuses a certificate of the right CA with another CN, and no credentials', async () => {
      const r = await postJson(server.webhook, batch(), other);
      assert.equal(r.status, 401);
      assert.match(r.json.message, /allowed_common_names/);
      assert.equal((await postJson(server.webhook, batch(), { ca })).status, 401);
      assert.equal((await postJson(server.webhook, batch(), rogue)).status, 401);
    });
  });
});
