import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { blueprintFile, BLUEPRINTS, isBlueprint } from '../blueprints/index.ts';
import { unknownChoice } from '../design/problems.ts';
import { EXIT, reportError, UsageError, type Io } from './errors.ts';
import { writeFileAtomic } from './files.ts';
import { addLabCommands, addPackagesCommand } from './lab.ts';

// The command line: parse arguments, call the pure core, print, exit. Nothing else.
// Each command loads what it needs when it runs, so that `status` does not pay for the diagram
// layout engine, nor `--version` for anything: start-up is most of a short command's time.

const loadDesign = async (ref: string) => (await import('../design/load.ts')).loadDesign(ref);

export type { Io };

const DESIGN_HELP = `a design file (.yaml, .yml, .json, .ts) or a blueprint: ${BLUEPRINTS.join(', ')}`;

function program(io: Io, setExit: (code: number) => void): Command {
  const cli = new Command('webstack')
    .description('Turn a web-infrastructure design into a real, running, verified system.')
    .version(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version)
    // Its own options come before a command: `deploy --version 2` is the deploy's, `--version` alone is webstack's.
    .enablePositionalOptions()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showSuggestionAfterError()
    .showHelpAfterError('(npx webstack --help lists the commands)')
    .exitOverride();

  cli
    .command('check')
    .description('find single points of failure, security and monitoring gaps, maintenance downtime, and the availability of each capability')
    .argument('<design>', DESIGN_HELP)
    .option('--json', 'print one JSON object')
    .option('--strict', 'exit 1 when there is any finding')
    .action(async (ref: string, opts: { json?: boolean; strict?: boolean }) => {
      const { stack } = await loadDesign(ref);
      const { check } = await import('../analysis/check.ts');
      const { checkJson, formatCheck } = await import('../analysis/format.ts');
      const report = check(stack);
      io.stdout(opts.json ? checkJson(report) : formatCheck(stack, report));
      if (opts.strict && report.findings.length > 0) setExit(EXIT.findings);
    });

  cli
    .command('diagram')
    .description('draw the architecture, left to right, as the seeds draw it')
    .argument('<design>', DESIGN_HELP)
    .addOption(new Option('--format <format>', 'svg or mermaid').choices(['svg', 'mermaid']).default('svg'))
    .option('-o, --output <file>', 'write to a file instead of stdout (replaced if it exists)')
    .option('--expand', 'draw every host, even in a tier of more than three (drawn as one node with a count by default)')
    .action(async (ref: string, opts: { format: 'svg' | 'mermaid'; output?: string; expand?: boolean }) => {
      const model = (await import('../diagram/model.ts')).diagramModel((await loadDesign(ref)).stack, { expand: Boolean(opts.expand) });
      const text = opts.format === 'svg' ? await (await import('../diagram/svg.ts')).renderSvg(model) : (await import('../diagram/mermaid.ts')).renderMermaid(model);
      if (opts.output) {
        writeFileAtomic(opts.output, text, { overwrite: true });
        io.stderr(`wrote ${opts.output}\n`);
      } else io.stdout(text);
    });

  cli
    .command('init')
    .description('write a blueprint out as a YAML design file to edit')
    .argument('<blueprint>', `one of: ${BLUEPRINTS.join(', ')}`)
    .argument('<file>', 'where to write it')
    .option('--force', 'replace the file if it exists')
    .action((name: string, file: string, opts: { force?: boolean }) => {
      if (!isBlueprint(name)) throw new UsageError(unknownChoice('blueprint', name, BLUEPRINTS));
      writeFileAtomic(file, readFileSync(blueprintFile(name), 'utf8'), { overwrite: Boolean(opts.force) });
      io.stdout(`wrote ${file} from blueprint '${name}'; next: npx webstack check ${file}\n`);
    });

  cli
    .command('schema')
    .description('print the JSON Schema of the design file, for editors')
    .action(async () => io.stdout(JSON.stringify((await import('../design/schema.ts')).jsonSchema(), null, 2) + '\n'));

  cli
    .command('blueprints')
    .description('list the blueprints that ship with webstack')
    .action(async () => {
      for (const name of BLUEPRINTS) {
        const { stack } = await loadDesign(name);
        io.stdout(`${name.padEnd(12)} ${stack.description}\n`);
      }
    });

  addLabCommands(cli, io, setExit, DESIGN_HELP);
  addPackagesCommand(cli, io);
  return cli;
}

/** Runs the CLI and returns its exit code; never throws. */
export async function run(argv: string[], io: Io): Promise<number> {
  let code: number = EXIT.ok;
  try {
    await program(io, (c) => (code = c)).parseAsync(argv, { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are successes; anything else commander has already explained.
      return error.exitCode === 0 || error.code === 'commander.helpDisplayed' || error.code === 'commander.help' ? EXIT.ok : EXIT.usage;
    }
    return reportError(error, io.stderr);
  }
}
