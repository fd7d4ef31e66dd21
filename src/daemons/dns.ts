import { join } from 'node:path';
import type { ResolvedStack } from '../design/types.ts';
import { PORTS } from '../design/ports.ts';
import type { LabHost, Topology } from '../plan/topology.ts';
import { needsAcme } from '../plan/topology.ts';
import { header, listener, staged, type DaemonContext, type RunnableDaemon } from './types.ts';

/** The TSIG key name the ACME clients sign their zone updates with. */
export const ACME_UPDATE_KEY = 'acme-update';

// DNS: Knot, authoritative for the stack's domain. It runs on the design's dns hosts or, when the
// design leaves DNS to a provider ('managed'), on a host the lab adds to stand for that provider.

export const dns: RunnableDaemon = {
  name: 'dns',
  title: 'Knot, the authoritative DNS server',
  programs: { knotd: 'knot', knotc: 'knot', kzonecheck: 'knot-dnssecutils', dig: 'bind9-dnsutils' },
  listens: (role) => (role === 'dns' ? [listener('dns', role, PORTS.dns, 'dns', 'udp'), listener('dns', role, PORTS.dns, 'dns', 'tcp')] : []),
  runsOn: (host) => host.roles.includes('dns'),
  after: [],
  render(context) {
    const { paths, host } = context;
    const configFile = join(paths.config, 'knot.conf');
    const zoneFile = join(paths.config, `${context.design.domain}.zone`);
    const listen = Object.values(host.addresses);
    const acme = needsAcme(context.design) ? acmeUpdates(context) : { sections: '', acl: '' };
    const config = `${header('#', context, 'dns')}
server:
    rundir: "${paths.run}"
    pidfile: "${join(paths.run, 'knot.pid')}"
    listen: [ ${listen.map((a) => `${a}@${PORTS.dns}`).join(', ')} ]

database:
    storage: "${paths.run}"

log:
  - target: stderr
    any: info
${acme.sections}
zone:
  - domain: ${context.design.domain}
    file: "${zoneFile}"
    # Dynamic updates (the ACME challenges) live in memory only: the zone file stays the design's.
    journal-content: none
    zonefile-sync: -1
    semantic-checks: on
${acme.acl}`;
    return {
      daemon: 'dns',
      host: host.name,
      namespace: host.namespace,
      after: dns.after,
      command: ['knotd', '--config', configFile],
      files: [
        { path: configFile, content: config, mode: 0o644 },
        { path: zoneFile, content: renderZone(context.design, context.topology), mode: 0o644 },
      ],
      validate: [
        ['knotc', '--config', staged(configFile), 'conf-check'],
        ['kzonecheck', '--origin', context.design.domain, staged(zoneFile)],
      ],
      // Re-reads the config and every zone file that changed; answers go on meanwhile.
      reload: { command: ['knotc', '--config', configFile, '--timeout', '5', 'reload'] },
      dirs: [{ path: paths.run }],
      copies: [],
      readiness: { kind: 'dns', server: listen[0]!, name: context.design.domain },
      readinessTimeoutMs: 10_000,
      log: paths.log,
    };
  },
};

/** The TSIG key and the rule that let the load balancers' ACME client add its challenge records (DNS-01). */
function acmeUpdates(context: DaemonContext): { sections: string; acl: string } {
  const lbs = context.topology.hosts.filter((h) => h.roles.includes('lb')).flatMap((h) => Object.values(h.addresses));
  const sections = `
key:
  - id: ${ACME_UPDATE_KEY}
    algorithm: hmac-sha256
    secret: ${context.secrets.dnsUpdateKey}

acl:
  - id: acme-challenges
    address: [ ${lbs.join(', ')} ]
    key: ${ACME_UPDATE_KEY}
    action: update
    update-type: [ TXT ]
`;
  return { sections, acl: '    acl: acme-challenges\n' };
}

/** The zone: SOA, one NS (and its A record) per DNS server, then the design's A records. */
export function renderZone(design: ResolvedStack, topology: Topology): string {
  const servers = topology.hosts.filter((h) => h.roles.includes('dns'));
  const origin = `${design.domain}.`;
  const nsName = (i: number) => `ns${i + 1}`;
  const lines = [
    `; Zone ${design.domain} for stack ${topology.stack}, rendered by webstack from the design.`,
    `$ORIGIN ${origin}`,
    `$TTL ${design.dns.ttl}`,
    `@ IN SOA ${nsName(0)}.${origin} hostmaster.${origin} 1 3600 600 604800 ${design.dns.ttl}`,
    ...servers.map((_, i) => `@ IN NS ${nsName(i)}.${origin}`),
    ...servers.flatMap((s, i) => publicAddresses(design, s).map((a) => `${nsName(i)} IN A ${a}`)),
    ...design.records.flatMap((r) => r.addresses.map((a) => `${r.name} ${r.ttl} IN A ${a}`)),
  ];
  return lines.join('\n') + '\n';
}

function publicAddresses(design: ResolvedStack, host: LabHost): string[] {
  return design.networks.filter((n) => n.exposure === 'public' && host.addresses[n.name]).map((n) => host.addresses[n.name]!);
}

