import { join } from 'node:path';
import type { Flow, ResolvedStack } from '../design/types.ts';
import { CLIENT } from '../design/vocabulary.ts';
import { ACME_PORT } from '../daemons/pebble.ts';
import type { RenderedFile } from '../daemons/types.ts';
import type { StackPaths } from './paths.ts';
import { acmeHost, type LabHost, type Topology } from './topology.ts';

// A host's firewall, rendered from the flows: nftables, default drop both ways, each flow
// accepted only on the interface of its network, from (or to) the addresses of the hosts at its
// other end. The ruleset is the design's flows and nothing else, so a firewall cannot block a
// flow the design has, nor open a port it does not. Pure: golden-tested for every blueprint.

/** The nftables table every ruleset of the lab lives in, inside each host's namespace. */
export const FIREWALL_TABLE = 'webstack';
/** Counters of what a host's firewall refused, read by `status`. */
export const REFUSED_COUNTERS = { input: 'refused_in', output: 'refused_out' } as const;
/** Sets of (source, protocol, port) refused lately, for `status` and `audit` to say what was refused. */
export const REFUSED_SETS = { input: 'refused_in_recent', output: 'refused_out_recent' } as const;

/** The table a partition (`fail --how partition`) lives in, beside the firewall's, so that neither touches the other. */
export const PARTITION_TABLE = 'webstack_partition';

/**
 * A partition's half in one host: every packet to or from the other side's addresses dropped,
 * ahead of any firewall (a lower priority runs first), both ways, whatever connection it belongs
 * to. Loaded with `nft -f -`; `PARTITION_REMOVE` takes it away.
 */
export function partitionRuleset(host: string, away: readonly string[], addresses: readonly string[]): string {
  const set = `{ ${addresses.join(', ')} }`;
  return [
    `# webstack: ${host} cut off from ${away.join(', ')}, while both keep running.`,
    `table inet ${PARTITION_TABLE} {`,
    '  chain input {',
    '    type filter hook input priority -10; policy accept;',
    `    ip saddr ${set} drop`,
    '  }',
    '  chain output {',
    '    type filter hook output priority -10; policy accept;',
    `    ip daddr ${set} drop`,
    '  }',
    '}',
    '',
  ].join('\n');
}

export const PARTITION_REMOVE = ['nft', 'delete', 'table', 'inet', PARTITION_TABLE] as const;

export interface HostFirewall {
  readonly host: string;
  readonly namespace: string;
  readonly file: RenderedFile;
  /** Loads the ruleset in one transaction: the old one is flushed and the new one in place at once. */
  readonly apply: readonly string[];
  /** Checks the ruleset without loading it (`nft -c`). */
  readonly check: readonly string[];
}

interface Rule {
  readonly iface: string;
  readonly protocol: Flow['protocol'];
  readonly port: number;
  /** Null for the internet: any address on a public network. */
  readonly peers: readonly string[] | null;
  /** The flows it lets through, as 'purpose from → to'. */
  readonly why: readonly { readonly purpose: string; readonly from: string; readonly to: string }[];
}

/** 'metrics monitoring → app, lb; sql-write app → db-primary': what a rule is for, short. */
function because(why: Rule['why']): string {
  const byPurpose = new Map<string, { from: Set<string>; to: Set<string> }>();
  for (const w of why) {
    const key = w.purpose;
    const entry = byPurpose.get(key) ?? { from: new Set<string>(), to: new Set<string>() };
    entry.from.add(w.from);
    entry.to.add(w.to);
    byPurpose.set(key, entry);
  }
  return [...byPurpose.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([purpose, { from, to }]) => `${purpose} ${sorted(from).join(', ')} → ${sorted(to).join(', ')}`)
    .join('; ');
}

const sorted = (values: Iterable<string>) => [...new Set(values)].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));

/** One rule per interface, protocol and port, with the peers of every flow that shares them. */
function merge(rules: readonly Rule[]): Rule[] {
  const byKey = new Map<string, Rule>();
  for (const r of rules) {
    const key = `${r.iface}|${r.protocol}|${r.port}`;
    const known = byKey.get(key);
    if (!known) byKey.set(key, r);
    else {
      const peers = known.peers === null || r.peers === null ? null : sorted([...known.peers, ...r.peers]);
      byKey.set(key, { ...known, peers, why: [...known.why, ...r.why] });
    }
  }
  return [...byKey.values()].sort((a, b) => a.iface.localeCompare(b.iface) || a.port - b.port || a.protocol.localeCompare(b.protocol));
}

function match(rule: Rule, direction: 'in' | 'out'): string {
  const iface = direction === 'in' ? `iifname "${rule.iface}"` : `oifname "${rule.iface}"`;
  const addressKey = direction === 'in' ? 'saddr' : 'daddr';
  const peers = rule.peers === null ? '' : ` ip ${addressKey} ${rule.peers.length === 1 ? rule.peers[0] : `{ ${rule.peers.join(', ')} }`}`;
  const what = rule.protocol === 'vrrp' ? ' ip protocol vrrp' : ` ${rule.protocol} dport ${rule.port}`;
  return `${iface}${peers}${what} accept comment "${because(rule.why)}"`;
}

/** The ruleset of one host, or null when the design does not firewall it (and for the lab's own hosts). */
export function renderFirewall(design: ResolvedStack, wiring: Topology, host: LabHost): string | null {
  const own = design.hosts.find((h) => h.name === host.name);
  if (host.kind !== 'design' || !own?.firewall) return null;
  const ifaceOn = (network: string) => host.interfaces.find((i) => i.network === network)?.name;
  const byName = new Map(wiring.hosts.map((h) => [h.name, h]));
  const addressOf = (name: string, network: string) => byName.get(name)?.addresses[network];
  const label = (f: Flow) => [{ purpose: f.purpose, from: f.from === CLIENT ? 'client' : f.fromRole, to: f.toRole }];

  const inbound: Rule[] = [];
  const outbound: Rule[] = [];
  for (const f of design.flows) {
    if (f.network === null || f.from === f.to) continue; // inside the host: loopback
    const iface = ifaceOn(f.network);
    if (!iface) continue;
    if (f.to === host.name) {
      inbound.push({ iface, protocol: f.protocol, port: f.port, peers: f.from === CLIENT ? null : [addressOf(f.from, f.network)!], why: label(f) });
    }
    if (f.from === host.name) {
      // VRRP goes to its multicast group, not to the peer's address.
      // A virtual IP the other end may hold for that role (a database cluster's write address) is that end too.
      const held = design.virtualIps.filter((v) => v.role === f.toRole && v.network === f.network && v.holders.includes(f.to)).map((v) => v.address);
      outbound.push({ iface, protocol: f.protocol, port: f.port, peers: f.protocol === 'vrrp' ? null : [addressOf(f.to, f.network)!, ...held], why: label(f) });
    }
  }
  // A lab host without the stack's own DNS asks the lab's managed DNS, as a machine asks its provider's resolver.
  if (host.resolver && design.dns.mode === 'managed') {
    const network = host.interfaces.find((i) => wiring.hosts.some((h) => h.kind === 'managed-dns' && h.addresses[i.network] === host.resolver));
    if (network) for (const protocol of ['udp', 'tcp'] as const) outbound.push({ iface: network.name, protocol, port: 53, peers: [host.resolver], why: [{ purpose: 'dns', from: 'lookups', to: 'managed dns' }] });
  }

  // A load balancer asks the lab's ACME CA for its certificate, as it would ask one on the internet.
  const acme = acmeHost(wiring);
  if (acme && host.roles.includes('lb')) {
    const iface = host.interfaces.find((i) => acme.addresses[i.network]);
    if (iface) outbound.push({ iface: iface.name, protocol: 'tcp', port: ACME_PORT, peers: [acme.addresses[iface.network]!], why: [{ purpose: 'acme', from: 'lb', to: 'certificate authority' }] });
  }

  const refused = (direction: 'input' | 'output') => {
    const [addr, counter, set] = direction === 'input' ? ['saddr', REFUSED_COUNTERS.input, REFUSED_SETS.input] : ['daddr', REFUSED_COUNTERS.output, REFUSED_SETS.output];
    return [
      `    meta l4proto { tcp, udp } update @${set} { ip ${addr} . meta l4proto . th dport }`,
      `    limit rate 10/minute burst 20 packets log prefix "webstack ${host.name} refused ${direction === 'input' ? 'in' : 'out'}: " level info`,
      `    counter name "${counter}" drop`,
    ];
  };
  const recent = (name: string) => [`  set ${name} {`, '    type ipv4_addr . inet_proto . inet_service', '    size 4096', '    flags dynamic, timeout', '    timeout 1h', '  }'];

  return [
    `# Rendered by webstack for host ${host.name} of stack ${wiring.stack}, from the design's flows.`,
    '# Do not edit: `webstack up` writes it again from the design. Loaded with nft -f in one',
    '# transaction: the table is emptied and refilled at once, so no packet sees it half-made.',
    `table inet ${FIREWALL_TABLE}`,
    `delete table inet ${FIREWALL_TABLE}`,
    `table inet ${FIREWALL_TABLE} {`,
    `  counter ${REFUSED_COUNTERS.input} {}`,
    `  counter ${REFUSED_COUNTERS.output} {}`,
    ...recent(REFUSED_SETS.input),
    ...recent(REFUSED_SETS.output),
    '',
    '  # Strict reverse-path filtering: a packet must come in where its answer would go out.',
    '  chain prerouting {',
    '    type filter hook prerouting priority raw; policy accept;',
    '    iif "lo" accept',
    `    fib saddr . iif oif missing counter name "${REFUSED_COUNTERS.input}" drop`,
    '  }',
    '',
    '  chain input {',
    '    type filter hook input priority filter; policy drop;',
    '    iif "lo" accept',
    '    ct state established,related accept',
    '    ct state invalid drop',
    '    # This host has no IPv6 address: neighbour discovery only, and nothing is counted as refused.',
    '    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert } accept',
    '    meta nfproto ipv6 drop',
    '    # The strong host model: an address answers only on its own interface, so a neighbour on the',
    "    # public side cannot reach this host's private address through the public interface.",
    `    fib daddr . iif type != { local, broadcast, multicast } meta l4proto { tcp, udp } update @${REFUSED_SETS.input} { ip saddr . meta l4proto . th dport } counter name "${REFUSED_COUNTERS.input}" drop`,
    `    fib daddr . iif type != { local, broadcast, multicast } counter name "${REFUSED_COUNTERS.input}" drop`,
    '    icmp type { destination-unreachable, time-exceeded, parameter-problem } accept',
    '    icmp type echo-request limit rate 10/second burst 20 packets accept',
    ...merge(inbound).map((r) => `    ${match(r, 'in')}`),
    ...refused('input'),
    '  }',
    '',
    '  chain output {',
    '    type filter hook output priority filter; policy drop;',
    '    oif "lo" accept',
    '    ct state established,related accept',
    '    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit } accept',
    '    meta nfproto ipv6 drop',
    '    icmp type { destination-unreachable, time-exceeded, parameter-problem } accept',
    ...merge(outbound).map((r) => `    ${match(r, 'out')}`),
    ...refused('output'),
    '  }',
    '}',
    '',
  ].join('\n');
}

export function firewallFile(paths: StackPaths, host: string): string {
  return join(paths.config, host, 'firewall.nft');
}

/** Every firewalled host's ruleset, where it is written, and how it is checked and loaded. */
export function firewallPlan(design: ResolvedStack, wiring: Topology, paths: StackPaths): HostFirewall[] {
  return wiring.hosts.flatMap((host) => {
    const content = renderFirewall(design, wiring, host);
    if (content === null) return [];
    const path = firewallFile(paths, host.name);
    return [{ host: host.name, namespace: host.namespace, file: { path, content, mode: 0o644 }, apply: ['nft', '-f', path], check: ['nft', '-c', '-f', path] }];
  });
}
