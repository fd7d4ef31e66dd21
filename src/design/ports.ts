import type { ResolvedPolicies } from './types.ts';
import type { Role } from './vocabulary.ts';

// Every port number in one table. Which daemon listens on which of them, for which role, each
// daemon module declares (src/daemons/); `hostListeners` in the registry puts them together.
export const PORTS = {
  http: 80,
  https: 443,
  app: 8000,
  mysql: 3306,
  /** A Galera cluster's group communication between its members. */
  galera: 4567,
  /** Incremental state transfer: a member that was away briefly gets the writes it missed. */
  galeraIst: 4568,
  /** State snapshot transfer (rsync): a new or long-gone member gets a copy of the whole database. */
  galeraSst: 4444,
  redis: 6379,
  dns: 53,
  /** Access and app logs, sent over syslog (UDP) to rsyslog on the monitoring hosts. */
  syslog: 514,
  haproxyStats: 8404,
  prometheus: 9090,
  alertmanager: 9093,
  /** Alertmanagers gossip here (TCP and UDP), so that two of them send each notification once. */
  alertmanagerCluster: 9094,
  /** The lab's webhook receiver, on each monitoring host's loopback: it records every notification. */
  alertReceiver: 9095,
  nodeExporter: 9100,
  mysqldExporter: 9104,
  nginxExporter: 9113,
  /** nginx's stub_status, on each web host's loopback, for the nginx exporter beside it. */
  nginxStatus: 8081,
  redisExporter: 9121,
  /** The uptime probe, on the client's loopback (the internet side); each monitoring host reaches it through a relay on its own loopback. */
  blackboxExporter: 9115,
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
  /** Open only while it is needed (a state transfer to a joining member): why, for `audit`. */
  onDemand?: string;
}

export interface ListenerOptions {
  tls: boolean;
  /** TLS on every hop behind the entry too (policies.tls: { mode: end-to-end }). */
  endToEnd?: boolean;
  /** The app server's port, when the design names its own (app.port). */
  appPort?: number;
  monitored: boolean;
  alerting: boolean;
}

/** TLS on every hop behind the entry too: policies.tls: { mode: end-to-end }. */
export function tlsEndToEnd(policies: ResolvedPolicies): boolean {
  return policies.tls && policies.tlsMode === 'end-to-end';
}

/** What a host of this stack listens on depends on these policies: one place that reads them. */
export function listenerOptions(policies: ResolvedPolicies, appPort: number, monitored: boolean): ListenerOptions {
  return { tls: policies.tls, endToEnd: tlsEndToEnd(policies), monitored, alerting: policies.monitoring.alerting, appPort };
}
