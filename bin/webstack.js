#!/usr/bin/env node
// Runs the compiled CLI from dist/ (built by `npm ci` through `prepare`, or `npm run build`). A
// checkout never built, or one whose src/ changed since the build, runs the TypeScript sources
// through tsx instead, so a stale build is never what runs.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const stamp = join(root, 'dist', '.built');

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : entry.name.endsWith('.ts') ? statSync(path).mtimeMs : 0);
  }
  return newest;
}

let main;
// WEBSTACK_FROM_SOURCE=1 runs the sources anyway (the benchmark compares the two).
if (!process.env.WEBSTACK_FROM_SOURCE && existsSync(stamp) && statSync(stamp).mtimeMs >= newestSource(join(root, 'src'))) {
  main = await import('../dist/cli/main.js');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  main = await import('../src/cli/main.ts');
}
process.exitCode = await main.run(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
