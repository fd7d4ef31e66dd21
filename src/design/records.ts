import { unknownChoice, type Path } from './problems.ts';
import { DEFAULT_TTL, type Report } from './resolve-common.ts';
import type { ParsedDesign } from './schema.ts';
import type { ResolvedRecord, VirtualIp } from './types.ts';
import { ROLES, type Role } from './vocabulary.ts';

// DNS records: what each name points at (a role, hosts, or a virtual IP), its addresses and TTL,
// and how a client survives the loss of one target.

/** The roles that answer HTTP, and so may stand behind a name users type. */
const SERVING_ROLES: readonly Role[] = ['lb', 'web', 'app'];

export function resolveRecords(
  design: ParsedDesign,
  hostsWith: (r: Role) => string[],
  virtualIps: VirtualIp[],
  publicAddressOf: (host: string) => string | undefined,
  publicNetworks: string[],
  report: Report,
): ResolvedRecord[] {
  const entryRole: Role = hostsWith('lb').length ? 'lb' : hostsWith('web').length ? 'web' : 'app';
  const raw = design.records ?? { www: entryRole };
  const hostNames = Object.keys(design.hosts);
  const records: ResolvedRecord[] = [];
  for (const [name, value] of Object.entries(raw)) {
    const base: Path = ['records', name];
    const [written, targetPath, ttl] = typeof value === 'object' && !Array.isArray(value) ? [value.to, [...base, 'to'], value.ttl] : [value, base, undefined];
    const targets = typeof written === 'string' ? [written] : written;
    const hosts: string[] = [];
    const addresses: string[] = [];
    let viaVip = false;
    targets.forEach((target, i) => {
      const path = Array.isArray(written) ? [...targetPath, i] : targetPath;
      let targetHosts: string[];
      if ((ROLES as readonly string[]).includes(target)) {
        targetHosts = hostsWith(target as Role);
        if (targetHosts.length === 0) {
          report(path, `'${name}' points at role '${target}', which no host has: the record points at nothing`);
          return;
        }
        const vip = virtualIps.find((v) => v.role === target);
        if (vip) {
          viaVip = true;
          hosts.push(...vip.holders);
          addresses.push(vip.address);
          return;
        }
      } else if (hostNames.includes(target)) {
        targetHosts = [target];
      } else {
        report(path, unknownChoice('record target', target, [...ROLES, ...hostNames]));
        return;
      }
      for (const host of targetHosts) {
        // A name users type reaches a server over HTTP: a database or a monitoring host behind it
        // would answer nothing (and every capability would be silently lost).
        if (!design.hosts[host]!.roles.some((r) => SERVING_ROLES.includes(r))) {
          const serving = SERVING_ROLES.find((r) => hostsWith(r).length > 0) ?? 'lb';
          report(path, `'${name}' points at ${host}, which has no lb, web or app role and so serves no HTTP (its roles: ${design.hosts[host]!.roles.join(', ')}); point ${name} at the ${serving} role`);
          continue;
        }
        const address = publicAddressOf(host);
        if (!address) {
          // A host that is on a public network but got no address there has had its problem reported already.
          const onPublic = design.hosts[host]!.networks.some((n) => publicNetworks.includes(n));
          if (!onPublic) {
            const where = design.records ? path : ['hosts', host, 'networks'];
            report(where, `'${name}'${design.records ? '' : ' (the default record)'} points at ${host}, which has no address on a public network; add the public network to its networks`);
          }
          continue;
        }
        hosts.push(host);
        addresses.push(address);
      }
    });
    records.push({
      name,
      fqdn: name === '@' ? design.domain : `${name}.${design.domain}`,
      type: 'A',
      ttl: ttl ?? design.dns?.ttl ?? DEFAULT_TTL,
      addresses: [...new Set(addresses)],
      hosts: [...new Set(hosts)],
      redundancy: viaVip ? 'virtual-ip' : new Set(addresses).size > 1 ? 'multiple-records' : 'none',
    });
  }
  return records;
}
