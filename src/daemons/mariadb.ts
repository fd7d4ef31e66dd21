import { join } from 'node:path';
import { PORTS } from '../design/ports.ts';
import { bindAddresses, isMonitored, targetsOf } from './listeners.ts';
import { endToEnd, hostCertificate, internalCaFile } from '../plan/internal-ca.ts';
import { header, listener, type Observation, type RunnableDaemon } from './types.ts';

// MariaDB, Debian's MySQL: its own data directory per host (a volume, kept by `down`), created by
// mariadb-install-db on first start. The app's database and user are (re)asserted at every start
// through init-file, so a changed password in the stack's secrets takes effect. A replica follows
// its primary by GTID: webstack points it at the primary each time it is ready (setup) and waits
// until both replication threads run.

export const APP_DATABASE = 'foobar';
export const APP_USER = 'foobar';
/** The mysqld exporter's user, on the socket only. */
export const EXPORTER_USER = 'exporter';
const REPLICATION_USER = 'replication';
const SYSTEM_USER = 'mysql';
/** A replica notices a silent primary after this many seconds (heartbeats come at half of it). */
const REPLICA_NET_TIMEOUT_S = 10;
/** How long a replica has to connect to its primary and run both threads before `up` fails. */
const REPLICATION_START_MS = 60_000;

export const mariadb: RunnableDaemon = {
  name: 'mariadb',
  title: 'MariaDB, the database',
  programs: { mariadbd: 'mariadb-server', 'mariadb-install-db': 'mariadb-server', mariadb: 'mariadb-client', bash: 'bash' },
  listens: (role) => (role === 'db-primary' || role === 'db-replica' ? [listener('mariadb', role, PORTS.mysql, 'database')] : []),
  runsOn: (host) => host.roles.includes('db-primary') || host.roles.includes('db-replica'),
  // A replica's setup waits for its primary (up to a minute), so all servers start together.
  after: [],
  render(context) {
    const { paths, host, design } = context;
    const role = host.roles.includes('db-primary') ? 'db-primary' : 'db-replica';
    const primary = role === 'db-replica' ? targetsOf(design, host.name, 'replication')[0] : undefined;
    if (role === 'db-replica' && !primary) throw new Error(`replica ${host.name} has no primary to follow`);
    const binds = bindAddresses(design, host, role);
    const addresses = binds.length > 0 ? binds : ['127.0.0.1'];
    const dataDir = join(paths.data, 'data');
    const serverId = design.hosts.findIndex((h) => h.name === host.name) + 1;
    const initFile = join(paths.config, 'init.sql');
    const myCnf = join(paths.config, 'my.cnf');
    // The lab's hosts share the machine's /tmp, and mariadbd deletes every #sql* file in its tmpdir
    // when it starts: one server starting removed another's temporary tables mid-install. Each
    // server gets a tmpdir of its own, as it would on a host of its own.
    const tmpDir = join(paths.run, 'tmp');
    const tls = endToEnd(design) ? { ca: internalCaFile(context.stackPaths), ...hostCertificate(context.stackPaths, host.name) } : null;
    const config = `${header('#', context, 'mariadb')}
[mariadbd]
user = ${SYSTEM_USER}
datadir = ${dataDir}
socket = ${join(paths.run, 'mysqld.sock')}
pid-file = ${join(paths.run, 'mysqld.pid')}
tmpdir = ${tmpDir}
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

# Replication by GTID. Every server keeps a binary log (a replica too, so it can be promoted).
log_bin = binlog
relay_log = relay-bin
binlog_format = ROW
log_slave_updates = ON
gtid_strict_mode = ON
slave_net_timeout = ${REPLICA_NET_TIMEOUT_S}
${role === 'db-replica' ? '# A replica takes writes from replication only.\nread_only = ON\n' : ''}${
  design.policies.db.replication === 'semi-sync'
    ? `
# Semi-synchronous replication: a commit is acknowledged to the app only once a replica has it in
# its relay log (AFTER_SYNC: no other session sees it before then). With no replica acknowledging
# within the timeout, the primary goes on asynchronously until one is back. Both sides on every
# server, so a promoted replica is a semi-sync primary at once.
rpl_semi_sync_master_enabled = ON
rpl_semi_sync_slave_enabled = ON
rpl_semi_sync_master_wait_point = AFTER_SYNC
rpl_semi_sync_master_timeout = ${design.policies.db.semiSyncTimeoutMs}
`
    : ''
}${
  tls
    ? `
# TLS end to end: every connection over the network is encrypted, with this host's certificate
# from the stack's CA (the socket, local to the host, is secure already).
ssl_ca = ${tls.ca}
ssl_cert = ${tls.cert}
ssl_key = ${tls.key}
tls_version = TLSv1.2,TLSv1.3
require_secure_transport = ON
`
    : ''
}
[client]
socket = ${join(paths.run, 'mysqld.sock')}
`;
    const password = sqlString(context.secrets.dbPassword);
    // With TLS end to end, the server refuses these users anything but TLS, whatever the client asks.
    const requireSsl = tls ? ' REQUIRE SSL' : '';
    // init-file takes one statement per line.
    const init = [
      // Each server asserts its own users: these statements are not replicated.
      'SET sql_log_bin = 0;',
      `CREATE DATABASE IF NOT EXISTS ${APP_DATABASE} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;`,
      `CREATE USER IF NOT EXISTS '${APP_USER}'@'%' IDENTIFIED BY ${password};`,
      `ALTER USER '${APP_USER}'@'%' IDENTIFIED BY ${password}${requireSsl};`,
      `GRANT ALL PRIVILEGES ON ${APP_DATABASE}.* TO '${APP_USER}'@'%';`,
      // The app reads a replica's lag (SHOW SLAVE STATUS) to decide where reads go.
      `GRANT SLAVE MONITOR ON *.* TO '${APP_USER}'@'%';`,
      // The mysqld exporter, over the socket: status, variables and replication state, nothing else.
      ...(isMonitored(design, host.name)
        ? [
            `CREATE USER IF NOT EXISTS '${EXPORTER_USER}'@'localhost' IDENTIFIED BY ${sqlString(context.secrets.exporterPassword)} WITH MAX_USER_CONNECTIONS 3;`,
            `ALTER USER '${EXPORTER_USER}'@'localhost' IDENTIFIED BY ${sqlString(context.secrets.exporterPassword)} WITH MAX_USER_CONNECTIONS 3;`,
            `GRANT PROCESS, BINLOG MONITOR, SLAVE MONITOR ON *.* TO '${EXPORTER_USER}'@'localhost';`,
          ]
        : []),
      ...(role === 'db-primary'
        ? [
            `CREATE USER IF NOT EXISTS '${REPLICATION_USER}'@'%' IDENTIFIED BY ${sqlString(context.secrets.replicationPassword)};`,
            `ALTER USER '${REPLICATION_USER}'@'%' IDENTIFIED BY ${sqlString(context.secrets.replicationPassword)}${requireSsl};`,
            `GRANT REPLICATION SLAVE ON *.* TO '${REPLICATION_USER}'@'%';`,
          ]
        : []),
    ].join('\n');
    const replication = primary ? replicationFiles(context.paths.config, myCnf, primary.address, context.secrets.replicationPassword, tls?.ca ?? null) : null;
    return {
      daemon: 'mariadb',
      host: host.name,
      namespace: host.namespace,
      after: mariadb.after,
      command: ['mariadbd', `--defaults-file=${myCnf}`],
      files: [
        { path: myCnf, content: config, mode: 0o644 },
        { path: initFile, content: `${init}\n`, mode: 0o600, owner: SYSTEM_USER },
        ...(replication?.files ?? []),
      ],
      dirs: [
        { path: paths.data, owner: SYSTEM_USER },
        { path: paths.run, owner: SYSTEM_USER },
        { path: tmpDir, owner: SYSTEM_USER },
      ],
      copies: [],
      init: {
        command: ['mariadb-install-db', '--no-defaults', `--datadir=${dataDir}`, `--user=${SYSTEM_USER}`, '--auth-root-authentication-method=socket', '--skip-test-db', `--tmpdir=${tmpDir}`],
        creates: join(dataDir, 'mysql'),
      },
      readiness: { kind: 'tcp', address: addresses[0]!, port: PORTS.mysql },
      readinessTimeoutMs: 60_000,
      ...(replication ? { setup: { command: replication.command, timeoutMs: REPLICATION_START_MS } } : {}),
      log: paths.log,
    };
  },
  async observe(spec, run) {
    const myCnf = spec.command.find((a) => a.startsWith('--defaults-file='))!.slice('--defaults-file='.length);
    const { stdout } = await run(['mariadb', `--defaults-file=${myCnf}`, '-e', 'SHOW SLAVE STATUS\\G'], 3_000);
    const replication = parseSlaveStatus(stdout);
    const semiSyncDesigned = spec.files.some((f) => f.content.includes('rpl_semi_sync_master_enabled = ON'));
    if (!replication && !semiSyncDesigned) return { details: { role: 'primary' }, summary: 'primary' };
    if (!replication) {
      // A semi-sync primary says whether it waits for a replica now, and how many acknowledge.
      const status = await run(['mariadb', `--defaults-file=${myCnf}`, '-N', '-e', "SHOW STATUS WHERE Variable_name IN ('Rpl_semi_sync_master_status', 'Rpl_semi_sync_master_clients')"], 3_000);
      const semiSync = parseSemiSync(status.stdout);
      return semiSync
        ? { details: { role: 'primary', semiSync }, summary: `primary, semi-sync ${semiSync.on ? `on (${semiSync.clients} replica${semiSync.clients === 1 ? '' : 's'} acknowledging)` : 'off: no replica acknowledges, commits go on asynchronously'}` }
        : { details: { role: 'primary' }, summary: 'primary' };
    }
    return { details: { role: 'replica', replication }, summary: `replica ${describeReplication(replication)}` } satisfies Observation;
  },
};

/** A semi-sync primary's state, from SHOW STATUS (tab-separated name and value); null when it is not semi-sync. */
export function parseSemiSync(output: string): { on: boolean; clients: number } | null {
  const values = Object.fromEntries(output.trim().split('\n').filter(Boolean).map((line) => line.split('\t') as [string, string]));
  if (!('Rpl_semi_sync_master_status' in values)) return null;
  return { on: values.Rpl_semi_sync_master_status === 'ON', clients: Number(values.Rpl_semi_sync_master_clients ?? 0) };
}

export interface ReplicationStatus {
  /** The address it replicates from. */
  readonly primary: string | null;
  readonly io: string;
  readonly sql: string;
  /** Seconds_Behind_Master: null while it is not replicating. */
  readonly lagSeconds: number | null;
  readonly error: string | null;
}

/** The fields of `SHOW SLAVE STATUS\G` that say whether a replica keeps up. */
export function parseSlaveStatus(text: string): ReplicationStatus | null {
  const fields = new Map(
    text
      .split('\n')
      .map((line) => /^\s*(\w+): ?(.*)$/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1]!, m[2]!.trim()]),
  );
  if (!fields.has('Slave_IO_Running')) return null;
  const lag = fields.get('Seconds_Behind_Master');
  const error = [fields.get('Last_IO_Error'), fields.get('Last_SQL_Error')].filter(Boolean).join('; ');
  return {
    primary: fields.get('Master_Host') || null,
    io: fields.get('Slave_IO_Running')!,
    sql: fields.get('Slave_SQL_Running') ?? 'No',
    lagSeconds: lag === undefined || lag === 'NULL' || lag === '' ? null : Number(lag),
    error: error || null,
  };
}

function describeReplication(r: ReplicationStatus): string {
  const running = r.io === 'Yes' && r.sql === 'Yes';
  const state = running ? 'running' : `I/O thread ${r.io}, SQL thread ${r.sql}`;
  return `from ${r.primary ?? '?'}, ${state}, ${r.lagSeconds === null ? 'lag unknown' : `${r.lagSeconds} s behind`}${r.error ? ` (${r.error})` : ''}`;
}

/**
 * A replica's setup: point it at its primary (from its current GTID position, so a restart resumes
 * where it stopped) and wait until the I/O and SQL threads both run. Run as root over the socket.
 */
function replicationFiles(configDir: string, myCnf: string, primaryAddress: string, password: string, ca: string | null) {
  const sqlFile = join(configDir, 'replication.sql');
  const script = join(configDir, 'replication.sh');
  const sql = [
    'STOP SLAVE;',
    `CHANGE MASTER TO MASTER_HOST = '${primaryAddress}', MASTER_PORT = ${PORTS.mysql}, MASTER_USER = '${REPLICATION_USER}', MASTER_PASSWORD = ${sqlString(password)}, MASTER_USE_GTID = slave_pos, MASTER_CONNECT_RETRY = 1${ca ? `, MASTER_SSL = 1, MASTER_SSL_CA = ${sqlString(ca)}, MASTER_SSL_VERIFY_SERVER_CERT = 1` : ''};`,
    'START SLAVE;',
  ].join('\n');
  const shell = `#!/bin/bash
# Rendered by webstack: points this replica at its primary ${primaryAddress} and waits until replication runs.
set -eu
client=(mariadb --defaults-file=${myCnf})
"\${client[@]}" < ${sqlFile}
deadline=$((SECONDS + ${REPLICATION_START_MS / 1000}))
while (( SECONDS < deadline )); do
  status=$("\${client[@]}" -e 'SHOW SLAVE STATUS\\G')
  if grep -q 'Slave_IO_Running: Yes' <<<"$status" && grep -q 'Slave_SQL_Running: Yes' <<<"$status"; then
    echo "replicating from ${primaryAddress}"
    exit 0
  fi
  sleep 0.5
done
echo "replication from ${primaryAddress} did not start:" >&2
grep -E 'Slave_(IO|SQL)_Running|Last_(IO|SQL)_Error' <<<"$status" >&2 || true
exit 1
`;
  return {
    files: [
      { path: sqlFile, content: `${sql}\n`, mode: 0o600 },
      { path: script, content: shell, mode: 0o700 },
    ],
    command: ['bash', script],
  };
}

/** A SQL string literal; the secrets are base64url, but quote properly anyway. */
function sqlString(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}
