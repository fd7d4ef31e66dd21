import type { ResolvedStack } from '../design/types.ts';
import type { Listener, ListenerOptions } from '../design/ports.ts';
import type { Role } from '../design/vocabulary.ts';
import type { DaemonPaths, StackPaths } from '../plan/paths.ts';
import type { Rollout } from '../plan/rollout.ts';
import type { LabHost, Topology } from '../plan/topology.ts';

// The one interface every daemon module implements. A module declares everything about its
// daemon: the Debian packages it needs, what it listens on (the table `check` reads), where it
// runs, what it starts after, and how to render, validate, reload, probe and observe it. The lab,
// preflight, the install script, the plan, `--dry-run` and `status` all read these facts from the
// registry, so adding a daemon is one module and one registry line.
// Rendering is pure: no I/O, so every config is tested against golden files.

/** How the supervisor knows a daemon is ready to serve, run from inside the daemon's host. */
export type Probe =
  | { readonly kind: 'tcp'; readonly address: string; readonly port: number }
  | { readonly kind: 'http'; readonly url: string; /** For https: the CA to verify the server against. */ readonly ca?: string }
  | { readonly kind: 'dns'; readonly server: string; readonly name: string }
  /** A command that exits 0 once the daemon is ready, for a daemon with no port (keepalived). */
  | { readonly kind: 'exec'; readonly argv: readonly string[]; readonly what: string };

export interface RenderedFile {
  readonly path: string;
  readonly content: string;
  /** 0o600 for files that hold secrets. */
  readonly mode: number;
  /** A system user that must read it after the daemon drops root. */
  readonly owner?: string;
}

/**
 * How a running daemon takes a changed config. With `files`, a reload takes changes to those files
 * only; a change to any other of its files still means a restart.
 */
export type Reload = (
  | { readonly signal: 'SIGHUP' | 'SIGUSR2' }
  | { readonly command: readonly string[] }
  /** Its setup step again, which takes a changed config without a restart (a database server's role). */
  | { readonly setup: true }
) & { readonly files?: readonly string[] };

/** A reload in a few words, for logs and summaries. */
export function describeReload(reload: Reload): string {
  return 'signal' in reload ? reload.signal : 'setup' in reload ? 'its setup step again' : reload.command.join(' ');
}

/** One daemon on one host, as rendered from the design: everything the supervisor needs, as data. */
export interface DaemonSpec {
  readonly daemon: string;
  readonly host: string;
  readonly namespace: string;
  /** Daemons (by name) every instance of which, in the whole stack, is ready before this one starts. */
  readonly after: readonly string[];
  readonly command: readonly string[];
  readonly cwd?: string;
  /** Added to the supervisor's environment (a design's own app server gets its settings here). */
  readonly env?: Readonly<Record<string, string>>;
  readonly files: readonly RenderedFile[];
  readonly dirs: readonly { readonly path: string; readonly owner?: string }[];
  /** Directory trees copied into place before start (the site's static files). */
  readonly copies: readonly { readonly from: string; readonly to: string }[];
  /** Run once, inside the host, when `creates` does not exist yet (a database's first start). */
  readonly init?: { readonly command: readonly string[]; readonly creates: string };
  /** Commands that check the config before it is used, run with the files at `<path>.next`; exit 0 = valid. */
  readonly validate?: readonly (readonly string[])[];
  /** Without it, a changed config means a restart. */
  readonly reload?: Reload;
  readonly readiness: Probe;
  readonly readinessTimeoutMs: number;
  /**
   * Run inside the host each time the daemon has become ready, and must exit 0 within
   * `timeoutMs` (a replica is pointed at its primary here, and replication verified). Idempotent.
   */
  readonly setup?: { readonly command: readonly string[]; readonly timeoutMs: number };
  readonly log: string;
}

/** What webstack itself provides to renderers, fixed in tests so golden files do not depend on the machine. */
export interface Install {
  readonly repoRoot: string;
  readonly node: string;
  /** Run webstack's own programs (the app) from dist/, compiled, rather than through tsx. */
  readonly compiled: boolean;
}

export interface Secrets {
  /** The app's MariaDB password. */
  readonly dbPassword: string;
  /** Signs the app's CSRF tokens; shared by every app server of the stack. */
  readonly appSecret: string;
  /** The replicas' MariaDB password on their primary. */
  readonly replicationPassword: string;
  /** Redis's password (requirepass): the app servers and the Redis exporter use it. */
  readonly cachePassword: string;
  /** The mysqld exporter's MariaDB password (a user that may only read status). */
  readonly exporterPassword: string;
  /** The TSIG secret (base64) with which the load balancers' ACME client updates the zone (DNS-01). */
  readonly dnsUpdateKey: string;
}

export interface DaemonContext {
  readonly design: ResolvedStack;
  readonly topology: Topology;
  readonly host: LabHost;
  readonly paths: DaemonPaths;
  /** Another daemon's paths: a load balancer's ACME client trusts the lab CA's certificate. */
  readonly pathsOf: (host: string, daemon: string) => DaemonPaths;
  /** The stack's own locations: its internal CA and its hosts' certificates live in its volumes. */
  readonly stackPaths: StackPaths;
  /** The daemon the lab runs behind a TCP port of a host, if any: what monitoring can scrape there. */
  readonly servedBy: (host: string, port: number) => string | null;
  readonly secrets: Secrets;
  readonly install: Install;
  /** The design file's directory: a design's own app command runs there. */
  readonly designDir: string;
  /** What `deploy` has changed: each app host's release, the app servers nginx leaves out. */
  readonly rollout: Rollout;
}

/** Runs a command inside the daemon's host and answers; how is the runtime's business. */
export type RunInHost = (argv: readonly string[], timeoutMs: number) => Promise<{ readonly exitCode: number; readonly stdout: string }>;

/** What a running daemon reports of itself to `status`: data for `--json`, and one line for people. */
export interface Observation {
  readonly details: Readonly<Record<string, unknown>>;
  readonly summary: string;
}

export interface Daemon {
  readonly name: string;
  /** What it is, in a few words, for `status`, `up --dry-run` and the docs. */
  readonly title: string;
  /** Program → Debian package: preflight checks the programs, the install script installs the packages. */
  readonly programs: Readonly<Record<string, string>>;
  /**
   * What it listens on for `role`, on a host with `roles`: the port table that `check`, the flows
   * and the configs all read, so the analysis and the running stack cannot disagree.
   */
  listens(role: Role, roles: readonly Role[], options: ListenerOptions): Listener[];
  /** Whether it runs on this host of this stack. */
  runsOn(host: LabHost, design: ResolvedStack): boolean;
  /** Daemons that must be ready, on every host, before this one starts. */
  readonly after: readonly string[];
  /** Absent while the lab does not run it yet: `up` says so, and its listeners still count for `check`. */
  render?(context: DaemonContext): DaemonSpec;
  /** Asked by `status` while the daemon runs; `run` executes inside its host. */
  observe?(spec: DaemonSpec, run: RunInHost): Promise<Observation | null>;
}

/** A daemon the lab runs. */
export type RunnableDaemon = Daemon & Required<Pick<Daemon, 'render'>>;

/** Lines every rendered config starts with, in the file's comment syntax. */
export function header(comment: string, context: DaemonContext, daemon: string): string {
  return `${comment} Rendered by webstack for ${daemon} on host ${context.host.name} of stack ${context.topology.stack}.\n${comment} Do not edit: \`webstack up\` writes it again from the design.\n`;
}

/** The listener record a daemon declares: scraped when monitoring collects metrics from it. */
export function listener(daemon: string, role: Role, port: number, kind: Listener['kind'], protocol: 'tcp' | 'udp' = 'tcp'): Listener {
  return { port, protocol, daemon, kind, role, scraped: kind === 'monitoring' || kind === 'admin' || daemon === 'app' };
}

/** The path a file is staged at while its config is validated. */
export function staged(path: string): string {
  return `${path}.next`;
}
