import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ResolvedStack } from '../design/types.ts';
import type { LabPlan } from '../plan/plan.ts';
import { netnsEtc, stackPaths } from '../plan/paths.ts';
import { NO_ROLLOUT, type Rollout } from '../plan/rollout.ts';
import { labError } from './errors.ts';
import { processStartTime } from './process.ts';
import type { DaemonSpec } from '../daemons/types.ts';
import type { SpecFile, SupervisorStatus } from './supervisor-types.ts';

// What a stack made, recorded before it is made: `down` reads only this (and the links' alias),
// so it works after a crash, a killed `up`, or with the design file gone.

/** What `up` records of the design a stack runs (config/design.json), for `audit`. */
export interface RunningDesign {
  readonly design: ResolvedStack;
  readonly unserved: LabPlan['unserved'];
  /** The public entry over HTTPS, and the lab's roots it verifies against, when the stack has TLS. */
  readonly tls: { readonly url: string; readonly roots: string } | null;
  /** Where the design's own app command runs (the design file's directory): `deploy` plans with it. */
  readonly designDir?: string;
}

export function readRunningDesign(home: string, stack: string): RunningDesign | null {
  const file = stackPaths(home, stack).design;
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as RunningDesign) : null;
}

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
    // Every host's own /etc (resolv.conf, the client's trusted roots): each is named after its namespace.
    etcDirs: topology.hosts.map((h) => netnsEtc(h.namespace)),
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

/** The site as users reach it, without a trailing slash: https://www.foobar.com with TLS, else http://. */
export function siteBase(running: RunningDesign): string {
  return running.tls ? running.tls.url.replace(/\/$/, '') : `http://${running.design.entry}.${running.design.domain}`;
}

/** The stacks that have a state file: up, half-made, or crashed. */
export function listStacks(home: string): string[] {
  if (!existsSync(home)) return [];
  return readdirSync(home, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(home, e.name, 'state.json')))
    .map((e) => e.name)
    .sort();
}

export const FAULT_KINDS = ['kill', 'freeze', 'cut', 'restart', 'partition'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface Fault {
  readonly how: FaultKind;
  readonly since: string;
  /** For `cut`: the interfaces that were up, and so are set up again by `heal`. */
  readonly links: readonly string[];
  /** For `partition`: the two sides, recorded alike under every host of either; `heal` of any one of them mends it. */
  readonly partition?: Partition;
}

export interface Partition {
  readonly from: readonly string[];
  readonly to: readonly string[];
  /** Each host's addresses when the partition was made (a virtual IP it held among them): what the other side drops. */
  readonly addresses: Readonly<Record<string, readonly string[]>>;
}

export type Faults = Readonly<Record<string, Fault>>;

/** The faults `fail` recorded in `file`; none when it is missing (or unreadable, mid-write by another process). */
export function readFaults(file: string): Faults {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Faults;
  } catch {
    return {};
  }
}

/** What `deploy` has changed in a stack (nothing, for a stack as `up` made it). */
export function readRollout(home: string, stack: string): Rollout {
  try {
    return JSON.parse(readFileSync(stackPaths(home, stack).rollout, 'utf8')) as Rollout;
  } catch {
    return NO_ROLLOUT;
  }
}

/** The replica `promote` made the primary of a stack (kept with its data); null while the design's primary is. */
export function readPromotion(home: string, stack: string): string | null {
  try {
    return (JSON.parse(readFileSync(stackPaths(home, stack).promotion, 'utf8')) as { primary?: string }).primary ?? null;
  } catch {
    return null;
  }
}

/** The daemons a stack runs, as `up` wrote them for its supervisor (config/daemons.json); null before that. */
export function readSpecs(home: string, stack: string): DaemonSpec[] | null {
  try {
    return (JSON.parse(readFileSync(join(stackPaths(home, stack).config, 'daemons.json'), 'utf8')) as SpecFile).specs.slice();
  } catch {
    return null;
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

export function supervisorAlive(state: StackState): boolean {
  return state.supervisor !== null && processStartTime(state.supervisor.pid) === state.supervisor.startTime;
}

/** `--stack` may be left out while exactly one stack exists. */
export function pickStack(home: string, requested: string | undefined): string {
  const stacks = listStacks(home);
  if (requested) {
    if (!stacks.includes(requested)) throw labError('no-stack', `there is no stack named '${requested}'${stacks.length ? `; stacks: ${stacks.join(', ')}` : '; no stack is up'}.`);
    return requested;
  }
  if (stacks.length === 1) return stacks[0]!;
  if (stacks.length === 0) throw labError('no-stack', 'no stack is up.', 'npx webstack up <design>');
  throw labError('no-stack', `${stacks.length} stacks are up (${stacks.join(', ')}); say which with --stack <name>.`, `--stack ${stacks[0]}`);
}

export type HostRecord = StackState['hosts'][number];

/** A host of a stack, from its record. */
export function hostRecord(home: string, stack: string, host: string): { state: StackState; host: HostRecord } {
  const state = readState(home, stack);
  if (!state) throw labError('no-stack', `there is no stack named '${stack}'.`);
  const found = state.hosts.find((h) => h.name === host);
  if (!found) throw labError('no-host', `stack '${stack}' has no host '${host}'; its hosts: ${state.hosts.map((h) => h.name).join(', ')}.`);
  return { state, host: found };
}

/** A host of a stack whose supervisor is running. */
export function runningHost(home: string, stack: string, host: string): { state: StackState; host: HostRecord } {
  const found = hostRecord(home, stack, host);
  if (!supervisorAlive(found.state)) throw labError('not-running', `stack '${stack}' is not running.`, `npx webstack up ${found.state.design} --name ${stack}`);
  return found;
}
