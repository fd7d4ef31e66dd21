import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ResolvedStack } from '../design/types.ts';
import type { Install, Secrets } from '../daemons/types.ts';
import { down } from './down.ts';
import type { Executor } from './executor.ts';
import { materialise, readOrCreateSecrets } from './files.ts';
import { planLab, type LabPlan } from './plan.ts';
import { stackPaths, type StackPaths } from './paths.ts';
import { checkAddressSpace, checkMachine, checkNamespacesFree, LabError } from './preflight.ts';
import { describeProbe } from './probe.ts';
import { processStartTime, readState, readStatus, stateFromPlan, supervisorAlive, writeJsonAtomic, writeState, type StackState } from './state.ts';
import { tail } from './supervisor.ts';

// `up`: check, record, create the network, write the files, start the supervisor and wait until
// every daemon is ready. Anything that fails after the record is written is undone with `down`.

export interface LabOptions {
  readonly home: string;
  readonly executor: Executor;
  readonly say: (line: string) => void;
}

export interface UpOptions extends LabOptions {
  readonly name?: string;
  readonly install: Install;
  /** How the user named the design, for `status` and messages. */
  readonly designRef: string;
  /** Where a design's own app command runs: the design file's directory. */
  readonly designDir?: string;
}

export interface UpResult {
  readonly plan: LabPlan;
  readonly alreadyUp: boolean;
}

const SUPERVISOR = new URL('./supervisor-main.ts', import.meta.url).pathname;

export async function up(design: ResolvedStack, options: UpOptions): Promise<UpResult> {
  const { home, executor, say } = options;
  checkMachine();
  const stack = options.name ?? design.stack;
  const paths = stackPaths(home, stack);
  const planWith = (secrets: Secrets) => planLab(design, { name: stack, home, install: options.install, designDir: options.designDir, secrets });

  const existing = readState(home, stack);
  if (existing) {
    // A running stack always has its secrets; without them there is nothing to compare.
    const current = existsSync(paths.secrets) ? planWith(readOrCreateSecrets(paths.secrets)) : null;
    if (current && supervisorAlive(existing) && existing.fingerprint === current.fingerprint && readStatus(paths.daemons)?.phase === 'running') {
      say(`${stack} is already up, as designed; nothing to do.`);
      return { plan: current, alreadyUp: true };
    }
    say(`${stack} exists but differs from the design or is not running: replacing it (data is kept).`);
    await down(stack, { home, executor, say: () => undefined, volumes: false });
  }

  await checkAddressSpace(design, stack, home, executor);
  const plan = planWith(readOrCreateSecrets(paths.secrets));
  await checkNamespacesFree(plan.topology.hosts.map((h) => h.namespace), executor);

  for (const { host, role } of plan.unrun) say(`  ! ${host}: the lab does not run role ${role} yet; the host is created without it`);
  for (const gap of plan.gaps) say(`  ! ${gap}`);
  let state = stateFromPlan(plan, options.designRef, design.networks);
  writeState(home, state);
  let interrupted: Promise<never> | null = null;
  const abandon = () => {
    // Ctrl-C: undo what was made. Were this process killed outright, the record lets `down` finish the job.
    say(`  ! interrupted: removing what ${stack} made so far`);
    interrupted = down(stack, { home, executor, say: () => undefined, volumes: false })
      .catch(() => say(`  ! could not remove everything; run \`npx webstack down ${stack}\``))
      .then(() => process.exit(130));
  };
  process.once('SIGINT', abandon);
  try {
    let last = '';
    for (const step of plan.network) {
      if (step.title !== last) say(`  + ${step.title}`);
      last = step.title;
      await executor.run(step.argv);
    }
    materialise(plan.daemons, plan.resolvConfs);
    const specFile = join(paths.config, 'daemons.json');
    writeJsonAtomic(specFile, plan.daemons, 0o600);
    state = { ...state, supervisor: startSupervisor(specFile, paths, options.install.repoRoot) };
    writeState(home, state);
    await waitUntilReady(plan, state, say);
    return { plan, alreadyUp: false };
  } catch (error) {
    if (interrupted) await interrupted;
    say(`  ! undoing: removing what ${stack} made so far`);
    await down(stack, { home, executor, say: () => undefined, volumes: false }).catch(() => undefined);
    throw error;
  } finally {
    process.removeListener('SIGINT', abandon);
  }
}

function startSupervisor(specFile: string, paths: StackPaths, repoRoot: string): StackState['supervisor'] {
  mkdirSync(join(paths.supervisorLog, '..'), { recursive: true });
  const log = openSync(paths.supervisorLog, 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', SUPERVISOR, specFile, paths.daemons, paths.faults], { cwd: repoRoot, detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  child.unref();
  const pid = child.pid!;
  return { pid, startTime: processStartTime(pid) ?? '' };
}

async function waitUntilReady(plan: LabPlan, state: StackState, say: (line: string) => void): Promise<void> {
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
      throw new LabError(
        `${f.daemon} on host ${f.host} did not start: ${f.reason}.\n  command: ${f.command}\n  end of its log (${plan.daemons.find((d) => d.host === f.host && d.daemon === f.daemon)?.log}):\n${indent(f.logTail)}`,
      );
    }
    if (!supervisorAlive(state)) throw new LabError(`the supervisor stopped while starting the daemons; see ${plan.paths.supervisorLog}:\n${indent(tail(plan.paths.supervisorLog, 15))}`);
    if (Date.now() > deadline) throw new LabError(`the daemons were not all ready after ${Math.round(budget / 1000)} s; see the logs under ${plan.paths.logs}`);
    await sleep(150);
  }
}

function indent(text: string): string {
  return (text || '(empty)').split('\n').map((l) => `    ${l}`).join('\n');
}
