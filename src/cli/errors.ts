import { DesignError, formatProblem, UsageError } from '../design/problems.ts';
import { LabError } from '../lab/errors.ts';

export { UsageError };

/** Where the CLI writes: the terminal, or a test's buffers. */
export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** 1: `check --strict` found something, or the lab could not do what was asked. */
export const EXIT = { ok: 0, findings: 1, failed: 1, usage: 2, internal: 70 } as const;

/** Prints an error the way a user should see it (no stack trace) and returns the exit code. */
export function reportError(error: unknown, stderr: (text: string) => void): number {
  if (error instanceof DesignError) {
    const n = error.problems.length;
    stderr(`webstack: ${n} problem${n === 1 ? '' : 's'} in ${error.file}:\n`);
    for (const p of error.problems) stderr(`  ${formatProblem(p)}\n`);
    return EXIT.usage;
  }
  if (error instanceof LabError) {
    stderr(`webstack: ${error.message}\n  fix: ${error.fix}\n  (error ${error.code}; docs/lab.md lists every lab error)\n`);
    return EXIT.failed;
  }
  if (error instanceof UsageError) {
    stderr(`webstack: ${error.message}\n`);
    return EXIT.usage;
  }
  const message = error instanceof Error ? error.message : String(error);
  stderr(`webstack: internal error: ${message}\n  This is a bug in webstack; run again with WEBSTACK_DEBUG=1 to see where it happened.\n`);
  if (process.env.WEBSTACK_DEBUG && error instanceof Error) stderr(`${error.stack}\n`);
  return EXIT.internal;
}
