import { setTimeout as sleep } from 'node:timers/promises';
import type { Executor } from './executor.ts';
import { namespacePids } from './down.ts';
import { stackPaths } from './paths.ts';
import { LabError } from './preflight.ts';
import { readFaults, readStatus, writeJsonAtomic } from './state.ts';
import { runningHost } from './status.ts';

// `fail` and `heal`: break one host of a running stack the way real servers break, and mend it.
//   kill   — SIGKILL every process in the host's namespace (a crash, a power cut);
//   freeze — SIGSTOP them (a hung machine: connections open, nothing answers);
//   cut    — set the host's interfaces down (a pulled cable: peers see silence, not refusals).
// The fault is recorded in run/faults.json before it is made, so the supervisor leaves the host
// alone (no restart) until `heal`, which undoes exactly what was done and asks the supervisor
// (SIGUSR2) to start what was killed.

export const FAULT_KINDS = ['kill', 'freeze', 'cut'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface Fault {
  readonly how: FaultKind;
  readonly since: string;
  /** For `cut`: the interfaces that were up, and so are set up again by `heal`. */
  readonly links: readonly string[];
}

export type Faults = Readonly<Record<string, Fault>>;

export interface FaultOptions {
  readonly home: string;
  readonly executor: Executor;
  readonly say: (line: string) => void;
  /** How long `heal` waits for the host's daemons to be ready again. */
  readonly readyTimeoutMs?: number;
}

export async function fail(stack: string, host: string, how: FaultKind, options: FaultOptions): Promise<Fault> {
  const { home, executor, say } = options;
  const { host: found } = runningHost(home, stack, host);
  const namespace = found.namespace;
  const file = stackPaths(home, stack).faults;
  const faults = readFaults(file);
  const current = faults[host];
  if (current) throw new LabError(`host ${host} is already failed (${current.how}, since ${current.since}); mend it first with \`npx webstack heal ${host} --stack ${stack}\`.`);

  const links = how === 'cut' ? await upLinks(namespace, executor) : [];
  const fault: Fault = { how, since: new Date().toISOString(), links };
  // Recorded first: the supervisor must know the daemons' deaths are deliberate before they happen.
  writeJsonAtomic(file, { ...faults, [host]: fault });
  const daemons = found.daemons;
  if (how === 'cut') {
    for (const link of links) await executor.run(['ip', '-n', namespace, 'link', 'set', link, 'down']);
    say(`${host}: cut off (${links.join(', ') || 'no interface was up'} down); its daemons run but nothing reaches them`);
  } else {
    const signal = how === 'kill' ? 'SIGKILL' : 'SIGSTOP';
    const count = await signalAll(namespace, signal, executor, how === 'kill');
    say(`${host}: ${how === 'kill' ? 'killed' : 'froze'} ${count} process${count === 1 ? '' : 'es'}${daemons.length ? ` (${daemons.join(', ')})` : ''}`);
  }
  say(`  the supervisor leaves ${host} as it is until \`npx webstack heal ${host}\``);
  return fault;
}

export async function heal(stack: string, host: string, options: FaultOptions): Promise<void> {
  const { home, executor, say } = options;
  const { state, host: found } = runningHost(home, stack, host);
  const namespace = found.namespace;
  const paths = stackPaths(home, stack);
  const faults = readFaults(paths.faults);
  const fault = faults[host];
  if (!fault) throw new LabError(`host ${host} is not failed; \`npx webstack status --stack ${stack}\` shows what is.`);

  if (fault.how === 'freeze') await signalAll(namespace, 'SIGCONT', executor, false);
  if (fault.how === 'cut') for (const link of fault.links) await executor.run(['ip', '-n', namespace, 'link', 'set', link, 'up']);
  const rest = Object.fromEntries(Object.entries(faults).filter(([name]) => name !== host));
  writeJsonAtomic(paths.faults, rest);
  process.kill(state.supervisor!.pid, 'SIGUSR2');
  say(`${host}: ${fault.how === 'kill' ? 'starting its daemons again' : fault.how === 'freeze' ? 'running again' : 'links up again'}`);

  const deadline = Date.now() + (options.readyTimeoutMs ?? 120_000);
  for (;;) {
    const status = readStatus(paths.daemons);
    const mine = (status?.daemons ?? []).filter((d) => d.host === host);
    if (mine.every((d) => d.state === 'ready')) break;
    if (Date.now() > deadline) {
      throw new LabError(`${host} is healed, but not every daemon is ready: ${mine.map((d) => `${d.daemon} ${d.state}`).join(', ')}; see \`npx webstack logs ${host} --stack ${stack}\`.`);
    }
    await sleep(100);
  }
  say(`  ready: ${found.daemons.join(', ') || 'no daemons'}`);
}

async function upLinks(namespace: string, executor: Executor): Promise<string[]> {
  const { stdout } = await executor.run(['ip', '-n', namespace, '-j', 'link', 'show']);
  const links = JSON.parse(stdout || '[]') as { ifname: string; flags?: string[] }[];
  return links.filter((l) => l.ifname !== 'lo' && (l.flags ?? []).includes('UP')).map((l) => l.ifname);
}

/**
 * Signals every process in the namespace, twice over to catch one forked meanwhile; with `untilGone`,
 * again until none is left. Returns how many processes were signalled.
 */
async function signalAll(namespace: string, signal: NodeJS.Signals, executor: Executor, untilGone: boolean): Promise<number> {
  const seen = new Set<number>();
  const deadline = Date.now() + 5_000;
  for (let round = 0; ; round++) {
    const pids = (await namespacePids(namespace, executor)).filter((pid) => untilGone || !seen.has(pid));
    if (pids.length === 0 || Date.now() > deadline || (!untilGone && round > 1)) break;
    for (const pid of pids) {
      seen.add(pid);
      try {
        process.kill(pid, signal);
      } catch {
        // Gone already.
      }
    }
    if (untilGone) await sleep(50);
  }
  return seen.size;
}
