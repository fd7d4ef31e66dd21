import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { PassThrough } from 'node:stream';
import type { RenderedFile } from '../daemons/types.ts';
import { processStartTime } from './process.ts';
import { Supervisor } from './supervisor.ts';
import type { SpecFile } from './supervisor-types.ts';
import { commandFailed, type Outcome, type RunOptions, type Started, type SupervisorRef, type Target } from './target.ts';

// A target that changes nothing: it records every step, in order, as one line each, and answers
// as a lab where everything works would (or as `answer` says). The supervisor it starts runs in
// this process, against this same target, so the record holds the daemons' start order too.
// Tests pin `up`, `fail`, `heal` and `down` with it; `up --dry-run` prints through it.

export type Answer = (where: string, argv: readonly string[]) => Partial<Outcome> | undefined;

export interface RecordingOptions {
  /** Canned outcomes; unanswered commands succeed as in a working lab. */
  readonly answer?: Answer;
  /** Read-only questions to the machine go here instead (`--dry-run` asks the real machine). */
  readonly query?: Target['query'];
  /** Called with each step as it is recorded. */
  readonly onStep?: (step: string) => void;
}

/** What a working lab answers: a DNS server that answers, a site that answers 200. */
function working(argv: readonly string[]): Partial<Outcome> {
  if (argv[0] === 'dig') return { stdout: 'answered.\n' };
  if (argv[0] === 'curl' && argv.includes('%{http_code}')) return { stdout: '200' };
  if (argv[0] === 'ip' && argv.includes('-j')) return { stdout: '[]' };
  return {};
}

interface FakeProcess {
  readonly pid: number;
  readonly host: string;
  end: (how: { code: number | null; signal: string | null }) => void;
}

export class RecordingTarget implements Target {
  readonly steps: string[] = [];
  private nextPid = 1000;
  private readonly processes = new Map<number, FakeProcess>();
  private supervisor: { ref: SupervisorRef; instance: Supervisor; stopped: boolean } | null = null;

  constructor(private readonly options: RecordingOptions = {}) {}

  private silent = false;

  private record(step: string): void {
    if (this.silent) return;
    this.steps.push(step);
    this.options.onStep?.(step);
  }

  private outcome(where: string, argv: readonly string[], options: RunOptions = {}): Outcome {
    const outcome = { exitCode: 0, stdout: '', stderr: '', ...working(argv), ...this.options.answer?.(where, argv) };
    if (outcome.exitCode !== 0 && !options.allowFailure) throw commandFailed(argv, outcome);
    return outcome;
  }

  async machine(argv: readonly string[], options?: RunOptions): Promise<Outcome> {
    this.record(`machine: ${argv.join(' ')}`);
    return this.outcome('machine', argv, options);
  }

  async query(argv: readonly string[], options?: RunOptions): Promise<Outcome> {
    if (this.options.query) return this.options.query(argv, options);
    this.record(`ask: ${argv.join(' ')}`);
    return this.outcome('machine', argv, options);
  }

  async run(host: string, argv: readonly string[], options?: RunOptions): Promise<Outcome> {
    this.record(`${host}: ${argv.join(' ')}`);
    return this.outcome(host, argv, options);
  }

  start(host: string, argv: readonly string[]): Started {
    const pid = this.nextPid++;
    this.record(`${host}: start [pid ${pid}] ${argv.join(' ')}`);
    let end: FakeProcess['end'] = () => undefined;
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => (end = resolve));
    this.processes.set(pid, { pid, host, end });
    return { pid, output: new PassThrough(), exited };
  }

  signalGroup(pid: number, signal: NodeJS.Signals): void {
    this.signal(pid, signal);
  }

  signal(pid: number, signal: NodeJS.Signals): void {
    const process = this.processes.get(pid);
    if (!process) return;
    this.record(`signal ${signal} to pid ${pid}`);
    if (signal === 'SIGTERM' || signal === 'SIGKILL') {
      this.processes.delete(pid);
      process.end({ code: null, signal });
    }
  }

  async pids(host: string): Promise<number[]> {
    return [...this.processes.values()].filter((p) => p.host === host).map((p) => p.pid);
  }

  inHost(host: string, argv: readonly string[]): string[] {
    return [`(in ${host})`, ...argv];
  }

  writeFile(file: RenderedFile): void {
    this.record(`write ${file.path} (${file.mode.toString(8)}${file.owner ? `, ${file.owner}` : ''})`);
  }

  makeDir(path: string, owner?: string): void {
    this.record(`mkdir ${path}${owner ? ` (${owner})` : ''}`);
  }

  copyTree(from: string, to: string): void {
    this.record(`copy ${from} to ${to}`);
  }

  remove(path: string): void {
    this.record(`remove ${path}`);
  }

  startSupervisor(argv: readonly string[]): SupervisorRef {
    this.record('start the supervisor');
    // argv ends with <specs> <status> <faults> <owner>, as supervisor-main takes them.
    const [specs, status, faults] = argv.slice(-4);
    mkdirSync(dirname(status!), { recursive: true });
    const file = JSON.parse(readFileSync(specs!, 'utf8')) as SpecFile;
    const instance = new Supervisor(file, { specs: specs!, status: status!, faults: faults! }, this);
    // It runs in this process, so this process's identity stands for it (state.json records it).
    const ref = { pid: process.pid, startTime: processStartTime(process.pid) ?? '' };
    this.supervisor = { ref, instance, stopped: false };
    void instance.start();
    return ref;
  }

  signalSupervisor(_supervisor: SupervisorRef, signal: NodeJS.Signals): void {
    const supervisor = this.supervisor;
    if (!supervisor || supervisor.stopped) return;
    this.record(`signal ${signal} to the supervisor`);
    if (signal === 'SIGUSR2') void supervisor.instance.heal();
    if (signal === 'SIGHUP') void supervisor.instance.apply();
    if (signal === 'SIGTERM' || signal === 'SIGKILL') void supervisor.instance.stop().then(() => (supervisor.stopped = true));
  }

  supervisorAlive(): boolean {
    return this.supervisor !== null && !this.supervisor.stopped;
  }

  /** Stops the in-process supervisor and its daemons, recording nothing more (the end of a test or a dry run). */
  async settled(): Promise<void> {
    this.silent = true;
    await this.supervisor?.instance.stop();
  }
}
