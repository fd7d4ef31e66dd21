import type { ResolvedStack } from '../design/types.ts';
import { CAPABILITIES, CAPABILITY_TITLES, type Capability, type Role } from '../design/vocabulary.ts';
import { evaluate, type Expr } from './expr.ts';
import { finding, hostsWith, type Finding } from './finding.ts';

// A single point of failure for a capability: a host whose loss alone breaks it.
// Found by taking each host away in turn, never by rules about blueprints.

/** The roles of `host` whose loss alone breaks `e`. */
export function criticalRoles(stack: ResolvedStack, e: Expr, host: string): Role[] {
  const roles = stack.hosts.find((h) => h.name === host)?.roles ?? [];
  return roles.filter((role) => !evaluate(e, (h, r) => !(h === host && r === role)));
}

export function breaks(e: Expr, host: string): boolean {
  return evaluate(e, () => true) && !evaluate(e, (h) => h !== host);
}

/** One fix for several critical roles: web and app on one server are fixed together. */
export function fixesFor(stack: ResolvedStack, roles: readonly Role[]): string {
  const webAndApp = roles.includes('web') && roles.includes('app');
  const lbs = hostsWith(stack, 'lb').length;
  const together = lbs === 0 ? 'put an lb in front of two or more servers running web and app' : 'add a second server running web and app behind the lb';
  // With health checks off, a second server is no fix: the lb would still need both.
  const fixes = roles.map((r) => (webAndApp && (r === 'web' || r === 'app') && (lbs === 0 || stack.policies.healthChecks.enabled) ? together : fixFor(stack, r)));
  return [...new Set(fixes)].join('; ') || 'run its roles on two or more hosts';
}

export function fixFor(stack: ResolvedStack, role: Role): string {
  const p = stack.policies;
  const count = hostsWith(stack, role).length;
  switch (role) {
    case 'lb':
      return count < 2
        ? 'add a second lb sharing a virtual IP (policies.lb.virtualIp: true)'
        : `point '${stack.entry}' at the lb role, so that every lb serves it, and share a virtual IP (policies.lb.virtualIp: true)`;
    case 'web':
    case 'app':
      if (count > 1 && !p.healthChecks.enabled) return 'enable health checks (policies.healthChecks.enabled: true) so the lb stops sending requests to a dead server';
      if (hostsWith(stack, 'lb').length === 0) return `put an lb in front of two or more ${role} hosts`;
      return `add a second ${role} host behind the lb`;
    case 'db-primary':
      return 'make the databases a Galera cluster of three or more (hosts of role db, policies.db.replication: galera), which goes on without any one member and loses no acknowledged write';
    case 'db':
      return 'add db hosts, so that the others still make a majority of the cluster when one is lost (three members survive one)';
    case 'dns':
      return 'add a second dns host (a second NS record)';
    default:
      return `add a second ${role} host`;
  }
}

/** For each host that is a single point of failure, the roles that matter, over every capability. */
export function spofHosts(stack: ResolvedStack, expressions: Record<Capability, Expr>): Map<string, { capabilities: Capability[]; roles: Role[] }> {
  const hosts = new Map<string, { capabilities: Capability[]; roles: Role[] }>();
  for (const capability of CAPABILITIES) {
    for (const host of stack.hosts) {
      if (!breaks(expressions[capability], host.name)) continue;
      const entry = hosts.get(host.name) ?? { capabilities: [], roles: [] };
      entry.capabilities.push(capability);
      for (const role of criticalRoles(stack, expressions[capability], host.name)) if (!entry.roles.includes(role)) entry.roles.push(role);
      hosts.set(host.name, entry);
    }
  }
  // In the host's own order of roles.
  for (const [name, entry] of hosts) entry.roles.sort((a, b) => roleOrder(stack, name, a) - roleOrder(stack, name, b));
  return hosts;
}

function roleOrder(stack: ResolvedStack, host: string, role: Role): number {
  return stack.hosts.find((h) => h.name === host)!.roles.indexOf(role);
}

export function spofFindings(stack: ResolvedStack, expressions: Record<Capability, Expr>): Finding[] {
  const findings: Finding[] = [];
  const hosts = spofHosts(stack, expressions);
  for (const capability of CAPABILITIES) {
    const e = expressions[capability];
    // A capability that fails with every host up has no single point of failure: it has none at all.
    if (!evaluate(e, () => true)) {
      findings.push(
        finding(stack, {
          category: 'spof',
          capability,
          hosts: [],
          message: `'${CAPABILITY_TITLES[capability]}' cannot work even with every host up: nothing on the way from the entry serves it`,
          fix: 'give the entry a path through lb, web and app hosts to a database',
        }),
      );
      continue;
    }
    for (const host of stack.hosts) {
      if (!breaks(e, host.name)) continue;
      const roles = criticalRoles(stack, e, host.name);
      const via = roles.length ? ` (as ${roles.join(', ')})` : '';
      findings.push(
        finding(stack, {
          category: 'spof',
          capability,
          hosts: [host.name],
          message: `losing ${host.name}${via} alone breaks '${CAPABILITY_TITLES[capability]}'`,
          // One fix per host, for every role of it that matters to any capability.
          fix: fixesFor(stack, hosts.get(host.name)!.roles),
        }),
      );
    }
  }
  return findings;
}
