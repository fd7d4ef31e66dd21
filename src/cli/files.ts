import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UsageError } from './errors.ts';

/** Writes the whole file or nothing: a crash mid-write never leaves half a design behind. */
export function writeFileAtomic(path: string, text: string, { overwrite }: { overwrite: boolean }): void {
  if (!overwrite && existsSync(path)) throw new UsageError(`${path} already exists; pass --force to replace it`);
  if (!existsSync(dirname(path) || '.')) throw new UsageError(`cannot write ${path}: the directory ${dirname(path)} does not exist`);
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    writeFileSync(temporary, text);
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw new UsageError(`cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}
