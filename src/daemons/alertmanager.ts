import { join } from 'node:path';
import { stringify } from 'yaml';
import { PORTS } from '../design/ports.ts';
import type { ResolvedStack } from '../design/types.ts';
import type { LabHost } from '../plan/topology.ts';
import { LOOPBACK, targetsOf } from './listeners.ts';
import { header, listener, staged, type DaemonContext, type RunnableDaemon } from './types.ts';

// Alertmanager on every monitoring host of a stack that alerts. Every Prometheus sends its alerts
// to all of them; they gossip (a cluster), so each notification goes out once, from one of them,
// and the survivors still send when one monitoring host is down. Notifications go to the lab's
// receiver on the same host, which records them for `webstack alerts`, and to the design's own
// receivers (policies.monitoring.notify).

/** Route timings: a new alert is sent within a second; a change to a group within 5 s. */
const GROUP_WAIT = '1s';
const GROUP_INTERVAL = '5s';
const REPEAT_INTERVAL = '4h';
/**
 * How long a peer waits for the one before it to send, before it sends itself. The default 15 s
 * is for clusters across a WAN; gossip inside the lab takes milliseconds, and the wait is what an
 * alert costs when the first Alertmanager is the one that died.
 */
const PEER_TIMEOUT = '3s';

/** Where this monitoring host's Alertmanager listens: where the other monitoring hosts reach it. */
export function alertmanagerAddress(design: ResolvedStack, host: Pick<LabHost, 'name' | 'addresses'>): string {
  const inbound = design.flows.find((f) => f.to === host.name && f.port === PORTS.alertmanager && f.network !== null);
  return inbound ? host.addresses[inbound.network!]! : LOOPBACK;
}

/** Where a Prometheus on `host` sends its alerts: every Alertmanager of the stack, its own first. */
export function alertmanagersOf(design: ResolvedStack, host: Pick<LabHost, 'name' | 'addresses'>): string[] {
  const others = targetsOf(design, host.name, 'metrics').filter((t) => t.host !== host.name && design.flows.some((f) => f.from === host.name && f.to === t.host && f.port === PORTS.alertmanager));
  return [`${alertmanagerAddress(design, host)}:${PORTS.alertmanager}`, ...new Set(others.map((t) => `${t.address}:${PORTS.alertmanager}`))];
}

function renderConfig(context: DaemonContext): string {
  const { design } = context;
  const lab = { url: `http://${LOOPBACK}:${PORTS.alertReceiver}/alerts`, send_resolved: true, max_alerts: 0 };
  const own = design.policies.monitoring.notify;
  const webhooks = own.flatMap((n) => (n.kind === 'webhook' ? [{ url: n.url, send_resolved: true }] : []));
  const emails = own.flatMap((n) => (n.kind === 'email' ? [{ to: n.to, from: n.from, smarthost: n.smtp, require_tls: false, send_resolved: true }] : []));
  const config = {
    route: {
      receiver: 'lab',
      // Every alert its own notification: each arrives once, and one that joins later does not resend the others.
      group_by: ['...'],
      group_wait: GROUP_WAIT,
      group_interval: GROUP_INTERVAL,
      repeat_interval: REPEAT_INTERVAL,
      // The design's own receivers hear everything too, but not the Watchdog, which only proves the pipeline.
      ...(own.length > 0 ? { routes: [{ receiver: 'design', matchers: ['alertname != Watchdog'], continue: true }, { receiver: 'lab' }] } : {}),
    },
    receivers: [{ name: 'lab', webhook_configs: [lab] }, ...(own.length > 0 ? [{ name: 'design', ...(webhooks.length ? { webhook_configs: webhooks } : {}), ...(emails.length ? { email_configs: emails } : {}) }] : [])],
  };
  return `${header('#', context, 'alertmanager')}${stringify(config, { lineWidth: 0 })}`;
}

export const alertmanager: RunnableDaemon = {
  name: 'alertmanager',
  title: 'Alertmanager, which sends alerts',
  programs: { 'prometheus-alertmanager': 'prometheus-alertmanager', amtool: 'prometheus-alertmanager' },
  listens: (role, _roles, { alerting }) =>
    alerting && role === 'monitoring'
      ? [listener('alertmanager', role, PORTS.alertmanager, 'monitoring'), listener('alertmanager', role, PORTS.alertmanagerCluster, 'internal'), listener('alertmanager', role, PORTS.alertmanagerCluster, 'internal', 'udp')]
      : [],
  runsOn: (host, design) => design.policies.monitoring.alerting && host.roles.includes('monitoring'),
  // Its receiver records the first notification.
  after: ['alert-receiver'],
  render(context) {
    const { paths, host, design } = context;
    const address = alertmanagerAddress(design, host);
    const peers = design.flows.filter((f) => f.from === host.name && f.purpose === 'alert-cluster' && f.protocol === 'tcp');
    const configFile = join(paths.config, 'alertmanager.yml');
    const cluster =
      peers.length > 0
        ? [
            `--cluster.listen-address=${address}:${PORTS.alertmanagerCluster}`,
            ...peers.map((f) => `--cluster.peer=${design.hosts.find((h) => h.name === f.to)!.addresses[f.network!]!}:${PORTS.alertmanagerCluster}`),
            `--cluster.peer-timeout=${PEER_TIMEOUT}`,
            // It sends nothing until the cluster has settled: seconds in the lab, not the default minute.
            '--cluster.settle-timeout=10s',
            '--cluster.reconnect-interval=2s',
          ]
        : ['--cluster.listen-address='];
    return {
      daemon: 'alertmanager',
      host: host.name,
      namespace: host.namespace,
      after: alertmanager.after,
      command: ['prometheus-alertmanager', `--config.file=${configFile}`, `--storage.path=${join(paths.data, 'data')}`, `--web.listen-address=${address}:${PORTS.alertmanager}`, ...cluster],
      files: [{ path: configFile, content: renderConfig(context), mode: 0o644 }],
      dirs: [{ path: paths.data }, { path: join(paths.data, 'data') }],
      copies: [],
      validate: [['amtool', 'check-config', staged(configFile)]],
      reload: { signal: 'SIGHUP' },
      readiness: { kind: 'http', url: `http://${address}:${PORTS.alertmanager}/-/ready` },
      readinessTimeoutMs: 30_000,
      log: paths.log,
    };
  },
};
