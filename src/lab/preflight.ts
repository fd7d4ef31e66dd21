import { accessSync, constants, openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { requiredPrograms } from '../daemons/registry.ts';
import { overlaps, parseCidr } from '../design/addresses.ts';
import type { ResolvedStack } from '../design/types.ts';
import { labError } from './errors.ts';
import { processStartTime } from './process.ts';
import { listStacks, readState } from './state.ts';
import type { Target } from './target.ts';

// What `up` checks before it creates anything, each failure one sentence with the fix.

export function findProgram(name: string, path = process.env.PATH ?? ''): string | null {
  // A file a daemon loads rather than runs (the Galera provider) is named by its full path.
  if (isAbsolute(name)) {
    try {
      accessSync(name, constants.R_OK);
      return name;
    } catch {
      return null;
    }
  }
  const dirs = [...path.split(delimiter), '/usr/sbin', '/sbin', '/usr/bin'];
  for (const dir of dirs) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // next
    }
  }
  return null;
}

/** Root, Linux, and every program the registered daemons need. */
export function checkMachine(): void {
  if (process.platform !== 'linux') throw labError('not-linux', `the lab runs on Linux, with network namespaces; this is ${process.platform}.`);
  if (process.getuid?.() !== 0) throw labError('not-root', 'the lab creates network namespaces and links, which needs root.');
  checkPrograms();
}

export function checkPrograms(programs: Readonly<Record<string, string>> = requiredPrograms()): void {
  const missing = Object.keys(programs).filter((p) => !findProgram(p));
  if (missing.length > 0) {
    const packages = [...new Set(missing.map((p) => programs[p]))].join(' ');
    throw labError('missing-programs', `missing ${missing.join(', ')} (Debian: ${packages}).`, `sudo bash scripts/install.sh (or: sudo apt-get install ${packages})`);
  }
}

interface Route {
  dst: string;
  dev?: string;
}

/** Refuses a stack whose networks overlap a route of this machine or a network of another stack. */
export async function checkAddressSpace(design: ResolvedStack, stack: string, home: string, target: Target): Promise<void> {
  const others = listStacks(home)
    .filter((s) => s !== stack)
    .map((s) => readState(home, s)!)
    .filter(Boolean);
  const labBridges = new Set(others.flatMap((o) => o.networks.map((n) => n.bridge)));
  const { stdout } = await target.query(['ip', '-j', '-4', 'route', 'show', 'table', 'all']);
  const routes = (JSON.parse(stdout || '[]') as Route[]).filter((r) => r.dst !== 'default' && !(r.dev && labBridges.has(r.dev)));
  const problems: string[] = [];
  for (const network of design.networks) {
    const cidr = parseCidr(network.cidr);
    for (const other of others) {
      for (const theirs of other.networks) {
        if (overlaps(cidr, parseCidr(theirs.cidr))) {
          problems.push(`network ${network.name} (${network.cidr}) overlaps network ${theirs.name} (${theirs.cidr}) of running stack '${other.stack}'`);
        }
      }
    }
    for (const route of routes) {
      const dst = route.dst.includes('/') ? route.dst : `${route.dst}/32`;
      if (overlaps(cidr, parseCidr(dst))) problems.push(`network ${network.name} (${network.cidr}) overlaps this machine's route to ${route.dst}${route.dev ? ` on ${route.dev}` : ''}`);
    }
  }
  if (problems.length > 0) throw labError('address-overlap', `stack '${stack}' cannot start: ${[...new Set(problems)].join('; ')}.`);
}

/** Every network namespace on the machine, ours or not. */
export async function listNamespaces(target: Target): Promise<string[]> {
  const { stdout } = await target.query(['ip', '-j', 'netns', 'list']);
  return (JSON.parse(stdout || '[]') as { name: string }[]).map((n) => n.name);
}

/** Refuses to adopt a namespace of the same name that this stack did not make. */
export async function checkNamespacesFree(namespaces: readonly string[], target: Target): Promise<void> {
  const existing = new Set(await listNamespaces(target));
  const taken = namespaces.filter((n) => existing.has(n));
  if (taken.length > 0) throw labError('namespace-taken', `network namespace ${taken.join(', ')} already exists and is not this stack's.`, `ip netns del ${taken[0]}, or choose another stack name with --name`);
}

/** Machine-wide: addresses, bridges and routes are the machine's, whatever WEBSTACK_HOME says. */
export const MACHINE_LOCK = '/run/lock/webstack.lock';

/**
 * Holds the machine-wide lock while `task` runs: one `up` at a time checks the address space and
 * creates its network, so two cannot both find the same range free. A lock left by a process that
 * is gone is taken over; a live holder is waited for, up to `waitMs`.
 */
export async function withMachineLock<T>(file: string, task: () => Promise<T>, waitMs = 30_000): Promise<T> {
  const me = `${process.pid} ${processStartTime(process.pid)}`;
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const fd = openSync(file, 'wx', 0o644);
      writeSync(fd, me);
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const [pid, start] = readHolder(file);
      // An empty file is a holder between creating and writing it: wait like for any other.
      if (pid && processStartTime(Number(pid)) !== start) {
        rmSync(file, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw labError('busy', `another webstack command (pid ${pid}) has been creating or changing a stack for ${Math.round(waitMs / 1000)} s.`);
      await sleep(100);
    }
  }
  try {
    return await task();
  } finally {
    if (readHolder(file).join(' ') === me) rmSync(file, { force: true });
  }
}

function readHolder(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').trim().split(' ');
  } catch {
    return [];
  }
}
