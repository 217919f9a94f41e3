#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (built by `npm install` through `prepare`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('nat-probe: dist/ is missing. Run `npm install` (or `npm run build`) in the checkout first.\n');
  process.exit(2);
}
const { runAsProcess } = await import(entry.href);
await runAsProcess(process.argv.slice(2));
