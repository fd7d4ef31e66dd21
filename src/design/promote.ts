import { deriveFlows } from './flows.ts';
import type { ResolvedStack } from './types.ts';

// A primary/replica design after `promote`: the promoted replica is the primary and the old
// primary one of its replicas. Only the roles change; the flows are derived again from them, so
// replication, the firewall and the monitoring follow the new primary as they followed the old.
// Pure: the running stack records which replica was promoted (plan/rollout.ts).

/** The design's primary now, the host with role db-primary; null in a design without one. */
export function primaryOf(design: ResolvedStack): string | null {
  return design.hosts.find((h) => h.roles.includes('db-primary'))?.name ?? null;
}

/** Why `host` cannot be promoted in this design; null when it can. */
export function promotionProblem(design: ResolvedStack, host: string): string | null {
  const found = design.hosts.find((h) => h.name === host);
  if (!found) return `there is no host '${host}'; the database servers are ${databaseServers(design).join(', ') || 'none'}`;
  if (design.policies.db.replication === 'galera') return `${design.stack} is a Galera cluster: every member takes writes, and the write address moves by itself; there is nothing to promote`;
  if (found.roles.includes('db-primary')) return `${host} is the primary already`;
  if (!found.roles.includes('db-replica')) return `${host} is no database replica (roles: ${found.roles.join(', ')}); the replicas are ${replicasOf(design).join(', ') || 'none'}`;
  return null;
}

/** The design with `host`, a replica, as its primary and the primary as a replica; the design itself for null. */
export function withPrimary(design: ResolvedStack, host: string | null | undefined): ResolvedStack {
  const current = primaryOf(design);
  if (!host || host === current) return design;
  const problem = promotionProblem(design, host);
  if (problem) throw new Error(`cannot promote ${host}: ${problem}`);
  const swap = (role: string) => (role === 'db-primary' ? 'db-replica' : role === 'db-replica' ? 'db-primary' : role);
  const hosts = design.hosts.map((h) => (h.name === host || h.name === current ? { ...h, roles: h.roles.map(swap) as typeof h.roles } : h));
  const problems: string[] = [];
  const flows = deriveFlows(
    {
      hosts,
      networks: design.networks,
      records: design.records,
      entry: design.entry,
      virtualIps: design.virtualIps,
      policies: design.policies,
      dnsHosts: design.dns.hosts,
      monitoring: hosts.filter((h) => h.roles.includes('monitoring')).map((h) => h.name),
      appPort: design.app.port,
    },
    (_path, message) => problems.push(message),
  );
  // The two hosts had the same networks' worth of flows before: a problem here is a bug, not the user's.
  if (problems.length > 0) throw new Error(`promoting ${host} broke the design: ${problems.join('; ')}`);
  return { ...design, hosts, flows };
}

function databaseServers(design: ResolvedStack): string[] {
  return design.hosts.filter((h) => h.roles.includes('db-primary') || h.roles.includes('db-replica')).map((h) => h.name);
}

function replicasOf(design: ResolvedStack): string[] {
  return design.hosts.filter((h) => h.roles.includes('db-replica')).map((h) => h.name);
}
