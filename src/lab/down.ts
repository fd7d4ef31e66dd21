import { existsSync, readdirSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { stackPaths } from './paths.ts';
import type { Executor } from './executor.ts';
import { LabError, listNamespaces } from './preflight.ts';
import { listStacks, processStartTime, readState, supervisorAlive, type StackState } from './state.ts';

// `down`: remove exactly what a stack made, from its record alone: the supervisor (checked by pid
// and start time), every process inside the stack's namespaces, the namespaces, every link that
// carries the stack's alias, its /etc/netns entries and its files. Data stays unless `volumes`.
// Each step tolerates things already gone, so it also finishes a crashed or half-made stack.

export interface DownOptions {
  readonly home: string;
  readonly executor: Executor;
  readonly say: (line: string) => void;
  readonly volumes: boolean;
}

const STOP_WAIT_MS = 20_000;

export async function down(stack: string, options: DownOptions): Promise<void> {
  const { home, executor, say, volumes } = options;
  const paths = stackPaths(home, stack);
  const state = readState(home, stack);
  if (!state) {
    if (volumes && existsSync(paths.root)) {
      rmSync(paths.root, { recursive: true, force: true });
      say(`removed the data of ${stack}`);
      return;
    }
    const running = listStacks(home);
    throw new LabError(`there is no stack named '${stack}'${running.length ? `; stacks: ${running.join(', ')}` : '; no stack is up'}.`);
  }

  await stopSupervisor(state, say);
  const existing = new Set(await listNamespaces(executor));
  for (const ns of state.namespaces.filter((n) => existing.has(n))) {
    await killNamespaceProcesses(ns, executor);
    await executor.run(['ip', 'netns', 'del', ns]);
  }
  say(`  - namespaces: ${state.namespaces.join(', ')}`);
  const links = await stackLinks(state, executor);
  for (const link of links) await executor.run(['ip', 'link', 'del', link], { allowFailure: true });
  say(`  - links: ${links.length > 0 ? links.join(', ') : 'none left'}`);
  for (const dir of state.etcDirs) rmSync(dir, { recursive: true, force: true });

  if (volumes) {
    rmSync(paths.root, { recursive: true, force: true });
    say(`  - files and data: ${paths.root}`);
  } else {
    for (const entry of existsSync(paths.root) ? readdirSync(paths.root) : []) {
      if (entry !== 'volumes') rmSync(`${paths.root}/${entry}`, { recursive: true, force: true });
    }
    say(`  - files under ${paths.root} (data kept in ${paths.volumes}; --volumes removes it)`);
  }
}

async function stopSupervisor(state: StackState, say: (line: string) => void): Promise<void> {
  if (!state.supervisor || !supervisorAlive(state)) return;
  const { pid, startTime } = state.supervisor;
  say(`  - stopping the daemons (supervisor ${pid})`);
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + STOP_WAIT_MS;
  while (processStartTime(pid) === startTime && Date.now() < deadline) await sleep(100);
  if (processStartTime(pid) === startTime) process.kill(pid, 'SIGKILL');
}

/** Whatever still runs inside one of our namespaces is ours (a daemon orphaned by a crash, an `exec`). */
async function killNamespaceProcesses(ns: string, executor: Executor): Promise<void> {
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    const pids = await namespacePids(ns, executor);
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, signal);
        // A frozen process (`fail --how freeze`) acts on SIGTERM only once it runs again.
        if (signal === 'SIGTERM') process.kill(pid, 'SIGCONT');
      } catch {
        // gone
      }
    }
    const deadline = Date.now() + 3_000;
    while ((await namespacePids(ns, executor)).length > 0 && Date.now() < deadline) await sleep(100);
  }
}

export async function namespacePids(ns: string, executor: Executor): Promise<number[]> {
  const { stdout } = await executor.run(['ip', 'netns', 'pids', ns], { allowFailure: true });
  return stdout.split(/\s+/).filter(Boolean).map(Number);
}

/** Links with the stack's alias, plus the recorded names (a link may have died before it got its alias). */
async function stackLinks(state: StackState, executor: Executor): Promise<string[]> {
  const { stdout } = await executor.run(['ip', '-j', 'link', 'show']);
  const all = JSON.parse(stdout || '[]') as { ifname: string; ifalias?: string }[];
  return all.filter((l) => l.ifalias === state.linkAlias || state.links.includes(l.ifname)).map((l) => l.ifname);
}
