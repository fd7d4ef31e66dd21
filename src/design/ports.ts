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
}

/** What a role listens on; `metrics` adds its exporter when the host is monitored. */
export function listenersOf(role: Role, opts: { tls: boolean; monitored: boolean; alerting: boolean }): Listener[] {
  const l = (port: number, daemon: string, kind: PortKind, protocol: 'tcp' | 'udp' = 'tcp'): Listener => ({ port, protocol, daemon, kind });
  const exporter = (port: number, daemon: string) => (opts.monitored ? [l(port, daemon, 'monitoring')] : []);
  switch (role) {
    case 'lb':
      return [l(PORTS.http, 'haproxy', 'entry'), ...(opts.tls ? [l(PORTS.https, 'haproxy', 'entry')] : []), l(PORTS.haproxyStats, 'haproxy', 'admin')];
    case 'web':
      return [l(PORTS.http, 'nginx', 'entry'), ...exporter(PORTS.nginxExporter, 'nginx-exporter')];
    case 'app':
      return [l(PORTS.app, 'app', 'internal')];
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
