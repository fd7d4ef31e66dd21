import { daemonPaths, stackPaths } from '../plan/paths.ts';
import type { StackState } from './state.ts';
import type { Target } from './target.ts';

// Statements run as root on a host's MariaDB, over its socket inside the host: what `promote`
// and `prove` ask the database servers directly.

/** Whether the statements succeeded, and what they printed (or why not). */
export type Sql = (host: string, statements: string, timeoutMs?: number) => Promise<{ ok: boolean; out: string }>;

export function sqlOn(home: string, state: StackState, target: Target): Sql {
  const paths = stackPaths(home, state.stack);
  return async (host, statements, timeoutMs = 10_000) => {
    const namespace = state.hosts.find((h) => h.name === host)!.namespace;
    const cnf = `${daemonPaths(paths, host, 'mariadb').config}/my.cnf`;
    // Vertical output (\G) keeps its field names; a table's are left out, for its values alone.
    const names = statements.endsWith('\\G') ? [] : ['-N'];
    const result = await target.run(namespace, ['mariadb', `--defaults-file=${cnf}`, ...names, '-B', '-e', statements], { allowFailure: true, timeoutMs });
    return { ok: result.exitCode === 0, out: result.exitCode === 0 ? result.stdout.trim() : (result.stderr || result.stdout || `no answer within ${timeoutMs / 1000} s`).trim() };
  };
}
