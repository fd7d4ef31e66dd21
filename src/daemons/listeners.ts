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

/**
 * Where a daemon on `host` listens: where the flows of `purpose` to `port` come in (loopback for a
 * local one, and when there are none). An exporter listens where the monitoring hosts' scrapes come in.
 */
export function scrapeAddresses(design: ResolvedStack, host: Pick<LabHost, 'name' | 'addresses'>, port: number, purpose: Flow['purpose'] = 'metrics'): string[] {
  const inbound = design.flows.filter((f) => f.to === host.name && f.port === port && f.purpose === purpose);
  const addresses = [...new Set(inbound.map((f) => (f.network === null ? LOOPBACK : host.addresses[f.network]!)))];
  return addresses.length > 0 ? addresses : [LOOPBACK];
}

/** Whether monitoring scrapes this host: it is monitored, and the stack has a monitoring host. */
export function isMonitored(design: ResolvedStack, host: string): boolean {
  return (design.hosts.find((h) => h.name === host)?.monitored ?? false) && design.hosts.some((h) => h.roles.includes('monitoring'));
}
