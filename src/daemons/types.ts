import type { ResolvedStack } from '../design/types.ts';
import type { DaemonPaths } from '../lab/paths.ts';
import type { LabHost, Topology } from '../lab/topology.ts';

// The one interface every daemon module implements: given a host of a resolved design, say
// whether the daemon runs there and render what it needs (files, command, readiness probe).
// Rendering is pure: no I/O, so every config is tested against golden files.

export type DaemonName = 'dns' | 'mariadb' | 'app' | 'nginx' | 'haproxy';

/** How the supervisor knows a daemon is ready to serve, run from inside the host's namespace. */
export type Probe =
  | { readonly kind: 'tcp'; readonly address: string; readonly port: number }
  | { readonly kind: 'http'; readonly url: string }
  | { readonly kind: 'dns'; readonly server: string; readonly name: string };

export interface RenderedFile {
  readonly path: string;
  readonly content: string;
  /** 0o600 for files that hold secrets. */
  readonly mode: number;
  /** A system user that must read it after the daemon drops root. */
  readonly owner?: string;
}

export interface DaemonSpec {
  readonly daemon: DaemonName;
  readonly host: string;
  readonly namespace: string;
  /** Start order: every daemon of a tier is ready before the next tier starts. */
  readonly tier: number;
  readonly command: readonly string[];
  readonly cwd?: string;
  /** Added to the supervisor's environment (a design's own app server gets its settings here). */
  readonly env?: Readonly<Record<string, string>>;
  readonly files: readonly RenderedFile[];
  readonly dirs: readonly { readonly path: string; readonly owner?: string }[];
  /** Directory trees copied into place before start (the site's static files). */
  readonly copies: readonly { readonly from: string; readonly to: string }[];
  /** Run once, inside the namespace, when `creates` does not exist yet (a database's first start). */
  readonly init?: { readonly command: readonly string[]; readonly creates: string };
  readonly readiness: Probe;
  readonly readinessTimeoutMs: number;
  /**
   * Run inside the namespace each time the daemon has become ready, and must exit 0 within
   * `timeoutMs` (a replica is pointed at its primary here, and replication verified). Idempotent.
   */
  readonly setup?: { readonly command: readonly string[]; readonly timeoutMs: number };
  readonly log: string;
}

/** What webstack itself provides to renderers, fixed in tests so golden files do not depend on the machine. */
export interface Install {
  readonly repoRoot: string;
  readonly node: string;
}

export interface Secrets {
  /** The app's MariaDB password. */
  readonly dbPassword: string;
  /** Signs the app's CSRF tokens; shared by every app server of the stack. */
  readonly appSecret: string;
  /** The replicas' MariaDB password on their primary. */
  readonly replicationPassword: string;
}

export interface DaemonContext {
  readonly design: ResolvedStack;
  readonly topology: Topology;
  readonly host: LabHost;
  readonly paths: DaemonPaths;
  readonly secrets: Secrets;
  readonly install: Install;
  /** The design file's directory: a design's own app command runs there. */
  readonly designDir: string;
}

export interface Daemon {
  readonly name: DaemonName;
  runsOn(host: LabHost): boolean;
  render(context: DaemonContext): DaemonSpec;
}

/** Lines every rendered config starts with, in the file's comment syntax. */
export function header(comment: string, context: DaemonContext, daemon: DaemonName): string {
  return `${comment} Rendered by webstack for ${daemon} on host ${context.host.name} of stack ${context.topology.stack}.\n${comment} Do not edit: \`webstack up\` writes it again from the design.\n`;
}
