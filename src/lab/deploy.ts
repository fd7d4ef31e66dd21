import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { adminSocket, parseHaproxyStats } from '../daemons/haproxy.ts';
import type { Install } from '../daemons/types.ts';
import type { ResolvedStack } from '../design/types.ts';
import { programCommand } from '../entry.ts';
import { INITIAL_VERSION } from '../app/server.ts';
import { UsageError } from '../design/problems.ts';
import { daemonPaths, stackPaths } from '../plan/paths.ts';
import { drainsNothing, rollSteps, type DeployTier, type Release, type RollStep, type Rollout } from '../plan/rollout.ts';
import { LabError, labError } from './errors.ts';
import { readFaults, readRollout, readRunningDesign, readState, runningHost, writeJsonAtomic } from './state.ts';
import type { Target } from './target.ts';
import { reapply } from './up.ts';

// `deploy`: a new release of the app (or a restart of a tier) rolled over one host at a time, so
// that users never meet a server that is going away. For each host: take it out of rotation where
// traffic reaches it (HAProxy's runtime API at every load balancer, or nginx's upstream, reloaded),
// wait until the requests it was serving are done, restart it on the new release through the
// supervisor, wait until it is healthy, put it back, and only then move to the next. A host that
// does not come back healthy is rolled back to what it ran, put back, and the deploy stops there.

export interface DeployRequest {
  readonly tier: DeployTier;
  /** A directory (the app's code) or a command line; absent: the app's code as it is now. */
  readonly app?: string;
  readonly version?: string;
  /** How long a restarted host may take to pass its health check before it is rolled back. */
  readonly healthTimeoutMs?: number;
  /** How long to wait for a drained host's requests to finish before restarting it anyway. */
  readonly drainTimeoutMs?: number;
}

export interface DeployOptions {
  readonly home: string;
  readonly target: Target;
  readonly say: (line: string) => void;
  readonly install: Install;
}

export interface DeployedHost {
  readonly host: string;
  readonly from: string;
  readonly to: string;
  /** From taking it out to no request left on it. */
  readonly drainMs: number;
  /** From its restart to its return to rotation. */
  readonly restartMs: number;
}

export interface DeployReport {
  readonly tier: DeployTier;
  readonly version: string;
  readonly hosts: readonly DeployedHost[];
}

const DEFAULT_HEALTH_TIMEOUT_MS = 30_000;
const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;
/** After its restart, how long the load balancers may take to see a host healthy again (rise checks). */
const BACK_IN_ROTATION_TIMEOUT_MS = 20_000;
const POLL_MS = 100;

export async function deploy(stack: string, request: DeployRequest, options: DeployOptions): Promise<DeployReport> {
  const { home, say } = options;
  const running = readRunningDesign(home, stack);
  const state = readState(home, stack);
  if (!running || !state) throw labError('no-stack', `there is no stack named '${stack}'.`);
  const { design } = running;
  const steps = rollSteps(design, request.tier);
  if (steps.length === 0) throw labError('nothing-to-deploy', `${stack} has no host of role ${request.tier}.`);
  // Fails unless the supervisor runs.
  runningHost(home, stack, steps[0]!.host);
  const faults = readFaults(stackPaths(home, stack).faults);
  const broken = steps.flatMap((s) => [s.host, ...s.drain.nginx, ...s.drain.haproxy.map((d) => d.lb)]).filter((h) => faults[h]);
  if (broken.length > 0) {
    const first = broken[0]!;
    throw labError('host-failed', `${first} is failed on purpose (${faults[first]!.how}); a deploy would wait for it forever.`, `npx webstack heal ${first} --stack ${stack}`);
  }

  // Hosts keep their namespaces for the stack's life: looked up once, not at every poll.
  const namespaces = new Map(state.hosts.map((h) => [h.name, h.namespace]));
  const context = { stack, design, designDir: running.designDir, options, namespaces, drainTimeoutMs: request.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS };
  let rollout: Rollout = { ...readRollout(home, stack), drained: [] };
  const id = new Date().toISOString();
  const next = request.tier === 'app' ? newRelease(design, request, options.install, id) : null;
  const version = next?.(null).version ?? 'restart';
  say(`${stack}: rolling ${request.tier === 'app' ? `version ${version} of the app` : 'a restart of nginx'} over ${steps.map((s) => s.host).join(', ')}, one host at a time`);
  if (steps.some(drainsNothing)) say(`  ! nothing stands in front of ${steps.filter(drainsNothing).map((s) => s.host).join(', ')} to drain it: users see errors while it restarts`);

  const done: DeployedHost[] = [];
  for (const step of steps) {
    const previous = rollout.releases[step.host] ?? null;
    const from = request.tier === 'app' ? (previous?.version ?? INITIAL_VERSION) : 'running';
    const drainStarted = Date.now();
    rollout = await takeOut(step, rollout, context);
    const drainMs = Date.now() - drainStarted;
    const restarted = Date.now();
    const changed: Rollout = next
      ? { ...rollout, releases: { ...rollout.releases, [step.host]: next(previous) } }
      : { ...rollout, restarts: { ...rollout.restarts, [`${step.host}/${step.daemon}`]: id } };
    try {
      await apply(changed, context);
      rollout = changed;
    } catch (error) {
      if (!(error instanceof LabError) || error.code !== 'apply-failed') throw error;
      say(`  ! ${step.host} did not become healthy on version ${version}: rolling it back to version ${from}`);
      await apply(rollout, context);
      rollout = await putBack(step, rollout, context);
      record(home, stack, rollout);
      const rest = steps.slice(steps.indexOf(step) + 1).map((s) => s.host);
      throw labError(
        'deploy-failed',
        `${step.host} did not become healthy on version ${version} (${error.message.replace(/^the change was applied, but: /, '').replace(/\.$/, '')}); it was rolled back to version ${from} and serves again.${done.length ? ` Already on ${version}: ${done.map((d) => d.host).join(', ')}.` : ''}${rest.length ? ` Left on their version: ${rest.join(', ')}.` : ''}`,
        `npx webstack logs ${step.host} ${step.daemon} --stack ${stack}`,
      );
    }
    rollout = await putBack(step, rollout, context);
    record(home, stack, rollout);
    const host: DeployedHost = { host: step.host, from, to: request.tier === 'app' ? version : 'restarted', drainMs, restartMs: Date.now() - restarted };
    done.push(host);
    say(`  ✓ ${step.host}: ${request.tier === 'app' ? `version ${from} → ${version}` : 'restarted'} (drained in ${(drainMs / 1000).toFixed(1)} s, back in rotation ${(host.restartMs / 1000).toFixed(1)} s later)`);
  }
  say(`${stack}: every ${request.tier} host runs ${request.tier === 'app' ? `version ${version}` : 'again'}.`);
  return { tier: request.tier, version, hosts: done };
}

interface Context {
  readonly stack: string;
  readonly design: ResolvedStack;
  readonly designDir: string | undefined;
  readonly options: DeployOptions;
  readonly namespaces: ReadonlyMap<string, string>;
  readonly drainTimeoutMs: number;
}

/**
 * The release a host goes to, given what it runs now: the requested code, or the same code again
 * (a restart, under a new id). Throws a UsageError for an `--app` that names nothing runnable.
 */
function newRelease(design: ResolvedStack, request: DeployRequest, install: Install, id: string): (current: Release | null) => Release {
  const readinessTimeoutMs = request.healthTimeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS;
  if (request.app === undefined) {
    return (current) => ({ version: request.version ?? current?.version ?? INITIAL_VERSION, directory: current?.directory ?? null, command: current?.command ?? null, id, readinessTimeoutMs });
  }
  const code = codeOf(design, request.app, install);
  const version = request.version ?? code.version ?? `r${id.replace(/\D/g, '').slice(0, 14)}`;
  return () => ({ version, directory: code.directory, command: code.command, id, readinessTimeoutMs });
}

/** What `--app` names: a directory of code, or a command line (split at spaces). */
function codeOf(design: ResolvedStack, app: string, install: Install): { directory: string | null; command: readonly string[] | null; version: string | null } {
  const path = resolve(app);
  if (existsSync(path) && statSync(path).isDirectory()) {
    const version = packageVersion(path) ?? basename(path);
    // A design's own app: its command, run in the new directory.
    if (design.app.command) return { directory: path, command: null, version };
    // webstack's foobar app: another webstack tree, built (dist/) or not (src/, through tsx).
    const compiled = existsSync(join(path, 'dist', 'app', 'main.js'));
    if (!compiled && !existsSync(join(path, 'src', 'app', 'main.ts'))) {
      throw new UsageError(`--app ${app}: the directory holds no foobar app (dist/app/main.js or src/app/main.ts). Give a webstack tree, or a command that takes the app's config file.`);
    }
    return { directory: path, command: programCommand(install.node, path, 'app/main', compiled), version };
  }
  const command = app.trim().split(/\s+/).filter(Boolean);
  if (command.length === 0) throw new UsageError('--app is empty: give a directory or a command.');
  if (/[/.]/.test(command[0]!) && !existsSync(resolve(command[0]!)) && command.length === 1) {
    throw new UsageError(`--app ${app}: no such directory or program.`);
  }
  return { directory: null, command, version: null };
}

function packageVersion(directory: string): string | null {
  try {
    const version = (JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8')) as { version?: unknown }).version;
    return typeof version === 'string' && version ? version : null;
  } catch {
    return null;
  }
}

/** Out of rotation: drained at every load balancer and nginx that sends to it, and no request left on it. */
async function takeOut(step: RollStep, rollout: Rollout, context: Context): Promise<Rollout> {
  const { options } = context;
  for (const { lb, server } of step.drain.haproxy) await runtime(lb, `set server servers/${server} state drain`, context);
  const drained = step.drain.nginx.length > 0 ? { ...rollout, drained: [...rollout.drained, step.host] } : rollout;
  if (drained !== rollout) await apply(drained, context);
  const deadline = Date.now() + context.drainTimeoutMs;
  for (;;) {
    const left = await requestsLeft(step, context);
    if (left === 0) break;
    if (Date.now() > deadline) {
      options.say(`  ! ${step.host} still has ${left} request${left === 1 ? '' : 's'} after ${context.drainTimeoutMs / 1000} s of draining: restarting it anyway`);
      break;
    }
    await sleep(POLL_MS);
  }
  return drained;
}

/** Back in rotation, and seen healthy by every load balancer that checks it. */
async function putBack(step: RollStep, rollout: Rollout, context: Context): Promise<Rollout> {
  const back = step.drain.nginx.length > 0 ? { ...rollout, drained: rollout.drained.filter((h) => h !== step.host) } : rollout;
  if (back !== rollout) await apply(back, context);
  for (const { lb, server } of step.drain.haproxy) await runtime(lb, `set server servers/${server} state ready`, context);
  const deadline = Date.now() + BACK_IN_ROTATION_TIMEOUT_MS;
  for (const { lb, server } of step.drain.haproxy) {
    for (;;) {
      const seen = (await servers(lb, context)).find((s) => s.server === server);
      if (seen?.status === 'UP') break;
      if (Date.now() > deadline) throw labError('deploy-failed', `${server} is ready, but ${lb}'s HAProxy still sees it ${seen?.status ?? 'nowhere'} (${seen?.check ?? 'no check'}) after ${BACK_IN_ROTATION_TIMEOUT_MS / 1000} s; the deploy stops here.`, `npx webstack status --stack ${context.stack}`);
      await sleep(POLL_MS);
    }
  }
  return back;
}

/** Requests the host still serves: HAProxy's count at each load balancer, and connections from nginx. */
async function requestsLeft(step: RollStep, context: Context): Promise<number> {
  let left = 0;
  for (const { lb, server } of step.drain.haproxy) left += (await servers(lb, context)).find((s) => s.server === server)?.sessions ?? 0;
  if (step.drain.nginx.length > 0) left += await connectionsFrom(step.host, step.drain.nginx, context);
  return left;
}

/** Established connections to the app's port on `host` from the given web hosts (their nginx). */
async function connectionsFrom(host: string, webs: readonly string[], context: Context): Promise<number> {
  const { design, options } = context;
  const namespace = context.namespaces.get(host)!;
  const peers = new Set(design.hosts.filter((h) => webs.includes(h.name)).flatMap((h) => Object.values(h.addresses)));
  const { stdout } = await options.target.run(namespace, ['ss', '-Htn', 'state', 'established', `( sport = :${design.app.port} )`], { timeoutMs: 5_000 });
  // Columns: Recv-Q Send-Q Local:Port Peer:Port.
  return stdout.split('\n').filter((line) => peers.has(line.trim().split(/\s+/)[3]?.replace(/:\d+$/, '') ?? '')).length;
}

async function servers(lb: string, context: Context) {
  return parseHaproxyStats(await runtime(lb, 'show stat', context)).filter((s) => s.backend === 'servers');
}

/** One command to a load balancer's HAProxy through its admin socket; HAProxy's answer, or a lab error if it refused. */
async function runtime(lb: string, command: string, context: Context): Promise<string> {
  const { options, stack } = context;
  const namespace = context.namespaces.get(lb)!;
  const socket = adminSocket(daemonPaths(stackPaths(options.home, stack), lb, 'haproxy'));
  const { stdout } = await options.target.run(namespace, ['socat', '-t', '2', 'STDIO', `UNIX-CONNECT:${socket}`], { input: `${command}\n`, timeoutMs: 5_000 });
  // `set` commands answer nothing when they succeed.
  if (command.startsWith('set ') && stdout.trim()) throw labError('command-failed', `${lb}'s HAProxy refused \`${command}\`: ${stdout.trim()}`);
  return stdout;
}

/** Has the supervisor run the stack as `rollout` says: reloads and restarts, each awaited until ready. */
async function apply(rollout: Rollout, context: Context): Promise<void> {
  const { options, stack, design, designDir } = context;
  await reapply(stack, { design, designDir }, { rollout }, { ...options, say: () => undefined });
}

/** What later `up`s of the stack keep: the releases and restarts, never a drain (that lasts one step). */
function record(home: string, stack: string, rollout: Rollout): void {
  writeJsonAtomic(stackPaths(home, stack).rollout, { ...rollout, drained: [] } satisfies Rollout, 0o644);
}
