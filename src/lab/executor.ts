import { execa } from 'execa';

// Commands are data (argument vectors); this is the one place that runs them. Tests swap in the
// recording executor to check the exact sequence `up` and `down` would run, without root.

export interface Outcome {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Executor {
  /** Runs to completion; a non-zero exit throws a CommandFailed unless `allowFailure`. */
  run(argv: readonly string[], options?: { allowFailure?: boolean; timeoutMs?: number }): Promise<Outcome>;
}

export class CommandFailed extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly outcome: Outcome,
  ) {
    super(`\`${argv.join(' ')}\` exited with status ${outcome.exitCode}: ${(outcome.stderr || outcome.stdout).trim().split('\n').slice(-3).join(' / ')}`);
    this.name = 'CommandFailed';
  }
}

export const systemExecutor: Executor = {
  async run(argv, options = {}) {
    const [file, ...args] = argv;
    const result = await execa(file!, args, { reject: false, timeout: options.timeoutMs ?? 30_000, stdin: 'ignore' });
    const outcome = { exitCode: result.exitCode ?? (result.timedOut ? 124 : 1), stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? (result.timedOut ? 'timed out' : '')) };
    if (outcome.exitCode !== 0 && !options.allowFailure) throw new CommandFailed(argv, outcome);
    return outcome;
  },
};

/** Records every command and answers from a script of canned outcomes (empty success by default). */
export class RecordingExecutor implements Executor {
  readonly commands: string[][] = [];
  constructor(private readonly answer: (argv: readonly string[]) => Partial<Outcome> | undefined = () => undefined) {}
  async run(argv: readonly string[], options: { allowFailure?: boolean } = {}): Promise<Outcome> {
    this.commands.push([...argv]);
    const outcome = { exitCode: 0, stdout: '', stderr: '', ...this.answer(argv) };
    if (outcome.exitCode !== 0 && !options.allowFailure) throw new CommandFailed(argv, outcome);
    return outcome;
  }
}
