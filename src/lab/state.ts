import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Faults } from './faults.ts';
import type { LabPlan } from './plan.ts';
import type { SupervisorStatus } from './supervisor.ts';
import { stackPaths } from './paths.ts';

// What a stack made, recorded before it is made: `down` reads only this (and the links' alias),
// so it works after a crash, a killed `up`, or with the design file gone.

export interface StackState {
  readonly version: 1;
  readonly stack: string;
  /** The design as the user named it (file or blueprint), for messages. */
  readonly design: string;
  readonly fingerprint: string;
  readonly createdAt: string;
  readonly networks: readonly { readonly name: string; readonly cidr: string; readonly bridge: string }[];
  readonly namespaces: readonly string[];
  readonly links: readonly string[];
  readonly linkAlias: string;
  readonly etcDirs: readonly string[];
  readonly hosts: readonly { readonly name: string; readonly namespace: string; readonly roles: readonly string[]; readonly addresses: Readonly<Record<string, string>>; readonly daemons: readonly string[] }[];
  /** The supervisor's pid and its kernel start time, so a recycled pid is never mistaken for it. */
  readonly supervisor: { readonly pid: number; readonly startTime: string } | null;
}

export function stateFromPlan(plan: LabPlan, design: string, networks: readonly { name: string; cidr: string }[]): StackState {
  const { topology } = plan;
  return {
    version: 1,
    stack: plan.stack,
    design,
    fingerprint: plan.fingerprint,
    createdAt: new Date().toISOString(),
    networks: networks.map((n) => ({ name: n.name, cidr: n.cidr, bridge: topology.bridges.find((b) => b.network === n.name)!.name })),
    namespaces: topology.hosts.map((h) => h.namespace),
    links: [...topology.bridges.map((b) => b.name), ...topology.hosts.flatMap((h) => h.interfaces.map((i) => i.peer))],
    linkAlias: topology.linkAlias,
    etcDirs: plan.resolvConfs.map((f) => dirname(f.path)),
    hosts: topology.hosts.map((h) => ({
      name: h.name,
      namespace: h.namespace,
      roles: [...h.roles],
      addresses: { ...h.addresses },
      daemons: plan.daemons.filter((d) => d.host === h.name).map((d) => d.daemon),
    })),
    supervisor: null,
  };
}

export function readState(home: string, stack: string): StackState | null {
  const file = stackPaths(home, stack).state;
  if (!existsSync(file)) return null;
  return JSON.parse(readFileSync(file, 'utf8')) as StackState;
}

export function writeState(home: string, state: StackState): void {
  writeJsonAtomic(stackPaths(home, state.stack).state, state);
}

/** The stacks that have a state file: up, half-made, or crashed. */
export function listStacks(home: string): string[] {
  if (!existsSync(home)) return [];
  return readdirSync(home, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(home, e.name, 'state.json')))
    .map((e) => e.name)
    .sort();
}

/** The faults `fail` recorded in `file`; none when it is missing (or unreadable, mid-write by another process). */
export function readFaults(file: string): Faults {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Faults;
  } catch {
    return {};
  }
}

/** The supervisor's status file, or null before it has written one. */
export function readStatus(file: string): SupervisorStatus | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as SupervisorStatus;
  } catch {
    return null;
  }
}

export function writeJsonAtomic(file: string, value: unknown, mode = 0o644): void {
  mkdirSync(dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(value, null, 2) + '\n', { mode });
  renameSync(temp, file);
}

/** The kernel's start time of a process (field 22 of /proc/<pid>/stat), or null if it is gone. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from its closing one.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

export function supervisorAlive(state: StackState): boolean {
  return state.supervisor !== null && processStartTime(state.supervisor.pid) === state.supervisor.startTime;
}
