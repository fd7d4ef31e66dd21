import { hostListeners } from '../daemons/registry.ts';
import { listenerOptions, tlsEndToEnd } from '../design/ports.ts';
import type { Flow, ResolvedStack } from '../design/types.ts';
import { CLIENT } from '../design/vocabulary.ts';
import { finding, listing, type Finding } from './finding.ts';

// Security gaps, read off the flows: what the client can reach that it should not,
// and what crosses the public network in plain text.

export function securityFindings(stack: ResolvedStack): Finding[] {
  const findings: Finding[] = [];
  const p = stack.policies;
  const entry = stack.records.find((r) => r.name === stack.entry);
  const entryHosts = entry?.hosts ?? [];

  if (!p.tls) {
    findings.push(
      finding(stack, {
        category: 'security',
        capability: null,
        hosts: entryHosts,
        message: `the public entry (${entry?.fqdn ?? stack.domain}) serves plain HTTP: no TLS on ${listing(entryHosts)}`,
        fix: 'set policies.tls: true to terminate TLS at the public entry (HTTP then only redirects to HTTPS)',
      }),
    );
  }
  if (!p.firewall) {
    findings.push(
      finding(stack, {
        category: 'security',
        capability: null,
        hosts: stack.hosts.map((h) => h.name),
        message: 'no firewall: every port of every host is open to every network it is on',
        fix: 'set policies.firewall: true, so that each host accepts only the flows the design derives',
      }),
    );
  }

  // A port is reachable from the public network when its host has a public address and
  // either no firewall stands in front of it or a flow from the client lets it through.
  const publicNetworks = new Set(stack.networks.filter((n) => n.exposure === 'public').map((n) => n.name));
  for (const host of stack.hosts) {
    if (!Object.keys(host.addresses).some((n) => publicNetworks.has(n))) continue;
    const allowed = new Set(stack.flows.filter((f) => f.from === CLIENT && f.to === host.name).map((f) => `${f.protocol}/${f.port}`));
    const listeners = hostListeners(host.roles, listenerOptions(p, stack.app.port, host.monitored));
    const exposed = listeners.filter((l) => l.kind !== 'entry' && l.kind !== 'dns' && (!host.firewall || allowed.has(`${l.protocol}/${l.port}`)));
    if (exposed.length === 0) continue;
    const ports = [...new Map(exposed.map((l) => [l.port, `${l.kind} port ${l.port} (${l.daemon})`])).values()];
    findings.push(
      finding(stack, {
        category: 'security',
        capability: null,
        hosts: [host.name],
        message: `${listing(ports)} on ${host.name} ${ports.length === 1 ? 'is' : 'are'} reachable from the public network`,
        fix: host.firewall
          ? 'remove the flow that exposes it'
          : `set policies.firewall: true, so that ${host.name} accepts from the public network only what the client needs`,
      }),
    );
  }
  findings.push(...backendsInPublic(stack, publicNetworks), ...entryAroundLbs(stack), ...plainBehindTls(stack));
  return findings;
}

/** Roles that nothing outside the stack has any business reaching. */
const PRIVATE_ROLES = ['db-primary', 'db-replica', 'db', 'cache', 'monitoring'] as const;

/** A database, cache or monitoring host with a public address: a firewall rule away from exposure. */
function backendsInPublic(stack: ResolvedStack, publicNetworks: ReadonlySet<string>): Finding[] {
  return stack.hosts.flatMap((host) => {
    const roles = host.roles.filter((r) => (PRIVATE_ROLES as readonly string[]).includes(r));
    const networks = Object.keys(host.addresses).filter((n) => publicNetworks.has(n));
    if (roles.length === 0 || networks.length === 0) return [];
    return [
      finding(stack, {
        category: 'security',
        capability: null,
        hosts: [host.name],
        message: `${host.name} (${listing(roles)}) has an address on the public network ${listing(networks)}: ${host.firewall ? 'with the firewall on, it is' : 'it is'} one mistaken rule away from being exposed`,
        fix: `give ${host.name} no public address: take ${listing(networks)} out of its networks${host.roles.some((r) => r === 'web' || r === 'app' || r === 'lb') ? ', and its serving roles to another host' : ''}`,
      }),
    ];
  });
}

/** An entry that reaches web or app hosts straight, while the design has load balancers. */
function entryAroundLbs(stack: ResolvedStack): Finding[] {
  if (!stack.hosts.some((h) => h.roles.includes('lb'))) return [];
  return stack.records.flatMap((record) => {
    const around = record.hosts.filter((name) => !stack.hosts.find((h) => h.name === name)?.roles.includes('lb'));
    if (around.length === 0) return [];
    return [
      finding(stack, {
        category: 'security',
        capability: null,
        hosts: around,
        message: `${record.fqdn} reaches ${listing(around)} directly, around the load balancers: no TLS termination, health checks or retries there`,
        fix: `point ${record.name} at the lb role`,
      }),
    ];
  });
}

const PROTOCOLS: Partial<Record<Flow['purpose'], string>> = { proxy: 'HTTP', app: 'HTTP', 'sql-write': 'MySQL', 'sql-read': 'MySQL', replication: 'MySQL replication', cache: 'Redis' };

/** TLS that ends at the entry: the hops behind it that carry users' data in clear. */
function plainBehindTls(stack: ResolvedStack): Finding[] {
  if (!stack.policies.tls || tlsEndToEnd(stack.policies)) return [];
  const hops = new Map<string, Flow>();
  for (const f of stack.flows) if (f.network !== null && PROTOCOLS[f.purpose] && !hops.has(`${f.fromRole}>${f.toRole}>${f.purpose}`)) hops.set(`${f.fromRole}>${f.toRole}>${f.purpose}`, f);
  if (hops.size === 0) return [];
  const described = [...new Map([...hops.values()].map((f) => [`${f.fromRole}>${f.toRole}>${PROTOCOLS[f.purpose]}`, `${f.fromRole} → ${f.toRole} (${PROTOCOLS[f.purpose]}, e.g. ${f.from} → ${f.to})`])).values()];
  const hosts = [...new Set([...hops.values()].flatMap((f) => [f.from, f.to]))];
  return [
    finding(stack, {
      category: 'security',
      capability: null,
      hosts,
      message: `TLS ends at the entry: behind it, ${listing(described)} travel in clear`,
      fix: 'encrypt every hop: policies.tls: { mode: end-to-end }; until then keep those networks private and firewalled',
    }),
  ];
}
