/**
 * src/server/ui.ts on a real express server: index.html at / and for the
 * SPA's routes under /ui, hashed assets with a year's cache, a 404 (never
 * index.html) for a missing asset, the Content-Security-Policy on every
 * answer, and a clear 503 when the UI is not built.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { addFallbackHandlers, baseApp } from '../../src/server/http.js';
import { UI_CSP, createUiRouter } from '../../src/server/ui.js';

async function serve(dir: string): Promise<{ base: string; close: () => Promise<void> }> {
  const app = baseApp();
  app.use(createUiRouter({ dir }));
  addFallbackHandlers(app, () => undefined);
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

const INDEX = '<!doctype html><title>t</title><script type="module" src="/ui/assets/app-abc123.js"></script>';

describe('the UI router with a build', () => {
  let dir = '';
  let srv: Awaited<ReturnType<typeof serve>>;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tiercel-ui-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), INDEX);
    writeFileSync(join(dir, 'assets', 'app-abc123.js'), 'console.log(1)');
    srv = await serve(dir);
  });
  after(async () => {
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('index.html at /, /ui and every SPA route, revalidated, with the CSP', async () => {
    for (const path of ['/', '/ui', '/ui/', '/ui/alerts', '/ui/incidents/inc-1', '/ui/incidents/a%2Fb?x=1']) {
      const res = await fetch(srv.base + path);
      assert.equal(res.status, 200, path);
      assert.equal(await res.text(), INDEX, path);
      assert.match(res.headers.get('content-type') ?? '', /^text\/html/, path);
      assert.equal(res.headers.get('cache-control'), 'no-cache', path);
      assert.equal(res.headers.get('content-security-policy'), UI_CSP, path);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(res.headers.get('x-frame-options'), 'DENY');
    }
  });

  test('the policy allows no inline or foreign script, no eval, no framing', () => {
    const directives = new Map(UI_CSP.split(/;\s*/).map((d) => [d.split(' ')[0]!, d.split(' ').slice(1)]));
    assert.deepEqual(directives.get('script-src'), ["'self'"]);
    assert.deepEqual(directives.get('default-src'), ["'none'"]);
    assert.deepEqual(directives.get('frame-ancestors'), ["'none'"]);
    assert.deepEqual(directives.get('object-src'), ["'none'"]);
    assert.ok(!UI_CSP.includes('unsafe'), UI_CSP);
  });

  test('hashed assets are cached for a year; a missing asset is a 404, not index.html', async () => {
    const res = await fetch(`${srv.base}/ui/assets/app-abc123.js`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'console.log(1)');
    assert.match(res.headers.get('content-type') ?? '', /javascript/);
    assert.match(res.headers.get('cache-control') ?? '', /max-age=31536000/);
    assert.match(res.headers.get('cache-control') ?? '', /immutable/);
    assert.equal(res.headers.get('content-security-policy'), UI_CSP);
    const miss = await fetch(`${srv.base}/ui/assets/app-old999.js`);
    assert.equal(miss.status, 404);
    assert.doesNotMatch(await miss.text(), /<script/);
  });

  test('paths outside / and /ui are left to the server (JSON 404)', async () => {
    const res = await fetch(`${srv.base}/elsewhere`);
    assert.equal(res.status, 404);
    assert.match(res.headers.get('content-type') ?? '', /json/);
    await res.arrayBuffer();
    const post = await fetch(`${srv.base}/ui/alerts`, { method: 'POST' });
    assert.equal(post.status, 404);
    await post.arrayBuffer();
  });
});

describe('the UI router without a build', () => {
  let dir = '';
  let srv: Awaited<ReturnType<typeof serve>>;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tiercel-ui-empty-'));
    srv = await serve(join(dir, 'missing'));
  });
  after(async () => {
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('answers 503 saying how to build it: HTML for browsers, JSON otherwise', async () => {
    const html = await fetch(`${srv.base}/ui/`, { headers: { Accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    assert.equal(html.status, 503);
    assert.match(html.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(await html.text(), /npm run build:ui/);
    assert.equal(html.headers.get('content-security-policy'), UI_CSP);
    const json = await fetch(`${srv.base}/`, { headers: { Accept: 'application/json' } });
    assert.equal(json.status, 503);
    const body = (await json.json()) as { error: string; message: string };
    assert.equal(body.error, 'ui_not_built');
    assert.match(body.message, /npm run build:ui/);
  });
});
