import { join } from 'node:path';

// Every location a stack uses, computed in one place. All of it lives under <home>/<stack>/ so
// that `down` can remove exactly what the stack made: everything there but volumes/, and volumes/
// too with --volumes. Namespaces' resolv.conf files must live where `ip netns exec` looks for them.

export const DEFAULT_HOME = '/var/lib/webstack';

export function webstackHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.WEBSTACK_HOME || DEFAULT_HOME;
}

export interface StackPaths {
  readonly root: string;
  /** What was (or is about to be) created, written before anything is: `down` reads it. */
  readonly state: string;
  /** The supervisor's view of every daemon, rewritten on each change. */
  readonly daemons: string;
  /** The hosts `fail` has broken, with how, until `heal`. */
  readonly faults: string;
  readonly supervisorLog: string;
  /**
   * Every notification the lab's alert receivers got, one JSON line each: what `alerts` reads. It
   * is kept with the volumes, as Alertmanager's own record of what it sent is, so that the two agree.
   */
  readonly alerts: string;
  readonly config: string;
  /** The resolved design the stack runs, with what it does not serve yet: what `audit` holds it to. */
  readonly design: string;
  /** What `deploy` changed in the running stack (plan/rollout.ts); `up` of a changed design keeps it. */
  readonly rollout: string;
  readonly run: string;
  readonly logs: string;
  /** Kept by `down`, removed by `down --volumes`. */
  readonly volumes: string;
  /**
   * The replica `promote` made the primary: kept with the data, since the promoted server is the
   * one with the newest, so that the stack comes back `up` with the same primary.
   */
  readonly promotion: string;
  readonly secrets: string;
}

export function stackPaths(home: string, stack: string): StackPaths {
  const root = join(home, stack);
  return {
    root,
    state: join(root, 'state.json'),
    daemons: join(root, 'run', 'daemons.json'),
    faults: join(root, 'run', 'faults.json'),
    supervisorLog: join(root, 'logs', 'supervisor.log'),
    alerts: join(root, 'volumes', 'alerts.jsonl'),
    config: join(root, 'config'),
    design: join(root, 'config', 'design.json'),
    rollout: join(root, 'config', 'rollout.json'),
    run: join(root, 'run'),
    logs: join(root, 'logs'),
    volumes: join(root, 'volumes'),
    promotion: join(root, 'volumes', 'promotion.json'),
    secrets: join(root, 'volumes', 'secrets.json'),
  };
}

export interface DaemonPaths {
  readonly config: string;
  readonly run: string;
  readonly data: string;
  readonly log: string;
}

export function daemonPaths(stack: StackPaths, host: string, daemon: string): DaemonPaths {
  return {
    config: join(stack.config, host, daemon),
    run: join(stack.run, host, daemon),
    data: join(stack.volumes, host, daemon),
    log: join(stack.logs, host, `${daemon}.log`),
  };
}

/** Where `ip netns exec` finds a namespace's own /etc files (resolv.conf). */
export function netnsEtc(namespace: string): string {
  return join('/etc/netns', namespace);
}
