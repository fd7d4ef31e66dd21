import type { Role } from './vocabulary.ts';

// Every port a daemon listens on, in one table, so that flows, the analysis
// and (later) firewall rules and daemon configs cannot disagree.
export const PORTS = {
  http: 80,
  https: 443,
  app: 8000,
  mysql: 3306,
  redis: 6379,
  dns: 53,
  haproxyStats: 8404,
  prometheus: 9090,
  alertmanager: 9093,
  nodeExporter: 9100,
  mysqldExporter: 9104,
  nginxExporter: 9113,
  redisExporter: 9121,
} as const;

export type PortKind = 'entry' | 'internal' | 'database' | 'cache' | 'monitoring' | 'admin' | 'dns';

export interface Listener {
  port: number;
  protocol: 'tcp' | 'udp';
  daemon: string;
  kind: PortKind;
  /** The role it serves; node-exporter, which serves the host, takes the host's first role. */
  role: Role;
  /** Monitoring scrapes metrics from it. */
  scraped: boolean;
}

interface ListenerOptions {
  tls: boolean;
  /** The app server's port, when the design names its own (app.port). */
  appPort?: number;
  monitored: boolean;
  alerting: boolean;
}

/** What a role listens on; a monitored host's roles add their exporters. */
export function listenersOf(role: Role, opts: ListenerOptions): Listener[] {
  const l = (port: number, daemon: string, kind: PortKind, protocol: 'tcp' | 'udp' = 'tcp'): Listener => ({
    port,
    protocol,
    daemon,
    kind,
    role,
    // The lb's stats port and the app serve /metrics themselves; exporters and Prometheus exist to be scraped.
    scraped: kind === 'monitoring' || kind === 'admin' || daemon === 'app',
  });
  const exporter = (port: number, daemon: string) => (opts.monitored ? [l(port, daemon, 'monitoring')] : []);
  switch (role) {
    case 'lb':
      return [l(PORTS.http, 'haproxy', 'entry'), ...(opts.tls ? [l(PORTS.https, 'haproxy', 'entry')] : []), l(PORTS.haproxyStats, 'haproxy', 'admin')];
    case 'web':
      return [l(PORTS.http, 'nginx', 'entry'), ...exporter(PORTS.nginxExporter, 'nginx-exporter')];
    case 'app':
      return [l(opts.appPort ?? PORTS.app, 'app', 'internal')];
    case 'db-primary':
    case 'db-replica':
      return [l(PORTS.mysql, 'mariadb', 'database'), ...exporter(PORTS.mysqldExporter, 'mysqld-exporter')];
    case 'cache':
      return [l(PORTS.redis, 'redis', 'cache'), ...exporter(PORTS.redisExporter, 'redis-exporter')];
    case 'monitoring':
      return [l(PORTS.prometheus, 'prometheus', 'monitoring'), ...(opts.alerting ? [l(PORTS.alertmanager, 'alertmanager', 'monitoring')] : [])];
    case 'dns':
      return [l(PORTS.dns, 'dns', 'dns', 'udp'), l(PORTS.dns, 'dns', 'dns', 'tcp')];
  }
}

/** Everything a host listens on: its roles' daemons, and node-exporter when it is monitored. */
export function hostListeners(roles: readonly Role[], opts: ListenerOptions): Listener[] {
  const nodeExporter: Listener[] = opts.monitored
    ? [{ port: PORTS.nodeExporter, protocol: 'tcp', daemon: 'node-exporter', kind: 'monitoring', role: roles[0]!, scraped: true }]
    : [];
  return [...nodeExporter, ...roles.flatMap((role) => listenersOf(role, opts))];
}
