import { PORTS } from '../design/ports.ts';
import type { ResolvedHost, ResolvedStack } from '../design/types.ts';
import { CLIENT, type Role } from '../design/vocabulary.ts';

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

const PROTOCOL_NAMES: Record<number, string> = { [PORTS.http]: 'HTTP', [PORTS.https]: 'HTTPS', [PORTS.app]: 'HTTP', [PORTS.mysql]: 'SQL', [PORTS.redis]: 'Redis', [PORTS.dns]: 'DNS' };

/** A host's node id: prefixed, so that no host name (such as 'end') can read as Mermaid syntax. */
const safe = (name: string) => name.replace(/[^A-Za-z0-9]/g, '_');

/** A host's node id: prefixed, so that no host name (such as 'end') can read as Mermaid syntax. */
export function nodeId(name: string): string {
  return `h_${safe(name)}`;
}

const groupId = (network: string) => `net_${safe(network)}`;

function groupOf(stack: ResolvedStack, host: ResolvedHost): string {
  // A host on the public network sits at the edge, whatever else it is on.
  const networks = Object.keys(host.addresses);
  const public_ = stack.networks.find((n) => n.exposure === 'public' && networks.includes(n.name));
  return groupId(public_?.name ?? networks[0]!);
}

function hostLines(stack: ResolvedStack, host: ResolvedHost): string[] {
  const lines = [host.name, Object.values(host.addresses).join(' · '), host.roles.join(', ')];
  if (host.roles.includes('monitoring')) {
    const watched = stack.hosts.filter((h) => h.monitored).length;
    const extras = [stack.policies.monitoring.uptimeCheck ? 'uptime check' : '', stack.policies.monitoring.alerting ? 'alerts' : ''].filter(Boolean);
    lines.push(`scrapes ${watched} hosts${extras.length ? ` + ${extras.join(' + ')}` : ''}`);
  }
  if (host.firewall) lines.push('firewall');
  return lines;
}

const isDatabase = (roles: readonly Role[]) => roles.every((r) => r === 'db-primary' || r === 'db-replica');

export function diagramModel(stack: ResolvedStack): Diagram {
  const nodes: DiagramNode[] = [];
  const edges: DiagramEdge[] = [];
  const entry = stack.records.find((r) => r.name === stack.entry);

  const groups: DiagramGroup[] = stack.networks
    .filter((n) => stack.hosts.some((h) => groupOf(stack, h) === groupId(n.name)))
    .map((n) => ({ id: groupId(n.name), label: `${n.name} network ${n.cidr}${stack.policies.firewall ? ' · firewalled hosts' : ''}` }));

  nodes.push({ id: 'user', shape: 'user', lines: ['user', `client ${Object.values(stack.client.addresses).join(' · ')}`], group: null, firewall: false });
  if (stack.dns.mode === 'managed') {
    const records = stack.records.map((r) => `${r.fqdn} A ${r.addresses.join(', ')}`);
    nodes.push({ id: 'dns', shape: 'dns', lines: ['DNS (managed)', ...records], group: null, firewall: false });
    edges.push({ from: 'user', to: 'dns', label: `resolve ${entry?.fqdn ?? stack.domain}`, style: 'solid' });
  }

  for (const host of stack.hosts) {
    nodes.push({ id: nodeId(host.name), shape: isDatabase(host.roles) ? 'database' : 'host', lines: hostLines(stack, host), group: groupOf(stack, host), firewall: host.firewall });
  }

  const web = stack.policies.tls ? `HTTPS ${PORTS.https}, HTTP ${PORTS.http}` : `HTTP ${PORTS.http}`;
  for (const vip of stack.virtualIps) {
    const id = `vip_${safe(vip.role)}`;
    nodes.push({ id, shape: 'vip', lines: ['virtual IP', vip.address, `keepalived: ${vip.holders.join(', ')}`], group: groupId(vip.network), firewall: false });
    edges.push({ from: 'user', to: id, label: web, style: 'solid' });
    vip.holders.forEach((holder, i) => edges.push({ from: id, to: nodeId(holder), label: i === 0 ? 'holder' : 'standby', style: i === 0 ? 'solid' : 'dashed' }));
  }

  // Flows between hosts, one edge per host pair and purpose; what stays inside a host
  // is drawn by the roles in its label. Monitoring is summed up on its node instead of
  // an edge to every host, which would drown the picture.
  const pairs = new Map<string, { from: string; to: string; ports: Set<number>; purpose: string }>();
  for (const flow of stack.flows) {
    if (flow.network === null || ['metrics', 'uptime', 'vrrp'].includes(flow.purpose)) continue;
    if (flow.purpose === 'dns' && flow.from !== CLIENT) continue; // every host's lookups would hide the picture
    if (flow.from === CLIENT && stack.virtualIps.some((v) => v.holders.includes(flow.to))) continue;
    // The seeds draw replication from the primary to the replica, the way the data goes.
    const [from, to] = flow.purpose === 'replication' ? [flow.to, flow.from] : [flow.from, flow.to];
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
      : ports;
    edges.push({ from: p.from === CLIENT ? 'user' : nodeId(p.from), to: nodeId(p.to), label, style: p.purpose === 'replication' || p.purpose === 'sql-read' ? 'dashed' : 'solid' });
  }

  return { title: `${stack.stack}: ${stack.description || stack.domain}`, groups, nodes, edges };
}
