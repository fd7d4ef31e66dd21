import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeReload, type DaemonSpec } from '../daemons/types.ts';
import { startWaves } from '../plan/plan.ts';
import { describeProbe, probeCommand, probePassed } from '../plan/probe.ts';
import { lastLines, LogFile } from './logfile.ts';
import { readFaults, writeJsonAtomic } from './state.ts';
import type { Started, Target } from './target.ts';
import { changeOf, type ApplyAction, type DaemonState, type DaemonStatus, type StartFailure, type SupervisorStatus, type SpecFile } from './supervisor-types.ts';

// webstack's own supervisor (no systemd): one long-lived process per stack that starts every
// daemon in its host, in the order the daemons' `after` gives, with readiness probes in between;
// restarts a daemon that dies, with back-off; probes every daemon's health concurrently; applies a
// changed design (reload where the daemon can, restart where it must); stops everything on SIGTERM.
// Each daemon runs in its own process group, so its whole process tree is signalled at once, and
// writes into a pipe the supervisor drains into its log (bounded, rotated).
// A host that `fail` broke is left alone (no restart, no probe: its daemons are 'faulted') until
// `heal` removes the fault and says so; then its killed daemons start again, in order.

const PROBE_EVERY_MS = 200;
const HEALTH_EVERY_MS = 5_000;
/** Each health probe's own deadline: a frozen daemon costs this, never the whole round. */
const HEALTH_PROBE_DEADLINE_MS = 3_000;
const STOP_GRACE_MS = 10_000;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 30_000;
/** A daemon that stayed up this long has its back-off reset. */
const STABLE_MS = 60_000;

class Supervised {
  state: DaemonState = 'waiting';
  hint: string | null = null;
  process: Started | null = null;
  restarts = 0;
  reloads = 0;
  since = new Date().toISOString();
  lastExit: string | null = null;
  startedAt = 0;
  exited: Promise<void> = Promise.resolve();
  errors: string[] = [];
  /** Set while the supervisor itself stops it (a restart or `down`): not a crash. */
  halting = false;
  log: LogFile | null = null;
  /** A change applied while its host was failed on purpose: made at `heal`. */
  pending: 'reload' | 'restart' | null = null;
  constructor(public spec: DaemonSpec) {}
}

export interface SupervisorFiles {
  /** The specs, as `up` wrote them. */
  readonly specs: string;
  readonly status: string;
  readonly faults: string;
}

export class Supervisor {
  private daemons: Supervised[];
  private phase: SupervisorStatus['phase'] = 'starting';
  private failure: StartFailure | null = null;
  private healthTimer: NodeJS.Timeout | null = null;
  private healthRound: Promise<void> | null = null;
  private generation: number;
  private applied: SupervisorStatus['applied'] = null;
  /** One change at a time: apply, heal and stop wait for each other. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    file: SpecFile,
    private readonly files: SupervisorFiles,
    private readonly target: Target,
  ) {
    this.daemons = file.specs.map((s) => new Supervised(s));
    this.generation = file.generation;
  }

  status(): SupervisorStatus {
    return {
      phase: this.phase,
      pid: process.pid,
      generation: this.generation,
      applied: this.applied,
      failure: this.failure,
      daemons: this.daemons.map(
        (d): DaemonStatus => ({
          host: d.spec.host,
          daemon: d.spec.daemon,
          desired: 'running',
          state: d.state,
          hint: d.hint,
          pid: d.process?.pid ?? null,
          restarts: d.restarts,
          reloads: d.reloads,
          since: d.since,
          lastExit: d.lastExit,
          errors: d.errors.slice(-5),
        }),
      ),
    };
  }

  /** Starts wave by wave; on the first daemon that cannot start, records why and stops starting. */
  async start(): Promise<boolean> {
    this.publish();
    for (const wave of startWaves(this.daemons.map((d) => d.spec))) {
      const members = this.daemons.filter((d) => wave.includes(d.spec));
      const results = await Promise.all(members.map((d) => this.bringUp(d)));
      // Stopped or abandoned meanwhile: what the halted daemons say is not why the start failed.
      if (this.phase !== 'starting') return false;
      const failure = results.find((r) => r !== null);
      if (failure) {
        this.failure = failure;
        this.phase = 'failed';
        this.publish();
        return false;
      }
    }
    this.phase = 'running';
    this.publish();
    this.healthTimer = setInterval(() => {
      // A round still probing (a slow daemon) is not started again on top of itself.
      this.healthRound ??= this.checkHealth().finally(() => (this.healthRound = null));
    }, HEALTH_EVERY_MS);
    return true;
  }

  /** Gives up a start nobody waits for any more: every daemon stopped, the reason published. */
  async abandon(reason: string): Promise<void> {
    if (this.phase !== 'starting') return;
    await this.stop();
    this.phase = 'failed';
    this.failure = { host: '-', daemon: '-', command: 'up', reason, logTail: '' };
    this.publish();
  }

  stop(): Promise<void> {
    return this.serially(async () => {
      if (this.phase === 'stopping' || this.phase === 'stopped') return;
      this.phase = 'stopping';
      if (this.healthTimer) clearInterval(this.healthTimer);
      this.publish();
      for (const wave of startWaves(this.daemons.map((d) => d.spec)).reverse()) {
        await Promise.all(this.daemons.filter((d) => wave.includes(d.spec)).map((d) => this.halt(d)));
      }
      this.phase = 'stopped';
      this.publish();
    });
  }

  /**
   * A changed design (`up` on a running stack): reads the specs again and, daemon by daemon, leaves
   * an unchanged one alone, reloads one whose files changed and that can reload, restarts the
   * others, starts new ones and stops removed ones, in start order. `up` has validated the configs
   * and written the files before it asks.
   */
  apply(): Promise<void> {
    return this.serially(async () => {
      if (this.phase !== 'running') return;
      const file = JSON.parse(readFileSync(this.files.specs, 'utf8')) as SpecFile;
      const key = (s: DaemonSpec) => `${s.host}/${s.daemon}`;
      const next = new Map(file.specs.map((s) => [key(s), s]));
      const actions: { host: string; daemon: string; action: ApplyAction }[] = [];
      const faulted = this.faultedHosts();
      const failures: string[] = [];
      for (const d of this.daemons.filter((d) => !next.has(key(d.spec)))) {
        await this.halt(d);
        actions.push({ host: d.spec.host, daemon: d.spec.daemon, action: 'stopped' });
      }
      this.daemons = this.daemons.filter((d) => next.has(key(d.spec)));
      for (const wave of startWaves(file.specs)) {
        // Reloads at once; restarts one host at a time per daemon, so that a daemon that runs on
        // several hosts never stops everywhere at once.
        const byDaemon = new Map<string, DaemonSpec[]>();
        for (const spec of wave) byDaemon.set(spec.daemon, [...(byDaemon.get(spec.daemon) ?? []), spec]);
        await Promise.all(
          [...byDaemon.values()].map(async (specs) => {
            for (const spec of specs) {
              const current = this.daemons.find((d) => key(d.spec) === key(spec));
              const change = current ? changeOf(current.spec, spec) : 'new';
              if (change === 'none') {
                current!.spec = spec;
                continue;
              }
              if (current && faulted.has(spec.host)) {
                // A host `fail` broke is left alone: its daemons take the change when `heal` mends it.
                current.spec = spec;
                current.pending = change === 'restart' || current.pending === 'restart' ? 'restart' : 'reload';
                this.set(current, 'faulted', `its host is failed on purpose; \`heal\` brings it back, and it ${current.pending}s with the change then`);
                actions.push({ host: spec.host, daemon: spec.daemon, action: current.pending === 'restart' ? 'to restart at heal' : 'to reload at heal' });
                continue;
              }
              const d = current ?? new Supervised(spec);
              if (!current) this.daemons.push(d);
              actions.push({ host: spec.host, daemon: spec.daemon, action: change === 'reload' ? 'reloaded' : change === 'new' ? 'started' : 'restarted' });
              const failure = change === 'reload' ? await this.reload(d, spec) : await this.replace(d, spec);
              if (failure) failures.push(`${spec.host}/${spec.daemon}: ${failure}`);
            }
          }),
        );
      }
      // Keep the specs' order, so status lists daemons as the plan does.
      this.daemons.sort((a, b) => file.specs.findIndex((s) => key(s) === key(a.spec)) - file.specs.findIndex((s) => key(s) === key(b.spec)));
      this.generation = file.generation;
      this.applied = { generation: file.generation, at: new Date().toISOString(), actions, failures };
      this.publish();
    });
  }

  /** After `heal`: start the mended hosts' killed daemons again, in order, and re-probe the others. */
  heal(): Promise<void> {
    return this.serially(async () => {
      if (this.phase !== 'running') return;
      const faulted = this.faultedHosts();
      // A daemon the health checks had not yet found failed may still hold a change made meanwhile.
      const mended = this.daemons.filter((d) => (d.state === 'faulted' || d.pending !== null) && !faulted.has(d.spec.host));
      for (const wave of startWaves(mended.map((d) => d.spec))) {
        await Promise.all(
          mended
            .filter((d) => wave.includes(d.spec))
            .map(async (d) => {
              d.restarts = 0;
              const pending = d.pending;
              d.pending = null;
              // Killed: it starts with its spec as it is now, changed or not.
              if (!d.process) {
                this.launch(d);
                return this.awaitReady(d);
              }
              // Frozen or cut off, it still runs as it was: the change made meanwhile is made now.
              if (pending === 'restart') return void (await this.replace(d, d.spec));
              if (pending === 'reload') return void (await this.reload(d, d.spec));
              return this.awaitReady(d);
            }),
        );
      }
    });
  }

  private serially(task: () => Promise<void>): Promise<void> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async reload(d: Supervised, spec: DaemonSpec): Promise<string | null> {
    d.spec = spec;
    const reload = spec.reload!;
    this.logOf(d).note(`reloading (${describeReload(reload)})`);
    if ('signal' in reload) {
      if (d.process) this.target.signal(d.process.pid, reload.signal);
    } else if ('setup' in reload) {
      // Its setup step is run below, as after a start, when the probe has passed.
    } else {
      const result = await this.target.run(spec.namespace, reload.command, { allowFailure: true, timeoutMs: 10_000 });
      this.logOf(d).note(`reload exited with status ${result.exitCode} ${(result.stdout + result.stderr).trim()}`);
      if (result.exitCode !== 0) return this.recordError(d, `reload failed: ${(result.stderr || result.stdout).trim()}`);
    }
    d.reloads++;
    // A reload takes a moment to take over; the probe must pass afterwards, as after a start.
    await sleep(100);
    await this.awaitReady(d);
    return d.state === 'ready' ? null : this.recordError(d, `not ready after the reload (probe: ${describeProbe(spec.readiness)})`);
  }

  private async replace(d: Supervised, spec: DaemonSpec): Promise<string | null> {
    await this.halt(d);
    d.spec = spec;
    d.restarts = 0;
    const failure = await this.bringUp(d);
    return failure ? this.recordError(d, failure.reason) : null;
  }

  private recordError(d: Supervised, error: string): string {
    d.errors.push(`${new Date().toISOString()} ${error}`);
    this.publish();
    return error;
  }

  private logOf(d: Supervised): LogFile {
    if (!d.log) {
      mkdirSync(dirname(d.spec.log), { recursive: true });
      d.log = new LogFile(d.spec.log);
    }
    return d.log;
  }

  private async bringUp(d: Supervised): Promise<StartFailure | null> {
    const { spec } = d;
    if (spec.init && !existsSync(spec.init.creates)) {
      this.set(d, 'initialising');
      const init = await this.target.run(spec.namespace, spec.init.command, { allowFailure: true, timeoutMs: 120_000 });
      const output = `${init.stdout}\n${init.stderr}`.trim();
      this.logOf(d).note(`${spec.init.command.join(' ')} exited with status ${init.exitCode}\n${output}`);
      if (init.exitCode !== 0) {
        this.set(d, 'failed', `its first-start command exited with status ${init.exitCode}`);
        // Installers end with pages of advice; the lines that say what went wrong come first.
        const errors = output.split('\n').filter((line) => /error|fail|denied|cannot|can't/i.test(line)).slice(0, 5);
        return this.failureOf(d, spec.init.command, `exited with status ${init.exitCode}${errors.length ? `:\n    ${errors.join('\n    ')}` : ''}`);
      }
    }
    this.launch(d);
    const deadline = Date.now() + spec.readinessTimeoutMs;
    while (Date.now() < deadline) {
      // Stopped on purpose meanwhile (down, or an abandoned start): not a failure to start.
      if (d.halting || this.phase === 'stopping' || this.phase === 'stopped') return null;
      if (d.process === null) {
        this.set(d, 'failed', d.lastExit ?? 'it exited');
        return this.failureOf(d, spec.command, d.lastExit ?? 'exited');
      }
      if (await this.probe(spec, HEALTH_PROBE_DEADLINE_MS)) {
        const setupFailure = await this.runSetup(d);
        if (setupFailure) {
          this.set(d, 'failed', setupFailure);
          return this.failureOf(d, spec.setup!.command, setupFailure);
        }
        this.set(d, 'ready');
        return null;
      }
      await sleep(PROBE_EVERY_MS);
    }
    const reason = `still running but not ready after ${spec.readinessTimeoutMs / 1000} s (probe: ${describeProbe(spec.readiness)})`;
    this.set(d, 'failed', reason);
    return this.failureOf(d, spec.command, reason);
  }

  /** The daemon's setup step, if it has one: null when it passed, else why not. */
  private async runSetup(d: Supervised): Promise<string | null> {
    const setup = d.spec.setup;
    if (!setup) return null;
    const result = await this.target.run(d.spec.namespace, setup.command, { allowFailure: true, timeoutMs: setup.timeoutMs });
    const output = `${result.stdout}\n${result.stderr}`.trim();
    this.logOf(d).note(`setup: ${setup.command.join(' ')} exited with status ${result.exitCode}\n${output}`);
    if (result.exitCode === 0) return null;
    return result.exitCode === 124 ? `setup did not finish within ${setup.timeoutMs / 1000} s` : `setup exited with status ${result.exitCode}: ${output.split('\n').slice(-3).join(' / ')}`;
  }

  /** The hosts `fail` has broken and `heal` has not mended yet; a partitioned host runs on, looked after as ever. */
  private faultedHosts(): Set<string> {
    return new Set(Object.entries(readFaults(this.files.faults)).filter(([, fault]) => fault.how !== 'partition').map(([host]) => host));
  }

  private launch(d: Supervised): void {
    const { spec } = d;
    this.set(d, 'starting');
    const log = this.logOf(d);
    log.note(`starting: ${spec.command.join(' ')}`);
    const started = this.target.start(spec.namespace, spec.command, { cwd: spec.cwd, env: spec.env });
    started.output?.on('data', (chunk: Buffer) => log.write(chunk));
    d.process = started;
    d.startedAt = Date.now();
    d.halting = false;
    d.exited = started.exited.then(({ code, signal }) => {
      d.process = null;
      // A daemon's leftover children (nginx workers, say) would hold its ports: end the whole group.
      this.target.signalGroup(started.pid, 'SIGKILL');
      d.lastExit = signal ? `killed by ${signal}` : `exited with status ${code}`;
      log.note(d.lastExit);
      this.onExit(d);
    });
  }

  private onExit(d: Supervised): void {
    if (this.phase !== 'running' || d.halting) return;
    if (this.faultedHosts().has(d.spec.host)) return this.set(d, 'faulted', 'its host is failed on purpose; `heal` brings it back');
    if (Date.now() - d.startedAt > STABLE_MS) d.restarts = 0;
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** d.restarts);
    d.restarts++;
    this.recordError(d, `${d.lastExit}; restarting in ${delay / 1000} s`);
    this.set(d, 'restarting', `${d.lastExit}; again in ${delay / 1000} s`);
    setTimeout(() => {
      if (this.phase !== 'running' || d.process || d.halting) return;
      if (this.faultedHosts().has(d.spec.host)) return this.set(d, 'faulted', 'its host is failed on purpose; `heal` brings it back');
      this.launch(d);
      void this.awaitReady(d);
    }, delay);
  }

  private async awaitReady(d: Supervised): Promise<void> {
    const deadline = Date.now() + d.spec.readinessTimeoutMs;
    while (this.phase === 'running' && d.process && Date.now() < deadline) {
      if (await this.probe(d.spec, HEALTH_PROBE_DEADLINE_MS)) {
        const setupFailure = await this.runSetup(d);
        return setupFailure === null ? this.set(d, 'ready') : this.set(d, 'unhealthy', setupFailure);
      }
      await sleep(PROBE_EVERY_MS);
    }
    if (d.process && this.phase === 'running') this.set(d, 'unhealthy', `its probe fails: ${describeProbe(d.spec.readiness)}`);
  }

  /** Every ready or unhealthy daemon probed at once, each with its own deadline. */
  private async checkHealth(): Promise<void> {
    const faulted = this.faultedHosts();
    await Promise.all(
      this.daemons.map(async (d) => {
        // A frozen or cut-off host's daemons still run; probing them would only wait.
        if (faulted.has(d.spec.host) && d.state !== 'faulted' && d.state !== 'restarting') return this.set(d, 'faulted', 'its host is failed on purpose; `heal` brings it back');
        if (d.state !== 'ready' && d.state !== 'unhealthy') return;
        const healthy = await this.probe(d.spec, HEALTH_PROBE_DEADLINE_MS);
        if (this.phase !== 'running' || (d.state !== 'ready' && d.state !== 'unhealthy')) return;
        const next = healthy ? 'ready' : 'unhealthy';
        if (next !== d.state) this.set(d, next, healthy ? null : `its probe fails: ${describeProbe(d.spec.readiness)}`);
      }),
    );
  }

  private async halt(d: Supervised): Promise<void> {
    const started = d.process;
    d.halting = true;
    if (!started) return this.set(d, 'stopped');
    this.set(d, 'stopping');
    this.target.signalGroup(started.pid, 'SIGTERM');
    // A frozen daemon (`fail --how freeze`) acts on SIGTERM only once it runs again.
    this.target.signalGroup(started.pid, 'SIGCONT');
    const stopped = await Promise.race([d.exited.then(() => true), sleep(STOP_GRACE_MS).then(() => false)]);
    if (!stopped) {
      this.target.signalGroup(started.pid, 'SIGKILL');
      await d.exited;
    }
    this.set(d, 'stopped');
  }

  private async probe(spec: DaemonSpec, deadlineMs: number): Promise<boolean> {
    const result = await this.target.run(spec.namespace, probeCommand(spec.readiness), { allowFailure: true, timeoutMs: deadlineMs });
    return probePassed(spec.readiness, result.exitCode, result.stdout);
  }

  private set(d: Supervised, state: DaemonState, hint: string | null = null): void {
    d.state = state;
    d.hint = hint;
    d.since = new Date().toISOString();
    this.publish();
  }

  private failureOf(d: Supervised, command: readonly string[], reason: string): StartFailure {
    return { host: d.spec.host, daemon: d.spec.daemon, command: command.join(' '), reason, logTail: tail(d.spec.log, 15) };
  }

  private publish(): void {
    writeJsonAtomic(this.files.status, this.status());
  }
}

export function tail(file: string, lines: number): string {
  return lastLines(file, lines).join('\n');
}
