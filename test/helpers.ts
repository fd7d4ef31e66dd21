import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseYaml, resolveSource, type LoadedDesign } from '../src/design/load.ts';
import { run } from '../src/cli/main.ts';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/** Compares with a checked-in file; `UPDATE_GOLDEN=1 npm test` rewrites them instead. */
export function assertGolden(relativePath: string, actual: string): void {
  const path = `${repoRoot}test/${relativePath}`;
  if (process.env.UPDATE_GOLDEN) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  assert.ok(existsSync(path), `no golden file ${relativePath}; run UPDATE_GOLDEN=1 npm test and review the new file`);
  assert.equal(actual, readFileSync(path, 'utf8'), `output differs from test/${relativePath}`);
}

/** Resolves a design written inline in a test. */
export function designFrom(yaml: string): LoadedDesign {
  return resolveSource(parseYaml(yaml, 'inline.yaml'));
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process, as `npx webstack ...` would from the repo root. */
export async function cli(...args: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await run(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

/** A line that looks like a JavaScript stack frame. */
export const STACK_FRAME = /^\s+at .+[(:]\d+/m;

/** Lab plans with the machine-specific parts fixed, so that golden files do not depend on the machine. */
export const FIXED = {
  home: '/var/lib/webstack',
  install: { repoRoot: '/opt/webstack', node: '/usr/bin/node', compiled: true },
  secrets: { dbPassword: 'db-password-for-tests', appSecret: 'app-secret-for-tests-0123456789', replicationPassword: 'replication-password-for-tests', exporterPassword: 'exporter-password-for-tests', cachePassword: 'cache-password-for-tests', dnsUpdateKey: 'ZG5zLXVwZGF0ZS1rZXktZm9yLXRlc3RzLTAxMjM0NTY=' },
} as const;

/** Every blueprint, for tests that run each. */
export { BLUEPRINTS as BLUEPRINTS_FOR_DRY_RUN } from '../src/blueprints/index.ts';

/** Debian's Chromium, for the tests that look at a page as a person would; null where it is not installed. */
export function chromium(): string | null {
  for (const path of ['/usr/bin/chromium', '/usr/bin/chromium-browser']) if (existsSync(path)) return path;
  return null;
}
