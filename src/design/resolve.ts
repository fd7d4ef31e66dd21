import { networkOf, nth, toAddress } from './addresses.ts';
import { allocateAddresses, allocateVirtualIps, resolveNetworks } from './allocate.ts';
import { deriveFlows } from './flows.ts';
import { PORTS } from './ports.ts';
import { unknownChoice, type Path, type Problem } from './problems.ts';
import { resolveRecords } from './records.ts';
import { DEFAULT_NETWORKS, DEFAULT_TTL, OFFSETS, type Report } from './resolve-common.ts';
import type { ParsedDesign } from './schema.ts';
import type { Notify, ResolvedHost, ResolvedNetwork, ResolvedPolicies, ResolvedStack } from './types.ts';
import { CLIENT, type Role } from './vocabulary.ts';

// resolve(): what the user wrote → a frozen, fully defaulted design, or the list of
// everything wrong with it. Pure: no I/O, same input, same output. Its parts: allocate.ts
// (networks and addresses), records.ts (DNS records), flows.ts (who talks to whom).

export const DEFAULT_POLICIES: ResolvedPolicies = {
  tls: false,
  tlsMode: 'edge',
  firewall: false,
  lb: { algorithm: 'roundrobin' },
  healthChecks: { enabled: true, path: '/healthz', intervalMs: 500, fall: 2, rise: 2 },
  // Under the app's 500 ms write deadline: with its replica gone, a write still answers in time.
  db: { replication: 'async', semiSyncTimeoutMs: 300, failover: 'manual' },
  monitoring: { uptimeCheck: false, alerting: false, notify: [] },
  availability: 0.999,
};


export interface ResolveResult {
  stack?: ResolvedStack;
  problems: Problem[];
}


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
    // `tls: true` is TLS at the edge, as the seeds' secured stage has it.
    tls: typeof p.tls === 'object' ? true : (p.tls ?? d.tls),
    tlsMode: typeof p.tls === 'object' ? p.tls.mode : d.tlsMode,
    firewall: p.firewall ?? d.firewall,
    lb: { algorithm: p.lb?.algorithm ?? d.lb.algorithm },
    healthChecks: { ...d.healthChecks, ...p.healthChecks },
    db: { ...d.db, ...p.db },
    monitoring: {
      uptimeCheck: p.monitoring?.uptimeCheck ?? d.monitoring.uptimeCheck,
      alerting: p.monitoring?.alerting ?? d.monitoring.alerting,
      notify: (p.monitoring?.notify ?? []).map((n): Notify => ('webhook' in n ? { kind: 'webhook', url: n.webhook } : { kind: 'email', to: n.email, smtp: n.smtp, from: n.from ?? `alerts@${design.domain}` })),
    },
    availability: p.availability ?? d.availability,
  };
}

/**
 * The references between parts of a design that has not passed the schema: hosts' networks that do
 * not exist. Lenient about everything else (the schema's problems say what is wrong there), so that
 * one run reports both kinds of mistake.
 */
export function referenceProblems(raw: unknown): Problem[] {
  const problems: Problem[] = [];
  const object = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (!object(raw) || !object(raw.hosts)) return problems;
  const networks = object(raw.networks) ? raw.networks : raw.networks === undefined ? DEFAULT_NETWORKS : null;
  if (!networks) return problems;
  const names = Object.keys(networks);
  for (const [name, host] of Object.entries(raw.hosts)) {
    if (!object(host) || !Array.isArray(host.networks)) continue;
    host.networks.forEach((network, i) => {
      if (typeof network === 'string' && !names.includes(network)) problems.push({ path: ['hosts', name, 'networks', i], message: unknownChoice('network', network, names) });
    });
  }
  return problems;
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
    if (host.roles.includes('db') && (host.roles.includes('db-primary') || host.roles.includes('db-replica'))) {
      report(['hosts', name, 'roles'], 'a host is either a member of a Galera cluster (db) or a primary or replica, not both');
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
  const members = hostsWith('db');
  const galera = policies.db.replication === 'galera';
  if (primaries.length === 0) {
    for (const replica of replicas) report(roleIndex(replica, 'db-replica'), 'a db-replica needs a db-primary to replicate from, and no host has role db-primary');
    if (members.length === 0) for (const app of apps) report(roleIndex(app, 'app'), 'the app needs a database, and no host has role db-primary (or db, with replication: galera); add one');
  }
  if (galera) {
    for (const host of [...primaries, ...replicas]) {
      const role = primaries.includes(host) ? 'db-primary' : 'db-replica';
      report(roleIndex(host, role), `with replication: galera every database is a member of one cluster: give ${host} role db instead of ${role}`);
    }
    if (members.length < 3) {
      report(['policies', 'db', 'replication'], `a Galera cluster needs three db hosts or more, so that the others still make a majority when one is lost; this stack has ${members.length}`);
    }
    if (design.policies?.db?.failover === 'manual') report(['policies', 'db', 'failover'], 'a Galera cluster fails over by itself (the members that keep a majority go on): remove failover or set it to automatic');
  } else {
    for (const member of members) report(roleIndex(member, 'db'), 'role db is a member of a Galera cluster: set policies.db.replication: galera, or use db-primary and db-replica');
  }
  if (webs.length === 0 && apps.length === 0) {
    for (const lb of lbs) report(roleIndex(lb, 'lb'), 'an lb with nothing behind it: add hosts with role web (or app)');
    if (lbs.length === 0) report(['hosts'], 'nothing serves the site: add a host with role web or app');
  }
  if (policies.tls && lbs.length === 0 && webs.length === 0 && apps.length > 0) {
    report(['policies', 'tls'], 'tls: true needs something to terminate TLS, an lb (HAProxy) or a web host (nginx), and this stack has neither; add one, or set tls: false');
  }
  if (apps.length === 0) for (const web of webs) report(roleIndex(web, 'web'), 'nginx proxies dynamic requests to the app, and no host has role app; add one');
  if (!galera && policies.db.failover === 'automatic') {
    // Promoting a replica by itself is only safe with fencing: a primary that was frozen or cut off, not dead, comes back and takes writes too.
    report(
      ['policies', 'db', 'failover'],
      `automatic failover of a primary to a replica needs fencing, so that a primary that was only frozen or cut off cannot come back and take writes beside the promoted one, and the lab has none: use a Galera cluster (hosts of role db, replication: galera), or failover: manual and \`webstack promote\``,
    );
  }
  if (replicas.length === 0 && policies.db.replication === 'semi-sync') report(['policies', 'db', 'replication'], 'semi-sync replication needs a db-replica; add one or set replication: async');
  const virtualIp = design.policies?.lb?.virtualIp;
  if (virtualIp !== undefined && virtualIp !== false && lbs.length < 2) {
    report(['policies', 'lb', 'virtualIp'], `a virtual IP is shared by two or more lb hosts, and this stack has ${lbs.length}; add a second lb or remove virtualIp`);
  }
  if ((design.policies?.monitoring?.notify?.length ?? 0) > 0 && !policies.monitoring.alerting) {
    report(['policies', 'monitoring', 'notify'], 'notify says where alerts go, and alerting is off; set policies.monitoring.alerting: true');
  }
  if (hostsWith('monitoring').length === 0) {
    for (const key of ['uptimeCheck', 'alerting'] as const) {
      if (policies.monitoring[key]) report(['policies', 'monitoring', key], `${key} needs a host with role monitoring; add one`);
    }
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
