import { hostListeners } from '../daemons/registry.ts';
import { listenerOptions, PORTS, tlsEndToEnd } from './ports.ts';
import type { Flow, FlowPurpose, ResolvedHost, ResolvedPolicies, ResolvedRecord, VirtualIp } from './types.ts';
import { CLIENT, type Role } from './vocabulary.ts';
import type { NetworkInfo, Report } from './resolve-common.ts';

// Flows: who talks to whom, on which network and port, derived from the roles alone. The analysis
// and the daemons' listen addresses read them; the firewall will too.

export interface FlowInputs {
  hosts: readonly ResolvedHost[];
  networks: readonly Pick<NetworkInfo, 'name' | 'exposure'>[];
  records: readonly ResolvedRecord[];
  entry: string;
  virtualIps: readonly VirtualIp[];
  policies: ResolvedPolicies;
  dnsHosts: readonly string[];
  monitoring: readonly string[];
  appPort: number;
}

/** The roles whose daemons log each request: HAProxy, nginx and the app. */
export const LOGGING_ROLES: readonly Role[] = ['lb', 'web', 'app'];

/** Who talks to whom: derived from roles alone, so the analysis and the firewall share one truth. */
export function deriveFlows(input: FlowInputs, report: Report): Flow[] {
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
  // With TLS end to end, the load balancers reach nginx over HTTPS.
  const webPort = tlsEndToEnd(policies) ? PORTS.https : PORTS.http;
  for (const lb of withRole('lb')) {
    for (const backend of webs.length ? webs : apps) add(lb, 'lb', backend, webs.length ? 'web' : 'app', webs.length ? webPort : input.appPort, 'proxy');
  }
  for (const web of webs) {
    // A web host that runs the app too talks to its own app only, as in the seeds' two-server design.
    for (const app of has(web, 'app') ? [web] : apps) add(web, 'web', app, 'app', input.appPort, 'app');
  }
  const members = withRole('db');
  for (const app of apps) {
    for (const primary of withRole('db-primary')) add(app, 'app', primary, 'db-primary', PORTS.mysql, 'sql-write');
    // Any member of a Galera cluster may hold its write address, and any synced member serves reads.
    for (const member of members) {
      add(app, 'app', member, 'db', PORTS.mysql, 'sql-write');
      add(app, 'app', member, 'db', PORTS.mysql, 'sql-read');
    }
    for (const replica of withRole('db-replica')) add(app, 'app', replica, 'db-replica', PORTS.mysql, 'sql-read');
    for (const cache of withRole('cache')) add(app, 'app', cache, 'cache', PORTS.redis, 'cache');
  }
  for (const replica of withRole('db-replica')) {
    for (const primary of withRole('db-primary')) add(replica, 'db-replica', primary, 'db-primary', PORTS.mysql, 'replication');
  }
  // Every member talks to every other: group communication, and state transfers either way.
  for (const a of members) {
    for (const b of members) {
      if (a === b) continue;
      for (const port of [PORTS.galera, PORTS.galeraIst, PORTS.galeraSst]) add(a, 'db', b, 'db', port, 'galera');
    }
  }
  for (const vip of input.virtualIps) {
    for (const a of vip.holders) for (const b of vip.holders) if (a !== b) add(a, vip.role, b, vip.role, 0, 'vrrp', 'vrrp');
  }

  for (const monitor of input.monitoring) {
    for (const host of hosts.filter((h) => h.monitored)) {
      for (const listener of hostListeners(host.roles, listenerOptions(policies, input.appPort, true))) {
        if (listener.scraped) add(monitor, 'monitoring', host.name, listener.role, listener.port, 'metrics');
      }
    }
    // The uptime check is no flow of the stack's: it probes from the internet side, as the client does.
    // The load balancers, web servers and app servers send their logs to every monitoring host.
    for (const host of hosts.filter((h) => h.monitored)) {
      const role = LOGGING_ROLES.find((r) => host.roles.includes(r));
      if (role) add(host.name, role, monitor, 'monitoring', PORTS.syslog, 'logs', 'udp');
    }
  }

  // Alertmanagers gossip with each other, so that a notification goes out once, not once each.
  if (policies.monitoring.alerting) {
    for (const a of input.monitoring) {
      for (const b of input.monitoring) {
        if (a === b) continue;
        add(a, 'monitoring', b, 'monitoring', PORTS.alertmanagerCluster, 'alert-cluster', 'tcp');
        add(a, 'monitoring', b, 'monitoring', PORTS.alertmanagerCluster, 'alert-cluster', 'udp');
      }
    }
  }

  for (const dns of input.dnsHosts) {
    for (const host of hosts) if (host.name !== dns) add(host.name, host.roles[0]!, dns, 'dns', PORTS.dns, 'dns', 'udp');
  }
  return flows;
}
