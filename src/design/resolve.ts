import { contains, isSafeNetwork, networkOf, nth, offsetOf, overlaps, parseCidr, size, toAddress, type Cidr } from './addresses.ts';
import { PORTS } from './ports.ts';
import { hostListeners } from '../daemons/registry.ts';
import { unknownChoice, type Path, type Problem } from './problems.ts';
import type { ParsedDesign } from './schema.ts';
import type { Flow, FlowPurpose, ResolvedHost, ResolvedNetwork, ResolvedPolicies, ResolvedRecord, ResolvedStack, VirtualIp } from './types.ts';
import { CLIENT, ROLES, type Role } from './vocabulary.ts';

// resolve(): what the user wrote → a frozen, fully defaulted design, or the list of
// everything wrong with it. Pure: no I/O, same input, same output.

export const DEFAULT_NETWORKS = {
  public: { cidr: '203.0.113.0/24' },
  private: { cidr: '10.10.0.0/24' },
} as const;

/** Offsets inside every network: .1 is the machine's own address, .2 the client's, hosts start at .10. */
export const OFFSETS = { gateway: 1, client: 2, firstHost: 10 } as const;

export const DEFAULT_POLICIES: ResolvedPolicies = {
  tls: false,
  firewall: false,
  lb: { algorithm: 'roundrobin' },
  healthChecks: { enabled: true, path: '/healthz', intervalMs: 500, fall: 2, rise: 2 },
  db: { replication: 'async', failover: 'manual' },
  monitoring: { uptimeCheck: false, alerting: false },
  availability: 0.999,
};

export const DEFAULT_TTL = 300;

export interface ResolveResult {
  stack?: ResolvedStack;
  problems: Problem[];
}

interface NetworkInfo {
  name: string;
  cidr: Cidr;
  exposure: 'public' | 'private';
  /** offset → who holds it */
  used: Map<number, string>;
}

type RawHost = ParsedDesign['hosts'][string];

export function resolve(design: ParsedDesign): ResolveResult {
  const problems: Problem[] = [];
  const report = (path: Path, message: string, at?: 'key' | 'value') => problems.push(at ? { path, message, at } : { path, message });

  const policies = resolvePolicies(design);
  const networks = resolveNetworks(design, report);
  const networkNames = networks.map((n) => n.name);
  const hostNames = Object.keys(design.hosts);
  const hostsWith = (role: Role) => hostNames.filter((h) => design.hosts[h]!.roles.includes(role));

  checkHosts(design, networkNames, report);
  checkRoles(design, policies, hostsWith, report);

  const addresses = allocateAddresses(design, networks, report);
  const virtualIps = allocateVirtualIps(design, networks, hostsWith, addresses, report);
  const monitoring = hostsWith('monitoring');
  const dnsHosts = hostsWith('dns');

  const hosts: ResolvedHost[] = hostNames.map((name) => {
    const raw = design.hosts[name]!;
    if (raw.monitored && monitoring.length === 0) {
      report(['hosts', name, 'monitored'], 'monitored: true, but no host has role monitoring; add one');
    }
    return {
      name,
      roles: [...new Set(raw.roles)],
      addresses: addresses.get(name) ?? {},
      monitored: monitoring.length > 0 && raw.monitored !== false,
      firewall: policies.firewall,
      availability: raw.availability ?? policies.availability,
    };
  });

  const publicNetworks = networks.filter((n) => n.exposure === 'public').map((n) => n.name);
  const publicAddressOf = (host: string): string | undefined => {
    const network = publicNetworks.find((n) => addresses.get(host)?.[n]);
    return network ? addresses.get(host)?.[network] : undefined;
  };
  const records = resolveRecords(design, hostsWith, virtualIps, publicAddressOf, publicNetworks, report);
  const entry = records.find((r) => r.name === 'www')?.name ?? records[0]?.name ?? 'www';

  const client = { name: CLIENT as typeof CLIENT, addresses: {} as Record<string, string> };
  for (const n of networks.filter((n) => n.exposure === 'public')) client.addresses[n.name] = nth(n.cidr, OFFSETS.client);

  if (problems.length > 0) return { problems };

  const app = { command: design.app?.command ?? null, port: design.app?.port ?? PORTS.app };
  const flows = deriveFlows({ hosts, networks, records, entry, virtualIps, policies, dnsHosts, monitoring, appPort: app.port }, report);
  if (problems.length > 0) return { problems };

  const stack: ResolvedStack = {
    stack: design.stack,
    domain: design.domain,
    description: design.description ?? '',
    networks: networks.map(
      (n): ResolvedNetwork => ({ name: n.name, cidr: `${toAddress(networkOf(n.cidr))}/${n.cidr.prefix}`, exposure: n.exposure, gateway: nth(n.cidr, OFFSETS.gateway) }),
    ),
    hosts,
    client,
    virtualIps,
    dns: { mode: dnsHosts.length > 0 ? 'own' : 'managed', ttl: design.dns?.ttl ?? DEFAULT_TTL, hosts: dnsHosts },
    records,
    entry,
    policies,
    app,
    flows,
  };
  return { stack: deepFreeze(stack), problems };
}

function resolvePolicies(design: ParsedDesign): ResolvedPolicies {
  const p = design.policies ?? {};
  const d = DEFAULT_POLICIES;
  return {
    tls: p.tls ?? d.tls,
    firewall: p.firewall ?? d.firewall,
    lb: { algorithm: p.lb?.algorithm ?? d.lb.algorithm },
    healthChecks: { ...d.healthChecks, ...p.healthChecks },
    db: { ...d.db, ...p.db },
    monitoring: { ...d.monitoring, ...p.monitoring },
    availability: p.availability ?? d.availability,
  };
}

type Report = (path: Path, message: string, at?: 'key' | 'value') => void;

function resolveNetworks(design: ParsedDesign, report: Report): NetworkInfo[] {
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

function checkHosts(design: ParsedDesign, networkNames: string[], report: Report): void {
  for (const [name, host] of Object.entries(design.hosts)) {
    host.roles.forEach((role, i) => {
      if (host.roles.indexOf(role) !== i) report(['hosts', name, 'roles', i], `role '${role}' is listed twice`);
    });
    host.networks.forEach((network, i) => {
      if (!networkNames.includes(network)) report(['hosts', name, 'networks', i], unknownChoice('network', network, networkNames));
      else if (host.networks.indexOf(network) !== i) report(['hosts', name, 'networks', i], `network '${network}' is listed twice`);
    });
    if (host.roles.includes('lb') && host.roles.includes('web')) {
      report(['hosts', name, 'roles'], 'lb and web both listen on port 80 and cannot share a host; put them on separate hosts');
    }
    if (host.roles.includes('db-primary') && host.roles.includes('db-replica')) {
      report(['hosts', name, 'roles'], 'a host cannot be both db-primary and db-replica: a replica on its own primary survives nothing');
    }
    if (typeof host.address === 'string' && host.networks.length !== 1) {
      report(['hosts', name, 'address'], `this host is on ${host.networks.length} networks, so say which one the address is on, e.g. address: { ${host.networks[0]}: ${host.address} }`);
    }
    if (host.address && typeof host.address === 'object') {
      for (const network of Object.keys(host.address)) {
        if (!host.networks.includes(network)) {
          report(['hosts', name, 'address', network], `'${network}' is not among this host's networks (${host.networks.join(', ')})`, 'key');
        }
      }
    }
  }
}

function checkRoles(design: ParsedDesign, policies: ResolvedPolicies, hostsWith: (r: Role) => string[], report: Report): void {
  const roleIndex = (host: string, role: Role): Path => ['hosts', host, 'roles', design.hosts[host]!.roles.indexOf(role)];
  const [primaries, replicas, lbs, webs, apps] = (['db-primary', 'db-replica', 'lb', 'web', 'app'] as const).map(hostsWith) as [string[], string[], string[], string[], string[]];
  for (const extra of primaries.slice(1)) {
    report(roleIndex(extra, 'db-primary'), `a second db-primary (the first is ${primaries[0]}); a stack has one primary: make this one a db-replica`);
  }
  if (primaries.length === 0) {
    for (const replica of replicas) report(roleIndex(replica, 'db-replica'), 'a db-replica needs a db-primary to replicate from, and no host has role db-primary');
    for (const app of apps) report(roleIndex(app, 'app'), 'the app needs a database, and no host has role db-primary; add one');
  }
  if (webs.length === 0 && apps.length === 0) {
    for (const lb of lbs) report(roleIndex(lb, 'lb'), 'an lb with nothing behind it: add hosts with role web (or app)');
    if (lbs.length === 0) report(['hosts'], 'nothing serves the site: add a host with role web or app');
  }
  if (apps.length === 0) for (const web of webs) report(roleIndex(web, 'web'), 'nginx proxies dynamic requests to the app, and no host has role app; add one');
  if (replicas.length === 0) {
    if (policies.db.failover === 'automatic') report(['policies', 'db', 'failover'], 'automatic failover needs a db-replica to promote; add a host with role db-replica or set failover: manual');
    if (policies.db.replication === 'semi-sync') report(['policies', 'db', 'replication'], 'semi-sync replication needs a db-replica; add one or set replication: async');
  }
  const virtualIp = design.policies?.lb?.virtualIp;
  if (virtualIp !== undefined && virtualIp !== false && lbs.length < 2) {
    report(['policies', 'lb', 'virtualIp'], `a virtual IP is shared by two or more lb hosts, and this stack has ${lbs.length}; add a second lb or remove virtualIp`);
  }
  if (hostsWith('monitoring').length === 0) {
    for (const key of ['uptimeCheck', 'alerting'] as const) {
      if (policies.monitoring[key]) report(['policies', 'monitoring', key], `${key} needs a host with role monitoring; add one`);
    }
  }
}

function allocateAddresses(design: ParsedDesign, networks: NetworkInfo[], report: Report): Map<string, Record<string, string>> {
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

function allocateVirtualIps(
  design: ParsedDesign,
  networks: NetworkInfo[],
  hostsWith: (r: Role) => string[],
  addresses: Map<string, Record<string, string>>,
  report: Report,
): VirtualIp[] {
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

function resolveRecords(
  design: ParsedDesign,
  hostsWith: (r: Role) => string[],
  virtualIps: VirtualIp[],
  publicAddressOf: (host: string) => string | undefined,
  publicNetworks: string[],
  report: Report,
): ResolvedRecord[] {
  const entryRole: Role = hostsWith('lb').length ? 'lb' : hostsWith('web').length ? 'web' : 'app';
  const raw = design.records ?? { www: entryRole };
  const hostNames = Object.keys(design.hosts);
  const records: ResolvedRecord[] = [];
  for (const [name, value] of Object.entries(raw)) {
    const base: Path = ['records', name];
    const [written, targetPath, ttl] = typeof value === 'object' && !Array.isArray(value) ? [value.to, [...base, 'to'], value.ttl] : [value, base, undefined];
    const targets = typeof written === 'string' ? [written] : written;
    const hosts: string[] = [];
    const addresses: string[] = [];
    let viaVip = false;
    targets.forEach((target, i) => {
      const path = Array.isArray(written) ? [...targetPath, i] : targetPath;
      let targetHosts: string[];
      if ((ROLES as readonly string[]).includes(target)) {
        targetHosts = hostsWith(target as Role);
        if (targetHosts.length === 0) {
          report(path, `'${name}' points at role '${target}', which no host has: the record points at nothing`);
          return;
        }
        const vip = virtualIps.find((v) => v.role === target);
        if (vip) {
          viaVip = true;
          hosts.push(...vip.holders);
          addresses.push(vip.address);
          return;
        }
      } else if (hostNames.includes(target)) {
        targetHosts = [target];
      } else {
        report(path, unknownChoice('record target', target, [...ROLES, ...hostNames]));
        return;
      }
      for (const host of targetHosts) {
        const address = publicAddressOf(host);
        if (!address) {
          // A host that is on a public network but got no address there has had its problem reported already.
          const onPublic = design.hosts[host]!.networks.some((n) => publicNetworks.includes(n));
          if (!onPublic) {
            const where = design.records ? path : ['hosts', host, 'networks'];
            report(where, `'${name}'${design.records ? '' : ' (the default record)'} points at ${host}, which has no address on a public network; add the public network to its networks`);
          }
          continue;
        }
        hosts.push(host);
        addresses.push(address);
      }
    });
    records.push({
      name,
      fqdn: name === '@' ? design.domain : `${name}.${design.domain}`,
      type: 'A',
      ttl: ttl ?? design.dns?.ttl ?? DEFAULT_TTL,
      addresses: [...new Set(addresses)],
      hosts: [...new Set(hosts)],
      redundancy: viaVip ? 'virtual-ip' : new Set(addresses).size > 1 ? 'multiple-records' : 'none',
    });
  }
  return records;
}

interface FlowInputs {
  hosts: ResolvedHost[];
  networks: NetworkInfo[];
  records: ResolvedRecord[];
  entry: string;
  virtualIps: VirtualIp[];
  policies: ResolvedPolicies;
  dnsHosts: string[];
  monitoring: string[];
  appPort: number;
}

/** Who talks to whom: derived from roles alone, so the analysis and the firewall share one truth. */
function deriveFlows(input: FlowInputs, report: Report): Flow[] {
  const { hosts, networks, records, policies } = input;
  const byName = new Map(hosts.map((h) => [h.name, h]));
  const has = (host: string, role: Role) => byName.get(host)!.roles.includes(role);
  const withRole = (role: Role) => hosts.filter((h) => h.roles.includes(role)).map((h) => h.name);
  const flows: Flow[] = [];
  const seen = new Set<string>();
  const unreachable = new Set<string>();

  const add = (from: string, fromRole: Role | 'client', to: string, toRole: Role, port: number, purpose: FlowPurpose, protocol: Flow['protocol'] = 'tcp') => {
    let network: string | null = null;
    if (from === CLIENT) {
      network = networks.find((n) => n.exposure === 'public' && byName.get(to)!.addresses[n.name])?.name ?? null;
      if (!network) return; // a record check has already said the target is not public
    } else if (from !== to) {
      const shared = networks.filter((n) => byName.get(from)!.addresses[n.name] && byName.get(to)!.addresses[n.name]);
      // Internal traffic prefers private networks; the public side is for the client.
      network = (shared.find((n) => n.exposure === 'private') ?? shared[0])?.name ?? null;
      if (!network) {
        const key = `${from}>${to}`;
        if (!unreachable.has(key)) {
          unreachable.add(key);
          const theirs = Object.keys(byName.get(to)!.addresses).join(', ');
          report(['hosts', from, 'networks'], `${from} must reach ${to} (${fromRole} → ${toRole}, ${protocol} ${port}), but they share no network; add one of ${to}'s networks (${theirs}) to ${from}`);
        }
        return;
      }
    }
    const key = [from, to, protocol, port, purpose].join('|');
    if (seen.has(key)) return;
    seen.add(key);
    flows.push({ from, fromRole, to, toRole, network, protocol, port, purpose });
  };
  const tierOf = (host: string): Role => (has(host, 'lb') ? 'lb' : has(host, 'web') ? 'web' : 'app');

  // The client reaches what the records point at, and the stack's own DNS if it has one.
  for (const record of records) {
    for (const host of record.hosts) {
      add(CLIENT, 'client', host, tierOf(host), PORTS.http, 'http');
      if (policies.tls) add(CLIENT, 'client', host, tierOf(host), PORTS.https, 'https');
    }
  }
  for (const dns of input.dnsHosts) {
    if (!networks.some((n) => n.exposure === 'public' && byName.get(dns)!.addresses[n.name])) {
      report(['hosts', dns, 'networks'], 'a dns host answers the client, so it needs an address on a public network');
    }
    add(CLIENT, 'client', dns, 'dns', PORTS.dns, 'dns', 'udp');
    add(CLIENT, 'client', dns, 'dns', PORTS.dns, 'dns', 'tcp');
  }

  const webs = withRole('web');
  const apps = withRole('app');
  for (const lb of withRole('lb')) {
    for (const backend of webs.length ? webs : apps) add(lb, 'lb', backend, webs.length ? 'web' : 'app', webs.length ? PORTS.http : input.appPort, 'proxy');
  }
  for (const web of webs) {
    // A web host that runs the app too talks to its own app only, as in the seeds' two-server design.
    for (const app of has(web, 'app') ? [web] : apps) add(web, 'web', app, 'app', input.appPort, 'app');
  }
  for (const app of apps) {
    for (const primary of withRole('db-primary')) add(app, 'app', primary, 'db-primary', PORTS.mysql, 'sql-write');
    for (const replica of withRole('db-replica')) add(app, 'app', replica, 'db-replica', PORTS.mysql, 'sql-read');
    for (const cache of withRole('cache')) add(app, 'app', cache, 'cache', PORTS.redis, 'cache');
  }
  for (const replica of withRole('db-replica')) {
    for (const primary of withRole('db-primary')) add(replica, 'db-replica', primary, 'db-primary', PORTS.mysql, 'replication');
  }
  for (const vip of input.virtualIps) {
    for (const a of vip.holders) for (const b of vip.holders) if (a !== b) add(a, vip.role, b, vip.role, 0, 'vrrp', 'vrrp');
  }

  for (const monitor of input.monitoring) {
    for (const host of hosts.filter((h) => h.monitored)) {
      for (const listener of hostListeners(host.roles, { tls: policies.tls, monitored: true, alerting: policies.monitoring.alerting, appPort: input.appPort })) {
        if (listener.scraped) add(monitor, 'monitoring', host.name, listener.role, listener.port, 'metrics');
      }
    }
    if (policies.monitoring.uptimeCheck) {
      const entry = records.find((r) => r.name === input.entry);
      for (const host of entry?.hosts ?? []) add(monitor, 'monitoring', host, tierOf(host), policies.tls ? PORTS.https : PORTS.http, 'uptime');
    }
  }

  for (const dns of input.dnsHosts) {
    for (const host of hosts) if (host.name !== dns) add(host.name, host.roles[0]!, dns, 'dns', PORTS.dns, 'dns', 'udp');
  }
  return flows;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
