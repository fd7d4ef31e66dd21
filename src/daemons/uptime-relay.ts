import { PORTS } from '../design/ports.ts';
import { probesUptime } from './blackbox-exporter.ts';
import { LOOPBACK } from './listeners.ts';
import type { RunnableDaemon } from './types.ts';

// The uptime probe's way in: socat on each monitoring host's loopback passes Prometheus' requests
// to the blackbox exporter on the client's loopback, entering the client's namespace for each
// connection. No route and no address joins the internet side to the stack's private networks;
// only the probe's answers come in, as a hosted uptime service's would.

export const uptimeRelay: RunnableDaemon = {
  name: 'uptime-relay',
  title: "the uptime probe's relay to monitoring",
  programs: { socat: 'socat' },
  listens: () => [],
  runsOn: (host, design) => host.roles.includes('monitoring') && probesUptime(design),
  after: ['blackbox-exporter'],
  render(context) {
    const { paths, host, topology } = context;
    const client = topology.hosts.find((h) => h.kind === 'client')!;
    return {
      daemon: 'uptime-relay',
      host: host.name,
      namespace: host.namespace,
      after: uptimeRelay.after,
      command: ['socat', `TCP-LISTEN:${PORTS.blackboxExporter},bind=${LOOPBACK},fork,reuseaddr`, `EXEC:ip netns exec ${client.namespace} socat STDIO TCP\\:${LOOPBACK}\\:${PORTS.blackboxExporter}`],
      files: [],
      dirs: [],
      copies: [],
      readiness: { kind: 'http', url: `http://${LOOPBACK}:${PORTS.blackboxExporter}/metrics` },
      readinessTimeoutMs: 10_000,
      log: paths.log,
    };
  },
};
