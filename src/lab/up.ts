import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { staged, type DaemonSpec, type Install, type Secrets } from '../daemons/types.ts';
import type { ResolvedStack } from '../design/types.ts';
import { programCommand, REPO_ROOT } from '../entry.ts';
import { labRootsFile } from '../daemons/pebble.ts';
import { daemonPaths, stackPaths } from '../plan/paths.ts';
import { planLab, type LabPlan } from '../plan/plan.ts';
import type { Rollout } from '../plan/rollout.ts';
import { acmeHost } from '../plan/topology.ts';
import { describeProbe } from '../plan/probe.ts';
import { down } from './down.ts';
import { labError } from './errors.ts';
import { materialise, readOrCreateSecrets } from './files.ts';
import { checkFirewalls, loadFirewalls } from './firewall.ts';
import { prepareGalera } from './galera.ts';
import { checkAddressSpace, checkNamespacesFree, MACHINE_LOCK, withMachineLock } from './preflight.ts';
import { processStartTime } from './process.ts';
import { readPromotion, readRollout, readState, readStatus, stateFromPlan, writeJsonAtomic, writeState, type RunningDesign, type StackState } from './state.ts';
import { changeOf, type SpecFile, type SupervisorStatus } from './supervisor-types.ts';
import { tail } from './supervisor.ts';
import type { Target } from './target.ts';

// `up`: for a new stack, check, record, create the network, write and validate the files, start
// the supervisor, wait until every daemon is ready, then prove the entry answers from the client.
// Anything that fails after the record is written is undone with `down`.
// For a running stack, apply the changed design: validate every changed config first (nothing is
// touched if one is refused), then write the files and have the supervisor reload or restart only
// the daemons whose spec changed.

export interface LabOptions {
  readonly home: string;
  readonly target: Target;
  readonly say: (line: string) => void;
}

export interface UpOptions extends LabOptions {
  readonly name?: string;
  readonly install: Install;
  /** How the user named the design, for `status` and messages. */
  readonly designRef: string;
  /** Where a design's own app command runs: the design file's directory. */
  readonly designDir?: string;
  /** The machine-wide lock (tests give each home its own). */
  readonly lock?: string;
  /** The supervisor's command, before its arguments. */
  readonly supervisorCommand?: readonly string[];
  /** Secrets are read but never written (`--dry-run`). */
  readonly readOnlySecrets?: boolean;
}

export type UpOutcome = 'created' | 'unchanged' | 'changed';

export interface UpResult {
  readonly plan: LabPlan;
  readonly outcome: UpOutcome;
  /** What a change did, daemon by daemon ('lb-01/haproxy reloaded'). */
  readonly changes: readonly string[];
}


export async function up(design: ResolvedStack, options: UpOptions): Promise<UpResult> {
  const { home, target, say } = options;
  const stack = options.name ?? design.stack;
  // A running stack keeps what `deploy` rolled onto it; a new one starts as the design says.
  // A promoted replica stays the primary, also across `down` and `up`: it has the newest data.
  const promoted = readPromotion(home, stack);
  const planWith = (secrets: Secrets, rollout?: Rollout) => planLab(design, { name: stack, home, install: options.install, designDir: options.designDir, secrets, rollout, promoted });
  const paths = stackPaths(home, stack);
  const secretsFile = paths.secrets;

  const existing = readState(home, stack);
  if (existing) {
    const status = readStatus(paths.daemons);
    if (existing.supervisor !== null && target.supervisorAlive(existing.supervisor) && status?.phase === 'running') {
      const plan = planWith(readOrCreateSecrets(secretsFile, { write: false }), readRollout(home, stack));
      if (existing.fingerprint === plan.fingerprint) {
        say(`${stack} is already up, as designed; nothing to do.`);
        return { plan, outcome: 'unchanged', changes: [] };
      }
      return { plan, outcome: 'changed', changes: await applyChange(design, plan, existing, status, options) };
    }
    say(`${stack} exists but is not running: replacing it (data is kept).`);
    await down(stack, { home, target, say: () => undefined, volumes: false });
  }

  let state: StackState | null = null;
  let plan: LabPlan | null = null;
  let interrupted: Promise<never> | null = null;
  const abandon = () => {
    // Ctrl-C: undo what was made. Were this process killed outright, the supervisor gives up the
    // start by itself (it watches this process), and the record lets `down` finish the job.
    say(`  ! interrupted: removing what ${stack} made so far`);
    interrupted = down(stack, { home, target, say: () => undefined, volumes: false })
      .catch(() => say(`  ! could not remove everything; run \`npx webstack down ${stack}\``))
      .then(() => process.exit(130));
  };
  process.once('SIGINT', abandon);
  try {
    await withMachineLock(options.lock ?? MACHINE_LOCK, async () => {
      await checkAddressSpace(design, stack, home, target);
      plan = planWith(readOrCreateSecrets(secretsFile, { write: !options.readOnlySecrets }));
      await checkNamespacesFree(plan.topology.hosts.map((h) => h.namespace), target);
      for (const { host, daemon } of plan.unrun) say(`  ! ${host}: the lab does not run ${daemon} yet; the host is created without it`);
      for (const gap of plan.gaps) say(`  ! ${gap}`);
      state = stateFromPlan(plan, options.designRef, design.networks);
      writeState(home, state);
      let last = '';
      for (const step of plan.network) {
        if (step.title !== last) say(`  + ${step.title}`);
        last = step.title;
        await target.machine(step.argv);
      }
    });
    const made = plan! as LabPlan;
    if (made.internalCa) {
      target.writeFile(made.internalCa.script);
      await target.machine(made.internalCa.run);
      say(`  + the stack's internal CA and its hosts' certificates, for TLS behind the load balancers (kept in ${made.paths.volumes})`);
    }
    // Before any daemon starts, so that no port is ever open that the design does not have.
    await loadFirewalls(target, made.firewalls);
    if (made.firewalls.length > 0) say(`  + firewalls from the flows on ${made.firewalls.map((f) => f.host).join(', ')}: input and output dropped but for the design's flows`);
    materialise(target, made.daemons, made.resolvConfs);
    await validateConfigs(target, made.daemons);
    await prepareGalera(made, target, say);
    const specFile = join(made.paths.config, 'daemons.json');
    writeJsonAtomic(specFile, { generation: 1, specs: made.daemons } satisfies SpecFile, 0o600);
    writeJsonAtomic(made.paths.design, runningDesign(design, made, options.designDir), 0o644);
    const owner = `${process.pid}:${processStartTime(process.pid)}`;
    const command = options.supervisorCommand ?? programCommand(process.execPath, REPO_ROOT, 'lab/supervisor-main');
    state = { ...state!, supervisor: target.startSupervisor([...command, specFile, made.paths.daemons, made.paths.faults, owner], made.paths.supervisorLog, options.install.repoRoot) };
    writeState(home, state);
    say(`  + the supervisor starts the daemons, in order: ${made.waves.map((w) => [...new Set(w.map((d) => d.daemon))].join(' + ')).join(' → ')}`);
    await waitUntilReady(made, state, target, say);
  } catch (error) {
    if (interrupted) await interrupted;
    if (state) {
      say(`  ! undoing: removing what ${stack} made so far`);
      await down(stack, { home, target, say: () => undefined, volumes: false }).catch(() => undefined);
    }
    throw error;
  } finally {
    process.removeListener('SIGINT', abandon);
  }
  const made = plan! as LabPlan;
  await checkEntry(design, made, target, say);
  return { plan: made, outcome: 'created', changes: [] };
}

/**
 * Runs each daemon's own config check on its files, staged beside the real ones at `<path>.next`.
 * Throws a config-invalid error with every refusal, in the daemons' own words.
 */
async function validateConfigs(target: Target, specs: readonly DaemonSpec[]): Promise<void> {
  // Each daemon's check reads only its own staged files: they run side by side (ha has 40 of them).
  const refusals = await Promise.all(
    specs
      .filter((s) => s.validate)
      .map(async (spec): Promise<string | null> => {
        for (const file of spec.files) target.writeFile({ ...file, path: staged(file.path) });
        try {
          for (const argv of spec.validate!) {
            const result = await target.run(spec.namespace, argv, { allowFailure: true, timeoutMs: 15_000 });
            if (result.exitCode !== 0) {
              // The daemon's own words, without the banner lines (HAProxy's NOTICEs) around them.
              const said = `${result.stderr}\n${result.stdout}`.trim().split('\n').filter((l) => l.trim() && !/\[NOTICE\]/.test(l)).slice(0, 6).join('\n    ');
              return `${spec.daemon} on ${spec.host} refused its new config (\`${argv.join(' ')}\`, status ${result.exitCode}):\n    ${said}`;
            }
          }
          return null;
        } finally {
          for (const file of spec.files) target.remove(staged(file.path));
        }
      }),
  ).then((all) => all.filter((r): r is string => r !== null));
  if (refusals.length > 0) throw labError('config-invalid', `${refusals.join('\n')}\nNothing was changed.`);
}

/** What the running stack must do for each daemon whose spec differs. */
function changesBetween(current: readonly DaemonSpec[], next: readonly DaemonSpec[]): { spec: DaemonSpec; change: 'reload' | 'restart' | 'new' }[] {
  const key = (s: DaemonSpec) => `${s.host}/${s.daemon}`;
  const before = new Map(current.map((s) => [key(s), s]));
  return next.flatMap((spec) => {
    const old = before.get(key(spec));
    const change = old ? changeOf(old, spec) : 'new';
    return change === 'none' ? [] : [{ spec, change }];
  });
}

export async function applyChange(design: ResolvedStack, plan: LabPlan, state: StackState, status: SupervisorStatus, options: UpOptions): Promise<string[]> {
  const { home, target, say } = options;
  const fresh = stateFromPlan(plan, options.designRef, state.networks);
  const shape = (s: StackState) => JSON.stringify({ n: s.networks, ns: s.namespaces, l: s.links, h: s.hosts.map((h) => [h.name, h.addresses]) });
  if (shape(fresh) !== shape(state)) {
    throw labError('needs-recreate', `the changed design adds, removes or readdresses hosts or networks of ${plan.stack}, which a running stack cannot take; nothing was changed.`, `npx webstack down ${plan.stack}, then up again (the data is kept)`);
  }
  const specFile = join(plan.paths.config, 'daemons.json');
  const current = JSON.parse(readFileSync(specFile, 'utf8')) as SpecFile;
  const changes = changesBetween(current.specs, plan.daemons);
  const removed = current.specs.filter((s) => !plan.daemons.some((d) => d.host === s.host && d.daemon === s.daemon));
  // Certificates a changed design needs (TLS end to end turned on) are made first; what exists is kept.
  if (plan.internalCa) {
    target.writeFile(plan.internalCa.script);
    await target.machine(plan.internalCa.run);
  }
  const firewalls = plan.firewalls.filter((f) => !existsSync(f.file.path) || readFileSync(f.file.path, 'utf8') !== f.file.content);
  await checkFirewalls(target, firewalls);
  await validateConfigs(target, changes.map((c) => c.spec));

  // Every ruleset and config was accepted. The rulesets first, each swapped in one transaction,
  // so that a daemon that starts with the change finds its flows open.
  await loadFirewalls(target, firewalls);
  for (const fw of firewalls) say(`  ~ ${fw.host}/firewall replaced`);

  materialise(target, changes.map((c) => c.spec), plan.resolvConfs);
  const generation = current.generation + 1;
  writeJsonAtomic(specFile, { generation, specs: plan.daemons } satisfies SpecFile, 0o600);
  writeJsonAtomic(plan.paths.design, runningDesign(design, plan, options.designDir), 0o644);
  writeState(home, { ...fresh, createdAt: state.createdAt, supervisor: state.supervisor });
  if (changes.length === 0 && removed.length === 0) {
    say(`${plan.stack}: no daemon's config changed; recorded the new design.`);
    return firewalls.map((fw) => `${fw.host}/firewall replaced`);
  }
  target.signalSupervisor(state.supervisor!, 'SIGHUP');
  const deadline = Date.now() + changes.reduce((sum, c) => sum + c.spec.readinessTimeoutMs, 30_000);
  for (;;) {
    const now = readStatus(plan.paths.daemons);
    if (now?.applied?.generation === generation) {
      const lines = now.applied.actions.map((a) => `${a.host}/${a.daemon} ${a.action}`);
      for (const line of lines) say(`  ~ ${line}`);
      if (now.applied.failures.length > 0) throw labError('apply-failed', `the change was applied, but: ${now.applied.failures.join('; ')}.`);
      const untouched = status.daemons.length - changes.filter((c) => c.change !== 'new').length - removed.length;
      say(`${plan.stack}: changed ${lines.length} daemon${lines.length === 1 ? '' : 's'}; ${untouched} left untouched.`);
      return [...firewalls.map((fw) => `${fw.host}/firewall replaced`), ...lines];
    }
    if (!target.supervisorAlive(state.supervisor!)) throw labError('supervisor-gone', `the supervisor of ${plan.stack} stopped while applying the change; see ${plan.paths.supervisorLog}.`);
    if (Date.now() > deadline) throw labError('apply-failed', `the supervisor did not finish applying the change within ${Math.round((deadline - Date.now()) / 1000)} s.`, `npx webstack status --stack ${plan.stack}`);
    await sleep(100);
  }
}

/**
 * A running stack's design applied again, with what `deploy` rolled onto it and which replica
 * `promote` made the primary: each as given, or as the stack records it.
 */
export async function reapply(
  stack: string,
  running: Pick<RunningDesign, 'design' | 'designDir'>,
  change: { readonly rollout?: Rollout; readonly promoted?: string | null },
  options: LabOptions & { readonly install: Install },
): Promise<string[]> {
  const { home, install } = options;
  const secrets = readOrCreateSecrets(stackPaths(home, stack).secrets, { write: false });
  const rollout = change.rollout ?? readRollout(home, stack);
  const promoted = change.promoted === undefined ? readPromotion(home, stack) : change.promoted;
  const plan = planLab(running.design, { name: stack, home, install, designDir: running.designDir, secrets, rollout, promoted });
  const state = readState(home, stack);
  const status = readStatus(plan.paths.daemons);
  if (!state || !status) throw labError('not-running', `stack '${stack}' is not running.`);
  return applyChange(running.design, plan, state, status, { ...options, designRef: state.design, ...(running.designDir ? { designDir: running.designDir } : {}) });
}

async function waitUntilReady(plan: LabPlan, state: StackState, target: Target, say: (line: string) => void): Promise<void> {
  const reported = new Set<string>();
  const budget = plan.daemons.reduce((sum, d) => sum + d.readinessTimeoutMs, 30_000);
  const deadline = Date.now() + budget;
  for (;;) {
    const status = readStatus(plan.paths.daemons);
    for (const d of status?.daemons ?? []) {
      const key = `${d.host}/${d.daemon}`;
      if (d.state === 'ready' && !reported.has(key)) {
        reported.add(key);
        const spec = plan.daemons.find((s) => s.host === d.host && s.daemon === d.daemon)!;
        say(`  ✓ ${d.host}: ${d.daemon} ready (${describeProbe(spec.readiness)})`);
      }
    }
    if (status?.phase === 'running') return;
    if (status?.phase === 'failed' && status.failure) {
      const f = status.failure;
      throw labError(
        'start-failed',
        `${f.daemon} on host ${f.host} did not start: ${f.reason}.\n  command: ${f.command}\n  end of its log (${plan.daemons.find((d) => d.host === f.host && d.daemon === f.daemon)?.log}):\n${indent(f.logTail)}`,
        `npx webstack logs ${f.host} ${f.daemon} --stack ${plan.stack}`,
      );
    }
    if (!target.supervisorAlive(state.supervisor!)) throw labError('supervisor-gone', `the supervisor stopped while starting the daemons; see ${plan.paths.supervisorLog}:\n${indent(tail(plan.paths.supervisorLog, 15))}`);
    if (Date.now() > deadline) throw labError('start-failed', `the daemons were not all ready after ${Math.round(budget / 1000)} s; see the logs under ${plan.paths.logs}.`);
    await sleep(150);
  }
}

/** How many more times the entry is tried, a second apart, when the connection itself fails. */
const ENTRY_RETRIES = 4;

/**
 * The end-to-end proof that `up` is done: from the client host, the site's name resolves and
 * `GET /` through the entry answers. The stack stays up either way; a dead entry is an error.
 */
async function checkEntry(design: ResolvedStack, plan: LabPlan, target: Target, say: (line: string) => void): Promise<void> {
  const record = design.records.find((r) => r.name === design.entry) ?? design.records[0];
  const client = plan.topology.hosts.find((h) => h.kind === 'client');
  if (!record || !client) return;
  const resolved = await target.run(client.namespace, ['dig', '+short', '+time=1', '+tries=3', record.fqdn, 'A'], { allowFailure: true, timeoutMs: 10_000 });
  const addresses = resolved.stdout.trim().split('\n').filter(Boolean);
  const why = plan.gaps.length > 0 ? ` (the lab does not carry out everything this design asks: ${plan.gaps.join('; ')})` : '';
  if (resolved.exitCode !== 0 || addresses.length === 0) {
    throw labError('entry-unreachable', `${plan.stack} is up, but ${record.fqdn} does not resolve from the client host${why}.`, `npx webstack exec client --stack ${plan.stack} -- dig ${record.fqdn}`);
  }
  // With TLS, the client trusts the lab's ACME root, so HTTPS must verify; port 80 only redirects.
  const tls = acmeHost(plan.topology) !== undefined;
  const url = `${tls ? 'https' : 'http'}://${record.fqdn}/`;
  // A connection that fails outright gets a few more tries: a virtual IP that its load balancers
  // have only just agreed on may reach the client a moment after every daemon is ready.
  const get = () => target.run(client.namespace, ['curl', '--silent', '--show-error', '--output', '/dev/null', '--write-out', '%{http_code}', '--max-time', '5', url], { allowFailure: true, timeoutMs: 10_000 });
  let answer = await get();
  for (let retry = 0; retry < ENTRY_RETRIES && answer.exitCode !== 0; retry++) {
    await sleep(1_000);
    answer = await get();
  }
  if (answer.exitCode !== 0 || answer.stdout.trim() !== '200') {
    const said = answer.exitCode !== 0 ? answer.stderr.trim() || `curl exited with status ${answer.exitCode}` : `it answered ${answer.stdout.trim()}`;
    throw labError('entry-unreachable', `${plan.stack} is up, but GET ${url} from the client host fails: ${said}${why}.`, `npx webstack status --stack ${plan.stack}`);
  }
  say(`  ✓ from the client: ${record.fqdn} is ${addresses.join(', ')}, and GET ${url} answers 200${tls ? ' with a certificate the client trusts' : ''}`);
}

function runningDesign(design: ResolvedStack, plan: LabPlan, designDir: string | undefined): RunningDesign {
  const acme = acmeHost(plan.topology);
  const entry = design.records.find((r) => r.name === design.entry) ?? design.records[0];
  const tls = acme && entry ? { url: `https://${entry.fqdn}/`, roots: labRootsFile({ paths: daemonPaths(plan.paths, acme.name, 'pebble') }) } : null;
  return { design, unserved: plan.unserved, tls, ...(designDir ? { designDir } : {}) };
}

function indent(text: string): string {
  return (text || '(empty)').split('\n').map((l) => `    ${l}`).join('\n');
}
