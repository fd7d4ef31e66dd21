import type { Flow, ResolvedStack } from '../design/types.ts';
import type { Role } from '../design/vocabulary.ts';
import type { LabHost } from '../plan/topology.ts';

// Where a daemon listens and whom it calls, derived from the design's flows, so that a daemon binds
// only the addresses its callers come from (loopback when they are on the same host).

export const LOOPBACK = '127.0.0.1';

/** The addresses of `host` that callers of `role` reach it on, loopback first when a caller is local. */
export function bindAddresses(design: ResolvedStack, host: LabHost, role: Role): string[] {
  const inbound = design.flows.filter((f) => f.to === host.name && f.toRole === role);
  const local = inbound.some((f) => f.network === null);
  const remote = [...new Set(inbound.flatMap((f) => (f.network ? [host.addresses[f.network]!] : [])))];
  return [...(local ? [LOOPBACK] : []), ...remote];
}

export interface Endpoint {
  readonly host: string;
  readonly address: string;
}

/** Where `host` reaches the targets of its outbound flows with `purpose`. */
export function targetsOf(design: ResolvedStack, host: string, purpose: Flow['purpose']): Endpoint[] {
  const byName = new Map(design.hosts.map((h) => [h.name, h]));
  return design.flows
    .filter((f) => f.from === host && f.purpose === purpose)
    .map((f) => ({ host: f.to, address: f.network === null ? LOOPBACK : byName.get(f.to)!.addresses[f.network]! }));
}
