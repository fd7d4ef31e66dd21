import { existsSync, readFileSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { parseReceived } from '../alerts/notifications.ts';
import { withPrimary } from '../design/promote.ts';
import type { ResolvedStack } from '../design/types.ts';
import { renderSvg } from '../diagram/svg.ts';
import { diagramModel } from '../diagram/model.ts';
import { programCommand, REPO_ROOT, THIS_INSTALL } from '../entry.ts';
import { daemonPaths, stackPaths } from '../plan/paths.ts';
import { checkLoadRequest } from '../lab/load.ts';
import { readPromotion, readRunningDesign, readSpecs, readState, runningHost, siteBase } from '../lab/state.ts';
import { lastLines } from '../lab/logfile.ts';
import { stackLogs } from '../lab/logs.ts';
import { stackStatus, withObservations, type StackStatus } from '../lab/status.ts';
import type { Started, Target } from '../lab/target.ts';
import { chartStyle, pageScript } from './bundle.ts';
import { DashboardRefusal, type DashboardBackend, type DashboardEvent } from './app.ts';
import { fromHaproxy, fromPrometheus, parseHaproxyCounters, type HaproxyCounters, type TrafficView } from './traffic.ts';
import { dashboardView, type DashboardView } from './view.ts';

// The dashboard's backend on a running stack: it looks at the stack four times a second (the
// supervisor's record: a fault shows at once) and asks the daemons about themselves once a second
// (which server each load balancer sees, who holds a virtual IP, the database's state, traffic),
// pushes a new view whenever it changed, and does what the page asks through the same lab code
// as the CLI (fail, heal, partition, deploy, prove), saying what it did as activity.

const LOOK_MS = 250;
const ASK_MS = 1_000;
const RECENT = 60;
/** The traffic switch is bounded: at most this long, and 500 requests a second (app.ts). */
const TRAFFIC_MAX_S = 600;

export interface LiveOptions {
  readonly home: string;
  readonly stack: string;
  readonly target: Target;
}

export interface LiveBackend extends DashboardBackend {
  close(): Promise<void>;
}

export function liveBackend({ home, stack, target }: LiveOptions): LiveBackend {
  const listeners = new Set<(e: DashboardEvent) => void>();
  const recent: DashboardEvent[] = [];
  const emit = (e: DashboardEvent) => {
    if (e.event !== 'state') {
      recent.push(e);
      if (recent.length > RECENT) recent.shift();
    }
    for (const listener of listeners) listener(e);
  };
  const say = (line: string, failed = false) => emit({ event: 'activity', data: { at: Date.now(), line, ...(failed ? { failed } : {}) } });

  // Read again only when `up` or `promote` has written either file since: look() asks four times a second.
  let cached: { stamp: string; design: ResolvedStack } | null = null;
  const designOf = (): ResolvedStack => {
    const { design: designFile, promotion } = stackPaths(home, stack);
    const stamp = [designFile, promotion].map((f) => statSync(f, { throwIfNoEntry: false })?.mtimeMs ?? 'none').join(' ');
    if (cached?.stamp === stamp) return cached.design;
    const running = readRunningDesign(home, stack);
    if (!running) throw new DashboardRefusal(`there is no stack named '${stack}' any more`, 404);
    cached = { stamp, design: withPrimary(running.design, readPromotion(home, stack)) };
    return cached.design;
  };

  let last: DashboardView | null = null;
  let lastJson = '';
  let observed: StackStatus | null = null;
  let traffic: TrafficView | null = null;
  let counters: HaproxyCounters[] = [];
  let alertsSeen = -1;
  let closed = false;
  let problem: string | null = null;

  const look = () => {
    try {
      const status = stackStatus(home, stack);
      // The daemons' own reports are a second old at most; the supervisor's record is fresh.
      for (const host of status.hosts) {
        for (const daemon of host.daemons) {
          // What a daemon said of itself a second ago no longer holds once it is down.
          daemon.observed = daemon.state === 'ready' ? (observed?.hosts.find((h) => h.name === host.name)?.daemons.find((d) => d.name === daemon.name)?.observed ?? null) : null;
        }
      }
      const view = dashboardView(designOf(), status, traffic);
      const json = JSON.stringify(view);
      last = view;
      if (json !== lastJson) {
        lastJson = json;
        emit({ event: 'state', data: view });
      }
      problem = null;
    } catch (error) {
      trouble(`looking at ${stack} failed: ${(error as Error).message}`);
    }
  };
  /** Said once, not four times a second (a stack taken down under the dashboard). */
  const trouble = (message: string) => {
    if (message !== problem) say(message, true);
    problem = message;
  };

  const ask = async () => {
    const status = await withObservations(stackStatus(home, stack), home, target);
    observed = status;
    if (status.traffic) {
      traffic = fromPrometheus(status.traffic, Date.now());
    } else {
      const now = await haproxyCounters(home, stack, target);
      const design = designOf();
      traffic = fromHaproxy(counters, now, (host) => (design.hosts.find((h) => h.name === host)?.roles.includes('web') ? 'web' : 'app'));
      counters = now;
    }
    newAlerts();
  };

  const newAlerts = () => {
    const design = designOf();
    if (!design.policies.monitoring.alerting) return;
    const file = stackPaths(home, stack).alerts;
    if (!existsSync(file)) return;
    const received = parseReceived(readFileSync(file, 'utf8'));
    // The ones recorded before the dashboard started are history, shown once.
    for (const r of received.slice(alertsSeen < 0 ? Math.max(0, received.length - 10) : alertsSeen)) {
      for (const a of r.notification.alerts) {
        const subject = [a.labels.host, a.labels.job, a.labels.server, a.labels.tier].filter(Boolean).join(' ');
        emit({ event: 'alert', data: { at: Date.parse(r.receivedAt), status: a.status, name: a.labels.alertname ?? '?', summary: `${subject}: ${a.annotations.summary ?? ''}` } });
      }
    }
    alertsSeen = received.length;
  };

  const lookTimer = setInterval(look, LOOK_MS);
  // One round of asking at a time: with slow daemons a round is skipped, not queued.
  let asking: Promise<void> | null = null;
  const askTimer = setInterval(() => {
    asking ??= ask()
      .catch((error: Error) => trouble(`asking the daemons failed: ${error.message}`))
      .finally(() => (asking = null));
  }, ASK_MS);

  let load: Started | null = null;
  let proving = false;
  let report: string | null = null;
  const quiet = { home, target, say: (line: string) => say(line) };

  return {
    stack,
    view: () => last,
    recent: () => [...recent],
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    diagramSvg: async () => renderSvg(diagramModel(designOf(), { expand: true })),
    pageScript,
    chartStyle,
    async logs(host) {
      const { host: found } = runningHost(home, stack, host);
      const lines = found.daemons.flatMap((daemon) => {
        const file = daemonPaths(stackPaths(home, stack), host, daemon).log;
        return lastLines(file, 20).map((line) => `${daemon}: ${line}`);
      });
      return lines;
    },
    async fail(host, how) {
      const { fail } = await import('../lab/faults.ts');
      await fail(stack, host, how, quiet);
      look();
    },
    async heal(host) {
      const { heal } = await import('../lab/faults.ts');
      await heal(stack, host, quiet);
      look();
    },
    async partition(from, to) {
      const { partition } = await import('../lab/faults.ts');
      await partition(stack, from, to, quiet);
      look();
    },
    async deploy(tier) {
      const { deploy } = await import('../lab/deploy.ts');
      // A roll takes a while: it goes on after the answer, and says how it goes as activity.
      void deploy(stack, { tier }, { ...quiet, install: THIS_INSTALL }).catch((error: Error) => say(`deploy: ${error.message}`, true));
    },
    async prove(request) {
      if (proving) throw new DashboardRefusal('prove is running already');
      proving = true;
      const file = join(stackPaths(home, stack).run, 'dashboard-prove.html');
      emit({ event: 'prove', data: { running: true, line: `breaking ${request.only?.join(', ') ?? 'every host'} (${request.faults.join(', ')})` } });
      const { prove } = await import('../lab/prove.ts');
      void prove(stack, { faults: request.faults, holdMs: 6_000, rate: 100, ...(request.only ? { only: request.only } : {}) }, { home, target, say: (line) => emit({ event: 'prove', data: { running: true, line } }), report: file })
        .then((result) => {
          report = readFileSync(file, 'utf8');
          emit({ event: 'prove', data: { running: false, ok: result.ok, verdict: result.verdict, line: result.ok ? 'proved: every observation agrees with check, and no write was lost' : 'not proved: see the report' } });
        })
        .catch((error: Error) => emit({ event: 'prove', data: { running: false, line: `failed: ${error.message}` } }))
        .finally(() => (proving = false));
    },
    async traffic(rate) {
      if (load) {
        target.signalGroup(load.pid, 'SIGTERM');
        load = null;
        say('traffic stopped');
      }
      if (rate === 0) return;
      const state = readState(home, stack);
      const running = readRunningDesign(home, stack);
      if (!state || !running) throw new DashboardRefusal(`there is no stack named '${stack}' any more`, 404);
      const base = siteBase(running);
      const urls = [`${base}/`, `${base}/api/posts`];
      checkLoadRequest({ urls, requests: rate * TRAFFIC_MAX_S, rate, connections: 20, timeoutS: 5 }, state.networks.map((n) => n.cidr));
      const client = state.hosts.find((h) => h.name === 'client')!;
      const started = target.start(client.namespace, [...programCommand(process.execPath, REPO_ROOT, 'dashboard/traffic-main'), JSON.stringify({ urls, rate, durationS: TRAFFIC_MAX_S, timeoutS: 5 })]);
      load = started;
      if (started.output) {
        createInterface({ input: started.output }).on('line', (line) => {
          try {
            emit({ event: 'traffic', data: JSON.parse(line) as { at: number; requests: number; failed: number; p99Ms: number } });
          } catch {
            say(`traffic: ${line}`, true);
          }
        });
      }
      void started.exited.then(() => {
        if (load === started) load = null;
      });
      say(`traffic: ${rate} requests a second from the client to ${urls.join(' and ')}, for at most ${TRAFFIC_MAX_S / 60} minutes`);
    },
    proveReport: () => report,
    async trace({ path, data }) {
      const running = readRunningDesign(home, stack);
      if (!running) throw new DashboardRefusal(`there is no stack named '${stack}' any more`, 404);
      const base = siteBase(running);
      const { trace } = await import('../lab/trace.ts');
      const traced = await trace(home, stack, { url: `${base}${path}`, method: data === undefined ? 'GET' : 'POST', ...(data !== undefined ? { data } : {}) }, target);
      say(`trace of ${traced.method} ${path}: ${traced.ok ? 'answered' : `stopped at ${traced.stopped?.step ?? 'the answer'}`}${traced.requestId ? ` (request ${traced.requestId})` : ''}`, !traced.ok);
      return traced;
    },
    requestLines(id) {
      return stackLogs(home, stack).filter((line) => line.message.includes(id));
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(lookTimer);
      clearInterval(askTimer);
      if (load) target.signalGroup(load.pid, 'SIGTERM');
      await asking;
    },
  };
}

/** Every load balancer's counters, read from its stats page inside its host. */
async function haproxyCounters(home: string, stack: string, target: Target): Promise<HaproxyCounters[]> {
  const specs = readSpecs(home, stack) ?? [];
  const readings = await Promise.all(
    specs
      .filter((s) => s.daemon === 'haproxy' && s.readiness.kind === 'http')
      .map(async (s) => {
        const url = (s.readiness as { url: string }).url;
        const { exitCode, stdout } = await target.run(s.namespace, ['curl', '--silent', '--fail', '--max-time', '1', `${url};csv`], { allowFailure: true, timeoutMs: 2_000 });
        return exitCode === 0 ? parseHaproxyCounters(s.host, Date.now(), stdout) : null;
      }),
  );
  return readings.filter((r): r is HaproxyCounters => r !== null);
}
