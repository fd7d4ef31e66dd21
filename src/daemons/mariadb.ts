import { join } from 'node:path';
import { PORTS } from '../design/ports.ts';
import { bindAddresses, isMonitored, targetsOf } from './listeners.ts';
import { endToEnd, hostCertificate, internalCaFile } from '../plan/internal-ca.ts';
import { isDatabaseRole } from '../design/vocabulary.ts';
import type { ResolvedStack, VirtualIp } from '../design/types.ts';
import type { DaemonPaths } from '../plan/paths.ts';
import { header, listener, type DaemonContext, type DaemonSpec, type Observation, type RenderedFile, type RunnableDaemon } from './types.ts';

// MariaDB, Debian's MySQL: its own data directory per host (a volume, kept by `down`), created by
// mariadb-install-db on first start. The app's database and user are (re)asserted at every start
// through init-file, so a changed password in the stack's secrets takes effect. Without a cluster,
// every server starts read-only and takes its role once it is ready (role.sh, its setup): the
// primary becomes writable; a replica follows the primary by GTID, and the step waits until both
// replication threads run. The same step is the reload when `promote` changes the roles, so a
// switchover restarts no server.

export const APP_DATABASE = 'foobar';
export const APP_USER = 'foobar';
/** The mysqld exporter's user, on the socket only. */
export const EXPORTER_USER = 'exporter';
const REPLICATION_USER = 'replication';
const SYSTEM_USER = 'mysql';
/** A replica notices a silent primary after this many seconds (heartbeats come at half of it). */
const REPLICA_NET_TIMEOUT_S = 10;
const GALERA_PROVIDER = '/usr/lib/galera/libgalera_smm.so';
/** How long a replica has to connect to its primary and run both threads before `up` fails. */
const REPLICATION_START_MS = 60_000;
/** What `promote` changes on a server: its role script, which the supervisor runs again to reload. */
export const ROLE_FILES = ['role.sql', 'role.sh'] as const;
/** A server becomes the primary: it follows no one, and takes writes. */
export const PRIMARY_ROLE_SQL = ['STOP SLAVE;', 'RESET SLAVE ALL;', 'SET GLOBAL read_only = OFF;'] as const;

/** Where a server keeps its databases, inside its volume. */
export function mariadbDataDir(paths: Pick<DaemonPaths, 'data'>): string {
  return join(paths.data, 'data');
}

export const mariadb: RunnableDaemon = {
  name: 'mariadb',
  title: 'MariaDB, the database',
  programs: {
    mariadbd: 'mariadb-server',
    'mariadb-install-db': 'mariadb-server',
    mariadb: 'mariadb-client',
    bash: 'bash',
    // A Galera cluster: the provider, and the state transfer by rsync (through stunnel with TLS).
    [GALERA_PROVIDER]: 'galera-4',
    rsync: 'rsync',
    stunnel: 'stunnel4',
  },
  listens: (role) =>
    role === 'db'
      ? [
          listener('mariadb', role, PORTS.mysql, 'database'),
          listener('mariadb', role, PORTS.galera, 'database'),
          { ...listener('mariadb', role, PORTS.galeraIst, 'database'), onDemand: 'open only while this member receives the writes it missed (IST)' },
          { ...listener('mariadb', role, PORTS.galeraSst, 'database'), onDemand: 'open only while this member receives a copy of the database (SST)' },
        ]
      : role === 'db-primary' || role === 'db-replica'
        ? [listener('mariadb', role, PORTS.mysql, 'database')]
        : [],
  runsOn: (host) => host.roles.some(isDatabaseRole),
  // A replica's setup waits for its primary (up to a minute), so all servers start together.
  after: [],
  render(context) {
    const { paths, host, design } = context;
    const role = host.roles.includes('db') ? 'db' : host.roles.includes('db-primary') ? 'db-primary' : 'db-replica';
    const primary = role === 'db-replica' ? targetsOf(design, host.name, 'replication')[0] : undefined;
    if (role === 'db-replica' && !primary) throw new Error(`replica ${host.name} has no primary to follow`);
    const binds = bindAddresses(design, host, role);
    // A cluster member also answers on the write address whenever it holds it.
    const writer = role === 'db' ? writerAddress(design) : null;
    const addresses = [...(binds.length > 0 ? binds : ['127.0.0.1']), ...(writer ? [writer] : [])];
    const dataDir = mariadbDataDir(paths);
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

${
  role === 'db'
    ? galeraSection(context, tls)
    : `# Replication by GTID. Every server keeps a binary log (a replica too, so it can be promoted).
log_bin = binlog
relay_log = relay-bin
binlog_format = ROW
log_slave_updates = ON
gtid_strict_mode = ON
slave_net_timeout = ${REPLICA_NET_TIMEOUT_S}
# Every server starts read-only, a replica and a primary alike: its role script (role.sh) makes
# the primary writable once it is ready, so that no server takes writes before it is the primary.
read_only = ON
`
}${
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
      // Each server asserts its own users: these statements are not replicated (nor sent to the cluster).
      role === 'db' ? 'SET SESSION wsrep_on = OFF;' : 'SET sql_log_bin = 0;',
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
      // On every server, not only the primary: a replica that is promoted has its replicas connect to it.
      ...(role !== 'db'
        ? [
            `CREATE USER IF NOT EXISTS '${REPLICATION_USER}'@'%' IDENTIFIED BY ${sqlString(context.secrets.replicationPassword)};`,
            `ALTER USER '${REPLICATION_USER}'@'%' IDENTIFIED BY ${sqlString(context.secrets.replicationPassword)}${requireSsl};`,
            `GRANT REPLICATION SLAVE ON *.* TO '${REPLICATION_USER}'@'%';`,
          ]
        : []),
    ].join('\n');
    const replication = role === 'db' ? null : roleFiles(context.paths.config, myCnf, primary ? { address: primary.address, password: context.secrets.replicationPassword, ca: tls?.ca ?? null } : null);
    const start = role === 'db' ? galeraStart(context, myCnf, dataDir) : null;
    return {
      daemon: 'mariadb',
      host: host.name,
      namespace: host.namespace,
      after: mariadb.after,
      command: start ? ['bash', start.path] : ['mariadbd', `--defaults-file=${myCnf}`],
      files: [
        { path: myCnf, content: config, mode: 0o644 },
        { path: initFile, content: `${init}\n`, mode: 0o600, owner: SYSTEM_USER },
        ...(replication?.files ?? []),
        ...(start ? [start] : []),
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
      ...(replication
        ? { setup: { command: replication.command, timeoutMs: REPLICATION_START_MS }, reload: { setup: true, files: replication.files.map((f) => f.path) } }
        : {}),
      log: paths.log,
    };
  },
  async observe(spec, run) {
    const myCnf = spec.files[0]!.path;
    if (galeraMember(spec)) {
      const { stdout } = await run(['mariadb', `--defaults-file=${myCnf}`, '-N', '-e', GALERA_STATUS_SQL], 3_000);
      const member = parseGaleraStatus(stdout);
      return member ? { details: { role: 'member', galera: member }, summary: describeMember(member) } : null;
    }
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

/** `mariadb -N -e 'SHOW STATUS …'` output (a name and a value, tab-separated, a line each), by name. */
function statusValues(output: string): Record<string, string> {
  return Object.fromEntries(output.trim().split('\n').filter(Boolean).map((line) => line.split('\t') as [string, string]));
}

/** A semi-sync primary's state, from SHOW STATUS (tab-separated name and value); null when it is not semi-sync. */
export function parseSemiSync(output: string): { on: boolean; clients: number } | null {
  const values = statusValues(output);
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
 * A server's role, taken each time it is ready and again when `promote` changes it: the primary
 * stops replicating and becomes writable; a replica becomes read-only and follows its primary from
 * its current GTID position (the binary log's position on a former primary, so it asks for nothing
 * it has), and the step waits until the I/O and SQL threads both run. Run as root over the socket.
 */
function roleFiles(configDir: string, myCnf: string, primary: { address: string; password: string; ca: string | null } | null) {
  const sqlFile = join(configDir, ROLE_FILES[0]);
  const script = join(configDir, ROLE_FILES[1]);
  const sql = primary
    ? [
        'SET GLOBAL read_only = ON;',
        'STOP SLAVE;',
        `CHANGE MASTER TO MASTER_HOST = '${primary.address}', MASTER_PORT = ${PORTS.mysql}, MASTER_USER = '${REPLICATION_USER}', MASTER_PASSWORD = ${sqlString(primary.password)}, MASTER_USE_GTID = current_pos, MASTER_CONNECT_RETRY = 1${primary.ca ? `, MASTER_SSL = 1, MASTER_SSL_CA = ${sqlString(primary.ca)}, MASTER_SSL_VERIFY_SERVER_CERT = 1` : ''};`,
        'START SLAVE;',
      ]
    : PRIMARY_ROLE_SQL;
  const wait = primary
    ? `deadline=$((SECONDS + ${REPLICATION_START_MS / 1000}))
while (( SECONDS < deadline )); do
  status=$("\${client[@]}" -e 'SHOW SLAVE STATUS\\G')
  if grep -q 'Slave_IO_Running: Yes' <<<"$status" && grep -q 'Slave_SQL_Running: Yes' <<<"$status"; then
    echo "a replica, replicating from ${primary.address}"
    exit 0
  fi
  sleep 0.5
done
echo "replication from ${primary.address} did not start:" >&2
grep -E 'Slave_(IO|SQL)_Running|Last_(IO|SQL)_Error' <<<"$status" >&2 || true
exit 1`
    : `if [[ $("\${client[@]}" -N -e 'SELECT @@global.read_only') == 0 ]]; then
  echo "the primary, writable"
  exit 0
fi
echo "read_only is still on" >&2
exit 1`;
  const shell = `#!/bin/bash
# Rendered by webstack: makes this server ${primary ? `a replica of ${primary.address}` : 'the primary'}.
set -eu
client=(mariadb --defaults-file=${myCnf})
"\${client[@]}" < ${sqlFile}
${wait}
`;
  return {
    files: [
      { path: sqlFile, content: `${sql.join('\n')}\n`, mode: 0o600 },
      { path: script, content: shell, mode: 0o700 },
    ],
    command: ['bash', script],
  };
}

/** A SQL string literal; the secrets are base64url, but quote properly anyway. */
function sqlString(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

// A Galera cluster: every member takes writes and certifies each transaction with the others
// before it commits, so an acknowledged write is on every member of the primary component. The
// members that keep a majority go on when one is lost; a minority refuses reads and writes rather
// than serve what may be stale. One member at a time holds the write address (keepalived.ts), so
// that concurrent writes never conflict in certification.

/** Group communication: a member silent this long is suspected, and evicted soon after (the defaults take 5 to 15 s). */
const GALERA_TIMEOUTS = {
  'evs.keepalive_period': 'PT0.2S',
  'evs.inactive_check_period': 'PT0.2S',
  'evs.suspect_timeout': 'PT0.8S',
  'evs.inactive_timeout': 'PT1S',
  'evs.install_timeout': 'PT1S',
  'evs.join_retrans_period': 'PT0.2S',
} as const;
/** How long a joining member waits for one of the others to answer before it starts anyway (and is restarted). */
const JOIN_WAIT_S = 120;

/** What the app calls the cluster's write address (X-Read-From, metrics): whichever member holds it. */
export const WRITER_NAME = 'db-writer';

/** The cluster's write address, when the design has a Galera cluster. */
export function writerAddress(design: ResolvedStack): string | null {
  return writerVip(design)?.address ?? null;
}

function writerVip(design: ResolvedStack): VirtualIp | undefined {
  return design.virtualIps.find((v) => v.role === 'db');
}

function members(design: ResolvedStack): { host: string; address: string }[] {
  const vip = writerVip(design);
  return design.hosts.filter((h) => h.roles.includes('db')).map((h) => ({ host: h.name, address: vip ? h.addresses[vip.network]! : Object.values(h.addresses)[0]! }));
}

function galeraSection(context: DaemonContext, tls: { ca: string; cert: string; key: string } | null): string {
  const { design, host } = context;
  const all = members(design);
  const own = all.find((m) => m.host === host.name)!.address;
  const options = [
    `gmcast.listen_addr=tcp://${own}:${PORTS.galera}`,
    `ist.recv_addr=${own}:${PORTS.galeraIst}`,
    ...Object.entries(GALERA_TIMEOUTS).map(([k, v]) => `${k}=${v}`),
    'gcache.size=64M',
    ...(tls ? [`socket.ssl_ca=${tls.ca}`, `socket.ssl_cert=${tls.cert}`, `socket.ssl_key=${tls.key}`] : []),
  ];
  return `# A member of the Galera cluster ${context.topology.stack}: ${all.map((m) => m.host).join(', ')}.
wsrep_on = ON
wsrep_provider = ${GALERA_PROVIDER}
wsrep_cluster_name = ${context.topology.stack}
wsrep_cluster_address = gcomm://${all.map((m) => `${m.address}:${PORTS.galera}`).join(',')}
wsrep_node_name = ${host.name}
wsrep_node_address = ${own}:${PORTS.galera}
wsrep_sst_method = rsync
wsrep_sst_receive_address = ${own}:${PORTS.galeraSst}
wsrep_provider_options = "${options.join('; ')}"
wsrep_slave_threads = 2
binlog_format = ROW
innodb_autoinc_lock_mode = 2
default_storage_engine = InnoDB
${tls ? `
[sst]
# State transfers go through stunnel, verified against the stack's CA.
ssl-mode = VERIFY_CA
tca = ${tls.ca}
tcert = ${tls.cert}
tkey = ${tls.key}

[mariadbd]
` : ''}`;
}

/** The file `up` leaves in a member's run directory when that member is to start a new cluster (lab/galera.ts). */
export const BOOTSTRAP_MARKER = 'bootstrap';

/**
 * The start of a member: bootstrap a new cluster if `up` chose this member to (it is the most
 * advanced, or every member is new), else join the others once one of them answers.
 */
function galeraStart(context: DaemonContext, myCnf: string, dataDir: string): RenderedFile {
  const others = members(context.design).filter((m) => m.host !== context.host.name);
  const marker = join(context.paths.run, BOOTSTRAP_MARKER);
  const content = `#!/bin/bash
# Rendered by webstack: starts ${context.host.name}, a member of the Galera cluster.
set -eu
# The cluster's write address is bound before keepalived brings it here.
sysctl -qw net.ipv4.ip_nonlocal_bind=1
# Killed rather than stopped, a member left no position in grastate.dat: InnoDB has it. Started
# from it, the member gets only the writes it missed (IST), not a copy of everything (SST).
position=()
if grep -qs '^seqno: *-1' ${dataDir}/grastate.dat; then
  recovered=$(mariadbd --defaults-file=${myCnf} --wsrep-recover 2>&1 | grep -o 'Recovered position: *[0-9a-f-]*:-*[0-9]*' | tail -n 1 | sed 's/^Recovered position: *//')
  if [[ -n $recovered ]]; then
    echo "recovered its position: $recovered"
    position=(--wsrep_start_position=$recovered)
  fi
fi
if [[ -e ${marker} ]]; then
  echo "starting a new cluster: $(cat ${marker})"
  rm -f ${marker}
  if [[ -f ${dataDir}/grastate.dat ]]; then sed -i 's/^safe_to_bootstrap: 0/safe_to_bootstrap: 1/' ${dataDir}/grastate.dat; fi
  exec mariadbd --defaults-file=${myCnf} --wsrep-new-cluster "\${position[@]}"
fi
# Join: wait until another member answers group communication, so that the join does not time out.
deadline=$((SECONDS + ${JOIN_WAIT_S}))
until (( SECONDS >= deadline )); do
${others.map((m) => `  if timeout 1 bash -c '</dev/tcp/${m.address}/${PORTS.galera}' 2>/dev/null; then break; fi`).join('\n')}
  sleep 0.5
done
echo "joining the cluster through ${others.map((m) => m.host).join(', ')}"
exec mariadbd --defaults-file=${myCnf} "\${position[@]}"
`;
  return { path: join(context.paths.config, 'galera-start.sh'), content, mode: 0o700 };
}

/** Whether this spec is a Galera member's. */
export function galeraMember(spec: DaemonSpec): boolean {
  return spec.daemon === 'mariadb' && spec.files.some((f) => f.path.endsWith('/galera-start.sh'));
}

export const GALERA_STATUS_SQL = "SHOW STATUS WHERE Variable_name IN ('wsrep_local_state_comment', 'wsrep_cluster_status', 'wsrep_cluster_size', 'wsrep_ready', 'wsrep_last_committed')";

export interface GaleraStatus {
  /** Synced, Donor/Desynced, Joining, Joined... */
  readonly state: string;
  /** Primary, or non-Primary for a member that lost its majority. */
  readonly cluster: string;
  readonly size: number;
  readonly ready: boolean;
  readonly lastCommitted: number;
}

/** A member's state from SHOW STATUS (tab-separated name and value); null when it is no Galera member. */
export function parseGaleraStatus(output: string): GaleraStatus | null {
  const values = statusValues(output);
  if (!('wsrep_cluster_status' in values)) return null;
  return {
    state: values.wsrep_local_state_comment ?? '?',
    cluster: values.wsrep_cluster_status!,
    size: Number(values.wsrep_cluster_size ?? 0),
    ready: values.wsrep_ready === 'ON',
    lastCommitted: Number(values.wsrep_last_committed ?? -1),
  };
}

function describeMember(m: GaleraStatus): string {
  if (m.cluster !== 'Primary') return `cluster member, cut off from the majority (${m.cluster}): refuses reads and writes`;
  return `cluster member, ${m.state.toLowerCase()}, ${m.size} of the cluster in its primary component${m.ready ? '' : ', not ready'}`;
}
