import { existsSync, readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { stackPaths } from '../plan/paths.ts';
import { labError } from './errors.ts';
import { signalAll } from './faults.ts';
import { listNamespaces } from './preflight.ts';
import { listStacks, readState, type StackState } from './state.ts';
import type { Target } from './target.ts';

// `down`: remove exactly what a stack made, from its record alone: the supervisor (checked by pid
// and start time), every process inside the stack's hosts, the namespaces, every link that
// carries the stack's alias, its /etc/netns entries and its files. Data stays unless `volumes`.
// Each step tolerates things already gone, so it also finishes a crashed or half-made stack.

export interface DownOptions {
  readonly home: string;
  readonly target: Target;
  readonly say: (line: string) => void;
  readonly volumes: boolean;
}

const STOP_WAIT_MS = 20_000;

/** Throws unless there is something to take down, before anything is said or done. */
export function checkCanGoDown(home: string, stack: string, volumes: boolean): void {
  if (readState(home, stack) || (volumes && existsSync(stackPaths(home, stack).root))) return;
  const running = listStacks(home);
  throw labError('no-stack', `there is no stack named '${stack}'${running.length ? `; stacks: ${running.join(', ')}` : '; no stack is up'}.`, 'npx webstack ls');
}

export async function down(stack: string, options: DownOptions): Promise<void> {
  const { home, target, say, volumes } = options;
  checkCanGoDown(home, stack, volumes);
  const paths = stackPaths(home, stack);
  const state = readState(home, stack);
  if (!state) {
    target.remove(paths.root);
    say(`  - data: ${paths.root}`);
    return;
  }

  await stopSupervisor(state, target, say);
  const existing = new Set(await listNamespaces(target));
  for (const ns of state.namespaces.filter((n) => existing.has(n))) {
    await killHostProcesses(ns, target);
    await target.machine(['ip', 'netns', 'del', ns]);
  }
  say(`  - namespaces: ${state.namespaces.join(', ')}`);
  const links = await stackLinks(state, target);
  for (const link of links) await target.machine(['ip', 'link', 'del', link], { allowFailure: true });
  say(`  - links: ${links.length > 0 ? links.join(', ') : 'none left'}`);
  for (const dir of state.etcDirs) target.remove(dir);

  if (volumes) {
    target.remove(paths.root);
    say(`  - files and data: ${paths.root}`);
  } else {
    for (const entry of existsSync(paths.root) ? readdirSync(paths.root).sort() : []) {
      if (entry !== 'volumes') target.remove(`${paths.root}/${entry}`);
    }
    say(`  - files under ${paths.root} (data kept in ${paths.volumes}; --volumes removes it)`);
  }
}

async function stopSupervisor(state: StackState, target: Target, say: (line: string) => void): Promise<void> {
  const supervisor = state.supervisor;
  if (!supervisor || !target.supervisorAlive(supervisor)) return;
  say(`  - stopping the daemons (supervisor ${supervisor.pid})`);
  target.signalSupervisor(supervisor, 'SIGTERM');
  const deadline = Date.now() + STOP_WAIT_MS;
  while (target.supervisorAlive(supervisor) && Date.now() < deadline) await sleep(100);
  target.signalSupervisor(supervisor, 'SIGKILL');
}

/** Whatever still runs inside one of our hosts is ours (a daemon orphaned by a crash, an `exec`). */
async function killHostProcesses(host: string, target: Target): Promise<void> {
  if ((await target.pids(host)).length === 0) return;
  // A frozen process (`fail --how freeze`) acts on SIGTERM only once it runs again.
  await signalAll(host, 'SIGCONT', target, false);
  await signalAll(host, 'SIGTERM', target, false);
  const deadline = Date.now() + 3_000;
  while ((await target.pids(host)).length > 0 && Date.now() < deadline) await sleep(100);
  await signalAll(host, 'SIGKILL', target, true);
}

/** Links with the stack's alias, plus the recorded names (a link may have died before it got its alias). */
async function stackLinks(state: StackState, target: Target): Promise<string[]> {
  const { stdout } = await target.query(['ip', '-j', 'link', 'show']);
  const all = JSON.parse(stdout || '[]') as { ifname: string; ifalias?: string }[];
  return all.filter((l) => l.ifalias === state.linkAlias || state.links.includes(l.ifname)).map((l) => l.ifname);
}
