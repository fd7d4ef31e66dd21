import { listStacks, readState, readStatus, supervisorAlive } from './state.ts';
import { stackPaths } from './paths.ts';
import { LabError } from './preflight.ts';

// Status is data: computed from the stack's record and the supervisor's status file, then printed
// as text or JSON. Nothing here touches namespaces.

export interface StackStatus {
  readonly stack: string;
  readonly design: string;
  readonly phase: string;
  readonly hosts: readonly {
    readonly name: string;
    readonly roles: readonly string[];
    readonly addresses: Readonly<Record<string, string>>;
    readonly daemons: readonly { readonly name: string; readonly state: string; readonly pid: number | null; readonly restarts: number }[];
  }[];
}

export function stackStatus(home: string, stack: string): StackStatus {
  const state = readState(home, stack);
  if (!state) throw new LabError(`there is no stack named '${stack}'.`);
  const alive = supervisorAlive(state);
  const status = alive ? readStatus(stackPaths(home, stack).daemons) : null;
  return {
    stack,
    design: state.design,
    phase: alive ? (status?.phase ?? 'starting') : 'down (its supervisor is not running; `npx webstack down` cleans up, `up` starts it again)',
    hosts: state.hosts.map((h) => ({
      name: h.name,
      roles: h.roles,
      addresses: h.addresses,
      daemons: h.daemons.map((name) => {
        const d = status?.daemons.find((x) => x.host === h.name && x.daemon === name);
        return { name, state: d?.state ?? 'stopped', pid: d?.pid ?? null, restarts: d?.restarts ?? 0 };
      }),
    })),
  };
}

export function formatStatus(s: StackStatus): string {
  const rows = s.hosts.map((h) => [
    h.name,
    Object.entries(h.addresses).map(([n, a]) => `${a} (${n})`).join(', '),
    h.roles.join(', ') || '-',
    h.daemons.map((d) => `${d.name}: ${d.state}${d.restarts ? ` (${d.restarts} restarts)` : ''}`).join(', ') || '-',
  ]);
  const header = ['HOST', 'ADDRESSES', 'ROLES', 'DAEMONS'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return `${s.stack} (${s.design}): ${s.phase}\n${[header, ...rows].map(line).join('\n')}\n`;
}

/** `--stack` may be left out while exactly one stack exists. */
export function pickStack(home: string, requested: string | undefined): string {
  const stacks = listStacks(home);
  if (requested) {
    if (!stacks.includes(requested)) throw new LabError(`there is no stack named '${requested}'${stacks.length ? `; stacks: ${stacks.join(', ')}` : '; no stack is up (npx webstack up <design>)'}.`);
    return requested;
  }
  if (stacks.length === 1) return stacks[0]!;
  if (stacks.length === 0) throw new LabError('no stack is up; start one with `npx webstack up <design>`.');
  throw new LabError(`${stacks.length} stacks are up (${stacks.join(', ')}); say which with --stack <name>.`);
}

export function namespaceOfHost(home: string, stack: string, host: string): string {
  const state = readState(home, stack)!;
  const found = state.hosts.find((h) => h.name === host);
  if (!found) throw new LabError(`stack '${stack}' has no host '${host}'; its hosts: ${state.hosts.map((h) => h.name).join(', ')}.`);
  return found.namespace;
}
