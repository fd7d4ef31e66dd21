import { setTimeout as sleep } from 'node:timers/promises';
import { PARTITION_REMOVE, partitionRuleset } from '../plan/firewall.ts';
import { stackPaths } from '../plan/paths.ts';
import { labError } from './errors.ts';
import { readFaults, readStatus, runningHost, writeJsonAtomic, type Fault, type FaultKind, type Partition } from './state.ts';
import type { Target } from './target.ts';

// `fail` and `heal`: break one host of a running stack the way real servers break, and mend it.
//   kill   — SIGKILL every process in the host (a crash, a power cut);
//   freeze — SIGSTOP them (a hung machine: connections open, nothing answers);
//   cut    — set the host's interfaces down (a pulled cable: peers see silence, not refusals);
//   restart — SIGTERM them, as a clean shutdown for maintenance would, and start them at `heal`;
//   partition — two groups of hosts that cannot reach each other while both keep running (nft
//     drops in every host of both sides); the supervisor goes on looking after them.
// The fault is recorded in run/faults.json before it is made, so the supervisor leaves the host
// alone (no restart) until `heal`, which undoes exactly what was done and asks the supervisor
// (SIGUSR2) to start what was killed.

/** How long a cleanly stopped daemon may take to exit before it is killed. */
const STOP_GRACE_MS = 10_000;

export interface FaultOptions {
  readonly home: string;
  readonly target: Target;
  readonly say: (line: string) => void;
  /** How long `heal` waits for the host's daemons to be ready again. */
  readonly readyTimeoutMs?: number;
}

export async function fail(stack: string, host: string, how: FaultKind, options: FaultOptions): Promise<Fault> {
  const { home, target, say } = options;
  if (how === 'partition') throw new Error('a partition has two sides: partition() makes it');
  const { host: found } = runningHost(home, stack, host);
  const id = found.namespace;
  const file = stackPaths(home, stack).faults;
  const faults = readFaults(file);
  notFailed(faults, stack, [host]);

  const links = how === 'cut' ? await upLinks(id, target) : [];
  const fault: Fault = { how, since: new Date().toISOString(), links };
  // Recorded first: the supervisor must know the daemons' deaths are deliberate before they happen.
  writeJsonAtomic(file, { ...faults, [host]: fault });
  const daemons = found.daemons;
  if (how === 'cut') {
    for (const link of links) await target.run(id, ['ip', 'link', 'set', link, 'down']);
    say(`${host}: cut off (${links.join(', ') || 'no interface was up'} down); its daemons run but nothing reaches them`);
  } else if (how === 'restart') {
    // Each daemon shuts down as it would for maintenance; one still running after the grace is killed.
    const count = await signalAll(id, 'SIGTERM', target, true, STOP_GRACE_MS);
    await signalAll(id, 'SIGKILL', target, true);
    say(`${host}: stopped ${count} process${count === 1 ? '' : 'es'} cleanly${daemons.length ? ` (${daemons.join(', ')})` : ''}; \`heal\` starts them again`);
  } else {
    const signal = how === 'kill' ? 'SIGKILL' : 'SIGSTOP';
    const count = await signalAll(id, signal, target, how === 'kill');
    say(`${host}: ${how === 'kill' ? 'killed' : 'froze'} ${count} process${count === 1 ? '' : 'es'}${daemons.length ? ` (${daemons.join(', ')})` : ''}`);
  }
  say(`  the supervisor leaves ${host} as it is until \`npx webstack heal ${host}\``);
  return fault;
}

/**
 * Two groups of hosts that cannot reach each other, while each keeps running and reaching the
 * rest: every host drops the other side's addresses as they are now (a virtual IP a host holds
 * among them; one that moves later is not followed).
 */
export async function partition(stack: string, from: readonly string[], to: readonly string[], options: FaultOptions): Promise<Fault> {
  const { home, target, say } = options;
  const hosts = [...from, ...to];
  const namespaces = new Map(hosts.map((h) => [h, runningHost(home, stack, h).host.namespace]));
  const file = stackPaths(home, stack).faults;
  const faults = readFaults(file);
  notFailed(faults, stack, hosts);
  const addresses: Record<string, string[]> = {};
  for (const host of hosts) addresses[host] = await hostAddresses(namespaces.get(host)!, target);
  const fault: Fault = { how: 'partition', since: new Date().toISOString(), links: [], partition: { from, to, addresses } };
  writeJsonAtomic(file, { ...faults, ...Object.fromEntries(hosts.map((h) => [h, fault])) });
  for (const [side, other] of [[from, to], [to, from]] as const) {
    for (const host of side) {
      const result = await target.run(namespaces.get(host)!, ['nft', '-f', '-'], { input: partitionRuleset(host, other, other.flatMap((h) => addresses[h]!)), allowFailure: true, timeoutMs: 10_000 });
      if (result.exitCode !== 0) {
        await mend(fault.partition!, namespaces, target);
        writeJsonAtomic(file, faults);
        throw labError('command-failed', `nft refused the partition in ${host}: ${result.stderr.trim()}`);
      }
    }
  }
  say(`${from.join(', ')} cut off from ${to.join(', ')}: both sides keep running, and reach every other host`);
  say(`  \`npx webstack heal ${from[0]}\` mends the partition`);
  return fault;
}

export async function heal(stack: string, host: string, options: FaultOptions): Promise<void> {
  const { home, target, say } = options;
  const { state, host: found } = runningHost(home, stack, host);
  const id = found.namespace;
  const paths = stackPaths(home, stack);
  const faults = readFaults(paths.faults);
  const fault = faults[host];
  if (!fault) throw labError('no-fault', `host ${host} is not failed.`, `npx webstack status --stack ${stack}`);
  if (fault.partition) {
    const { from, to } = fault.partition;
    const sides = [...from, ...to];
    await mend(fault.partition, new Map(sides.map((h) => [h, runningHost(home, stack, h).host.namespace])), target);
    writeJsonAtomic(paths.faults, Object.fromEntries(Object.entries(faults).filter(([name]) => !sides.includes(name))));
    say(`${from.join(', ')} and ${to.join(', ')} reach each other again`);
    return;
  }

  if (fault.how === 'freeze') await signalAll(id, 'SIGCONT', target, false);
  if (fault.how === 'cut') for (const link of fault.links) await target.run(id, ['ip', 'link', 'set', link, 'up']);
  const rest = Object.fromEntries(Object.entries(faults).filter(([name]) => name !== host));
  writeJsonAtomic(paths.faults, rest);
  target.signalSupervisor(state.supervisor!, 'SIGUSR2');
  say(`${host}: ${fault.how === 'kill' || fault.how === 'restart' ? 'starting its daemons again' : fault.how === 'freeze' ? 'running again' : 'links up again'}`);

  const deadline = Date.now() + (options.readyTimeoutMs ?? 120_000);
  for (;;) {
    const status = readStatus(paths.daemons);
    const mine = (status?.daemons ?? []).filter((d) => d.host === host);
    if (mine.every((d) => d.state === 'ready')) break;
    if (Date.now() > deadline) {
      throw labError('heal-incomplete', `${host} is healed, but not every daemon is ready: ${mine.map((d) => `${d.daemon} ${d.state}`).join(', ')}.`, `npx webstack logs ${host} --stack ${stack}`);
    }
    await sleep(100);
  }
  say(`  ready: ${found.daemons.join(', ') || 'no daemons'}`);
}

function notFailed(faults: Readonly<Record<string, Fault>>, stack: string, hosts: readonly string[]): void {
  for (const host of hosts) {
    const current = faults[host];
    if (current) throw labError('fault-exists', `host ${host} is already failed (${current.how}, since ${current.since}).`, `npx webstack heal ${host} --stack ${stack}`);
  }
}

/** Takes a partition's rules out of every host of it; a host without them (never made, or mended already) is fine. */
async function mend(partition: Partition, namespaces: ReadonlyMap<string, string>, target: Target): Promise<void> {
  for (const host of [...partition.from, ...partition.to]) await target.run(namespaces.get(host)!, [...PARTITION_REMOVE], { allowFailure: true, timeoutMs: 10_000 });
}

/** The host's IPv4 addresses on its links (with any virtual IP it holds now). */
async function hostAddresses(host: string, target: Target): Promise<string[]> {
  const { stdout } = await target.run(host, ['ip', '-j', '-4', 'addr', 'show']);
  const links = JSON.parse(stdout || '[]') as { ifname: string; addr_info?: { local: string }[] }[];
  return links.filter((l) => l.ifname !== 'lo').flatMap((l) => (l.addr_info ?? []).map((a) => a.local));
}

async function upLinks(host: string, target: Target): Promise<string[]> {
  const { stdout } = await target.run(host, ['ip', '-j', 'link', 'show']);
  const links = JSON.parse(stdout || '[]') as { ifname: string; flags?: string[] }[];
  return links.filter((l) => l.ifname !== 'lo' && (l.flags ?? []).includes('UP')).map((l) => l.ifname);
}

/**
 * Signals every process in the host, twice over to catch one forked meanwhile; with `untilGone`,
 * again until none is left. Returns how many processes were signalled.
 */
export async function signalAll(host: string, signal: NodeJS.Signals, target: Target, untilGone: boolean, withinMs = 5_000): Promise<number> {
  const seen = new Set<number>();
  const deadline = Date.now() + withinMs;
  for (let round = 0; ; round++) {
    const pids = (await target.pids(host)).filter((pid) => untilGone || !seen.has(pid));
    if (pids.length === 0 || Date.now() > deadline || (!untilGone && round > 1)) break;
    for (const pid of pids) {
      seen.add(pid);
      target.signal(pid, signal);
    }
    if (untilGone) await sleep(50);
  }
  return seen.size;
}
