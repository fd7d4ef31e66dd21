import { PORTS } from '../design/ports.ts';
import { endToEnd, internalCaFile } from '../plan/internal-ca.ts';
import { bindAddresses, isMonitored, LOOPBACK, scrapeAddresses } from './listeners.ts';
import { listener, type RunnableDaemon } from './types.ts';

// The Redis exporter on every monitored cache host: hits, misses, keys, memory and clients, for
// Prometheus. It reaches Redis as the app does (TLS when the design has it end to end), with the
// password in its environment rather than on its command line.

export const redisExporter: RunnableDaemon = {
  name: 'redis-exporter',
  title: 'the Redis metrics exporter',
  programs: { 'prometheus-redis-exporter': 'prometheus-redis-exporter' },
  listens: (role, _roles, { monitored }) => (monitored && role === 'cache' ? [listener('redis-exporter', role, PORTS.redisExporter, 'monitoring')] : []),
  runsOn: (host, design) => host.roles.includes('cache') && isMonitored(design, host.name),
  after: ['redis'],
  render(context) {
    const { paths, host, design } = context;
    const listen = scrapeAddresses(design, host, PORTS.redisExporter).at(-1)!;
    const redisAddress = bindAddresses(design, host, 'cache')[0] ?? LOOPBACK;
    const tls = endToEnd(design);
    return {
      daemon: 'redis-exporter',
      host: host.name,
      namespace: host.namespace,
      after: redisExporter.after,
      command: [
        'prometheus-redis-exporter',
        `-redis.addr=${tls ? 'rediss' : 'redis'}://${redisAddress}:${PORTS.redis}`,
        ...(tls ? [`-tls-ca-cert-file=${internalCaFile(context.stackPaths)}`] : []),
        `-web.listen-address=${listen}:${PORTS.redisExporter}`,
      ],
      env: { REDIS_PASSWORD: context.secrets.cachePassword },
      files: [],
      dirs: [],
      copies: [],
      readiness: { kind: 'http', url: `http://${listen}:${PORTS.redisExporter}/metrics` },
      readinessTimeoutMs: 10_000,
      log: paths.log,
    };
  },
};
