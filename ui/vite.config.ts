/**
 * Builds the web UI (ui/) into dist/ui, which `tiercel serve` serves
 * (src/server/ui.ts). Run by `npm install` (prepare), `npm run build` and
 * `npm test` (pretest). Preact's JSX is compiled by Vite's own esbuild, so no
 * framework plugin (and no Babel) is needed.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  // The server serves the SPA under /ui (assets at /ui/assets/...).
  base: '/ui/',
  publicDir: false,
  logLevel: 'warn',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: fileURLToPath(new URL('../dist/ui', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // The polyfill would be an inline script, which the Content-Security-Policy forbids (and ES2022 browsers do not need it).
    modulePreload: { polyfill: false },
    // Every asset a file of its own: no data: URLs to allow in the policy.
    assetsInlineLimit: 0,
    reportCompressedSize: false,
    sourcemap: false,
  },
});
