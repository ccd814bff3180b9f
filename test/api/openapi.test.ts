/**
 * The OpenAPI document and the router agree: every route the router serves
 * is documented and every documented operation is served; the query
 * parameters documented are exactly the ones the parsers accept; every
 * $ref resolves.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { OPENAPI_DOCUMENT, type Operation } from '../../src/api/openapi.js';
import { ALERT_PARAMS, INCIDENT_PARAMS, STATS_PARAMS } from '../../src/api/query.js';
import { createApiRouter } from '../../src/api/router.js';
import { type LiveApi, type TempStore, TOKENS, bearer, seed, startApi, tempStore } from './seed.js';

let ts: TempStore;
let api: LiveApi;
before(async () => {
  ts = await tempStore();
  await seed(ts.store);
  api = await startApi({ store: ts.store, ingest: async (alerts) => ({ accepted: alerts.length, duplicates: 0 }) });
});
after(async () => {
  await api.close();
  await ts.cleanup();
});

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

function documented(): Set<string> {
  const out = new Set<string>();
  for (const [path, item] of Object.entries(OPENAPI_DOCUMENT.paths)) {
    for (const m of METHODS) if ((item as Record<string, unknown>)[m]) out.add(`${m.toUpperCase()} ${path}`);
  }
  return out;
}

/** The routes registered on the router (its method handlers, not the catch-all 405s). */
function served(): Set<string> {
  const router = createApiRouter({ store: ts.store, tokens: TOKENS, logger: pino({ level: 'silent' }) });
  const out = new Set<string>();
  for (const layer of (router as unknown as { stack: { route?: { path: string; methods: Record<string, boolean> } }[] }).stack) {
    if (!layer.route) continue;
    for (const [m, on] of Object.entries(layer.route.methods)) {
      if (on && m !== '_all') out.add(`${m.toUpperCase()} ${layer.route.path.replace(/:(\w+)/g, '{$1}')}`);
    }
  }
  return out;
}

test('every served route is documented, and every documented operation is served', () => {
  const doc = documented();
  const routes = served();
  assert.ok(routes.size >= 11, [...routes].join(', '));
  assert.deepEqual([...routes].sort(), [...doc].sort());
});

test('every documented operation answers on a live server (not the unknown-route 404 nor a 405)', async () => {
  for (const op of documented()) {
    const [method, path] = op.split(' ') as [string, string];
    const res = await fetch(api.base + path.replace('{id}', 'inc-exec'), {
      method,
      headers: { ...bearer('admin'), 'Content-Type': 'application/json' },
      ...(method === 'POST' ? { body: path.endsWith('/status') ? '{"status":"open"}' : '{}' } : {}),
    });
    const body = (await res.json()) as { message?: string };
    assert.ok(res.status !== 405 && !(res.status === 404 && /no such API endpoint/.test(body.message ?? '')), `${op}: ${res.status}`);
  }
});

function parameterNames(op: Operation): string[] {
  return (op.parameters ?? []).map((p) => {
    if ('$ref' in p) {
      const name = p.$ref.split('/').pop()!;
      return OPENAPI_DOCUMENT.components.parameters[name]!.name;
    }
    return p.name;
  }).filter((name) => name !== 'id');
}

test('documented query parameters are exactly the ones the parsers accept', () => {
  const p = OPENAPI_DOCUMENT.paths;
  assert.deepEqual(parameterNames(p['/incidents']!.get!).sort(), [...INCIDENT_PARAMS].sort());
  assert.deepEqual(parameterNames(p['/alerts']!.get!).sort(), [...ALERT_PARAMS].sort());
  assert.deepEqual(parameterNames(p['/stats']!.get!).sort(), [...STATS_PARAMS].sort());
});

test('every $ref resolves, operation ids are unique, every operation but the document needs a token', () => {
  const text = JSON.stringify(OPENAPI_DOCUMENT);
  for (const [, ref] of text.matchAll(/"\$ref":"#\/([^"]+)"/g)) {
    let node: unknown = OPENAPI_DOCUMENT;
    for (const part of ref!.split('/')) node = (node as Record<string, unknown> | undefined)?.[part];
    assert.ok(node !== undefined, `unresolved $ref #/${ref!}`);
  }
  const ops = Object.values(OPENAPI_DOCUMENT.paths).flatMap((item) => Object.values(item) as Operation[]);
  assert.equal(new Set(ops.map((o) => o.operationId)).size, ops.length);
  for (const op of ops) {
    if (op.operationId === 'getOpenApi') assert.deepEqual(op.security, []);
    else assert.equal(op.security, undefined, `${op.operationId} overrides the bearer default`);
    if (op.operationId !== 'getOpenApi') assert.ok(op.responses['401'], `${op.operationId} documents 401`);
  }
});

test('the served document is the typed object', async () => {
  const res = await fetch(`${api.base}/openapi.json`);
  assert.deepEqual(await res.json(), JSON.parse(JSON.stringify(OPENAPI_DOCUMENT)));
});
