import type { DaemonSpec } from '../daemons/types.ts';

// What the supervisor publishes (run/daemons.json) and reads (config/daemons.json): plain data,
// shared by the supervisor, `up`, `status` and, later, a dashboard.

/** What `up` hands the supervisor: the specs, and which design change they are. */
export interface SpecFile {
  /** Counts the designs applied to the running stack: 1 at `up`, one more for each change. */
  readonly generation: number;
  readonly specs: readonly DaemonSpec[];
}

export const DAEMON_STATES = ['waiting', 'initialising', 'starting', 'ready', 'unhealthy', 'restarting', 'faulted', 'failed', 'stopping', 'stopped'] as const;
export type DaemonState = (typeof DAEMON_STATES)[number];

export interface DaemonStatus {
  readonly host: string;
  readonly daemon: string;
  /** What the design wants of it; `state` is what is observed. */
  readonly desired: 'running';
  readonly state: DaemonState;
  /** Why it is in that state, when that is not obvious (a failing probe, a deliberate fault). */
  readonly hint: string | null;
  readonly pid: number | null;
  readonly restarts: number;
  /** Config reloads without a restart, since the stack came up. */
  readonly reloads: number;
  readonly since: string;
  readonly lastExit: string | null;
  /** The latest things that went wrong with it, oldest first, each with its time. */
  readonly errors: readonly string[];
}

export interface StartFailure {
  readonly host: string;
  readonly daemon: string;
  readonly command: string;
  readonly reason: string;
  readonly logTail: string;
}

export const SUPERVISOR_PHASES = ['starting', 'running', 'failed', 'stopping', 'stopped'] as const;

export interface SupervisorStatus {
  readonly phase: (typeof SUPERVISOR_PHASES)[number];
  readonly pid: number;
  /** The generation of the specs it runs (see SpecFile). */
  readonly generation: number;
  /** What the last design change did, daemon by daemon. */
  readonly applied: {
    readonly generation: number;
    readonly at: string;
    readonly actions: readonly { readonly host: string; readonly daemon: string; readonly action: ApplyAction }[];
    readonly failures: readonly string[];
  } | null;
  readonly failure: StartFailure | null;
  readonly daemons: readonly DaemonStatus[];
}

/** What applying a changed design did to a daemon; one on a host `fail` broke takes its change at `heal`. */
export type ApplyAction = 'reloaded' | 'restarted' | 'started' | 'stopped' | 'to reload at heal' | 'to restart at heal';

/** How a running daemon takes a new spec: not at all, a reload, or a restart. */
export function changeOf(current: DaemonSpec, next: DaemonSpec): 'none' | 'reload' | 'restart' {
  const { files: currentFiles, ...currentRest } = current;
  const { files: nextFiles, ...nextRest } = next;
  if (JSON.stringify(currentRest) !== JSON.stringify(nextRest)) return 'restart';
  if (JSON.stringify(currentFiles) === JSON.stringify(nextFiles)) return 'none';
  if (!next.reload) return 'restart';
  const reloadable = next.reload.files;
  if (!reloadable) return 'reload';
  const before = new Map(currentFiles.map((f) => [f.path, JSON.stringify(f)]));
  const changed = nextFiles.filter((f) => before.get(f.path) !== JSON.stringify(f)).map((f) => f.path);
  const gone = currentFiles.filter((f) => !nextFiles.some((n) => n.path === f.path)).map((f) => f.path);
  return [...changed, ...gone].every((path) => reloadable.includes(path)) ? 'reload' : 'restart';
}
