import { createHash } from 'node:crypto';
import type { ResolvedStack } from '../design/types.ts';
import type { Role } from '../design/vocabulary.ts';
import { nth, parseCidr } from '../design/addresses.ts';

// The lab's hosts and wiring, computed from a resolved design: a namespace per host, a bridge per
// network, a veth pair per (host, network). Pure; the runtime turns it into `ip` commands.

export interface LabInterface {
  /** Inside the namespace. */
  readonly name: string;
  readonly network: string;
  readonly address: string;
  readonly prefix: number;
  /** The veth end left on the machine, enslaved to the network's bridge. */
  readonly peer: string;
  readonly bridge: string;
}

export interface LabHost {
  readonly name: string;
  readonly namespace: string;
  readonly roles: readonly Role[];
  /**
   * 'design' for the design's hosts. The lab adds the client, the DNS server for managed DNS, and,
   * for a design with TLS at its load balancers, the ACME certificate authority: all three stand
   * for the internet.
   */
  readonly kind: 'design' | 'client' | 'managed-dns' | 'acme';
  readonly addresses: Readonly<Record<string, string>>;
  readonly interfaces: readonly LabInterface[];
  /** The resolver the host's /etc/resolv.conf names, when a DNS server shares a network with it. */
  readonly resolver: string | null;
}

export interface LabBridge {
  readonly name: string;
  readonly network: string;
  readonly prefix: number;
}

export interface Topology {
  readonly stack: string;
  readonly hosts: readonly LabHost[];
  readonly bridges: readonly LabBridge[];
  /** Every link the stack owns carries this alias, so `down` finds them even without a state file. */
  readonly linkAlias: string;
}

/** The names the lab's own hosts get: the first one no design host has. */
const MANAGED_DNS_NAMES = ['dns', 'dns-managed', 'dns-lab'];
const ACME_NAMES = ['acme', 'acme-ca', 'acme-lab'];
/** Where the lab's own hosts sit on the entry network, after the machine (.1) and the client (.2). */
const LAB_HOSTS_OFFSET = 3;

export function namespaceOf(stack: string, host: string): string {
  return `${stack}-${host}`;
}

/** Interface names are limited to 15 bytes by the kernel, so the machine's ends are hashed; aliases say whose they are. */
function linkName(kind: 'b' | 'v', ...parts: string[]): string {
  return `ws${kind}-${createHash('sha256').update(parts.join('/')).digest('hex').slice(0, 8)}`;
}

export function linkAliasOf(stack: string): string {
  return `webstack:${stack}`;
}

export function topology(design: ResolvedStack, stack: string = design.stack): Topology {
  const prefixes = new Map(design.networks.map((n) => [n.name, Number(n.cidr.split('/')[1])]));
  const bridges: LabBridge[] = design.networks.map((n) => ({
    name: linkName('b', stack, n.name),
    network: n.name,
    prefix: prefixes.get(n.name)!,
  }));
  const bridgeOf = new Map(bridges.map((b) => [b.network, b.name]));

  const entries: { name: string; roles: readonly Role[]; kind: LabHost['kind']; addresses: Record<string, string> }[] = design.hosts.map((h) => ({
    name: h.name,
    roles: h.roles,
    kind: 'design',
    addresses: { ...h.addresses },
  }));
  if (design.dns.mode === 'managed') entries.push(labHost(design, MANAGED_DNS_NAMES, ['dns'], 'managed-dns', entries));
  if (needsAcme(design)) entries.push(labHost(design, ACME_NAMES, [], 'acme', entries));
  entries.push({ name: design.client.name, roles: [], kind: 'client', addresses: { ...design.client.addresses } });

  const dnsServers = entries.filter((e) => e.roles.includes('dns'));
  const hosts = entries.map((e): LabHost => {
    const interfaces = design.networks
      .filter((n) => e.addresses[n.name])
      .map((n, i) => ({
        name: `eth${i}`,
        network: n.name,
        address: e.addresses[n.name]!,
        prefix: prefixes.get(n.name)!,
        peer: linkName('v', stack, e.name, n.name),
        bridge: bridgeOf.get(n.name)!,
      }));
    const resolver = dnsServers.flatMap((d) => interfaces.map((i) => d.addresses[i.network]).filter((a): a is string => Boolean(a)))[0] ?? null;
    return { name: e.name, namespace: namespaceOf(stack, e.name), roles: e.roles, kind: e.kind, addresses: e.addresses, interfaces, resolver };
  });
  return { stack, hosts, bridges, linkAlias: linkAliasOf(stack) };
}

/** The lab's ACME CA, when the stack has one (TLS at load balancers). */
export function acmeHost(wiring: Topology): LabHost | undefined {
  return wiring.hosts.find((h) => h.kind === 'acme');
}

/** Whether the lab runs an ACME CA for the design: TLS is terminated at its load balancers. */
export function needsAcme(design: ResolvedStack): boolean {
  return design.policies.tls && design.hosts.some((h) => h.roles.includes('lb'));
}

/** A host the lab adds on the internet side: the first public network, at the first free address. */
function labHost(design: ResolvedStack, names: readonly string[], roles: readonly Role[], kind: 'managed-dns' | 'acme', added: readonly { name: string; addresses: Record<string, string> }[]) {
  const taken = new Set(added.map((h) => h.name));
  const name = names.find((n) => !taken.has(n))!;
  const network = design.networks.find((n) => n.exposure === 'public')!;
  const used = new Set([
    ...added.map((h) => h.addresses[network.name]),
    ...design.virtualIps.map((v) => v.address),
    design.client.addresses[network.name],
    network.gateway,
  ]);
  const cidr = parseCidr(network.cidr);
  let offset = LAB_HOSTS_OFFSET;
  while (used.has(nth(cidr, offset))) offset++;
  return { name, roles, kind, addresses: { [network.name]: nth(cidr, offset) } };
}
