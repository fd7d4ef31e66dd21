import { join } from 'node:path';
import { PORTS } from '../design/ports.ts';
import { alertmanagerAddress, alertmanagersOf } from './alertmanager.ts';
import { probesUptime, UPTIME_MODULES, uptimeTargets } from './blackbox-exporter.ts';
import { appServesTls, internalCaFile } from '../plan/internal-ca.ts';
import { LOOPBACK } from './listeners.ts';
import { renderRules, type Job } from './prometheus-rules.ts';
import { header, listener, staged, type DaemonContext, type RunnableDaemon } from './types.ts';

// Prometheus on every monitoring host. Each scrapes every target on its own, every 5 s, so two
// monitoring hosts keep two full copies. The targets are its metrics flows: what the port table
// says each monitored host serves, for the daemons the lab runs.

const SCRAPE_INTERVAL = '5s';

interface Target {
  readonly job: string;
  readonly address: string;
  readonly host: string;
  /** Scraped over HTTPS, verified against the stack's CA (the app, with TLS end to end). */
  readonly tls: boolean;
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
    // A daemon the lab does not run yet has nothing to scrape; nor has a design's own app server.
    if (!daemon || (daemon === 'app' && design.app.command !== null)) continue;
    targets.push({ job: daemon, address: `${f.network === null ? LOOPBACK : to.addresses[f.network]!}:${f.port}`, host: to.name, tls: daemon === 'app' && appServesTls(design, to.name) });
  }
  return targets;
}

/** The uptime probe's two jobs: the site's URL, and its name at the stack's DNS, through the relay to the internet side. */
function uptimeJobs({ design, topology }: Pick<DaemonContext, 'design' | 'topology'>): string {
  if (!probesUptime(design)) return '';
  const { url, dnsServer } = uptimeTargets(design, topology);
  const job = (name: string, module: string, target: string) => `  - job_name: ${name}
    metrics_path: /probe
    params: { module: [${module}] }
    static_configs:
      - targets: ['${target}']
    relabel_configs:
      - { source_labels: [__address__], target_label: __param_target }
      - { source_labels: [__param_target], target_label: instance }
      - { target_label: __address__, replacement: '${LOOPBACK}:${PORTS.blackboxExporter}' }
`;
  return [url ? job('uptime', UPTIME_MODULES.site, url) : '', dnsServer ? job('uptime-dns', UPTIME_MODULES.dns, dnsServer) : ''].join('');
}

export const prometheus: RunnableDaemon = {
  name: 'prometheus',
  title: 'Prometheus, the monitoring server',
  programs: { prometheus: 'prometheus', promtool: 'prometheus' },
  listens: (role) => (role === 'monitoring' ? [listener('prometheus', role, PORTS.prometheus, 'monitoring')] : []),
  runsOn: (host) => host.roles.includes('monitoring'),
  // Its targets are up before it first scrapes them.
  after: ['node-exporter', 'haproxy', 'nginx', 'mariadb', 'app', 'alertmanager', 'uptime-relay'],
  render(context) {
    const { paths, host, design } = context;
    // Where the other monitoring hosts scrape it; loopback when it is the only one.
    const inbound = design.flows.find((f) => f.to === host.name && f.port === PORTS.prometheus && f.network !== null);
    const address = inbound ? host.addresses[inbound.network!]! : LOOPBACK;
    const jobs = new Map<string, Target[]>();
    // It scrapes itself, and its own Alertmanager, where they listen.
    const own: Record<string, string> = { prometheus: `${address}:${PORTS.prometheus}`, alertmanager: `${alertmanagerAddress(design, host)}:${PORTS.alertmanager}` };
    for (const t of scrapeTargets(context)) {
      const target = t.host === host.name && own[t.job] ? { ...t, address: own[t.job]! } : t;
      jobs.set(t.job, [...(jobs.get(t.job) ?? []), target]);
    }
    const configFile = join(paths.config, 'prometheus.yml');
    const rulesFile = join(paths.config, 'rules.yml');
    const alerting = design.policies.monitoring.alerting;
    const rules = renderRules(new Set([...jobs.keys(), ...(probesUptime(design) ? ['uptime'] : [])]) as Set<Job>, context.topology.stack, {
      primary: design.hosts.some((h) => h.roles.includes('db-primary')),
      clusterMembers: design.hosts.filter((h) => h.roles.includes('db')).length,
    });
    const config = `${header('#', context, 'prometheus')}
global:
  scrape_interval: ${SCRAPE_INTERVAL}
  evaluation_interval: ${SCRAPE_INTERVAL}
  scrape_timeout: 4s
  external_labels:
    monitor: ${host.name}

rule_files: ['${rulesFile}']
${
  alerting
    ? `
alerting:
  # Each Prometheus labels its series with its own name; an alert must not carry it, or the
  # Alertmanagers would see one alert per Prometheus and tell a person once for each.
  alert_relabel_configs:
    - action: labeldrop
      regex: monitor
  alertmanagers:
    - static_configs:
        - targets: [${alertmanagersOf(design, host).map((a) => `'${a}'`).join(', ')}]
`
    : ''
}
scrape_configs:
${[...jobs.entries()]
  .map(
    ([job, targets]) => `  - job_name: ${job}${targets.some((t) => t.tls) ? `\n    scheme: https\n    tls_config:\n      ca_file: ${internalCaFile(context.stackPaths)}` : ''}
    static_configs:
${targets.map((t) => `      - targets: ['${t.address}']\n        labels: { host: ${t.host} }`).join('\n')}`,
  )
  .join('\n')}
${uptimeJobs(context)}`;
    return {
      daemon: 'prometheus',
      host: host.name,
      namespace: host.namespace,
      after: prometheus.after,
      command: ['prometheus', `--config.file=${configFile}`, `--storage.tsdb.path=${join(paths.data, 'data')}`, '--storage.tsdb.retention.time=2d',
        // Sends what fires to Alertmanager again every 5 s, not every minute: an alert that fired before
        // an Alertmanager was reachable reaches it seconds later.
        ...(alerting ? ['--rules.alert.resend-delay=5s'] : []), `--web.listen-address=${address}:${PORTS.prometheus}`],
      files: [
        { path: configFile, content: config, mode: 0o644 },
        { path: rulesFile, content: `${header('#', context, 'prometheus')}${rules}`, mode: 0o644 },
      ],
      dirs: [{ path: paths.data }, { path: join(paths.data, 'data') }],
      copies: [],
      validate: [
        ['promtool', 'check', 'rules', staged(rulesFile)],
        ['promtool', 'check', 'config', '--syntax-only', staged(configFile)],
      ],
      // Prometheus re-reads its config and its targets on SIGHUP.
      reload: { signal: 'SIGHUP' },
      readiness: { kind: 'http', url: `http://${address}:${PORTS.prometheus}/-/ready` },
      readinessTimeoutMs: 30_000,
      log: paths.log,
    };
  },
};
