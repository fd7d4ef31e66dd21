import { randomBytes } from 'node:crypto';
import { chownSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DaemonSpec, RenderedFile, Secrets } from '../daemons/types.ts';
import { writeJsonAtomic } from './state.ts';

// Putting a plan's files on disk: rendered configs, directories owned by the users daemons drop
// to, copied static files, and the stack's secrets (kept with the data, so they outlive `down`).

/** The stack's secrets, created on first use; a secret added by a newer webstack is added to an older file. */
export function readOrCreateSecrets(file: string): Secrets {
  const existing = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Partial<Secrets>) : {};
  const secrets: Secrets = {
    dbPassword: existing.dbPassword ?? randomBytes(18).toString('base64url'),
    appSecret: existing.appSecret ?? randomBytes(32).toString('base64url'),
    replicationPassword: existing.replicationPassword ?? randomBytes(18).toString('base64url'),
  };
  if (Object.keys(existing).length !== Object.keys(secrets).length) writeJsonAtomic(file, secrets, 0o600);
  return secrets;
}

export function materialise(daemons: readonly DaemonSpec[], extra: readonly RenderedFile[]): void {
  for (const spec of daemons) {
    mkdirSync(dirname(spec.log), { recursive: true });
    for (const dir of spec.dirs) {
      mkdirSync(dir.path, { recursive: true });
      if (dir.owner) chownTo(dir.path, dir.owner);
    }
    for (const copy of spec.copies) cpSync(copy.from, copy.to, { recursive: true });
    for (const file of spec.files) writeRendered(file);
  }
  for (const file of extra) writeRendered(file);
}

function writeRendered(file: RenderedFile): void {
  mkdirSync(dirname(file.path), { recursive: true });
  writeFileSync(file.path, file.content, { mode: file.mode });
  if (file.owner) chownTo(file.path, file.owner);
}

function chownTo(path: string, user: string): void {
  const entry = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map((line) => line.split(':'))
    .find((fields) => fields[0] === user);
  if (!entry) throw new Error(`system user '${user}' does not exist; is its package installed? (bash scripts/install.sh)`);
  chownSync(path, Number(entry[2]), Number(entry[3]));
}
