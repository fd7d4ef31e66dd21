import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { REPO_ROOT } from '../entry.ts';

// The dashboard's page script and its chart library's style, served by webstack itself (no CDN):
// the page's TypeScript and uPlot bundled by esbuild into one module when the dashboard starts,
// in memory, in some tens of milliseconds; nothing is built at install time.

const require = createRequire(import.meta.url);

export async function pageScript(): Promise<string> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [join(REPO_ROOT, 'src', 'dashboard', 'page', 'main.ts')],
    bundle: true,
    format: 'esm',
    target: 'es2022',
    minify: true,
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

export function chartStyle(): string {
  return readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8');
}
