import { existsSync } from 'node:fs';
import { daemonNamed } from '../daemons/registry.ts';
import type { Observation } from '../daemons/types.ts';
import { firewallFile } from '../plan/firewall.ts';
import { stackPaths } from '../plan/paths.ts';
import { observeFirewall, type FirewallView } from './firewall.ts';
import { labError } from './errors.ts';
import { readFaults, readSpecs, readState, readStatus, supervisorAlive, type Fault } from './state.ts';
import type { DaemonStatus, SupervisorStatus } from './supervisor-types.ts';
import type { Target } from './target.ts';
import { formatTiers, traffic, type Traffic } from './traffic.ts';

// Status is data: computed from the stack's record, the supervisor's status file and the faults
// file, then printed as text or JSON (`status --json` is the one source for the CLI and, later, a
// dashboard). Each running daemon adds its own details through its module's `observe`: a
// replica's lag, what HAProxy sees of its servers. This module knows no daemon's internals.

export const STACK_PHASES = ['starting', 'running', 'failed', 'stopping', 'stopped', 'down'] as const;
export type StackPhase = (typeof STACK_PHASES)[number];

/** A daemon as `status` shows it: the supervisor's record of it, and what it reports of itself. */
export interface DaemonView extends Pick<DaemonStatus, 'desired' | 'state' | 'hint' | 'pid' | 'restarts' | 'reloads' | 'errors'> {
  readonly name: string;
  /** null when the supervisor is not running. */
  readonly since: string | null;
  /** What the daemon reports of itself (its module's observe), while it runs. */
  observed?: Observation | null;
}

export interface HostView {
  readonly name: string;
  readonly roles: readonly string[];
  readonly addresses: Readonly<Record<string, string>>;
  readonly daemons: readonly DaemonView[];
  /** Set while `fail` has it broken. */
  readonly fault: Fault | null;
  /** Whether the design firewalls the host. */
  readonly firewalled: boolean;
  /** Its firewall as the kernel has it (loaded, what it refused), asked while the stack runs. */
  firewall?: FirewallView | null;
}

export interface StackStatus {
  readonly stack: string;
  readonly design: string;
  readonly phase: StackPhase;
  /** What to do about the phase, when something is wrong. */
  readonly hint: string | null;
  /** How many designs the running stack has taken (1 at `up`). */
  readonly generation: number | null;
  readonly applied: SupervisorStatus['applied'];
  readonly failure: SupervisorStatus['failure'];
  readonly errors: readonly string[];
  readonly hosts: readonly HostView[];
  /** Each tier's requests, errors and p99 from Prometheus, when the stack has monitoring. */
  traffic?: Traffic | null;
}

export function stackStatus(home: string, stack: string): StackStatus {
  const state = readState(home, stack);
  if (!state) throw labError('no-stack', `there is no stack named '${stack}'.`, 'npx webstack ls');
  const paths = stackPaths(home, stack);
  const alive = supervisorAlive(state);
  const status = alive ? readStatus(paths.daemons) : null;
  const faults = alive ? readFaults(paths.faults) : {};
  const phase: StackPhase = alive ? (status?.phase ?? 'starting') : 'down';
  const hint =
    phase === 'down'
      ? `its supervisor is not running; \`npx webstack down ${stack}\` cleans up, \`npx webstack up ${state.design} --name ${stack}\` starts it again`
      : phase === 'failed'
        ? `${status?.failure?.reason ?? 'the start failed'}; \`npx webstack down ${stack}\` removes it`
        : null;
  const errors = status ? status.daemons.flatMap((d) => d.errors.map((e) => `${d.host}/${d.daemon}: ${e}`)) : [];
  return {
    stack,
    design: state.design,
    phase,
    hint,
    generation: status?.generation ?? null,
    applied: status?.applied ?? null,
    failure: status?.failure ?? null,
    errors,
    hosts: state.hosts.map((h) => ({
      name: h.name,
      roles: h.roles,
      addresses: h.addresses,
      daemons: h.daemons.map((name): DaemonView => {
        const d = status?.daemons.find((x) => x.host === h.name && x.daemon === name);
        return { name, desired: 'running', state: d?.state ?? 'stopped', hint: d?.hint ?? null, pid: d?.pid ?? null, restarts: d?.restarts ?? 0, reloads: d?.reloads ?? 0, since: d?.since ?? null, errors: d?.errors ?? [] };
      }),
      fault: faults[h.name] ?? null,
      firewalled: existsSync(firewallFile(paths, h.name)),
    })),
  };
}

/** Asks every running daemon that can report on itself, all at once. */
export async function withObservations(status: StackStatus, home: string, target: Target): Promise<StackStatus> {
  const state = readState(home, status.stack);
  const firewalls = status.phase === 'down' ? [] : status.hosts.filter((h) => h.firewalled).map(async (host) => {
    const namespace = state?.hosts.find((h) => h.name === host.name)?.namespace;
    host.firewall = namespace ? await observeFirewall(target, namespace).catch(() => null) : null;
  });
  const specs = readSpecs(home, status.stack);
  const figures = status.phase === 'running' && specs ? traffic(specs, target).then((t) => void (status.traffic = t)) : Promise.resolve();
  await Promise.all([...firewalls, figures]);
  if (!specs) return status;
  await Promise.all(
    status.hosts.flatMap((host) =>
      host.daemons.map(async (view) => {
        const observe = daemonNamed(view.name)?.observe;
        const spec = specs.find((s) => s.host === host.name && s.daemon === view.name);
        if (!observe || !spec) return;
        if (view.state !== 'ready' && view.state !== 'unhealthy') return void (view.observed = null);
        view.observed = await observe(spec, (argv, timeoutMs) => target.run(spec.namespace, argv, { allowFailure: true, timeoutMs })).catch(() => null);
      }),
    ),
  );
  return status;
}

function describeFault(host: string, fault: Fault): string {
  if (!fault.partition) return `FAILED (${fault.how}, since ${fault.since})`;
  const { from, to } = fault.partition;
  return `PARTITIONED from ${(from.includes(host) ? to : from).join(', ')} (since ${fault.since})`;
}

export function formatStatus(s: StackStatus): string {
  const rows = s.hosts.map((h) => [
    h.name,
    Object.entries(h.addresses).map(([n, a]) => `${a} (${n})`).join(', '),
    h.roles.join(', ') || '-',
    (h.fault ? `${describeFault(h.name, h.fault)}; ` : '') +
      (h.daemons.map((d) => `${d.name}: ${d.state}${d.restarts ? ` (${d.restarts} restarts)` : ''}${d.reloads ? ` (${d.reloads} reloads)` : ''}`).join(', ') || '-'),
  ]);
  const header = ['HOST', 'ADDRESSES', 'ROLES', 'DAEMONS'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  const observed = s.hosts.flatMap((h) =>
    h.daemons.filter((d) => d.observed !== undefined).map((d) => `  ${h.name} ${d.name}: ${d.observed ? d.observed.summary : `not known (${d.state})`}`),
  );
  const firewalls = s.hosts.filter((h) => h.firewall !== undefined).map((h) => `  ${h.name}: ${describeFirewall(h.firewall ?? null)}`);
  const hints = s.hosts.flatMap((h) => h.daemons.filter((d) => d.hint && d.state !== 'ready').map((d) => `  ${h.name} ${d.name} ${d.state}: ${d.hint}`));
  const section = (title: string, lines: string[]) => (lines.length ? `${title}:\n${lines.join('\n')}\n` : '');
  const figures = s.traffic ? formatTiers(s.traffic) : [];
  return `${s.stack} (${s.design}): ${s.phase}${s.hint ? ` (${s.hint})` : ''}\n${[header, ...rows].map(line).join('\n')}\n${section('seen by the daemons', observed)}${section(`traffic, last minute (${s.traffic?.from}'s Prometheus)`, figures)}${section('firewalls', firewalls)}${section('why', hints)}`;
}

function describeFirewall(fw: FirewallView | null): string {
  if (!fw) return 'not known';
  if (!fw.loaded) return 'NOT LOADED: every port of the host is open';
  const lately = [...fw.recentIn.map((r) => `from ${r.address} ${r.protocol} ${r.port}`), ...fw.recentOut.map((r) => `to ${r.address} ${r.protocol} ${r.port}`)].slice(0, 4);
  const more = fw.recentInCount + fw.recentOutCount - lately.length;
  return `loaded; refused ${fw.refusedIn} packets in, ${fw.refusedOut} out${lately.length ? ` (lately: ${lately.join(', ')}${more > 0 ? `, and ${more} more in the last hour` : ''})` : ''}`;
}
