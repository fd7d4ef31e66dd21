import { PORTS } from '../design/ports.ts';
import type { ResolvedHost, ResolvedStack } from '../design/types.ts';
import { CLIENT, isDatabaseRole, type Role } from '../design/vocabulary.ts';

// The architecture as the seeds draw it, independent of any drawing format:
// user → DNS → LB tier → web tier → app tier → databases, cache and monitoring beside,
// networks as boundaries, firewalled hosts marked. Both renderers read only this.

export type NodeShape = 'user' | 'dns' | 'vip' | 'host' | 'database';

export interface DiagramNode {
  readonly id: string;
  readonly shape: NodeShape;
  /** First line is the title (a host's name). */
  readonly lines: readonly string[];
  /** The boundary it sits in, or null for things outside the stack (user, managed DNS). */
  readonly group: string | null;
  readonly firewall: boolean;
  /**
   * Its column in the seeds' order, left to right: user, DNS, virtual IP, lb, web, app, cache,
   * database. Layout keeps it whatever the networks, so that a backend with a public address
   * does not send the lb → web edges around the picture.
   */
  readonly rank: number;
  /** How many hosts it stands for: more than one for a tier drawn as one node. */
  readonly count: number;
}

export interface DiagramGroup {
  readonly id: string;
  readonly label: string;
}

export interface DiagramEdge {
  readonly from: string;
  readonly to: string;
  readonly label: string;
  readonly style: 'solid' | 'dashed';
}

export interface Diagram {
  readonly title: string;
  readonly groups: readonly DiagramGroup[];
  readonly nodes: readonly DiagramNode[];
  readonly edges: readonly DiagramEdge[];
}

export interface DiagramOptions {
  /** Draw every host, even in a tier of hundreds; by default a tier of more than TIER_LIMIT is one node. */
  readonly expand?: boolean;
}

/** More hosts than this with the same roles in the same boundary are drawn as one node with a count. */
export const TIER_LIMIT = 3;

const PROTOCOL_NAMES: Record<number, string> = { [PORTS.http]: 'HTTP', [PORTS.https]: 'HTTPS', [PORTS.app]: 'HTTP', [PORTS.mysql]: 'SQL', [PORTS.redis]: 'Redis', [PORTS.dns]: 'DNS' };

const RANKS: Record<Role, number> = { dns: 1, lb: 3, web: 4, app: 5, monitoring: 5, cache: 6, 'db-primary': 7, 'db-replica': 7, db: 7 };
const RANK = { user: 0, dns: 1, vip: 2 } as const;

/** A host's column: its earliest role on the request path (a server running web, app and db sits with web). */
const rankOf = (roles: readonly Role[]) => Math.min(...roles.map((r) => RANKS[r]));

const safe = (name: string) => name.replace(/[^A-Za-z0-9]/g, '_');

/** A host's node id: prefixed, so that no host name (such as 'end') can read as Mermaid syntax. */
export function nodeId(name: string): string {
  return `h_${safe(name)}`;
}

const groupId = (network: string) => `net_${safe(network)}`;

/**
 * The boundary each host is drawn in. A host the client reaches (the entry, the stack's DNS) sits
 * at the edge, in the public network it is reached on; any other host sits in its private
 * network, even with a public address as well (its address line shows that, and check flags
 * it), so that the boundaries read left to right in the order traffic crosses them.
 */
function boundaries(stack: ResolvedStack): Map<string, string> {
  const reached = new Map<string, string>();
  for (const f of stack.flows) if (f.from === CLIENT && f.network !== null && !reached.has(f.to)) reached.set(f.to, f.network);
  return new Map(
    stack.hosts.map((host) => {
      const networks = Object.keys(host.addresses);
      const inside = networks.find((name) => stack.networks.some((n) => n.name === name && n.exposure !== 'public'));
      return [host.name, groupId(reached.get(host.name) ?? inside ?? networks[0]!)];
    }),
  );
}

function monitoringLine(stack: ResolvedStack): string {
  const watched = stack.hosts.filter((h) => h.monitored).length;
  const extras = [stack.policies.monitoring.uptimeCheck ? 'uptime check' : '', stack.policies.monitoring.alerting ? 'alerts' : ''].filter(Boolean);
  return `scrapes ${watched} hosts${extras.length ? ` + ${extras.join(' + ')}` : ''}`;
}

const recordLines = (stack: ResolvedStack) => stack.records.map((r) => `${r.fqdn} A ${r.addresses.join(', ')}`);

function hostLines(stack: ResolvedStack, host: ResolvedHost): string[] {
  const lines = [host.name, Object.values(host.addresses).join(' · '), host.roles.join(', ')];
  if (host.roles.includes('monitoring')) lines.push(monitoringLine(stack));
  // A stack that runs its own DNS shows its records where they are served.
  if (host.roles.includes('dns')) lines.push(...recordLines(stack));
  if (host.firewall) lines.push('firewall');
  return lines;
}

const isDatabase = (roles: readonly Role[]) => roles.every(isDatabaseRole);

const addressOrder = (address: string) => address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);

/** One node for many hosts with the same roles in the same boundary: 'web ×13'. */
function tierNode(stack: ResolvedStack, hosts: readonly ResolvedHost[], group: string): DiagramNode {
  const first = hosts[0]!;
  const network = group.slice('net_'.length);
  const addresses = hosts
    .map((h) => h.addresses[network] ?? Object.values(h.addresses)[0]!)
    .sort((a, b) => addressOrder(a) - addressOrder(b));
  const firewalled = hosts.filter((h) => h.firewall).length;
  const lines = [`${first.roles.join(', ')} ×${hosts.length}`, `${first.name} … ${hosts.at(-1)!.name}`, `${addresses[0]} … ${addresses.at(-1)}`];
  if (first.roles.includes('monitoring')) lines.push(monitoringLine(stack));
  if (firewalled === hosts.length) lines.push('firewall');
  else if (firewalled > 0) lines.push(`firewall on ${firewalled} of ${hosts.length}`);
  const id = `t_${safe(network)}_${safe(first.roles.join('-'))}`;
  return { id, shape: isDatabase(first.roles) ? 'database' : 'host', lines, group, firewall: firewalled === hosts.length, rank: rankOf(first.roles), count: hosts.length };
}

export function diagramModel(stack: ResolvedStack, options: DiagramOptions = {}): Diagram {
  const nodes: DiagramNode[] = [];
  const edges: DiagramEdge[] = [];
  const entry = stack.records.find((r) => r.name === stack.entry);
  const resolveLabel = `resolve ${entry?.fqdn ?? stack.domain}`;

  const groupOf = boundaries(stack);
  const groups: DiagramGroup[] = stack.networks
    .filter((n) => [...groupOf.values()].includes(groupId(n.name)))
    .map((n) => ({ id: groupId(n.name), label: `${n.name} network ${n.cidr}${stack.policies.firewall ? ' · firewalled hosts' : ''}` }));

  nodes.push({ id: 'user', shape: 'user', lines: ['user', `client ${Object.values(stack.client.addresses).join(' · ')}`], group: null, firewall: false, rank: RANK.user, count: 1 });
  if (stack.dns.mode === 'managed') {
    nodes.push({ id: 'dns', shape: 'dns', lines: ['DNS (managed)', ...recordLines(stack)], group: null, firewall: false, rank: RANK.dns, count: 1 });
    edges.push({ from: 'user', to: 'dns', label: resolveLabel, style: 'solid' });
  }

  // Hosts with the same roles in the same boundary, in design order; a tier past the limit is one node.
  const tiers = new Map<string, ResolvedHost[]>();
  for (const host of stack.hosts) {
    const key = `${groupOf.get(host.name)!}|${host.roles.join(',')}`;
    tiers.set(key, [...(tiers.get(key) ?? []), host]);
  }
  const drawnAs = new Map<string, string>([[CLIENT, 'user']]);
  for (const hosts of tiers.values()) {
    const group = groupOf.get(hosts[0]!.name)!;
    if (hosts.length > TIER_LIMIT && !options.expand) {
      const node = tierNode(stack, hosts, group);
      nodes.push(node);
      for (const h of hosts) drawnAs.set(h.name, node.id);
      continue;
    }
    for (const host of hosts) {
      nodes.push({ id: nodeId(host.name), shape: isDatabase(host.roles) ? 'database' : 'host', lines: hostLines(stack, host), group, firewall: host.firewall, rank: rankOf(host.roles), count: 1 });
      drawnAs.set(host.name, nodeId(host.name));
    }
  }
  // Design order within a column, whichever tier a host was grouped in.
  nodes.sort((a, b) => a.rank - b.rank);

  const seen = new Set<string>();
  const addEdge = (edge: DiagramEdge) => {
    const key = `${edge.from}>${edge.to}>${edge.label}`;
    if (edge.from === edge.to || seen.has(key)) return;
    seen.add(key);
    edges.push(edge);
  };

  const web = stack.policies.tls ? `HTTPS ${PORTS.https}, HTTP ${PORTS.http}` : `HTTP ${PORTS.http}`;
  for (const vip of stack.virtualIps) {
    const id = `vip_${safe(vip.role)}`;
    // A database cluster's write address is the app servers' way in, not the user's.
    const writer = vip.role === 'db';
    nodes.push({ id, shape: 'vip', lines: [writer ? 'write address' : 'virtual IP', vip.address, `keepalived: ${vip.holders.join(', ')}`], group: groupId(vip.network), firewall: false, rank: writer ? RANKS.db : RANK.vip, count: 1 });
    if (!writer) addEdge({ from: 'user', to: id, label: web, style: 'solid' });
    vip.holders.forEach((holder, i) => addEdge({ from: id, to: drawnAs.get(holder)!, label: i === 0 ? 'holder' : 'standby', style: i === 0 ? 'solid' : 'dashed' }));
  }

  // Flows between hosts, one edge per pair of nodes and purpose; what stays inside a host
  // is drawn by the roles in its label. Monitoring is summed up on its node instead of
  // an edge to every host, which would drown the picture.
  const pairs = new Map<string, { from: string; to: string; ports: Set<number>; purpose: string }>();
  for (const flow of stack.flows) {
    if (flow.network === null || ['metrics', 'logs', 'vrrp', 'alert-cluster'].includes(flow.purpose)) continue;
    if (flow.purpose === 'dns' && flow.from !== CLIENT) continue; // every host's lookups would hide the picture
    if (flow.from === CLIENT && stack.virtualIps.some((v) => v.holders.includes(flow.to))) continue;
    // A cluster's members talk both ways: one edge per pair. Writes go through its write address.
    if (flow.purpose === 'galera' && flow.from > flow.to) continue;
    if (flow.purpose === 'sql-write' && flow.toRole === 'db' && stack.virtualIps.some((v) => v.role === 'db')) {
      addEdge({ from: drawnAs.get(flow.from)!, to: 'vip_db', label: `SQL ${PORTS.mysql} writes`, style: 'solid' });
      continue;
    }
    // The seeds draw replication from the primary to the replica, the way the data goes.
    const [from, to] = (flow.purpose === 'replication' ? [flow.to, flow.from] : [flow.from, flow.to]).map((h) => drawnAs.get(h)!) as [string, string];
    const key = `${from}>${to}>${flow.purpose}`;
    const pair = pairs.get(key) ?? { from, to, ports: new Set<number>(), purpose: flow.purpose };
    pair.ports.add(flow.port);
    pairs.set(key, pair);
  }
  for (const p of pairs.values()) {
    const ports = [...p.ports].sort((a, b) => b - a).map((port) => `${PROTOCOL_NAMES[port] ?? 'TCP'} ${port}`).join(', ');
    const label =
      p.purpose === 'replication' ? 'replication'
      : p.purpose === 'sql-write' ? `${ports} writes`
      : p.purpose === 'sql-read' ? `${ports} reads`
      : p.purpose === 'dns' ? `${resolveLabel}, ${ports}`
      : p.purpose === 'galera' ? `Galera ${PORTS.galera}, state transfers ${PORTS.galeraIst}, ${PORTS.galeraSst}`
      : ports;
    addEdge({ from: p.from, to: p.to, label, style: p.purpose === 'replication' || p.purpose === 'sql-read' ? 'dashed' : 'solid' });
  }

  return { title: `${stack.stack}: ${stack.description || stack.domain}`, groups, nodes, edges };
}
