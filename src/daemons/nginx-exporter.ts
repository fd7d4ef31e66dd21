import { PORTS } from '../design/ports.ts';
import { isMonitored, LOOPBACK, scrapeAddresses } from './listeners.ts';
import { listener, type RunnableDaemon } from './types.ts';

// The nginx exporter on every monitored web host: nginx's connections and requests (its
// stub_status page, on loopback) as Prometheus metrics, the web tier's requests per second.

export const nginxExporter: RunnableDaemon = {
  name: 'nginx-exporter',
  title: 'the nginx metrics exporter',
  programs: { 'prometheus-nginx-exporter': 'prometheus-nginx-exporter' },
  listens: (role, _roles, { monitored }) => (monitored && role === 'web' ? [listener('nginx-exporter', role, PORTS.nginxExporter, 'monitoring')] : []),
  runsOn: (host, design) => host.roles.includes('web') && isMonitored(design, host.name),
  after: ['nginx'],
  render(context) {
    const { paths, host, design } = context;
    // It listens on one address: where the monitoring hosts' scrapes come in.
    const listen = scrapeAddresses(design, host, PORTS.nginxExporter).at(-1)!;
    return {
      daemon: 'nginx-exporter',
      host: host.name,
      namespace: host.namespace,
      after: nginxExporter.after,
      command: ['prometheus-nginx-exporter', `-nginx.scrape-uri=http://${LOOPBACK}:${PORTS.nginxStatus}/stub_status`, `-web.listen-address=${listen}:${PORTS.nginxExporter}`],
      files: [],
      dirs: [],
      copies: [],
      readiness: { kind: 'http', url: `http://${listen}:${PORTS.nginxExporter}/metrics` },
      readinessTimeoutMs: 10_000,
      log: paths.log,
    };
  },
};
