/**
 * The web UI's files, served by `tiercel serve` next to the query API.
 *
 * The UI is a single-page application built by Vite from `ui/` into
 * `dist/ui` when the package is installed or built (`npm run build:ui`):
 *
 * - `GET /` and `GET /ui`, `/ui/...` (the application's own routes, such as
 *   `/ui/incidents/inc-1`) answer `index.html`, so a reload or a shared link
 *   lands on the right page;
 * - `GET /ui/assets/...` are the hashed bundles: cached for a year (their
 *   name changes with their content); a missing one is a 404, never
 *   `index.html` (a browser would otherwise run HTML as a script);
 * - without a build, a 503 says how to make one (HTML or JSON, as the client
 *   accepts).
 *
 * Every answer carries a strict Content-Security-Policy: scripts and styles
 * only from this origin's files (no inline script, no eval), connections only
 * to this origin, no framing, no plugins. Event text is rendered by the
 * framework's text binding only; the policy is the second line of defence if
 * a bug ever let markup through.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import express, { type Request, type Response, type Router } from 'express';
import { PACKAGE_ROOT } from '../paths.js';

/** Where `npm run build:ui` writes the UI. */
export const UI_DIST = join(PACKAGE_ROOT, 'dist', 'ui');

/** The UI's own routes live under this prefix (the SPA's history URLs and its assets). */
export const UI_PATH = '/ui';

export const UI_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': UI_CSP,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
};

const YEAR_SECONDS = 365 * 24 * 3600;

export interface UiRouterOptions {
  /** The built UI (default {@link UI_DIST}). */
  readonly dir?: string;
}

function notBuilt(req: Request, res: Response, dir: string): void {
  res.status(503).set({ ...SECURITY_HEADERS, 'Cache-Control': 'no-store', 'Retry-After': '60' });
  const message = `the web UI is not built (no ${join(dir, 'index.html')}); run \`npm run build:ui\` (or \`npm install\`) and reload`;
  if (req.accepts(['html', 'json']) === 'html') {
    // A fixed page: the only variable text is the path, which is the server's own.
    res.type('html').send(`<!doctype html><meta charset="utf-8"><title>Tiercel</title><h1>Web UI not built</h1><p>${escapeHtml(message)}</p>`
      + '<p>The query API is served at <code>/api/v1</code>.</p>');
  } else {
    res.json({ error: 'ui_not_built', message });
  }
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function createUiRouter(options: UiRouterOptions = {}): Router {
  const dir = options.dir ?? UI_DIST;
  const index = join(dir, 'index.html');
  const router = express.Router({ caseSensitive: true, strict: false });

  router.use((req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    res.set(SECURITY_HEADERS);
    next();
  });

  // Hashed bundles: immutable; a miss falls through to the 404 below (never to index.html).
  router.use(`${UI_PATH}/assets`, express.static(join(dir, 'assets'), {
    index: false,
    redirect: false,
    fallthrough: true,
    immutable: true,
    maxAge: YEAR_SECONDS * 1000,
  }));
  router.use(`${UI_PATH}/assets`, (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    res.status(404).set('Cache-Control', 'no-store').type('text/plain').send('no such asset\n');
  });

  // Other files at the top of the build (favicon): short cache, since their names carry no hash.
  router.use(UI_PATH, express.static(dir, { index: false, redirect: false, fallthrough: true, maxAge: 0 }));

  const sendIndex = (req: Request, res: Response): void => {
    if (!existsSync(index)) {
      notBuilt(req, res, dir);
      return;
    }
    // Revalidated every time, so a new build's asset names are picked up at once.
    res.set('Cache-Control', 'no-cache');
    res.sendFile(index, { cacheControl: false });
  };
  router.get('/', sendIndex);
  router.get(UI_PATH, sendIndex);
  router.get(`${UI_PATH}/*rest`, sendIndex);
  return router;
}
