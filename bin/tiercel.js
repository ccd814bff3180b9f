#!/usr/bin/env node
// Entry point of the `tiercel` command. The TypeScript sources are compiled
// to dist/ by `npm install` (the `prepare` script); this shim only loads them
// and explains what to do when they are missing.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  process.stderr.write(`tiercel: not built yet (missing ${fileURLToPath(main)}).\n` +
    `Run 'npm install' (or 'npm run build') in ${root} first.\n`);
  process.exit(1);
}
const { run } = await import(main.href);
process.exitCode = await run(process.argv.slice(2));
