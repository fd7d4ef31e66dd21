import { join } from 'node:path';
import { PORTS } from '../design/ports.ts';
import type { AppConfig } from '../app/config.ts';
import { bindAddresses, LOOPBACK, targetsOf } from './listeners.ts';
import { APP_DATABASE, APP_USER } from './mariadb.ts';
import { type Daemon } from './types.ts';

// The application server: the foobar app from this repository, one per app host.

/** nginx closes idle upstream connections after 60 s; the app must wait longer, or nginx may reuse a closing one. */
export const APP_KEEPALIVE_MS = 75_000;
const DB_TIMEOUT_MS = 2_000;

export const app: Daemon = {
  name: 'app',
  runsOn: (host) => host.roles.includes('app'),
  render(context) {
    const { paths, host, design, install } = context;
    const binds = bindAddresses(design, host, 'app');
    const listen = binds.length === 1 ? binds[0]! : '0.0.0.0';
    const primary = targetsOf(design, host.name, 'sql-write')[0];
    if (!primary) throw new Error(`app host ${host.name} has no database to write to`);
    const config: AppConfig = {
      host: host.name,
      listen,
      port: PORTS.app,
      siteName: design.domain,
      secret: context.secrets.appSecret,
      database: {
        primary: { host: primary.host, address: primary.address, port: PORTS.mysql },
        user: APP_USER,
        password: context.secrets.dbPassword,
        database: APP_DATABASE,
        timeoutMs: DB_TIMEOUT_MS,
      },
      keepAliveTimeoutMs: APP_KEEPALIVE_MS,
    };
    const configFile = join(paths.config, 'app.json');
    const probeAddress = listen === '0.0.0.0' ? LOOPBACK : listen;
    return {
      daemon: 'app',
      host: host.name,
      namespace: host.namespace,
      tier: 2,
      command: [install.node, '--import', 'tsx', join(install.repoRoot, 'src/app/main.ts'), configFile],
      cwd: install.repoRoot,
      files: [{ path: configFile, content: JSON.stringify(config, null, 2) + '\n', mode: 0o600 }],
      dirs: [],
      copies: [],
      readiness: { kind: 'http', url: `http://${probeAddress}:${PORTS.app}/healthz` },
      readinessTimeoutMs: 30_000,
      log: paths.log,
    };
  },
};
