import { join } from 'node:path';
import { PORTS } from '../design/ports.ts';
import { isMonitored, scrapeAddresses } from './listeners.ts';
import { listener, type RunnableDaemon } from './types.ts';

// The node exporter on every monitored host: the host's CPU, memory, disks and network for
// Prometheus. In the lab every host shares the machine's kernel, so CPU, memory and disks are the
// machine's; the network counters are the host's own (its namespace's interfaces).

export const nodeExporter: RunnableDaemon = {
  name: 'node-exporter',
  title: 'the host metrics exporter',
  programs: { 'prometheus-node-exporter': 'prometheus-node-exporter' },
  // It serves the host, not a role: listed once, under the host's first role.
  listens: (role, roles, { monitored }) => (monitored && role === roles[0] ? [listener('node-exporter', role, PORTS.nodeExporter, 'monitoring')] : []),
  runsOn: (host, design) => isMonitored(design, host.name),
  after: [],
  render(context) {
    const { paths, host, design } = context;
    // Only where the monitoring hosts' scrapes come in (loopback for its own monitoring host).
    const listen = scrapeAddresses(design, host, PORTS.nodeExporter);
    return {
      daemon: 'node-exporter',
      host: host.name,
      namespace: host.namespace,
      after: nodeExporter.after,
      command: ['prometheus-node-exporter', ...listen.map((a) => `--web.listen-address=${a}:${PORTS.nodeExporter}`), '--collector.textfile.directory=', `--collector.filesystem.mount-points-exclude=^/(dev|proc|run|sys|var/lib/docker/.+)($|/)`],
      files: [],
      dirs: [{ path: paths.run }],
      copies: [],
      readiness: { kind: 'http', url: `http://${listen[0]}:${PORTS.nodeExporter}/metrics` },
      readinessTimeoutMs: 10_000,
      log: join(paths.log),
    };
  },
};
