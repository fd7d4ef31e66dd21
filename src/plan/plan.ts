import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { ResolvedStack } from '../design/types.ts';
import { UsageError } from '../design/problems.ts';
import { primaryOf, promotionProblem, withPrimary } from '../design/promote.ts';
import { listenerOptions } from '../design/ports.ts';
import { allDaemons, hostListeners, runnableDaemons } from '../daemons/registry.ts';
import type { DaemonSpec, Install, RenderedFile, Secrets } from '../daemons/types.ts';
import { firewallPlan, type HostFirewall } from './firewall.ts';
import { appServesTls, endToEnd, internalCaPlan, type InternalCa } from './internal-ca.ts';
import { daemonPaths, netnsEtc, stackPaths, type StackPaths } from './paths.ts';
import { NO_ROLLOUT, type Rollout } from './rollout.ts';
import { topology, type Topology } from './topology.ts';

// Everything `up` will make, computed without touching the machine: the wiring, every daemon's
// files and command, and the commands that create the network. The runtime only carries it out.

export interface LabPlan {
  readonly stack: string;
  /** Changes whenever anything `up` would make changes: an `up` of the same plan is a no-op. */
  readonly fingerprint: string;
  readonly paths: StackPaths;
  readonly topology: Topology;
  readonly daemons: readonly DaemonSpec[];
  /** /etc/netns/<namespace>/resolv.conf for hosts that share a network with a DNS server. */
  readonly resolvConfs: readonly RenderedFile[];
  readonly network: readonly Step[];
  /** Daemons the design asks for that the lab does not run yet: `up` says so rather than pretend. */
  readonly unrun: readonly { readonly host: string; readonly daemon: string }[];
  /** The daemons in start order: each wave starts once every daemon of the earlier waves is ready. */
  readonly waves: readonly (readonly DaemonSpec[])[];
  /** The stack's own CA and its hosts' certificates, for TLS end to end; made before any daemon starts. */
  readonly internalCa: InternalCa | null;
  /** Each firewalled host's ruleset, loaded after the network and before any daemon starts. */
  readonly firewalls: readonly HostFirewall[];
  /** Other parts of the design the lab does not carry out yet, one sentence each. */
  readonly gaps: readonly string[];
  /** Ports the design has that nothing serves yet, and why: `audit` does not call them blocked. */
  readonly unserved: readonly Unserved[];
}

export interface Unserved {
  readonly host: string;
  readonly protocol: 'tcp' | 'udp';
  readonly port: number;
  readonly why: string;
}

/** One command, as an argument vector, with the progress line it belongs to. */
export interface Step {
  readonly title: string;
  readonly argv: readonly string[];
}

export interface PlanOptions {
  readonly name?: string;
  readonly home: string;
  readonly install: Install;
  readonly secrets: Secrets;
  readonly designDir?: string;
  /** What `deploy` has changed in the running stack. */
  readonly rollout?: Rollout;
  /** The replica `promote` made the primary (lab/promote.ts); absent while the design's primary is. */
  readonly promoted?: string | null;
}

export function planLab(designed: ResolvedStack, options: PlanOptions): LabPlan {
  const stack = options.name ?? designed.stack;
  const rollout = options.rollout ?? NO_ROLLOUT;
  const design = withPrimary(designed, promotedIn(designed, options.promoted ?? null));
  const paths = stackPaths(options.home, stack);
  const wiring = topology(design, stack);
  const servedBy = (name: string, port: number): string | null => {
    const host = design.hosts.find((h) => h.name === name);
    const daemon = host && hostListeners(host.roles, listenerOptions(design.policies, design.app.port, host.monitored)).find((l) => l.port === port && l.protocol === 'tcp')?.daemon;
    return daemon && runnableDaemons().some((d) => d.name === daemon) ? daemon : null;
  };
  const daemons = wiring.hosts.flatMap((host) =>
    runnableDaemons()
      .filter((d) => d.runsOn(host, design))
      .map((d) => d.render({ design, topology: wiring, host, paths: daemonPaths(paths, host.name, d.name), pathsOf: (other, daemon) => daemonPaths(paths, other, daemon), stackPaths: paths, servedBy, secrets: options.secrets, install: options.install, designDir: options.designDir ?? options.install.repoRoot, rollout }))
      .map((spec) => restartedOnPurpose(spec, rollout)),
  );
  const resolvConfs = wiring.hosts
    .filter((h) => h.resolver)
    .map((h) => ({ path: join(netnsEtc(h.namespace), 'resolv.conf'), content: `# webstack: host ${h.name} of stack ${stack}\nnameserver ${h.resolver}\n`, mode: 0o644 }));
  const network = networkSteps(wiring);
  const unrun = wiring.hosts.flatMap((host) => allDaemons().filter((d) => !d.render && d.runsOn(host, design)).map((d) => ({ host: host.name, daemon: d.name })));
  const gaps = [
    ...(design.policies.tls && !design.hosts.some((h) => h.roles.includes('lb')) ? ['TLS is not terminated yet without a load balancer: nginx serves port 80 only'] : []),
    ...(endToEnd(design) ? plainHopsLeft(design) : []),
  ];
  const firewalls = firewallPlan(design, wiring, paths);
  const internalCa = internalCaPlan(design, wiring, paths);
  const unserved = unservedPorts(design, unrun);
  const fingerprint = createHash('sha256').update(JSON.stringify({ wiring, daemons, resolvConfs, firewalls, internalCa })).digest('hex').slice(0, 16);
  return { stack, fingerprint, paths, topology: wiring, daemons, waves: startWaves(daemons), resolvConfs, network, firewalls, internalCa, unrun, gaps, unserved };
}

/** The replica `promote` made the primary, while the design still has it as a replica; refused when the design has lost it. */
function promotedIn(design: ResolvedStack, promoted: string | null): string | null {
  if (!promoted || primaryOf(design) === promoted) return null;
  const problem = promotionProblem(design, promoted);
  if (problem) {
    throw new UsageError(
      `the running stack's primary is ${promoted}, promoted by \`webstack promote\`, but in this design ${problem}. Make ${promoted} the db-primary in the design, or promote the design's primary back first.`,
    );
  }
  return promoted;
}

/** A daemon `deploy` restarted carries the deploy's id in its environment: a new id is a changed spec, so a restart. */
function restartedOnPurpose(spec: DaemonSpec, rollout: Rollout): DaemonSpec {
  const id = rollout.restarts[`${spec.host}/${spec.daemon}`];
  return id ? { ...spec, env: { ...spec.env, WEBSTACK_RELEASE: id } } : spec;
}

/** With TLS end to end, the hops the lab does not encrypt: a design's own app server speaks plain HTTP. */
function plainHopsLeft(design: ResolvedStack): string[] {
  const plain = design.flows.filter((f) => f.network !== null && f.toRole === 'app' && !appServesTls(design, f.to));
  if (plain.length === 0) return [];
  const hops = [...new Set(plain.map((f) => `${f.fromRole} → ${f.toRole}`))];
  return [`TLS end to end leaves ${hops.join(', ')} in clear (the design's own app server speaks plain HTTP)`];
}

/** The listeners of daemons the lab does not run yet. */
function unservedPorts(design: ResolvedStack, unrun: LabPlan['unrun']): Unserved[] {
  return design.hosts.flatMap((host) => {
    return hostListeners(host.roles, listenerOptions(design.policies, design.app.port, host.monitored)).flatMap((l): Unserved[] => {
      if (unrun.some((u) => u.host === host.name && u.daemon === l.daemon)) return [{ host: host.name, protocol: l.protocol, port: l.port, why: `the lab does not run ${l.daemon} yet` }];
      return [];
    });
  });
}

/**
 * The start order from each daemon's `after`: wave 0 holds the daemons that wait for nothing, wave
 * n those whose awaited daemons are all in earlier waves. A daemon named in `after` that the stack
 * does not run is not waited for. Stopping goes in the reverse order.
 */
export function startWaves(specs: readonly DaemonSpec[]): DaemonSpec[][] {
  const present = new Set(specs.map((s) => s.daemon));
  const waveOf = new Map<string, number>();
  const visiting = new Set<string>();
  const byName = new Map<string, DaemonSpec>();
  for (const s of specs) byName.set(s.daemon, { ...s, after: [...new Set([...(byName.get(s.daemon)?.after ?? []), ...s.after])] });
  const wave = (name: string, path: string[]): number => {
    const known = waveOf.get(name);
    if (known !== undefined) return known;
    if (visiting.has(name)) throw new Error(`daemons wait for each other in a circle: ${[...path, name].join(' → ')}; fix their \`after\``);
    visiting.add(name);
    const deps = byName.get(name)!.after.filter((d) => present.has(d) && d !== name);
    const n = deps.length === 0 ? 0 : 1 + Math.max(...deps.map((d) => wave(d, [...path, name])));
    visiting.delete(name);
    waveOf.set(name, n);
    return n;
  };
  const waves: DaemonSpec[][] = [];
  for (const s of specs) (waves[wave(s.daemon, [])] ??= []).push(s);
  return waves.filter(Boolean);
}

/**
 * The `ip` commands that build the lab's network, in order. No NAT, no default route, and no
 * address of this machine on any bridge: lab addresses exist only inside the lab's namespaces, so
 * a lab range can never hide a real server this machine talks to (its package registry, say).
 */
export function networkSteps(wiring: Topology): Step[] {
  const steps: Step[] = [];
  const alias = wiring.linkAlias;
  for (const b of wiring.bridges) {
    const title = `network ${b.network}: bridge ${b.name}`;
    steps.push({ title, argv: ['ip', 'link', 'add', b.name, 'type', 'bridge'] });
    steps.push({ title, argv: ['ip', 'link', 'set', b.name, 'alias', alias] });
    steps.push({ title, argv: ['ip', 'link', 'set', b.name, 'up'] });
  }
  for (const h of wiring.hosts) {
    const title = `host ${h.name}: namespace ${h.namespace}, ${h.interfaces.map((i) => `${i.address} on ${i.network}`).join(', ')}`;
    steps.push({ title, argv: ['ip', 'netns', 'add', h.namespace] });
    steps.push({ title, argv: ['ip', '-n', h.namespace, 'link', 'set', 'lo', 'up'] });
    for (const i of h.interfaces) {
      steps.push({ title, argv: ['ip', 'link', 'add', i.peer, 'type', 'veth', 'peer', 'name', i.name, 'netns', h.namespace] });
      steps.push({ title, argv: ['ip', 'link', 'set', i.peer, 'alias', alias] });
      steps.push({ title, argv: ['ip', 'link', 'set', i.peer, 'master', i.bridge] });
      steps.push({ title, argv: ['ip', 'link', 'set', i.peer, 'up'] });
      steps.push({ title, argv: ['ip', '-n', h.namespace, 'addr', 'add', `${i.address}/${i.prefix}`, 'dev', i.name] });
      steps.push({ title, argv: ['ip', '-n', h.namespace, 'link', 'set', i.name, 'up'] });
    }
  }
  return steps;
}
