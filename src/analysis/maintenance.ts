import type { ResolvedStack } from '../design/types.ts';
import { CAPABILITIES, CAPABILITY_TITLES, type Capability, type Role } from '../design/vocabulary.ts';
import type { Expr } from './expr.ts';
import { finding, hostsWith, listing, type Finding } from './finding.ts';
import { criticalRoles, fixesFor } from './spof.ts';

// Planned downtime: a tier on the request path with one member cannot be restarted
// or deployed without users noticing. A primary with automatic failover counts its
// replicas as members, since a switchover moves writes before the restart.

const REQUEST_PATH: Role[] = ['dns', 'lb', 'web', 'app', 'db-primary'];

export function maintenanceFindings(stack: ResolvedStack, expressions: Record<Capability, Expr>): Finding[] {
  const byHost = new Map<string, { roles: Role[]; capabilities: Set<Capability> }>();
  for (const role of REQUEST_PATH) {
    const members = hostsWith(stack, role);
    if (role === 'db-primary' && stack.policies.db.failover === 'automatic') members.push(...hostsWith(stack, 'db-replica'));
    if (members.length !== 1) continue;
    const host = members[0]!;
    const affected = CAPABILITIES.filter((c) => criticalRoles(stack, expressions[c], host).includes(role));
    if (affected.length === 0) continue;
    const entry = byHost.get(host) ?? { roles: [], capabilities: new Set<Capability>() };
    entry.roles.push(role);
    for (const c of affected) entry.capabilities.add(c);
    byHost.set(host, entry);
  }
  return [...byHost].map(([host, { roles, capabilities }]) =>
    finding(stack, {
      category: 'maintenance',
      capability: null,
      hosts: [host],
      message:
        `${host} is the only ${listing(roles)} host: restarting or deploying it means downtime for ` +
        listing(CAPABILITIES.filter((c) => capabilities.has(c)).map((c) => `'${CAPABILITY_TITLES[c]}'`)),
      fix: fixesFor(stack, roles),
    }),
  );
}
