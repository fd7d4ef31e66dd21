import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DaemonSpec, RenderedFile, Secrets } from '../daemons/types.ts';
import { writeJsonAtomic } from './state.ts';
import type { Target } from './target.ts';

// Putting a plan's files in place, through the target: rendered configs, directories owned by
// the users daemons drop to, copied static files; and the stack's secrets (kept with the data,
// so they outlive `down`).

/** The stack's secrets, created on first use; a secret added by a newer webstack is added to an older file. */
export function readOrCreateSecrets(file: string, { write = true } = {}): Secrets {
  const existing = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Partial<Secrets>) : {};
  const secrets: Secrets = {
    dbPassword: existing.dbPassword ?? randomBytes(18).toString('base64url'),
    appSecret: existing.appSecret ?? randomBytes(32).toString('base64url'),
    replicationPassword: existing.replicationPassword ?? randomBytes(18).toString('base64url'),
    cachePassword: existing.cachePassword ?? randomBytes(18).toString('base64url'),
    exporterPassword: existing.exporterPassword ?? randomBytes(18).toString('base64url'),
    dnsUpdateKey: existing.dnsUpdateKey ?? randomBytes(32).toString('base64'),
  };
  if (write && Object.keys(existing).length !== Object.keys(secrets).length) writeJsonAtomic(file, secrets, 0o600);
  return secrets;
}

/** Directories, copies and files of each daemon, in that order, then the extra files. */
export function materialise(target: Target, daemons: readonly DaemonSpec[], extra: readonly RenderedFile[]): void {
  for (const spec of daemons) {
    target.makeDir(dirname(spec.log));
    for (const dir of spec.dirs) target.makeDir(dir.path, dir.owner);
    for (const copy of spec.copies) target.copyTree(copy.from, copy.to);
    for (const file of spec.files) target.writeFile(file);
  }
  for (const file of extra) target.writeFile(file);
}
