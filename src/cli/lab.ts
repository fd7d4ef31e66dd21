import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { loadDesign } from '../design/load.ts';
import { down } from '../lab/down.ts';
import { fail, FAULT_KINDS, heal, type FaultKind } from '../lab/faults.ts';
import { systemExecutor } from '../lab/executor.ts';
import { daemonPaths, stackPaths, webstackHome } from '../lab/paths.ts';
import { checkMachine, LabError } from '../lab/preflight.ts';
import { listStacks, readState, readStatus, supervisorAlive } from '../lab/state.ts';
import { formatStatus, namespaceOfHost, pickStack, stackStatus, withBalancing, withReplication } from '../lab/status.ts';
import { loadFrom, LOAD_DEFAULTS } from '../lab/load.ts';
import { formatLoad } from '../load/format.ts';
import { up } from '../lab/up.ts';
import { EXIT, UsageError } from './errors.ts';
import type { Io } from './main.ts';

// The lab's verbs, named as docker compose users expect: up, down, status, exec, logs, ls; and
// the ones to break it: fail, heal.

const STACK_NAME = /^[a-z][a-z0-9-]{0,11}$/;
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export function addLabCommands(cli: Command, io: Io, setExit: (code: number) => void, designHelp: string): void {
  const home = () => webstackHome();
  const say = (line: string) => io.stdout(`${line}\n`);

  cli
    .command('up')
    .description('run the design on this machine: a network namespace per host, the real daemons, a client')
    .argument('<design>', designHelp)
    .option('--name <name>', "the stack's name (default: the design's)")
    .action(async (ref: string, opts: { name?: string }) => {
      if (opts.name !== undefined && !STACK_NAME.test(opts.name)) {
        throw new UsageError(`--name '${opts.name}' is not a stack name: lower-case letters, digits and '-', starting with a letter, at most 12 characters.`);
      }
      const { stack: design } = await loadDesign(ref);
      const name = opts.name ?? design.stack;
      say(`${name}: bringing up ${ref}`);
      const started = performance.now();
      const { plan, alreadyUp } = await up(design, { home: home(), executor: systemExecutor, say, name, designRef: ref, designDir: existsSync(ref) && statSync(ref).isFile() ? dirname(resolve(ref)) : process.cwd(), install: { repoRoot, node: process.execPath } });
      if (alreadyUp) return;
      const www = design.records.find((r) => r.name === design.entry) ?? design.records[0];
      const client = plan.topology.hosts.find((h) => h.kind === 'client')!;
      say(`${name} is up in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
      if (www) {
        const address = www.addresses[0]!;
        say(`  from the client host:   npx webstack exec ${client.name} --stack ${name} -- curl http://${www.fqdn}/`);
        say(`  from this machine:      curl --resolve ${www.fqdn}:80:${address} http://${www.fqdn}/   (or open http://${address}/)`);
        say(`  the name, as a client:  npx webstack exec ${client.name} --stack ${name} -- dig ${www.fqdn}`);
      }
      say(`  then: npx webstack status --stack ${name}   |   npx webstack down ${name}`);
    });

  cli
    .command('down')
    .description('remove every namespace, link, bridge, process and file of a stack (its data stays unless --volumes)')
    .argument('<stack>', "the stack's name (npx webstack ls lists them)")
    .option('--volumes', "also remove the stack's data (databases)")
    .action(async (stack: string, opts: { volumes?: boolean }) => {
      checkMachine();
      say(`${stack}: going down`);
      await down(stack, { home: home(), executor: systemExecutor, say, volumes: Boolean(opts.volumes) });
      say(`${stack} is down.`);
    });

  cli
    .command('status')
    .description("a stack's hosts, addresses, roles, daemons and their health")
    .option('--stack <name>', 'which stack (may be left out while one stack is up)')
    .option('--json', 'print one JSON object')
    .action(async (opts: { stack?: string; json?: boolean }) => {
      const status = await withBalancing(await withReplication(stackStatus(home(), pickStack(home(), opts.stack)), home(), systemExecutor), home());
      io.stdout(opts.json ? JSON.stringify(status, null, 2) + '\n' : formatStatus(status));
    });

  cli
    .command('fail')
    .description('break a host of a running stack: kill its processes, freeze them, or cut its links')
    .argument('<host>', 'a host of the stack')
    .option('--how <how>', `kill (SIGKILL), freeze (SIGSTOP) or cut (links down)`, 'kill')
    .option('--stack <name>', 'which stack (may be left out while one stack is up)')
    .action(async (host: string, opts: { how: string; stack?: string }) => {
      if (!(FAULT_KINDS as readonly string[]).includes(opts.how)) throw new UsageError(`--how '${opts.how}' is not a way to fail; use one of: ${FAULT_KINDS.join(', ')}.`);
      checkMachine();
      await fail(pickStack(home(), opts.stack), host, opts.how as FaultKind, { home: home(), executor: systemExecutor, say });
    });

  cli
    .command('heal')
    .description('undo `fail`: restart what was killed, resume what was frozen, reconnect what was cut')
    .argument('<host>', 'a failed host of the stack')
    .option('--stack <name>', 'which stack (may be left out while one stack is up)')
    .action(async (host: string, opts: { stack?: string }) => {
      checkMachine();
      await heal(pickStack(home(), opts.stack), host, { home: home(), executor: systemExecutor, say });
    });

  cli
    .command('load')
    .description('send N requests at R per second from a host of the stack (the client by default); prints status counts and latency percentiles')
    .argument('<url...>', 'one URL, or several on the same origin requested in turn (http://www.foobar.com/api/posts)')
    .option('-n, --requests <n>', 'how many requests', toInt, LOAD_DEFAULTS.requests)
    .option('-r, --rate <n>', 'requests per second, over all connections', toInt, LOAD_DEFAULTS.rate)
    .option('-c, --connections <n>', 'concurrent connections', toInt, LOAD_DEFAULTS.connections)
    .option('--timeout <seconds>', 'a request unanswered after this long has failed', toInt, LOAD_DEFAULTS.timeoutS)
    .option('--from <host>', 'the host the load comes from', 'client')
    .option('--stack <name>', 'which stack (may be left out while one stack is up)')
    .option('--json', 'print one JSON object')
    .action(async (urls: string[], opts: { requests: number; rate: number; connections: number; timeout: number; from: string; stack?: string; json?: boolean }) => {
      checkMachine();
      const stack = pickStack(home(), opts.stack);
      const result = await loadFrom(home(), stack, { urls, requests: opts.requests, rate: opts.rate, connections: opts.connections, timeoutS: opts.timeout, from: opts.from });
      io.stdout(opts.json ? JSON.stringify(result, null, 2) + '\n' : formatLoad(result));
      if (result.failed > 0) setExit(EXIT.failed);
    });

  cli
    .command('ls')
    .description('the stacks on this machine')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      const rows = listStacks(home()).map((name) => {
        const state = readState(home(), name)!;
        const alive = supervisorAlive(state);
        const phase = alive ? (readStatus(stackPaths(home(), name).daemons)?.phase ?? 'starting') : 'down';
        return { stack: name, design: state.design, hosts: state.hosts.length, phase, since: state.createdAt };
      });
      if (opts.json) return io.stdout(JSON.stringify(rows, null, 2) + '\n');
      if (rows.length === 0) return io.stdout('no stack is up; start one with: npx webstack up simple\n');
      for (const r of rows) io.stdout(`${r.stack.padEnd(13)} ${r.phase.padEnd(9)} ${String(r.hosts).padStart(2)} hosts  ${r.design}  since ${r.since}\n`);
    });

  cli
    .command('exec')
    .description('run a command inside a host (client included); its exit status is passed through')
    .argument('<host>', 'a host of the stack, or client')
    .argument('<command...>', 'the command and its arguments, after --')
    .option('--stack <name>', 'which stack (may be left out while one stack is up)')
    .action(async (host: string, command: string[], opts: { stack?: string }) => {
      checkMachine();
      const stack = pickStack(home(), opts.stack);
      const ns = namespaceOfHost(home(), stack, host);
      setExit(await passThrough(['ip', 'netns', 'exec', ns, ...command]));
    });

  cli
    .command('logs')
    .description("a host's daemon logs (all of its daemons unless one is named)")
    .argument('<host>', 'a host of the stack')
    .argument('[daemon]', 'one of its daemons')
    .option('--stack <name>', 'which stack (may be left out while one stack is up)')
    .option('-f, --follow', 'keep printing as the log grows')
    .option('-n, --tail <lines>', 'only the last lines', (v) => Number(v))
    .action(async (host: string, daemon: string | undefined, opts: { stack?: string; follow?: boolean; tail?: number }) => {
      const stack = pickStack(home(), opts.stack);
      namespaceOfHost(home(), stack, host);
      const state = readState(home(), stack)!;
      const daemons = state.hosts.find((h) => h.name === host)!.daemons;
      if (daemon !== undefined && !daemons.includes(daemon)) {
        throw new LabError(`host ${host} runs no daemon '${daemon}'; it runs: ${daemons.join(', ') || 'none'}.`);
      }
      const files = (daemon ? [daemon] : daemons).map((d) => daemonPaths(stackPaths(home(), stack), host, d).log).filter((f) => existsSync(f));
      if (files.length === 0) return io.stderr(`no logs yet for ${host}\n`);
      const args = [...(opts.follow ? ['-F'] : []), '-n', opts.tail !== undefined && Number.isInteger(opts.tail) ? String(opts.tail) : '+1', ...(files.length === 1 ? ['-q'] : ['-v']), ...files];
      setExit(await passThrough(['tail', ...args]));
    });
}

function toInt(value: string): number {
  if (!/^\d+$/.test(value)) throw new UsageError(`'${value}' is not a whole number.`);
  return Number(value);
}

/** Runs a command with this terminal's stdio and returns its exit status (128+n for a signal). */
function passThrough(argv: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit' });
    child.once('error', (error) => reject(new LabError(`cannot run ${argv[0]}: ${error.message}`)));
    child.once('exit', (code, signal) => resolve(code ?? 128 + (signal === 'SIGKILL' ? 9 : 15)));
  });
}

