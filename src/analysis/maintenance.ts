import type { ResolvedStack } from '../design/types.ts';
import { CAPABILITIES, CAPABILITY_TITLES, type Capability } from '../design/vocabulary.ts';
import type { Expr } from './expr.ts';
import { finding, listing, type Finding } from './finding.ts';
import { fixesFor, spofHosts } from './spof.ts';

// Planned downtime: restarting or deploying a host takes it away for a while, exactly as a
// failure would. So a host whose loss breaks a capability (read off the same expressions as the
// single points of failure) cannot be restarted without users noticing; a host that has a
// stand-in on the request path (a second lb that serves the entry, a replica that automatic
// failover promotes first) can. The two sections cannot disagree.

export function maintenanceFindings(stack: ResolvedStack, expressions: Record<Capability, Expr>): Finding[] {
  return [...spofHosts(stack, expressions)].map(([host, { capabilities, roles }]) =>
    finding(stack, {
      category: 'maintenance',
      capability: null,
      hosts: [host],
      message:
        `${host} has no stand-in as ${listing(roles)}: restarting or deploying it means downtime for ` +
        listing(CAPABILITIES.filter((c) => capabilities.includes(c)).map((c) => `'${CAPABILITY_TITLES[c]}'`)),
      fix: fixesFor(stack, roles),
    }),
  );
}
