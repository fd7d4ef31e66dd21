import { stringify } from 'yaml';

// The rules every Prometheus of a stack evaluates: recording rules for the figures the seeds name
// (requests per second per tier and per host, error ratio, latency percentiles) and the alerts,
// each with a summary a person understands and the webstack command that looks further.
// Pure: which rules there are depends only on which jobs the monitoring host scrapes, so a rule
// never waits for a series nothing will ever produce (and `absent()` never fires for one).

/** The jobs Prometheus scrapes, named by the daemon that serves them; 'uptime' is the blackbox probe. */
export const JOBS = ['node-exporter', 'haproxy', 'nginx-exporter', 'mysqld-exporter', 'redis-exporter', 'app', 'prometheus', 'alertmanager', 'uptime'] as const;
export type Job = (typeof JOBS)[number];

interface RecordingRule {
  readonly record: string;
  readonly expr: string;
  readonly labels?: Readonly<Record<string, string>>;
}

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels: { readonly severity: 'page' | 'warning' | 'none' };
  readonly annotations: { readonly summary: string; readonly runbook: string };
}

/** What a series of the lab is about: the host it comes from, for people and for the runbook. */
const ABOUT = '{{ $labels.host }}';

/** HAProxy's own stats frontend is not the site. */
const SITE = 'proxy!="stats"';

function recordingRules(jobs: ReadonlySet<Job>): RecordingRule[] {
  const rules: RecordingRule[] = [];
  if (jobs.has('haproxy')) {
    rules.push(
      { record: 'host:http_requests:rate1m', expr: `sum by (host) (rate(haproxy_frontend_http_requests_total{${SITE}}[1m]))`, labels: { tier: 'lb' } },
      { record: 'tier:http_requests:rate1m', expr: `sum(rate(haproxy_frontend_http_requests_total{${SITE}}[1m]))`, labels: { tier: 'lb' } },
      {
        record: 'tier:http_errors:ratio_rate1m',
        // A tier with no requests has no error ratio (not 0/0 = NaN).
        expr: `sum(rate(haproxy_frontend_http_responses_total{${SITE},code="5xx"}[1m])) / (sum(rate(haproxy_frontend_http_requests_total{${SITE}}[1m])) > 0)`,
        labels: { tier: 'lb' },
      },
    );
  }
  if (jobs.has('nginx-exporter')) {
    rules.push(
      { record: 'host:http_requests:rate1m', expr: 'sum by (host) (rate(nginx_http_requests_total[1m]))', labels: { tier: 'web' } },
      { record: 'tier:http_requests:rate1m', expr: 'sum(rate(nginx_http_requests_total[1m]))', labels: { tier: 'web' } },
    );
  }
  if (jobs.has('app')) {
    rules.push(
      { record: 'host:http_requests:rate1m', expr: 'sum by (host) (rate(app_http_requests_total[1m]))', labels: { tier: 'app' } },
      { record: 'tier:http_requests:rate1m', expr: 'sum(rate(app_http_requests_total[1m]))', labels: { tier: 'app' } },
      // No 5xx series at all (none answered yet) is a ratio of 0, not no ratio.
      { record: 'tier:http_errors:ratio_rate1m', expr: '(sum(rate(app_http_requests_total{status=~"5.."}[1m])) or vector(0)) / (sum(rate(app_http_requests_total[1m])) > 0)', labels: { tier: 'app' } },
      ...([['p50', '0.5'], ['p90', '0.9'], ['p99', '0.99']] as const).map(([name, q]) => ({
        record: `tier:http_request_duration_seconds:${name}`,
        expr: `histogram_quantile(${q}, sum by (le) (rate(app_http_request_duration_seconds_bucket[1m])))`,
        labels: { tier: 'app' },
      })),
      { record: 'host:http_request_duration_seconds:p99', expr: 'histogram_quantile(0.99, sum by (host, le) (rate(app_http_request_duration_seconds_bucket[1m])))', labels: { tier: 'app' } },
    );
  }
  return rules;
}

/** What the stack's databases are: a primary (with replicas), and the members of a Galera cluster (0 without one). */
export interface Databases {
  readonly primary: boolean;
  readonly clusterMembers: number;
}

/** The alerts, with `stack` named in each runbook step. */
export function alertRules(jobs: ReadonlySet<Job>, stack: string, databases: Databases): AlertRule[] {
  const look = (command: string) => `npx webstack ${command} --stack ${stack}`;
  const rules: AlertRule[] = [
    {
      alert: 'Watchdog',
      expr: 'vector(1)',
      labels: { severity: 'none' },
      annotations: { summary: 'always firing: while this arrives, Prometheus, Alertmanager and the receiver all work', runbook: look('alerts') },
    },
    {
      alert: 'InstanceDown',
      expr: 'up == 0',
      for: '10s',
      labels: { severity: 'page' },
      annotations: { summary: `${ABOUT}: {{ $labels.job }} does not answer Prometheus ({{ $labels.instance }})`, runbook: look('status') },
    },
  ];
  if (jobs.has('uptime')) {
    rules.push(
      {
        alert: 'SiteDown',
        expr: 'probe_success{job="uptime"} == 0',
        for: '10s',
        labels: { severity: 'page' },
        annotations: { summary: 'users cannot load {{ $labels.instance }}: the uptime probe from the internet side fails', runbook: look('status') },
      },
      {
        alert: 'NameDoesNotResolve',
        expr: 'probe_success{job="uptime-dns"} == 0',
        for: '10s',
        labels: { severity: 'page' },
        annotations: { summary: "users cannot find the site: the stack's DNS server ({{ $labels.instance }}) gives no address for it", runbook: look('status') },
      },
      {
        alert: 'CertificateExpiringSoon',
        expr: 'probe_ssl_earliest_cert_expiry{job="uptime"} - time() < 14 * 86400',
        for: '1m',
        labels: { severity: 'warning' },
        annotations: { summary: "{{ $labels.instance }}'s certificate expires within 14 days", runbook: look('certs --renew') },
      },
    );
  }
  if (jobs.has('haproxy')) {
    rules.push({
      alert: 'BackendDown',
      // Once per server, however many load balancers see it down.
      expr: 'max by (proxy, server) (haproxy_server_status{state="DOWN"}) == 1',
      for: '5s',
      labels: { severity: 'page' },
      annotations: { summary: 'the load balancers took {{ $labels.server }} out of {{ $labels.proxy }}: its health checks fail', runbook: look('status') },
    });
  }
  if (jobs.has('haproxy') || jobs.has('app')) {
    rules.push({
      alert: 'HighErrorRatio',
      expr: 'tier:http_errors:ratio_rate1m > 0.01',
      for: '1m',
      labels: { severity: 'page' },
      annotations: { summary: 'the {{ $labels.tier }} tier answers {{ $value | humanizePercentage }} of requests with a server error', runbook: look('logs --all --since 5m') },
    });
  }
  if (jobs.has('app')) {
    rules.push({
      alert: 'HighLatency',
      expr: 'tier:http_request_duration_seconds:p99 > 1',
      for: '1m',
      labels: { severity: 'warning' },
      annotations: { summary: 'the slowest 1 % of app requests take over a second', runbook: look('top') },
    });
  }
  if (jobs.has('mysqld-exporter')) {
    rules.push(
      {
        alert: 'ReplicationStopped',
        expr: 'mysql_slave_status_slave_io_running == 0 or mysql_slave_status_slave_sql_running == 0',
        for: '15s',
        labels: { severity: 'page' },
        annotations: { summary: `${ABOUT}: the replica does not replicate from its primary`, runbook: look('status') },
      },
      {
        alert: 'ReplicationLagging',
        expr: 'mysql_slave_status_seconds_behind_master > 10',
        for: '30s',
        labels: { severity: 'warning' },
        annotations: { summary: `${ABOUT}: the replica is {{ $value }} s behind its primary`, runbook: look('status') },
      },
    );
    if (databases.primary) {
      rules.push({
        alert: 'NoWritablePrimary',
        // The primary is the one database that is not read-only; nothing answering so means no writes.
        expr: 'absent(mysql_global_variables_read_only == 0)',
        for: '10s',
        labels: { severity: 'page' },
        annotations: { summary: 'no database takes writes: every post a user makes fails', runbook: look('status') },
      });
    }
    if (databases.clusterMembers > 0) {
      rules.push(
        {
          alert: 'DatabaseMemberOut',
          // The members' own view of the cluster: one alert, however many members see it.
          expr: `max without (host, instance) (mysql_global_status_wsrep_cluster_size{job="mysqld-exporter"}) < ${databases.clusterMembers}`,
          for: '10s',
          labels: { severity: 'warning' },
          annotations: { summary: `the database cluster has {{ $value }} of its ${databases.clusterMembers} members: it goes on, but a majority is all it has left`, runbook: look('status') },
        },
        {
          alert: 'DatabaseMemberNotServing',
          // Cut off from the majority (cluster status not Primary) or not ready: it refuses reads and writes.
          expr: 'mysql_global_status_wsrep_cluster_status != 1 or mysql_global_status_wsrep_ready == 0',
          for: '10s',
          labels: { severity: 'warning' },
          annotations: { summary: `${ABOUT}: the member is not in the cluster's primary component, and refuses reads and writes`, runbook: look('status') },
        },
        {
          alert: 'NoWritableDatabase',
          // No member in a primary component answers: the cluster lost its majority, or every member is gone.
          expr: 'absent(mysql_global_status_wsrep_cluster_status == 1)',
          for: '10s',
          labels: { severity: 'page' },
          annotations: { summary: 'no member of the database cluster takes writes: every post a user makes fails', runbook: look('status') },
        },
      );
    }
  }
  if (jobs.has('node-exporter')) {
    rules.push({
      alert: 'DiskWillFill',
      expr: 'predict_linear(node_filesystem_avail_bytes{fstype!~"tmpfs|ramfs|overlay",mountpoint="/"}[1h], 24 * 3600) < 0 and node_filesystem_readonly == 0',
      for: '10m',
      labels: { severity: 'warning' },
      annotations: { summary: `${ABOUT}: {{ $labels.mountpoint }} fills within a day at this rate`, runbook: look('status') },
    });
  }
  return rules;
}

/** The rules file, as Prometheus reads it. */
export function renderRules(jobs: ReadonlySet<Job>, stack: string, databases: Databases): string {
  const recording = recordingRules(jobs);
  const groups = [
    ...(recording.length > 0 ? [{ name: 'figures', interval: '5s', rules: recording }] : []),
    { name: 'alerts', interval: '5s', rules: alertRules(jobs, stack, databases) },
  ];
  return stringify({ groups }, { lineWidth: 0 });
}
