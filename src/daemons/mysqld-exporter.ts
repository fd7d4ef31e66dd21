import { join } from 'node:path';
import { PORTS } from '../design/ports.ts';
import { EXPORTER_USER } from './mariadb.ts';
import { isMonitored, scrapeAddresses } from './listeners.ts';
import { listener, type RunnableDaemon } from './types.ts';
import { isDatabaseRole } from '../design/vocabulary.ts';

// The mysqld exporter on every monitored database host: MariaDB's connections, queries,
// read-only flag and replication state and lag, for Prometheus. It logs in over the server's
// socket as its own user, which may read status and nothing else (PROCESS, BINLOG MONITOR,
// SLAVE MONITOR), so the exporter never holds the app's password or any right to the data.

export const mysqldExporter: RunnableDaemon = {
  name: 'mysqld-exporter',
  title: 'the MariaDB metrics exporter',
  programs: { 'prometheus-mysqld-exporter': 'prometheus-mysqld-exporter' },
  listens: (role, _roles, { monitored }) => (monitored && isDatabaseRole(role) ? [listener('mysqld-exporter', role, PORTS.mysqldExporter, 'monitoring')] : []),
  runsOn: (host, design) => host.roles.some(isDatabaseRole) && isMonitored(design, host.name),
  // Its user is created when MariaDB starts.
  after: ['mariadb'],
  render(context) {
    const { paths, host, design } = context;
    const listen = scrapeAddresses(design, host, PORTS.mysqldExporter);
    const credentials = join(paths.config, 'my.cnf');
    const socket = join(context.pathsOf(host.name, 'mariadb').run, 'mysqld.sock');
    return {
      daemon: 'mysqld-exporter',
      host: host.name,
      namespace: host.namespace,
      after: mysqldExporter.after,
      command: ['prometheus-mysqld-exporter', `--config.my-cnf=${credentials}`, ...listen.map((a) => `--web.listen-address=${a}:${PORTS.mysqldExporter}`)],
      files: [{ path: credentials, content: `[client]\nuser = ${EXPORTER_USER}\npassword = ${context.secrets.exporterPassword}\nsocket = ${socket}\n`, mode: 0o600 }],
      dirs: [],
      copies: [],
      readiness: { kind: 'http', url: `http://${listen[0]}:${PORTS.mysqldExporter}/metrics` },
      readinessTimeoutMs: 10_000,
      log: paths.log,
    };
  },
};
