import { execFileSync, spawn } from 'node:child_process';
import { chownSync, closeSync, constants, cpSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { execa } from 'execa';
import type { RenderedFile } from '../daemons/types.ts';
import { labError } from './errors.ts';
import { processStartTime } from './process.ts';

// The one interface through which the lab touches a machine: commands on the machine and inside
// hosts, files, long-lived processes and signals. Commands are data (argument vectors), never shell
// strings. The network-namespace lab (`namespaceTarget`) is the first implementation; the recording
// one (recording-target.ts) makes `up`, `fail`, `heal`, `down` and the supervisor testable without
// root. A host is named by its id on the target (for namespaces, the namespace's name): nothing in
// these signatures assumes a namespace, so an SSH target can implement the same interface.

export interface Outcome {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** A non-zero exit is answered, not thrown. */
  readonly allowFailure?: boolean;
  readonly timeoutMs?: number;
  /** Written to the command's standard input (a runtime API's command); else it reads nothing. */
  readonly input?: string;
}

/** A long-lived process started inside a host, in a process group of its own. */
export interface Started {
  readonly pid: number;
  /** Everything it writes to stdout and stderr; the caller owns where it goes. */
  readonly output: Readable | null;
  readonly exited: Promise<{ readonly code: number | null; readonly signal: string | null }>;
}

export interface StartOptions {
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string>>;
}

/** The supervisor of a stack, identified by pid and kernel start time (a recycled pid is not it). */
export interface SupervisorRef {
  readonly pid: number;
  readonly startTime: string;
}

export interface Target {
  /** Changes the machine that carries the hosts (bridges, links, namespaces). */
  machine(argv: readonly string[], options?: RunOptions): Promise<Outcome>;
  /** Asks the machine something and changes nothing (routes, links): also asked by `--dry-run`. */
  query(argv: readonly string[], options?: RunOptions): Promise<Outcome>;
  /** Runs a command inside a host, to completion. */
  run(host: string, argv: readonly string[], options?: RunOptions): Promise<Outcome>;
  /** Starts a long-lived process inside a host. */
  start(host: string, argv: readonly string[], options?: StartOptions): Started;
  /** Signals the process group of a process `start` made. */
  signalGroup(pid: number, signal: NodeJS.Signals): void;
  /** Signals one process. */
  signal(pid: number, signal: NodeJS.Signals): void;
  /** Every process running inside a host. */
  pids(host: string): Promise<number[]>;
  /** The argument vector that runs `argv` inside a host with this terminal (exec, load). */
  inHost(host: string, argv: readonly string[]): string[];
  writeFile(file: RenderedFile): void;
  makeDir(path: string, owner?: string): void;
  copyTree(from: string, to: string): void;
  remove(path: string): void;
  /** Starts a stack's supervisor, detached, with its output appended to `log`. */
  startSupervisor(argv: readonly string[], log: string, cwd: string): SupervisorRef;
  signalSupervisor(supervisor: SupervisorRef, signal: NodeJS.Signals): void;
  supervisorAlive(supervisor: SupervisorRef): boolean;
}

async function runCommand(argv: readonly string[], options: RunOptions = {}): Promise<Outcome> {
  const [file, ...args] = argv;
  const result = await execa(file!, args, { reject: false, timeout: options.timeoutMs ?? 30_000, ...(options.input === undefined ? { stdin: 'ignore' as const } : { input: options.input }) }).catch((error: Error) => ({ exitCode: 127, stdout: '', stderr: error.message, timedOut: false }));
  const outcome = {
    exitCode: result.exitCode ?? (result.timedOut ? 124 : 1),
    stdout: String(result.stdout ?? ''),
    stderr: String(result.stderr ?? '') || (result.timedOut ? `timed out after ${(options.timeoutMs ?? 30_000) / 1000} s` : ''),
  };
  if (outcome.exitCode !== 0 && !options.allowFailure) throw commandFailed(argv, outcome);
  return outcome;
}

/** A system command that refused: a lab error naming the command and its own message. */
export function commandFailed(argv: readonly string[], outcome: Outcome): Error {
  const said = (outcome.stderr || outcome.stdout).trim().split('\n').slice(-3).join(' / ');
  return labError('command-failed', `\`${argv.join(' ')}\` exited with status ${outcome.exitCode}${said ? `: ${said}` : ''}`);
}

let pipes = 0;

/**
 * A real pipe for a daemon's stdout and stderr. Node gives children socket pairs, and a daemon
 * that opens /dev/stdout (nginx's access_log) cannot open a socket. A FIFO, unlinked as soon as
 * both ends are open, is an ordinary pipe; the read end is non-blocking, read as a stream.
 */
function outputPipe(): { writeFd: number; output: Readable } {
  const path = join(tmpdir(), `webstack-output-${process.pid}-${pipes++}`);
  execFileSync('mkfifo', ['--mode=600', path]);
  try {
    const readFd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const writeFd = openSync(path, constants.O_WRONLY);
    return { writeFd, output: new Socket({ fd: readFd, readable: true, writable: false }) };
  } finally {
    unlinkSync(path);
  }
}

function signalQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

/** The machine's own files, for the lab whose hosts all live on this machine. */
const localFiles = {
  writeFile(file: RenderedFile): void {
    mkdirSync(dirname(file.path), { recursive: true });
    // Written beside and renamed, so a daemon reloading meanwhile never reads half a file.
    const temp = `${file.path}.${process.pid}.tmp`;
    writeFileSync(temp, file.content, { mode: file.mode });
    if (file.owner) chownTo(temp, file.owner);
    renameSync(temp, file.path);
  },
  makeDir(path: string, owner?: string): void {
    mkdirSync(path, { recursive: true });
    if (owner) chownTo(path, owner);
  },
  copyTree(from: string, to: string): void {
    cpSync(from, to, { recursive: true });
  },
  remove(path: string): void {
    rmSync(path, { recursive: true, force: true });
  },
};

function chownTo(path: string, user: string): void {
  const entry = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map((line) => line.split(':'))
    .find((fields) => fields[0] === user);
  if (!entry) throw labError('missing-user', `system user '${user}' does not exist; is its package installed?`);
  chownSync(path, Number(entry[2]), Number(entry[3]));
}

/** Every host is a network namespace of this machine, entered with `ip netns exec`. */
export const namespaceTarget: Target = {
  machine: runCommand,
  query: runCommand,
  run: (host, argv, options) => runCommand(namespaceTarget.inHost(host, argv), options),
  start(host, argv, options = {}) {
    const [file, ...args] = namespaceTarget.inHost(host, argv);
    const pipe = outputPipe();
    const child = spawn(file!, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, detached: true, stdio: ['ignore', pipe.writeFd, pipe.writeFd] });
    closeSync(pipe.writeFd);
    const output = pipe.output;
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      child.once('error', (error) => {
        output?.emit('data', Buffer.from(`cannot start ${argv[0]}: ${error.message}\n`));
        resolve({ code: 127, signal: null });
      });
    });
    return { pid: child.pid ?? -1, output, exited };
  },
  signalGroup: (pid, signal) => signalQuietly(-pid, signal),
  signal: signalQuietly,
  async pids(host) {
    const { stdout } = await runCommand(['ip', 'netns', 'pids', host], { allowFailure: true });
    return stdout.split(/\s+/).filter(Boolean).map(Number);
  },
  inHost: (host, argv) => ['ip', 'netns', 'exec', host, ...argv],
  ...localFiles,
  startSupervisor(argv, log, cwd) {
    mkdirSync(dirname(log), { recursive: true });
    const fd = openSync(log, 'a');
    const child = spawn(argv[0]!, argv.slice(1), { cwd, detached: true, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    child.unref();
    const pid = child.pid!;
    return { pid, startTime: processStartTime(pid) ?? '' };
  },
  signalSupervisor: (supervisor, signal) => {
    if (namespaceTarget.supervisorAlive(supervisor)) signalQuietly(supervisor.pid, signal);
  },
  supervisorAlive: (supervisor) => processStartTime(supervisor.pid) === supervisor.startTime,
};
