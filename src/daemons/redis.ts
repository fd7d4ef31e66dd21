import { join } from 'node:path';
import { PORTS } from '../design/ports.ts';
import { endToEnd, hostCertificate, internalCaFile } from '../plan/internal-ca.ts';
import { bindAddresses, LOOPBACK } from './listeners.ts';
import { header, listener, type Observation, type RunnableDaemon } from './types.ts';

// Redis on every cache host: the app's cache-aside store for pages of posts. Only a cache: no
// snapshot and no append-only file (a restart starts empty, and the app reads the database), a
// memory cap with least-recently-used eviction, a password, and TLS with the stack's certificates
// when the design has TLS end to end.

const MAX_MEMORY = '64mb';

export const redis: RunnableDaemon = {
  name: 'redis',
  title: 'Redis, the cache',
  programs: { 'redis-server': 'redis-server', 'redis-cli': 'redis-tools' },
  listens: (role) => (role === 'cache' ? [listener('redis', role, PORTS.redis, 'cache')] : []),
  runsOn: (host) => host.roles.includes('cache'),
  after: [],
  render(context) {
    const { paths, host, design } = context;
    const binds = bindAddresses(design, host, 'cache');
    const listen = binds.length > 0 ? binds : [LOOPBACK];
    const tls = endToEnd(design) ? { ca: internalCaFile(context.stackPaths), ...hostCertificate(context.stackPaths, host.name) } : null;
    const configFile = join(paths.config, 'redis.conf');
    const config = `${header('#', context, 'redis')}
bind ${listen.join(' ')}
${
  tls
    ? `# TLS end to end: TLS only, with this host's certificate from the stack's CA.
port 0
tls-port ${PORTS.redis}
tls-cert-file ${tls.cert}
tls-key-file ${tls.key}
tls-ca-cert-file ${tls.ca}
tls-auth-clients no`
    : `port ${PORTS.redis}`
}
requirepass ${context.secrets.cachePassword}
daemonize no
supervised no
pidfile ${join(paths.run, 'redis.pid')}
logfile ""
dir ${paths.data}
# A cache: nothing is written to disk, and the least recently used keys make room.
save ""
appendonly no
maxmemory ${MAX_MEMORY}
maxmemory-policy allkeys-lru
`;
    return {
      daemon: 'redis',
      host: host.name,
      namespace: host.namespace,
      after: redis.after,
      command: ['redis-server', configFile],
      files: [{ path: configFile, content: config, mode: 0o600 }],
      dirs: [{ path: paths.run }, { path: paths.data }],
      copies: [],
      readiness: { kind: 'tcp', address: listen[0]!, port: PORTS.redis },
      readinessTimeoutMs: 10_000,
      log: paths.log,
    };
  },
  async observe(spec, run) {
    const config = spec.files[0]!.content;
    const address = /^bind (\S+)/m.exec(config)![1]!;
    const password = /^requirepass (\S+)/m.exec(config)![1]!;
    const ca = /^tls-ca-cert-file (\S+)/m.exec(config)?.[1];
    const out = await run(['redis-cli', '-h', address, '-p', String(PORTS.redis), ...(ca ? ['--tls', '--cacert', ca] : []), '--no-auth-warning', '-a', password, 'INFO'], 3000);
    if (out.exitCode !== 0) return null;
    return describeRedis(out.stdout);
  },
};

/** What `status` says of a cache, from its INFO. */
export function describeRedis(info: string): Observation {
  const field = (name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim() ?? '';
  const hits = Number(field('keyspace_hits') || 0);
  const misses = Number(field('keyspace_misses') || 0);
  const keys = Number(/^db0:keys=(\d+)/m.exec(info)?.[1] ?? 0);
  const ratio = hits + misses > 0 ? `${Math.round((hits / (hits + misses)) * 100)} % hits` : 'no reads yet';
  return {
    details: { keys, hits, misses, usedMemory: field('used_memory_human'), clients: Number(field('connected_clients') || 0) },
    summary: `${keys} keys, ${ratio} (${hits} hits, ${misses} misses), ${field('used_memory_human')} used, ${field('connected_clients')} clients`,
  };
}
