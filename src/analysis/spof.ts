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
  const webAndApp = roles.includes('web') && roles.includes('app') && hostsWith(stack, 'lb').length === 0;
  const fixes = roles.map((r) => (webAndApp && (r === 'web' || r === 'app') ? 'put an lb in front of two or more servers running web and app' : fixFor(stack, r)));
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
      return hostsWith(stack, 'db-replica').length === 0
        ? 'add a db-replica and set policies.db.failover: automatic, so that a replica is promoted when the primary is lost'
        : 'set policies.db.failover: automatic, so that a replica is promoted when the primary is lost';
    case 'dns':
      return 'add a second dns host (a second NS record)';
    default:
      return `add a second ${role} host`;
  }
}

export function spofFindings(stack: ResolvedStack, expressions: Record<Capability, Expr>): Finding[] {
  const findings: Finding[] = [];
  for (const capability of CAPABILITIES) {
    const e = expressions[capability];
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
          fix: fixesFor(stack, roles),
        }),
      );
    }
  }
  return findings;
}
