import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// How webstack runs its own programs (the CLI, the supervisor, the app, the load generator):
// compiled JavaScript from dist/ when this copy runs compiled (`npm ci` builds it), else the
// TypeScript sources through tsx (the tests, and a checkout that was never built). Compiled,
// a command starts in a fraction of the time, and an app server needs less memory.

/** This module is dist/entry.js when webstack runs compiled. */
export const COMPILED = import.meta.url.endsWith('.js');

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** This webstack's own programs, as the daemons it renders run them (the foobar app): what `up`, `deploy` and `promote` are given. */
export const THIS_INSTALL = { repoRoot: REPO_ROOT, node: process.execPath, compiled: COMPILED } as const;

/** The command that runs one of webstack's modules (`app/main`, `lab/supervisor-main`, `load/main`). */
export function programCommand(node: string, repoRoot: string, module: string, compiled: boolean = COMPILED): string[] {
  if (compiled) return [node, join(repoRoot, 'dist', `${module}.js`)];
  return [node, '--import', import.meta.resolve('tsx'), join(repoRoot, 'src', `${module}.ts`)];
}

/**
 * The body of a program run inside a host with its options as one JSON argument (`load/main`,
 * `prove/workload-main`): prints what `run` returns as one line of JSON on stdout, anything else
 * on stderr, and exits 1 when it fails.
 */
export async function answerInJson<Options>(name: string, run: (options: Options) => Promise<unknown>): Promise<void> {
  try {
    const options = JSON.parse(process.argv[2] ?? '') as Options;
    process.stdout.write(JSON.stringify(await run(options)) + '\n');
  } catch (error) {
    process.stderr.write(`${name}: ${(error as Error).message}\n`);
    process.exit(1);
  }
}
