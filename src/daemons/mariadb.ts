import { join } from 'node:path';
import { PORTS } from '../design/ports.ts';
import { bindAddresses } from './listeners.ts';
import { header, type Daemon } from './types.ts';

// MariaDB, Debian's MySQL: its own data directory per host (a volume, kept by `down`), created by
// mariadb-install-db on first start. The app's database and user are (re)asserted at every start
// through init-file, so a changed password in the stack's secrets takes effect.

export const APP_DATABASE = 'foobar';
export const APP_USER = 'foobar';
const SYSTEM_USER = 'mysql';

export const mariadb: Daemon = {
  name: 'mariadb',
  runsOn: (host) => host.roles.includes('db-primary') || host.roles.includes('db-replica'),
  render(context) {
    const { paths, host, design } = context;
    const role = host.roles.includes('db-primary') ? 'db-primary' : 'db-replica';
    const binds = bindAddresses(design, host, role);
    const addresses = binds.length > 0 ? binds : ['127.0.0.1'];
    const dataDir = join(paths.data, 'data');
    const serverId = design.hosts.findIndex((h) => h.name === host.name) + 1;
    const initFile = join(paths.config, 'init.sql');
    const config = `${header('#', context, 'mariadb')}
[mariadbd]
user = ${SYSTEM_USER}
datadir = ${dataDir}
socket = ${join(paths.run, 'mysqld.sock')}
pid-file = ${join(paths.run, 'mysqld.pid')}
bind-address = ${addresses.join(',')}
port = ${PORTS.mysql}
server-id = ${serverId}
skip-name-resolve
init-file = ${initFile}
character-set-server = utf8mb4
collation-server = utf8mb4_unicode_ci
# Small, because a lab runs many servers on one machine.
innodb_buffer_pool_size = 64M
performance_schema = OFF

[client]
socket = ${join(paths.run, 'mysqld.sock')}
`;
    const password = sqlString(context.secrets.dbPassword);
    // init-file takes one statement per line.
    const init = [
      `CREATE DATABASE IF NOT EXISTS ${APP_DATABASE} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;`,
      `CREATE USER IF NOT EXISTS '${APP_USER}'@'%' IDENTIFIED BY ${password};`,
      `ALTER USER '${APP_USER}'@'%' IDENTIFIED BY ${password};`,
      `GRANT ALL PRIVILEGES ON ${APP_DATABASE}.* TO '${APP_USER}'@'%';`,
    ].join('\n');
    return {
      daemon: 'mariadb',
      host: host.name,
      namespace: host.namespace,
      tier: 1,
      command: ['mariadbd', `--defaults-file=${join(paths.config, 'my.cnf')}`],
      files: [
        { path: join(paths.config, 'my.cnf'), content: config, mode: 0o644 },
        { path: initFile, content: `${init}\n`, mode: 0o600, owner: SYSTEM_USER },
      ],
      dirs: [
        { path: paths.data, owner: SYSTEM_USER },
        { path: paths.run, owner: SYSTEM_USER },
      ],
      copies: [],
      init: {
        command: ['mariadb-install-db', '--no-defaults', `--datadir=${dataDir}`, `--user=${SYSTEM_USER}`, '--auth-root-authentication-method=socket', '--skip-test-db'],
        creates: join(dataDir, 'mysql'),
      },
      readiness: { kind: 'tcp', address: addresses[0]!, port: PORTS.mysql },
      readinessTimeoutMs: 60_000,
      log: paths.log,
    };
  },
};

/** A SQL string literal; the secrets are base64url, but quote properly anyway. */
function sqlString(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}
