import type { ResolvedStack } from '../design/types.ts';

// What `deploy` changes in a running stack, as data the renderers read: which release each app
// host runs, which app servers nginx has taken out of its upstream while they restart, and which
// daemons were restarted on purpose. Empty for a stack as `up` made it; kept in the stack's config
// directory, so a later `up` of a changed design keeps what was deployed. Pure: no I/O here.

/** One version of the application server, as it runs on an app host. */
export interface Release {
  /** What the app reports (X-App-Version), and `deploy` prints: '--version', or a name made up for it. */
  readonly version: string;
  /**
   * The app's code: for webstack's foobar app, a webstack tree (its dist/ or src/); for a design's
   * own app, the directory its command runs in. Null: as the design says.
   */
  readonly directory: string | null;
  /** A command instead of the design's (for the foobar app, it is given its config file). Null: as the design says. */
  readonly command: readonly string[] | null;
  /** Changes with every deploy, even of the same code: a daemon given a new one restarts. */
  readonly id: string;
  /** How long the app may take to answer its health check after a start, in milliseconds. */
  readonly readinessTimeoutMs: number | null;
}

export interface Rollout {
  /** App host → its release, once a deploy has reached it. */
  readonly releases: Readonly<Record<string, Release>>;
  /** App hosts nginx sends nothing to (marked `down` in its upstream) while they restart. */
  readonly drained: readonly string[];
  /** `host/daemon` → the id of the deploy that last restarted it (the web tier's nginx). */
  readonly restarts: Readonly<Record<string, string>>;
}

export const NO_ROLLOUT: Rollout = { releases: {}, drained: [], restarts: {} };

export const DEPLOY_TIERS = ['app', 'web'] as const;
export type DeployTier = (typeof DEPLOY_TIERS)[number];

/** Where a host is taken out of rotation before it restarts, and put back afterwards. */
export interface Drain {
  /** Load balancers whose HAProxy sends to the host (or to the web server in front of it): drained through the runtime API. */
  readonly haproxy: readonly { readonly lb: string; readonly server: string }[];
  /** Web hosts whose nginx sends to the app host among others: it is marked `down` there and nginx reloads. */
  readonly nginx: readonly string[];
}

export interface RollStep {
  readonly host: string;
  readonly daemon: 'app' | 'nginx';
  readonly drain: Drain;
}

/**
 * The hosts of a tier in the order a deploy takes them, each with where it must be drained. An app
 * server behind nginx that has other app servers to send to is drained at nginx; one that is its
 * web server's only upstream (web and app on one host) is drained by draining that web server at
 * the load balancers; one the load balancers reach straight is drained there.
 */
export function rollSteps(design: ResolvedStack, tier: DeployTier): RollStep[] {
  const flowsTo = (host: string, purpose: 'proxy' | 'app') => design.flows.filter((f) => f.to === host && f.purpose === purpose);
  const atLbs = (server: string) => [...new Set(flowsTo(server, 'proxy').map((f) => f.from))].map((lb) => ({ lb, server }));
  return design.hosts
    .filter((h) => h.roles.includes(tier))
    .map((h): RollStep => {
      if (tier === 'web') return { host: h.name, daemon: 'nginx', drain: { haproxy: atLbs(h.name), nginx: [] } };
      const proxies = [...new Set(flowsTo(h.name, 'app').map((f) => f.from))];
      const soleUpstreamOf = proxies.filter((web) => !design.flows.some((f) => f.from === web && f.purpose === 'app' && f.to !== h.name));
      return {
        host: h.name,
        daemon: 'app',
        drain: {
          // A web server on the app host itself is both: drained once.
          haproxy: [h.name, ...soleUpstreamOf.filter((web) => web !== h.name)].flatMap(atLbs),
          nginx: proxies.filter((web) => !soleUpstreamOf.includes(web)),
        },
      };
    });
}

/** Whether taking the host out leaves nothing to serve users: no other host of the tier behind the same doors. */
export function drainsNothing(step: RollStep): boolean {
  return step.drain.haproxy.length === 0 && step.drain.nginx.length === 0;
}
