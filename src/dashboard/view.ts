import { capabilityExpressions } from '../analysis/capabilities.ts';
import { evaluate } from '../analysis/expr.ts';
import type { GaleraStatus, ReplicationStatus } from '../daemons/mariadb.ts';
import type { ResolvedStack } from '../design/types.ts';
import { CAPABILITIES, isDatabaseRole, type Capability, type Role } from '../design/vocabulary.ts';
import type { StackStatus } from '../lab/status.ts';
import type { TrafficView } from './traffic.ts';

// What the dashboard shows, pure: the running stack's state as one JSON document, from `status`
// (the supervisor's record and what each daemon reports of itself) and the design. The page only
// draws it; the same document is the API (`GET /api/state`) and is golden-tested.

/** A host's state in one word, with text beside the colour on the page. */
export type HostState = 'ready' | 'degraded' | 'failed' | 'faulted' | 'partitioned' | 'starting' | 'down';

export interface HostCard {
  readonly name: string;
  readonly roles: readonly string[];
  readonly addresses: Readonly<Record<string, string>>;
  readonly state: HostState;
  /** Why, in a few words: the fault, or the daemons that are not ready. */
  readonly why: string | null;
  readonly daemons: readonly { readonly name: string; readonly state: string; readonly summary: string | null }[];
  /** For a partition: the hosts on the other side. */
  readonly partitionedFrom: readonly string[];
  /** Whether the design has it (false for the lab's client and managed DNS). */
  readonly designed: boolean;
}

export interface BalancerView {
  readonly lb: string;
  /** Each backend as this load balancer sees it: UP, DOWN, MAINT, with its last check. */
  readonly servers: readonly { readonly server: string; readonly status: string; readonly check: string }[];
}

export interface DatabaseView {
  readonly kind: 'galera' | 'replication' | 'single' | 'none';
  /** Who takes writes now: the primary that is writable, or the cluster member holding the write address. */
  readonly writer: string | null;
  readonly servers: readonly { readonly host: string; readonly role: string; readonly summary: string | null; readonly lagSeconds: number | null; readonly synced: boolean | null }[];
}

export interface DashboardView {
  readonly stack: string;
  readonly phase: string;
  readonly hosts: readonly HostCard[];
  readonly virtualIps: readonly { readonly address: string; readonly role: string; readonly holder: string | null }[];
  readonly balancers: readonly BalancerView[];
  readonly database: DatabaseView;
  /**
   * What users can do now by `check`'s model of the stack, given which hosts are up (a failed,
   * faulted or partitioned host counts as lost): the prediction, next to what the traffic shows.
   */
  readonly capabilities: Readonly<Record<Capability, boolean>>;
  readonly traffic: TrafficView | null;
}

const LOST: readonly HostState[] = ['failed', 'faulted', 'partitioned', 'down'];

export function dashboardView(design: ResolvedStack, status: StackStatus, traffic: TrafficView | null): DashboardView {
  const designed = new Set(design.hosts.map((h) => h.name));
  const hosts = status.hosts.map((h): HostCard => {
    const daemons = h.daemons.map((d) => ({ name: d.name, state: d.state, summary: d.observed?.summary ?? null }));
    const notReady = daemons.filter((d) => d.state !== 'ready');
    const partition = h.fault?.partition;
    const partitionedFrom = partition ? (partition.from.includes(h.name) ? partition.to : partition.from) : [];
    const state: HostState =
      status.phase === 'down' ? 'down'
      : h.fault && !partition ? 'faulted'
      : partition ? 'partitioned'
      : daemons.length === 0 || notReady.length === 0 ? 'ready'
      : notReady.some((d) => d.state === 'failed') && notReady.length === daemons.length ? 'failed'
      : notReady.every((d) => ['waiting', 'initialising', 'starting'].includes(d.state)) ? 'starting'
      : 'degraded';
    const why =
      h.fault && !partition ? `failed on purpose (${h.fault.how}) since ${h.fault.since}`
      : partition ? `cut off from ${partitionedFrom.join(', ')} since ${h.fault!.since}`
      : notReady.length > 0 ? notReady.map((d) => `${d.name} ${d.state}`).join(', ')
      : null;
    return { name: h.name, roles: h.roles, addresses: h.addresses, state, why, daemons, partitionedFrom, designed: designed.has(h.name) };
  });
  const byName = new Map(hosts.map((h) => [h.name, h]));
  const observed = (host: string, daemon: string) => status.hosts.find((h) => h.name === host)?.daemons.find((d) => d.name === daemon)?.observed?.details;

  const virtualIps = design.virtualIps.map((vip) => {
    const holder = vip.holders.find((h) => {
      const details = status.hosts.find((x) => x.name === h)?.daemons.map((d) => d.observed?.details).find((d) => Array.isArray(d?.holds));
      return (details?.holds as string[] | undefined)?.includes(vip.address) ?? false;
    });
    return { address: vip.address, role: vip.role, holder: holder ?? null };
  });

  const balancers = design.hosts
    .filter((h) => h.roles.includes('lb'))
    .map((h) => ({ lb: h.name, servers: ((observed(h.name, 'haproxy')?.servers ?? []) as { backend: string; server: string; status: string; check: string }[]).map((s) => ({ server: s.server, status: s.status, check: s.check })) }));

  const up = (host: string) => !LOST.includes(byName.get(host)?.state ?? 'down');
  const expressions = capabilityExpressions(design);
  const capabilities = Object.fromEntries(CAPABILITIES.map((c) => [c, evaluate(expressions[c], (h) => up(h))])) as Record<Capability, boolean>;

  return { stack: status.stack, phase: status.phase, hosts, virtualIps, balancers, database: databaseView(design, status, virtualIps), capabilities, traffic };
}

function databaseView(design: ResolvedStack, status: StackStatus, virtualIps: DashboardView['virtualIps']): DatabaseView {
  const servers = design.hosts.filter((h) => h.roles.some(isDatabaseRole));
  if (servers.length === 0) return { kind: 'none', writer: null, servers: [] };
  const kind: DatabaseView['kind'] = design.policies.db.replication === 'galera' ? 'galera' : servers.length > 1 ? 'replication' : 'single';
  const rows = servers.map((h) => {
    const view = status.hosts.find((x) => x.name === h.name)?.daemons.find((d) => d.name === 'mariadb');
    const details = view?.observed?.details as { role?: string; replication?: ReplicationStatus; galera?: GaleraStatus } | undefined;
    const designedRole = h.roles.find(isDatabaseRole) as Role;
    return {
      host: h.name,
      role: details?.role ?? (designedRole === 'db-primary' ? 'primary' : designedRole === 'db-replica' ? 'replica' : 'member'),
      summary: view?.observed?.summary ?? null,
      lagSeconds: details?.replication?.lagSeconds ?? null,
      synced: details?.galera ? details.galera.ready && details.galera.state === 'Synced' : null,
      running: view?.state === 'ready',
    };
  });
  const writer =
    kind === 'galera' ? (virtualIps.find((v) => v.role === 'db')?.holder ?? null)
    : (rows.find((r) => r.role === 'primary' && r.running)?.host ?? null);
  return { kind, writer, servers: rows.map(({ running: _running, ...row }) => row) };
}
