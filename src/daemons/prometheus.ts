import { join } from 'node:path';
import { PORTS } from '../design/ports.ts';
import { LOOPBACK } from './listeners.ts';
import { header, listener, staged, type DaemonContext, type RunnableDaemon } from './types.ts';

// Prometheus on every monitoring host. Each scrapes every target on its own, every 5 s, so two
// monitoring hosts keep two full copies. The targets are its metrics flows: what the port table
// says each monitored host serves, for the daemons the lab runs.

const SCRAPE_INTERVAL = '5s';

interface Target {
  readonly job: string;
  readonly address: string;
  readonly host: string;
}

/** What this monitoring host scrapes: its metrics flows, by the daemon that serves each port. */
export function scrapeTargets(context: Pick<DaemonContext, 'design' | 'host' | 'servedBy'>): Target[] {
  const { design, host } = context;
  const byName = new Map(design.hosts.map((h) => [h.name, h]));
  const targets: Target[] = [];
  for (const f of design.flows) {
    if (f.from !== host.name || f.purpose !== 'metrics') continue;
    const to = byName.get(f.to)!;
    const daemon = context.servedBy(f.to, f.port);
    // A daemon the lab does not run yet has nothing to scrape; nor has the app, until it serves /metrics.
    if (!daemon || daemon === 'app') continue;
    targets.push({ job: daemon, address: `${f.network === null ? LOOPBACK : to.addresses[f.network]!}:${f.port}`, host: to.name });
  }
  return targets;
}

export const prometheus: RunnableDaemon = {
  name: 'prometheus',
  title: 'Prometheus, the monitoring server',
  programs: { prometheus: 'prometheus', promtool: 'prometheus' },
  listens: (role) => (role === 'monitoring' ? [listener('prometheus', role, PORTS.prometheus, 'monitoring')] : []),
  runsOn: (host) => host.roles.includes('monitoring'),
  // Its targets are up before it first scrapes them.
  after: ['node-exporter', 'haproxy', 'nginx', 'mariadb'],
  render(context) {
    const { paths, host, design } = context;
    // Where the other monitoring hosts scrape it; loopback when it is the only one.
    const inbound = design.flows.find((f) => f.to === host.name && f.port === PORTS.prometheus && f.network !== null);
    const address = inbound ? host.addresses[inbound.network!]! : LOOPBACK;
    const jobs = new Map<string, Target[]>();
    // It scrapes itself where it listens.
    for (const t of scrapeTargets(context)) {
      const target = t.job === 'prometheus' && t.host === host.name ? { ...t, address: `${address}:${PORTS.prometheus}` } : t;
      jobs.set(t.job, [...(jobs.get(t.job) ?? []), target]);
    }
    const configFile = join(paths.config, 'prometheus.yml');
    const config = `${header('#', context, 'prometheus')}
global:
  scrape_interval: ${SCRAPE_INTERVAL}
  evaluation_interval: ${SCRAPE_INTERVAL}
  scrape_timeout: 4s
  external_labels:
    monitor: ${host.name}

scrape_configs:
${[...jobs.entries()]
  .map(
    ([job, targets]) => `  - job_name: ${job}
    static_configs:
${targets.map((t) => `      - targets: ['${t.address}']\n        labels: { host: ${t.host} }`).join('\n')}`,
  )
  .join('\n')}
`;
    return {
      daemon: 'prometheus',
      host: host.name,
      namespace: host.namespace,
      after: prometheus.after,
      command: ['prometheus', `--config.file=${configFile}`, `--storage.tsdb.path=${join(paths.data, 'data')}`, '--storage.tsdb.retention.time=2d', `--web.listen-address=${address}:${PORTS.prometheus}`],
      files: [{ path: configFile, content: config, mode: 0o644 }],
      dirs: [{ path: paths.data }, { path: join(paths.data, 'data') }],
      copies: [],
      validate: [['promtool', 'check', 'config', staged(configFile)]],
      // Prometheus re-reads its config and its targets on SIGHUP.
      reload: { signal: 'SIGHUP' },
      readiness: { kind: 'http', url: `http://${address}:${PORTS.prometheus}/-/ready` },
      readinessTimeoutMs: 30_000,
      log: paths.log,
    };
  },
};
