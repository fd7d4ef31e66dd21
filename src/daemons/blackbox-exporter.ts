import { join } from 'node:path';
import { stringify } from 'yaml';
import { PORTS } from '../design/ports.ts';
import type { ResolvedStack } from '../design/types.ts';
import { acmeHost, type Topology } from '../plan/topology.ts';
import { LOOPBACK } from './listeners.ts';
import { labRootsFile } from './pebble.ts';
import { header, staged, type RunnableDaemon } from './types.ts';

// The uptime check, from where users are: the blackbox exporter on the lab's client host, the
// internet side, probes the site's URL (status, TLS, the certificate's expiry) and its name at the
// stack's DNS. From there it sees what users see, also when the whole stack is down. Each
// monitoring host scrapes it through a relay (src/daemons/uptime-relay.ts), as a hosted uptime
// service reports to its customer's monitoring.

export const UPTIME_MODULES = { site: 'site', dns: 'dns' } as const;

/** Whether the lab probes this stack from the internet side. */
export function probesUptime(design: ResolvedStack): boolean {
  return design.policies.monitoring.uptimeCheck && design.hosts.some((h) => h.roles.includes('monitoring'));
}

/** What the probe asks for: the entry's URL, and its name at the DNS server the client uses. */
export function uptimeTargets(design: ResolvedStack, topology: Topology): { url: string | null; name: string | null; dnsServer: string | null } {
  const www = design.records.find((r) => r.name === design.entry) ?? design.records[0];
  const client = topology.hosts.find((h) => h.kind === 'client')!;
  return { url: www ? `${design.policies.tls ? 'https' : 'http'}://${www.fqdn}/` : null, name: www?.fqdn ?? null, dnsServer: client.resolver };
}

export const blackboxExporter: RunnableDaemon = {
  name: 'blackbox-exporter',
  title: 'the uptime probe, from the internet side',
  programs: { 'prometheus-blackbox-exporter': 'prometheus-blackbox-exporter' },
  // It runs on the lab's client, which is no host of the design: nothing to declare.
  listens: () => [],
  runsOn: (host, design) => host.kind === 'client' && probesUptime(design),
  // It trusts the lab's ACME root, which exists once the CA runs.
  after: ['pebble'],
  render(context) {
    const { paths, host, design, topology } = context;
    const acme = acmeHost(topology);
    const { name } = uptimeTargets(design, topology);
    const modules = {
      modules: {
        [UPTIME_MODULES.site]: {
          prober: 'http',
          timeout: '3s',
          http: {
            preferred_ip_protocol: 'ip4',
            ip_protocol_fallback: false,
            valid_status_codes: [200],
            ...(design.policies.tls ? { fail_if_not_ssl: true } : {}),
            ...(acme ? { tls_config: { ca_file: labRootsFile({ paths: context.pathsOf(acme.name, 'pebble') }) } } : {}),
          },
        },
        [UPTIME_MODULES.dns]: {
          prober: 'dns',
          timeout: '2s',
          dns: {
            preferred_ip_protocol: 'ip4',
            ip_protocol_fallback: false,
            query_name: name ?? design.domain,
            query_type: 'A',
            valid_rcodes: ['NOERROR'],
            // An answer with no address is a failure too.
            validate_answer_rrs: { fail_if_none_matches_regexp: ['.*\\tIN\\tA\\t.*'] },
          },
        },
      },
    };
    const configFile = join(paths.config, 'blackbox.yml');
    return {
      daemon: 'blackbox-exporter',
      host: host.name,
      namespace: host.namespace,
      after: blackboxExporter.after,
      command: ['prometheus-blackbox-exporter', `--config.file=${configFile}`, `--web.listen-address=${LOOPBACK}:${PORTS.blackboxExporter}`],
      files: [{ path: configFile, content: `${header('#', context, 'blackbox-exporter')}${stringify(modules, { lineWidth: 0 })}`, mode: 0o644 }],
      dirs: [],
      copies: [],
      validate: [['prometheus-blackbox-exporter', `--config.file=${staged(configFile)}`, '--config.check']],
      reload: { signal: 'SIGHUP' },
      readiness: { kind: 'http', url: `http://${LOOPBACK}:${PORTS.blackboxExporter}/metrics` },
      readinessTimeoutMs: 10_000,
      log: paths.log,
    };
  },
};
