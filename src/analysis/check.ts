import type { ResolvedStack } from '../design/types.ts';
import { CAPABILITIES, type Capability } from '../design/vocabulary.ts';
import { capabilityExpressions } from './capabilities.ts';
import { probability } from './expr.ts';
import type { Finding } from './finding.ts';
import { capacityFindings } from './capacity.ts';
import { durabilityFindings } from './durability.ts';
import { failoverFindings } from './failover.ts';
import { maintenanceFindings } from './maintenance.ts';
import { monitoringFindings } from './monitoring.ts';
import { securityFindings } from './security.ts';
import { spofFindings } from './spof.ts';

// `webstack check`: the analysis the seeds do by hand, computed from the resolved design.

export interface CheckReport {
  readonly stack: string;
  readonly findings: readonly Finding[];
  /** Probability that each capability works, from the per-host availability. */
  readonly availability: Readonly<Record<Capability, number>>;
}

export function check(stack: ResolvedStack): CheckReport {
  const expressions = capabilityExpressions(stack);
  const availabilityOf = new Map(stack.hosts.map((h) => [h.name, h.availability]));
  const availability = {} as Record<Capability, number>;
  for (const c of CAPABILITIES) {
    // Rounded so that the JSON is stable across floating-point noise.
    availability[c] = Number(probability(expressions[c], (h) => availabilityOf.get(h) ?? 1).toFixed(9));
  }
  return {
    stack: stack.stack,
    findings: [
      ...spofFindings(stack, expressions),
      ...durabilityFindings(stack),
      ...failoverFindings(stack),
      ...securityFindings(stack),
      ...monitoringFindings(stack),
      ...maintenanceFindings(stack, expressions),
      ...capacityFindings(stack),
    ],
    availability,
  };
}
