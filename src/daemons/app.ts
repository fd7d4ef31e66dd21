import { join } from 'node:path';
import { PORTS } from '../design/ports.ts';
import type { AppConfig } from '../app/config.ts';
import type { ResolvedStack } from '../design/types.ts';
import { READ_YOUR_WRITES_S } from '../app/defaults.ts';
import { bindAddresses, LOOPBACK, targetsOf } from './listeners.ts';
import { APP_DATABASE, APP_USER, WRITER_NAME, writerAddress } from './mariadb.ts';
import { programCommand } from '../entry.ts';
import { appServesTls, endToEnd, hostCertificate, internalCaFile } from '../plan/internal-ca.ts';
import { listener, type RunnableDaemon } from './types.ts';

// The application server, one per app host: the foobar app from this repository, or the command
// the design names (app.command), told where to listen and where its database is through the
// environment, and probed on the design's health-check path.

/** nginx closes idle upstream connections after 60 s; the app must wait longer, or nginx may reuse a closing one. */
export const APP_KEEPALIVE_MS = 75_000;
/**
 * Each database call's deadline: short, so that a frozen database costs a fallback. A read may
 * try two databases, so twice this stays well inside the load balancer's server timeout.
 */
const DB_TIMEOUT_MS = 500;
/** The seeds' replica lag budget: a replica further behind serves no reads. */
const MAX_LAG_S = 1;
/** A cache slower than this is a miss: the database answers a page in a few milliseconds. */
const CACHE_TIMEOUT_MS = 100;
/**
 * How long a cached page lives. Writes invalidate pages at once; this bounds only what a write
 * that could not reach the cache (frozen, cut) leaves behind: as long as a writer's own
 * read-your-writes window, so no reader sees it for longer than the writer was shielded.
 */
const CACHE_TTL_S = READ_YOUR_WRITES_S;

export const app: RunnableDaemon = {
  name: 'app',
  title: 'the application server',
  programs: { curl: 'curl' },
  listens: (role, _roles, { appPort }) => (role === 'app' ? [listener('app', role, appPort ?? PORTS.app, 'internal')] : []),
  runsOn: (host) => host.roles.includes('app'),
  // A database cluster is written to through its write address, which keepalived-db holds.
  after: ['mariadb', 'keepalived-db'],
  render(context) {
    const { paths, host, design, install } = context;
    const binds = bindAddresses(design, host, 'app');
    const listen = binds.length === 1 ? binds[0]! : '0.0.0.0';
    // A Galera cluster is written to at its write address, whichever member holds it.
    const writer = writerAddress(design);
    const primary = writer ? { host: WRITER_NAME, address: writer } : targetsOf(design, host.name, 'sql-write')[0];
    if (!primary) throw new Error(`app host ${host.name} has no database to write to`);
    const replicas = targetsOf(design, host.name, 'sql-read');
    const caches = targetsOf(design, host.name, 'cache');
    const port = design.app.port;
    const probeAddress = listen === '0.0.0.0' ? LOOPBACK : listen;
    // What `deploy` rolled onto this host, if it has: its code, its version and its own id.
    const release = context.rollout.releases[host.name];
    const common = {
      daemon: 'app',
      host: host.name,
      namespace: host.namespace,
      after: app.after,
      dirs: [],
      copies: [],
      readinessTimeoutMs: release?.readinessTimeoutMs ?? 30_000,
      log: paths.log,
    } as const;
    const deployed: Record<string, string> = release ? { WEBSTACK_APP_VERSION: release.version, WEBSTACK_RELEASE: release.id } : {};
    if (design.app.command) {
      const db = context.secrets.dbPassword;
      return {
        ...common,
        command: release?.command ?? design.app.command,
        cwd: release?.directory ?? context.designDir,
        env: {
          ...deployed,
          WEBSTACK_HOST: host.name,
          HOST: listen,
          PORT: String(port),
          DATABASE_URL: `mysql://${APP_USER}:${encodeURIComponent(db)}@${primary.address}:${PORTS.mysql}/${APP_DATABASE}`,
          WEBSTACK_DB_HOST: primary.host,
          WEBSTACK_DB_ADDRESS: primary.address,
          WEBSTACK_DB_PORT: String(PORTS.mysql),
          WEBSTACK_DB_USER: APP_USER,
          WEBSTACK_DB_PASSWORD: db,
          WEBSTACK_DB_NAME: APP_DATABASE,
          // Where reads may go (the app's own read/write split): address:port, comma-separated.
          WEBSTACK_DB_REPLICAS: replicas.map((r) => `${r.address}:${PORTS.mysql}`).join(','),
        },
        files: [],
        readiness: { kind: 'http', url: `http://${probeAddress}:${port}${design.policies.healthChecks.path}` },
      };
    }
    const tls = appServesTls(design, host.name);
    // Without a cluster, the app writes wherever read_only is off (store-mariadb.ts): it is given
    // every server in the design's order, so that `promote` changes nothing it is told, and so restarts no app.
    const servers = writer ? null : [primary, ...replicas].sort((a, b) => hostIndex(design, a.host) - hostIndex(design, b.host));
    const [first, ...rest] = servers ?? [primary, ...replicas];
    const config: AppConfig = {
      host: host.name,
      listen,
      port,
      siteName: design.domain,
      secret: context.secrets.appSecret,
      database: {
        primary: { host: first!.host, address: first!.address, port: PORTS.mysql },
        replicas: rest.map((r) => ({ host: r.host, address: r.address, port: PORTS.mysql })),
        user: APP_USER,
        password: context.secrets.dbPassword,
        database: APP_DATABASE,
        timeoutMs: DB_TIMEOUT_MS,
        maxLagSeconds: MAX_LAG_S,
        ...(endToEnd(design) ? { tlsCa: internalCaFile(context.stackPaths) } : {}),
        ...(writer ? { cluster: 'galera' as const } : {}),
      },
      readYourWritesSeconds: READ_YOUR_WRITES_S,
      healthPath: design.policies.healthChecks.path,
      keepAliveTimeoutMs: APP_KEEPALIVE_MS,
      ...(release ? { version: release.version } : {}),
      ...(tls ? { tls: hostCertificate(context.stackPaths, host.name) } : {}),
      syslog: targetsOf(design, host.name, 'logs').map((t) => ({ address: t.address, port: PORTS.syslog })),
      ...(caches.length > 0
        ? { cache: { shards: caches.map((c) => ({ ...c, port: PORTS.redis })), password: context.secrets.cachePassword, ...(endToEnd(design) ? { tlsCa: internalCaFile(context.stackPaths) } : {}), timeoutMs: CACHE_TIMEOUT_MS, ttlSeconds: CACHE_TTL_S } }
        : {}),
    };
    const configFile = join(paths.config, 'app.json');
    return {
      ...common,
      // A release's own command (`deploy` made it for another webstack tree) is given the config file, as the foobar app is.
      command: [...(release?.command ?? programCommand(install.node, install.repoRoot, 'app/main', install.compiled)), configFile],
      cwd: release?.directory ?? install.repoRoot,
      ...(release ? { env: deployed } : {}),
      files: [{ path: configFile, content: JSON.stringify(config, null, 2) + '\n', mode: 0o600 }],
      readiness: tls
        ? { kind: 'http', url: `https://${probeAddress}:${port}${design.policies.healthChecks.path}`, ca: internalCaFile(context.stackPaths) }
        : { kind: 'http', url: `http://${probeAddress}:${port}${design.policies.healthChecks.path}` },
    };
  },
  // The version it answers with (X-App-Version), so `status` shows a rolling deploy as it goes;
  // a design's own app that does not say is shown with the version `deploy` gave it.
  async observe(spec, run) {
    if (spec.readiness.kind !== 'http') return null;
    const { exitCode, stdout } = await run(['curl', '--silent', '--max-time', '2', '--dump-header', '-', '--output', '/dev/null', ...(spec.readiness.ca ? ['--cacert', spec.readiness.ca] : []), spec.readiness.url], 3_000);
    const answered = exitCode === 0 ? /^x-app-version:\s*(\S+)/im.exec(stdout)?.[1] : undefined;
    const version = answered ?? spec.env?.WEBSTACK_APP_VERSION;
    return version ? { details: { version }, summary: `version ${version}${answered ? '' : ' (as deployed; the app does not say)'}` } : null;
  },
};

function hostIndex(design: ResolvedStack, host: string): number {
  return design.hosts.findIndex((h) => h.name === host);
}
