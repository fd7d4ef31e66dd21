import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import type { DaemonSpec } from '../daemons/types.ts';
import { describeProbe, probeCommand, probePassed } from './probe.ts';
import { readFaults, writeJsonAtomic } from './state.ts';

// webstack's own supervisor (no systemd): one long-lived process per stack that starts every
// daemon in its host's namespace, tier by tier with readiness probes in between, restarts a
// daemon that dies with back-off, keeps probing its health, and stops everything on SIGTERM.
// Each daemon runs in its own process group, so a daemon's whole process tree is signalled at once.
// A host that `fail` broke is left alone (no restart, no probe: its daemons are 'faulted') until
// `heal` removes the fault and sends SIGUSR2; then its killed daemons start again, tier by tier.

export type DaemonState = 'waiting' | 'initialising' | 'starting' | 'ready' | 'unhealthy' | 'restarting' | 'faulted' | 'failed' | 'stopping' | 'stopped';

export interface DaemonStatus {
  readonly host: string;
  readonly daemon: string;
  readonly state: DaemonState;
  readonly pid: number | null;
  readonly restarts: number;
  readonly since: string;
  readonly lastExit: string | null;
}

export interface StartFailure {
  readonly host: string;
  readonly daemon: string;
  readonly command: string;
  readonly reason: string;
  readonly logTail: string;
}

export interface SupervisorStatus {
  readonly phase: 'starting' | 'running' | 'failed' | 'stopping' | 'stopped';
  readonly pid: number;
  readonly failure: StartFailure | null;
  readonly daemons: readonly DaemonStatus[];
}

const PROBE_EVERY_MS = 200;
const HEALTH_EVERY_MS = 5_000;
const STOP_GRACE_MS = 10_000;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 30_000;
/** A daemon that stayed up this long has its back-off reset. */
const STABLE_MS = 60_000;

class Supervised {
  state: DaemonState = 'waiting';
  child: ChildProcess | null = null;
  restarts = 0;
  since = new Date().toISOString();
  lastExit: string | null = null;
  startedAt = 0;
  exited: Promise<void> = Promise.resolve();
  constructor(readonly spec: DaemonSpec) {}
}

export class Supervisor {
  private readonly daemons: Supervised[];
  private phase: SupervisorStatus['phase'] = 'starting';
  private failure: StartFailure | null = null;
  private healthTimer: NodeJS.Timeout | null = null;

  constructor(
    specs: readonly DaemonSpec[],
    private readonly statusFile: string,
    private readonly faultsFile: string,
  ) {
    this.daemons = specs.map((s) => new Supervised(s));
  }

  status(): SupervisorStatus {
    return {
      phase: this.phase,
      pid: process.pid,
      failure: this.failure,
      daemons: this.daemons.map((d) => ({ host: d.spec.host, daemon: d.spec.daemon, state: d.state, pid: d.child?.pid ?? null, restarts: d.restarts, since: d.since, lastExit: d.lastExit })),
    };
  }

  /** Starts tier by tier; on the first daemon that cannot start, records why and stops starting. */
  async start(): Promise<boolean> {
    this.publish();
    const tiers = [...new Set(this.daemons.map((d) => d.spec.tier))].sort((a, b) => a - b);
    for (const tier of tiers) {
      const results = await Promise.all(this.daemons.filter((d) => d.spec.tier === tier).map((d) => this.bringUp(d)));
      if (this.phase === 'stopping' || this.phase === 'stopped') return false;
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
    this.healthTimer = setInterval(() => void this.checkHealth(), HEALTH_EVERY_MS);
    return true;
  }

  async stop(): Promise<void> {
    if (this.phase === 'stopping' || this.phase === 'stopped') return;
    this.phase = 'stopping';
    if (this.healthTimer) clearInterval(this.healthTimer);
    this.publish();
    const tiers = [...new Set(this.daemons.map((d) => d.spec.tier))].sort((a, b) => b - a);
    for (const tier of tiers) await Promise.all(this.daemons.filter((d) => d.spec.tier === tier).map((d) => this.halt(d)));
    this.phase = 'stopped';
    this.publish();
  }

  private async bringUp(d: Supervised): Promise<StartFailure | null> {
    const { spec } = d;
    if (spec.init && !existsSync(spec.init.creates)) {
      this.set(d, 'initialising');
      const init = await execa('ip', ['netns', 'exec', spec.namespace, ...spec.init.command], { reject: false, all: true, timeout: 120_000 });
      appendLog(spec.log, `[webstack] ${spec.init.command.join(' ')} exited with status ${init.exitCode}\n${init.all ?? ''}\n`);
      if (init.exitCode !== 0) {
        this.set(d, 'failed');
        // Installers end with pages of advice; the lines that say what went wrong come first.
        const errors = String(init.all ?? '').split('\n').filter((line) => /error|fail|denied|cannot|can't/i.test(line)).slice(0, 5);
        return failureOf(spec, spec.init.command, `exited with status ${init.exitCode ?? 'unknown'}${errors.length ? `:\n    ${errors.join('\n    ')}` : ''}`);
      }
    }
    this.launch(d);
    const deadline = Date.now() + spec.readinessTimeoutMs;
    while (Date.now() < deadline) {
      if (this.phase === 'stopping') return null;
      if (d.child === null) {
        this.set(d, 'failed');
        return failureOf(spec, spec.command, d.lastExit ?? 'exited');
      }
      if (await this.probe(spec)) {
        const setupFailure = await this.runSetup(d);
        if (setupFailure) {
          this.set(d, 'failed');
          return failureOf(spec, spec.setup!.command, setupFailure);
        }
        this.set(d, 'ready');
        return null;
      }
      await sleep(PROBE_EVERY_MS);
    }
    this.set(d, 'failed');
    return failureOf(spec, spec.command, `still running but not ready after ${spec.readinessTimeoutMs / 1000} s (probe: ${describeProbe(spec.readiness)})`);
  }

  /** The daemon's setup step, if it has one: null when it passed, else why not. */
  private async runSetup(d: Supervised): Promise<string | null> {
    const setup = d.spec.setup;
    if (!setup) return null;
    const result = await execa('ip', ['netns', 'exec', d.spec.namespace, ...setup.command], { reject: false, all: true, timeout: setup.timeoutMs });
    appendLog(d.spec.log, `[webstack] setup: ${setup.command.join(' ')} exited with status ${result.exitCode ?? 'unknown'}\n${result.all ?? ''}\n`);
    if (result.exitCode === 0) return null;
    return result.timedOut ? `setup did not finish within ${setup.timeoutMs / 1000} s` : `setup exited with status ${result.exitCode ?? 'unknown'}: ${String(result.all ?? '').trim().split('\n').slice(-3).join(' / ')}`;
  }

  /** The hosts `fail` has broken and `heal` has not mended yet. */
  private faultedHosts(): Set<string> {
    return new Set(Object.keys(readFaults(this.faultsFile)));
  }

  /** After `heal`: start the mended hosts' killed daemons again, tier by tier, and re-probe the others. */
  async heal(): Promise<void> {
    if (this.phase !== 'running') return;
    const faulted = this.faultedHosts();
    const mended = this.daemons.filter((d) => d.state === 'faulted' && !faulted.has(d.spec.host));
    const tiers = [...new Set(mended.map((d) => d.spec.tier))].sort((a, b) => a - b);
    for (const tier of tiers) {
      await Promise.all(
        mended
          .filter((d) => d.spec.tier === tier)
          .map((d) => {
            d.restarts = 0;
            if (!d.child) this.launch(d);
            return this.awaitReady(d);
          }),
      );
    }
  }

  private launch(d: Supervised): void {
    const { spec } = d;
    this.set(d, 'starting');
    appendLog(spec.log, `[webstack] ${new Date().toISOString()} starting: ${spec.command.join(' ')}\n`);
    const log = openSync(spec.log, 'a');
    const child = spawn('ip', ['netns', 'exec', spec.namespace, ...spec.command], { cwd: spec.cwd, env: { ...process.env, ...spec.env }, detached: true, stdio: ['ignore', log, log] });
    closeSync(log);
    d.child = child;
    d.startedAt = Date.now();
    d.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        d.child = null;
        // A daemon's leftover children (nginx workers, say) would hold its ports: end the whole group.
        if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
        d.lastExit = signal ? `killed by ${signal}` : `exited with status ${code}`;
        appendLog(spec.log, `[webstack] ${new Date().toISOString()} ${d.lastExit}\n`);
        resolve();
        this.onExit(d);
      }),
    );
    child.once('error', (error) => appendLog(spec.log, `[webstack] cannot start: ${error.message}\n`));
  }

  private onExit(d: Supervised): void {
    if (this.phase !== 'running' || d.state === 'stopping') return;
    if (this.faultedHosts().has(d.spec.host)) return this.set(d, 'faulted');
    if (Date.now() - d.startedAt > STABLE_MS) d.restarts = 0;
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** d.restarts);
    d.restarts++;
    this.set(d, 'restarting');
    setTimeout(() => {
      if (this.phase !== 'running') return;
      if (this.faultedHosts().has(d.spec.host)) return this.set(d, 'faulted');
      this.launch(d);
      void this.awaitReady(d);
    }, delay);
  }

  private async awaitReady(d: Supervised): Promise<void> {
    const deadline = Date.now() + d.spec.readinessTimeoutMs;
    while (this.phase === 'running' && d.child && Date.now() < deadline) {
      if (await this.probe(d.spec)) return this.set(d, (await this.runSetup(d)) === null ? 'ready' : 'unhealthy');
      await sleep(PROBE_EVERY_MS);
    }
    if (d.child && this.phase === 'running') this.set(d, 'unhealthy');
  }

  private async checkHealth(): Promise<void> {
    const faulted = this.faultedHosts();
    for (const d of this.daemons) {
      // A frozen or cut-off host's daemons still run; probing them would only wait.
      if (faulted.has(d.spec.host) && d.state !== 'faulted' && d.state !== 'restarting') this.set(d, 'faulted');
      if (d.state !== 'ready' && d.state !== 'unhealthy') continue;
      const healthy = await this.probe(d.spec);
      if (this.phase !== 'running' || (d.state !== 'ready' && d.state !== 'unhealthy')) continue;
      const next = healthy ? 'ready' : 'unhealthy';
      if (next !== d.state) this.set(d, next);
    }
  }

  private async halt(d: Supervised): Promise<void> {
    const child = d.child;
    if (!child || child.pid === undefined) return this.set(d, 'stopped');
    this.set(d, 'stopping');
    signalGroup(child.pid, 'SIGTERM');
    // A frozen daemon (`fail --how freeze`) acts on SIGTERM only once it runs again.
    signalGroup(child.pid, 'SIGCONT');
    const stopped = await Promise.race([d.exited.then(() => true), sleep(STOP_GRACE_MS).then(() => false)]);
    if (!stopped) {
      signalGroup(child.pid, 'SIGKILL');
      await d.exited;
    }
    this.set(d, 'stopped');
  }

  private async probe(spec: DaemonSpec): Promise<boolean> {
    const result = await execa('ip', ['netns', 'exec', spec.namespace, ...probeCommand(spec.readiness)], { reject: false, timeout: 3_000 });
    return probePassed(spec.readiness, result.exitCode ?? 1, String(result.stdout ?? ''));
  }

  private set(d: Supervised, state: DaemonState): void {
    d.state = state;
    d.since = new Date().toISOString();
    this.publish();
  }

  private publish(): void {
    writeJsonAtomic(this.statusFile, this.status());
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

function failureOf(spec: DaemonSpec, command: readonly string[], reason: string): StartFailure {
  return { host: spec.host, daemon: spec.daemon, command: command.join(' '), reason, logTail: tail(spec.log, 15) };
}

export function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

function appendLog(file: string, text: string): void {
  const fd = openSync(file, 'a');
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}
