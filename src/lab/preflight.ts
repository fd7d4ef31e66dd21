import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { overlaps, parseCidr } from '../design/addresses.ts';
import type { ResolvedStack } from '../design/types.ts';
import type { Executor } from './executor.ts';
import { readState, listStacks } from './state.ts';

// What `up` checks before it creates anything, each failure one sentence with the fix.

export class LabError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LabError';
  }
}

/** The programs the lab runs, and the Debian package each comes from. */
export const REQUIRED_PROGRAMS: Readonly<Record<string, string>> = {
  ip: 'iproute2',
  bash: 'bash',
  curl: 'curl',
  dig: 'bind9-dnsutils',
  knotd: 'knot',
  nginx: 'nginx-light',
  mariadbd: 'mariadb-server',
  'mariadb-install-db': 'mariadb-server',
  mariadb: 'mariadb-client',
  haproxy: 'haproxy',
};

export const INSTALL_HINT = 'run `bash scripts/install.sh` as root, which installs them';

export function findProgram(name: string, path = process.env.PATH ?? ''): string | null {
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

export function checkMachine(): void {
  if (process.platform !== 'linux') throw new LabError(`the lab runs on Linux, with network namespaces; this is ${process.platform}.`);
  if (process.getuid?.() !== 0) throw new LabError('the lab creates network namespaces and links, which needs root: run it again with sudo.');
  const missing = Object.keys(REQUIRED_PROGRAMS).filter((p) => !findProgram(p));
  if (missing.length > 0) {
    const packages = [...new Set(missing.map((p) => REQUIRED_PROGRAMS[p]))].join(' ');
    throw new LabError(`missing ${missing.join(', ')} (Debian: ${packages}); ${INSTALL_HINT}.`);
  }
}

interface Route {
  dst: string;
  dev?: string;
}

/** Refuses a stack whose networks overlap a route of this machine or a network of another stack. */
export async function checkAddressSpace(design: ResolvedStack, stack: string, home: string, executor: Executor): Promise<void> {
  const others = listStacks(home)
    .filter((s) => s !== stack)
    .map((s) => readState(home, s)!)
    .filter(Boolean);
  const labBridges = new Set(others.flatMap((o) => o.networks.map((n) => n.bridge)));
  const { stdout } = await executor.run(['ip', '-j', '-4', 'route', 'show', 'table', 'all']);
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
  if (problems.length > 0) {
    throw new LabError(`stack '${stack}' cannot start: ${[...new Set(problems)].join('; ')}. Give the design other ranges (networks.<name>.cidr), or stop the other stack with \`npx webstack down <stack>\`.`);
  }
}

/** Every network namespace on the machine, ours or not. */
export async function listNamespaces(executor: Executor): Promise<string[]> {
  const { stdout } = await executor.run(['ip', '-j', 'netns', 'list']);
  return (JSON.parse(stdout || '[]') as { name: string }[]).map((n) => n.name);
}

/** Refuses to adopt a namespace of the same name that this stack did not make. */
export async function checkNamespacesFree(namespaces: readonly string[], executor: Executor): Promise<void> {
  const existing = new Set(await listNamespaces(executor));
  const taken = namespaces.filter((n) => existing.has(n));
  if (taken.length > 0) throw new LabError(`network namespace ${taken.join(', ')} already exists and is not this stack's; remove it (ip netns del <name>) or choose another stack name with --name.`);
}
