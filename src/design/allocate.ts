import { contains, isSafeNetwork, networkOf, nth, offsetOf, overlaps, parseCidr, size, toAddress } from './addresses.ts';
import type { ParsedDesign } from './schema.ts';
import type { VirtualIp } from './types.ts';
import type { Role } from './vocabulary.ts';
import { DEFAULT_NETWORKS, OFFSETS, type NetworkInfo, type RawHost, type Report } from './resolve-common.ts';

// Address allocation: the networks (defaults, overlaps, safe ranges), every host's address on each
// of its networks, and the virtual IPs the design asks for.

export function resolveNetworks(design: ParsedDesign, report: Report): NetworkInfo[] {
  const raw = design.networks ?? DEFAULT_NETWORKS;
  const networks: NetworkInfo[] = [];
  for (const [name, n] of Object.entries(raw)) {
    const path = ['networks', name, 'cidr'];
    const cidr = parseCidr(n.cidr);
    if (cidr.base !== networkOf(cidr)) {
      report(path, `${n.cidr} is not a network address; did you mean ${toAddress(networkOf(cidr))}/${cidr.prefix}?`);
    }
    if (cidr.prefix > 28) report(path, `${n.cidr} is too small: a network needs a prefix of /28 or shorter (16 addresses or more)`);
    if (!isSafeNetwork(cidr)) {
      report(
        path,
        `${n.cidr} is not a private or documentation range, so it may be somebody's real address; ` +
          'use a private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16) or a documentation range (198.51.100.0/24, 203.0.113.0/24)',
      );
    }
    const clash = networks.find((other) => overlaps(other.cidr, cidr));
    if (clash) report(path, `${n.cidr} overlaps network '${clash.name}' (${toAddress(networkOf(clash.cidr))}/${clash.cidr.prefix}); give each network its own range`);
    const exposure = 'exposure' in n && n.exposure ? n.exposure : name === 'public' ? 'public' : 'private';
    const used = new Map<number, string>([[OFFSETS.gateway, 'the machine itself']]);
    if (exposure === 'public') used.set(OFFSETS.client, 'the client');
    networks.push({ name, cidr: { base: networkOf(cidr), prefix: cidr.prefix }, exposure, used });
  }
  if (!networks.some((n) => n.exposure === 'public')) {
    report(['networks'], "no public network: the client (the internet user) needs one; name a network 'public' or give one exposure: public");
  }
  return networks;
}

export function allocateAddresses(design: ParsedDesign, networks: NetworkInfo[], report: Report): Map<string, Record<string, string>> {
  const byName = new Map(networks.map((n) => [n.name, n]));
  const result = new Map<string, Record<string, string>>();
  const fixedOf = (host: RawHost): Record<string, string> =>
    typeof host.address === 'string' ? (host.networks.length === 1 ? { [host.networks[0]!]: host.address } : {}) : (host.address ?? {});

  // Fixed addresses first, so that allocation never hands one out twice.
  for (const [name, host] of Object.entries(design.hosts)) {
    const own: Record<string, string> = {};
    result.set(name, own);
    for (const [networkName, address] of Object.entries(fixedOf(host))) {
      const network = byName.get(networkName);
      if (!network || !host.networks.includes(networkName)) continue;
      const path = typeof host.address === 'string' ? ['hosts', name, 'address'] : ['hosts', name, 'address', networkName];
      const problem = claim(network, address, name);
      if (problem) report(path, problem);
      else own[networkName] = address;
    }
  }
  for (const [name, host] of Object.entries(design.hosts)) {
    const own = result.get(name)!;
    for (const networkName of host.networks) {
      const network = byName.get(networkName);
      if (!network || own[networkName] || networkName in fixedOf(host)) continue;
      const offset = freeOffset(network, OFFSETS.firstHost, +1);
      if (offset === undefined) {
        report(['networks', networkName, 'cidr'], `network '${networkName}' has no free address left for ${name}; give it a larger range`);
        continue;
      }
      network.used.set(offset, name);
      own[networkName] = nth(network.cidr, offset);
    }
  }
  return result;
}

/** Takes `address` for `owner`, or says why it cannot. */
function claim(network: NetworkInfo, address: string, owner: string): string | undefined {
  const cidr = `${toAddress(network.cidr.base)}/${network.cidr.prefix}`;
  if (!contains(network.cidr, address)) return `${address} is outside network '${network.name}' (${cidr})`;
  const offset = offsetOf(network.cidr, address);
  if (offset === 0 || offset === size(network.cidr) - 1) return `${address} is the ${offset === 0 ? 'network' : 'broadcast'} address of ${cidr}; pick one inside it`;
  const holder = network.used.get(offset);
  if (holder !== undefined) return `${address} is already taken by ${holder}`;
  network.used.set(offset, owner);
  return undefined;
}

function freeOffset(network: NetworkInfo, start: number, step: 1 | -1): number | undefined {
  const last = size(network.cidr) - 2;
  for (let offset = start; offset >= 1 && offset <= last; offset += step) {
    if (!network.used.has(offset)) return offset;
  }
  return undefined;
}

export function allocateVirtualIps(
  design: ParsedDesign,
  networks: NetworkInfo[],
  hostsWith: (r: Role) => string[],
  addresses: Map<string, Record<string, string>>,
  report: Report,
): VirtualIp[] {
  return [...lbVirtualIp(design, networks, hostsWith, addresses, report), ...writerVirtualIp(design, networks, hostsWith, addresses, report)];
}

function lbVirtualIp(design: ParsedDesign, networks: NetworkInfo[], hostsWith: (r: Role) => string[], addresses: Map<string, Record<string, string>>, report: Report): VirtualIp[] {
  const wanted = design.policies?.lb?.virtualIp;
  const lbs = hostsWith('lb');
  if (wanted === undefined || wanted === false || lbs.length < 2) return [];
  const path = ['policies', 'lb', 'virtualIp'];
  const network = networks.find((n) => n.exposure === 'public' && lbs.every((lb) => addresses.get(lb)?.[n.name]));
  if (!network) {
    report(path, `the lb hosts (${lbs.join(', ')}) share no public network to hold a virtual IP; put them all on the public network`);
    return [];
  }
  let address: string;
  if (typeof wanted === 'string') {
    const problem = claim(network, wanted, 'the virtual IP');
    if (problem) {
      report(path, problem);
      return [];
    }
    address = wanted;
  } else {
    // From the top of the range, so it never collides with hosts numbered from the bottom.
    const offset = freeOffset(network, size(network.cidr) - 2, -1);
    if (offset === undefined) {
      report(path, `network '${network.name}' has no free address left for the virtual IP`);
      return [];
    }
    network.used.set(offset, 'the virtual IP');
    address = nth(network.cidr, offset);
  }
  return [{ address, network: network.name, role: 'lb', holders: lbs }];
}

/**
 * A Galera cluster's write endpoint: one address on a private network every member shares, held
 * by one synced member at a time, so that every app server writes to the same member and no two
 * writes conflict in certification. Always allocated: it is how the cluster is reached.
 */
function writerVirtualIp(design: ParsedDesign, networks: NetworkInfo[], hostsWith: (r: Role) => string[], addresses: Map<string, Record<string, string>>, report: Report): VirtualIp[] {
  const members = hostsWith('db');
  if (design.policies?.db?.replication !== 'galera' || members.length < 2) return [];
  const shared = networks.filter((n) => members.every((m) => addresses.get(m)?.[n.name]));
  const network = shared.find((n) => n.exposure === 'private') ?? shared[0];
  if (!network) {
    report(['policies', 'db', 'replication'], `the db hosts (${members.join(', ')}) share no network to hold the cluster's write address; put them all on one private network`);
    return [];
  }
  const offset = freeOffset(network, size(network.cidr) - 2, -1);
  if (offset === undefined) {
    report(['policies', 'db', 'replication'], `network '${network.name}' has no free address left for the database cluster's write address`);
    return [];
  }
  network.used.set(offset, "the database cluster's write address");
  return [{ address: nth(network.cidr, offset), network: network.name, role: 'db', holders: members }];
}
