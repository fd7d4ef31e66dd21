import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { THIS_INSTALL } from '../entry.ts';
import { labRootsFile } from '../daemons/pebble.ts';
import { daemonPaths, stackPaths, webstackHome } from '../plan/paths.ts';
import { acmeHost } from '../plan/topology.ts';
import { labError } from '../lab/errors.ts';
import { FAULT_KINDS, hostRecord, listStacks, pickStack, readSpecs, readState, readStatus, supervisorAlive, type FaultKind } from '../lab/state.ts';
import { checkLoadInput, loadFrom, LOAD_DEFAULTS } from '../lab/load.ts';
import type { Target } from '../lab/target.ts';
import { explainName, isValidName } from '../design/names.ts';
import { DEPLOY_TIERS, type DeployTier } from '../plan/rollout.ts';
import { parseSince } from '../lab/logs.ts';
import { EXIT, UsageError, type Io } from './errors.ts';

// The lab's verbs, named as docker compose users expect: up, down, status, exec, logs, ls; and
// the ones to break it: fail, heal, load. Heavy modules are loaded by the commands that use them.

const lab = {
  target: async (): Promise<Target> => (await import('../lab/target.ts')).namespaceTarget,
  checkMachine: async () => (await import('../lab/preflight.ts')).checkMachine(),
};

export function addLabCommands(cli: Command, io: Io, setExit: (code: number) => void, designHelp: string): void {
  const home = () => webstackHome();
  const install = THIS_INSTALL;
  const say = (line: string) => io.stdout(`${line}\n`);

  cli
    .command('up')
    .description('run the design on this machine (a network namespace per host, the real daemons, a client); on a running stack, apply what changed')
    .argument('<design>', designHelp)
    .option('--name <name>', "the stack's name (default: the design's)")
    .option('--dry-run', 'print every step up would take, in order, and change nothing')
    .action(async (ref: string, opts: { name?: string; dryRun?: boolean }) => {
      if (opts.name !== undefined && !isValidName('stack', opts.name)) throw new UsageError(`--name: ${explainName('stack', opts.name)}.`);
      const { stack: design } = await (await import('../design/load.ts')).loadDesign(ref);
      const { up } = await import('../lab/up.ts');
      const name = opts.name ?? design.stack;
      const designDir = existsSync(ref) && statSync(ref).isFile() ? dirname(resolve(ref)) : process.cwd();
      if (opts.dryRun) {
        // The real machine answers the read-only questions (routes, namespaces); everything else is
        // printed, and the records go to a scratch directory that is removed afterwards.
        const scratch = mkdtempSync(join(tmpdir(), 'webstack-dry-run-'));
        const running = readState(home(), name);
        if (running) say(`${name} is already on this machine; this is what a new stack of that name would take (a running stack takes only what changed).`);
        say(`${name}: the steps of up ${ref}, in order (nothing is changed):`);
        const { RecordingTarget } = await import('../lab/recording-target.ts');
        const dry = new RecordingTarget({ query: (await lab.target()).query, onStep: (step) => say(`  ${step}`) });
        try {
          await up(design, { home: scratch, target: dry, say: (line) => say(`  # ${line.trim()}`), name, designRef: ref, designDir, install, lock: join(scratch, 'lock'), readOnlySecrets: true });
          await dry.settled();
        } finally {
          rmSync(scratch, { recursive: true, force: true });
        }
        return;
      }
      await lab.checkMachine();
      say(`${name}: bringing up ${ref}`);
      const started = performance.now();
      const { plan, outcome } = await up(design, { home: home(), target: await lab.target(), say, name, designRef: ref, designDir, install });
      if (outcome !== 'created') return;
      const www = design.records.find((r) => r.name === design.entry) ?? design.records[0];
      const client = plan.topology.hosts.find((h) => h.kind === 'client')!;
      say(`${name} is up in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
      const acme = acmeHost(plan.topology);
      if (www) {
        const scheme = acme ? 'https' : 'http';
        say(`  from the client host:   npx webstack exec ${client.name} --stack ${name} -- curl ${scheme}://${www.fqdn}/`);
        say(`  the name, as a client:  npx webstack exec ${client.name} --stack ${name} -- dig ${www.fqdn}`);
        // This machine has no address in the lab, by design: only the lab's own hosts reach it.
        if (acme) say(`  the lab's ACME root:    ${labRootsFile({ paths: daemonPaths(stackPaths(home(), name), acme.name, 'pebble') })}`);
      }
      say(`  then: npx webstack status --stack ${name}   |   npx webstack down ${name}`);
    });

  cli
    .command('down')
    .description('remove every namespace, link, bridge, process and file of a stack (its data stays unless --volumes)')
    .argument('<stack>', "the stack's name (npx webstack ls lists them)")
    .option('--volumes', "also remove the stack's data (databases)")
    .action(async (stack: string, opts: { volumes?: boolean }) => {
      const { checkCanGoDown, down } = await import('../lab/down.ts');
      checkCanGoDown(home(), stack, Boolean(opts.volumes));
      await lab.checkMachine();
      say(`${stack}: going down`);
      await down(stack, { home: home(), target: await lab.target(), say, volumes: Boolean(opts.volumes) });
      say(`${stack} is down.`);
    });

  cli
    .command('status')
    .description("a stack's hosts, addresses, roles, daemons and their health")
    .option('--stack <name>', 'which stack (may be left out while one stack is up)')
    .option('--json', 'print one JSON object')
    .action(async (opts: { stack?: string; json?: boolean }) => {
      const { formatStatus, stackStatus, withObservations } = await import('../lab/status.ts');
      const status = await withObservations(stackStatus(home(), pickStack(home(), opts.stack)), home(), await lab.target());
      io.stdout(opts.json ? JSON.stringify(status, null, 2) + '\n' : formatStatus(status));
    });

  cli
    .command('audit')
    .description('hold the running stack to its design: nmap every host from the client and from every other host, and compare what answers with the flows')
    .option('--stack <name>', 'which stack (may be left out while one stack is up)')
    .option('--json', 'print one JSON object')
    .action(async (opts: { stack?: string; json?: boolean }) => {
      await lab.checkMachine();
      const { audit, formatAudit } = await import('../lab/audit.ts');
      const report = await audit(pickStack(home(), opts.stack), home(), await lab.target(), opts.json ? undefined : (line) => io.stderr(`  ${line}\n`));
      io.stdout(opts.json ? JSON.stringify(report, null, 2) + '\n' : formatAudit(report));
      if (report.failures > 0) setExit(EXIT.findings);
    });

  cli
    .command('certs')
    .description("the certificate each load balancer serves (names, issuer, expiry, serial); --renew renews them from the lab's ACME CA and reloads HAProxy without a refused connection")
    .option('--stack <name>', 'which stack (may be left out while one stack is up)')
    .option('--renew', 'renew every certificate now, whatever its expiry')
    .option('--json', 'print JSON')
    .action(async (opts: { stack?: string; renew?: boolean; json?: boolean }) => {
      const { certificates, formatCertificates, renew } = await import('../lab/certs.ts');
      const stack = pickStack(home(), opts.stack);
      if (opts.renew) await lab.checkMachine();
      const certs = opts.renew ? await renew(stack, home(), await lab.target(), opts.json ? () => undefined : say) : await certificates(stack, home(), await lab.target());
      io.stdout(opts.json ? JSON.stringify(certs, null, 2) + '\n' : formatCertificates(certs));
    });

  cli
    .command('top')
    .description("each tier's and each host's requests per second, error ratio and p99 latency, from the stack's Prometheus, every two seconds (Ctrl-C to stop)")
    .option('--stack <name>', 'which stack (may be left out while one stack is up)')
    .option('-n, --iterations <count>', 'stop after this many screens', toInt)
    .action(async (opts: { stack?: string; iterations?: number }) => {
      const { formatTop, traffic, TOP_INTERVAL_MS } = await import('../lab/traffic.ts');
      const stack = pickStack(home(), opts.stack);
      const running = readState(home(), stack);
      if (!running || !supervisorAlive(running)) throw labError('not-running', `stack '${stack}' is not running.`);
      const target = await lab.target();
      const clear = process.stdout.isTTY ? '\x1b[H\x1b[2J' : '';
      for (let screen = 1; opts.iterations === undefined || screen <= opts.iterations; screen++) {
        const figures = await traffic(readSpecs(home(), stack) ?? [], target);
        io.stdout(`${clear}${formatTop(stack, figures, new Date())}\n`);
        if (screen !== opts.iterations) await new Promise((r) => setTimeout(r, TOP_INTERVAL_MS));
      }
    });

  cli
    .command('dashboard')
    .description("a web page for a running stack: its diagram coloured by each host's state, the traffic per tier and host, alerts and logs, and buttons to break hosts, heal them, partition, deploy and prove (Ctrl-C to stop)")
    .option('--stack <name>', 'which stack (may be left out while one stack is up)')
    .option('--port <port>', 'the port to listen on (default: a free one)', toInt, 0)
    .option('--listen <address>', 'the address to listen on; the page can break the stack, so loopback unless you mean it', '127.0.0.1')
    .option('--no-open', 'do not open a browser')
    .action(async (opts: { stack?: string; port: number; listen: string; open: boolean }) => {
      if (opts.port > 65535) throw new UsageError(`--port ${opts.port}: a port is at most 65535.`);
      const stack = pickStack(home(), opts.stack);
      const running = readState(home(), stack);
      if (!running || !supervisorAlive(running)) throw labError('not-running', `stack '${stack}' is not running.`);
      await lab.checkMachine();
      const { serveDashboard } = await import('../dashboard/serve.ts');
      const served = await serveDashboard({ home: home(), stack, target: await lab.target(), port: opts.port, address: opts.listen });
      io.stdout(`dashboard of ${stack}: ${served.url}\n  (the token in the address lets whoever has it break the stack; Ctrl-C stops the dashboard)\n`);
      if (opts.open && (process.env.DISPLAY || process.env.WAYLAND_DISPLAY)) spawn('xdg-open', [served.url], { detached: true, stdio: 'ignore' }).on('error', () => undefined).unref();
      await new Promise<void>((resolve) => {
        for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
      });
      await served.close();
    });

  cli
    .command('trace')
    .description("send one request from the client and show its path through the stack, step by step as the seeds' Request Flow tells it: the name, the connection, the load balancer's choice, the web server, the application and its database, the answer; each step with its evidence and why. Exits 1 when the request failed, saying where it stopped")
    .argument('[url]', "a URL of the stack (default: the site's front page)")
    .option('--stack <name>', 'which stack (may be left out while one stack is up)')
    .option('-X, --method <method>', 'the HTTP method (GET, or POST with --data)')
    .option('-d, --data <json>', 'a JSON body to send (POST unless --method says otherwise)')
    .option('--as-new-client', 'send no cookie, as a client the site has never seen (the default)')
    .option('--session <cookies>', "send these cookies, as the client that got them would (a trace of a write prints the ones it got: 'foobar_wrote=1')")
    .option('--json', 'print the trace as JSON')
    .action(async (url: string | undefined, opts: { stack?: string; method?: string; data?: string; asNewClient?: boolean; session?: string; json?: boolean }) => {
      const method = (opts.method ?? (opts.data !== undefined ? 'POST' : 'GET')).toUpperCase();
      if (!['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'].includes(method)) throw new UsageError(`--method '${opts.method}' is not an HTTP method trace sends; use GET, HEAD, POST, PUT, PATCH or DELETE.`);
      if (opts.asNewClient && opts.session !== undefined) throw new UsageError('--as-new-client sends no cookie and --session sends some: use one of them.');
      if (opts.data !== undefined) {
        try {
          JSON.parse(opts.data);
        } catch {
          throw new UsageError(`--data is not JSON: ${opts.data}`);
        }
      }
      const stack = pickStack(home(), opts.stack);
      await lab.checkMachine();
      const { trace } = await import('../lab/trace.ts');
      const { formatTrace } = await import('../trace/trace.ts');
      const result = await trace(home(), stack, { ...(url ? { url } : {}), method, ...(opts.data !== undefined ? { data: opts.data } : {}), ...(opts.session ? { session: opts.session } : {}) }, await lab.target());
      io.stdout(opts.json ? JSON.stringify(result, null, 2) + '\n' : formatTrace(result));
      if (!result.ok) setExit(EXIT.failed);
    });

  cli
    .command('alerts')
    .description("the alerts the stack's Alertmanagers sent, as the lab's receiver recorded them: what fires, what resolved, and when a person was told")
    .option('--stack <name>', 'which stack (may be left out while one stack is up)')
    .option('-f, --follow', 'print each notification as it arrives (Ctrl-C to stop)')
    .option('--json', 'print JSON (with --follow: one notification a line)')
    .action(async (opts: { stack?: string; follow?: boolean; json?: boolean }) => {
      const { alerts, followAlerts, formatArrival } = await import('../lab/alerts.ts');
      const stack = pickStack(home(), opts.stack);
      if (opts.follow) {
        const stop = new AbortController();
        process.once('SIGINT', () => stop.abort());
        await followAlerts(home(), stack, (r) => io.stdout(opts.json ? JSON.stringify(r) + '\n' : formatArrival(r).map((l) => l + '\n').join('')), stop.signal);
        return;
      }
      const { formatAlerts } = await import('../alerts/notifications.ts');
      const histories = alerts(home(), stack);
      io.stdout(opts.json ? JSON.stringify(histories, null, 2) + '\n' : formatAlerts(histories));
    });

  cli
    .command('fail')
    .description('break a host of a running stack: kill its processes, freeze them, or cut its links; or cut two groups of hosts off from each other')
    .argument('[host]', 'a host of the stack (for a partition: one side, or use --from)')
    .option('--how <how>', `kill (SIGKILL), freeze (SIGSTOP), cut (links down), restart (SIGTERM, started again by heal) or partition (with --to: the two sides drop each other's packets, both keep running)`, 'kill')
    .option('--from <hosts>', 'for a partition: one side, comma-separated (the host argument is one more)')
    .option('--to <hosts>', 'for a partition: the other side, comma-separated')
    .option('--stack <name>', 'which stack (may be left out while one stack is up)')
    .action(async (host: string | undefined, opts: { how: string; from?: string; to?: string; stack?: string }) => {
      if (!(FAULT_KINDS as readonly string[]).includes(opts.how)) throw new UsageError(`--how '${opts.how}' is not a way to fail; use one of: ${FAULT_KINDS.join(', ')}.`);
      const faults = await import('../lab/faults.ts');
      if (opts.how !== 'partition') {
        if (opts.from || opts.to) throw new UsageError(`--from and --to are for --how partition; --how ${opts.how} breaks one host: fail <host> --how ${opts.how}.`);
        if (!host) throw new UsageError('fail needs a host: fail <host> [--how kill|freeze|cut|restart].');
        await lab.checkMachine();
        await faults.fail(pickStack(home(), opts.stack), host, opts.how as FaultKind, { home: home(), target: await lab.target(), say });
        return;
      }
      const from = [...new Set([...(host ? [host] : []), ...commaList(opts.from)])];
      const to = [...new Set(commaList(opts.to))];
      const both = from.filter((h) => to.includes(h));
      if (from.length === 0 || to.length === 0) throw new UsageError('a partition has two sides: fail <host> --how partition --to <host,...> (or --from <host,...> --to <host,...>).');
      if (both.length > 0) throw new UsageError(`${both.join(', ')} cannot be on both sides of a partition; name each host on one side only.`);
      await lab.checkMachine();
      await faults.partition(pickStack(home(), opts.stack), from, to, { home: home(), target: await lab.target(), say });
    });

  cli
    .command('heal')
    .description('undo `fail`: restart what was killed, resume what was frozen, reconnect what was cut, mend a partition')
    .argument('<host>', 'a failed host of the stack (for a partition: any host of either side)')
    .option('--stack <name>', 'which stack (may be left out while one stack is up)')
    .action(async (host: string, opts: { stack?: string }) => {
      await lab.checkMachine();
      const { heal } = await import('../lab/faults.ts');
      await heal(pickStack(home(), opts.stack), host, { home: home(), target: await lab.target(), say });
    });

  cli
    .command('deploy')
    .description('roll a new version of the app (or a restart of a tier) over one host at a time: each drained at the load balancers or nginx, restarted, checked healthy and put back; a host that does not come back healthy is rolled back and the roll stops')
    .option('--stack <name>', 'which stack (may be left out while one stack is up)')
    .option('--tier <tier>', `which tier: ${DEPLOY_TIERS.join(' or ')} (web: a rolling restart of nginx)`, 'app')
    .option('--app <dir or command>', "the new version: a directory with its code (for the foobar app, a webstack tree), or a command (the foobar app's is given its config file); default: the code as it is now")
    .option('--version <label>', "what the new version is called (the app's X-App-Version); default: the directory's package.json version or name, or a timestamp")
    .option('--health-timeout <duration>', 'how long a restarted host may take to pass its health check before it is rolled back', '30s')
    .option('--drain-timeout <duration>', "how long to wait for a drained host's requests to finish before restarting it anyway", '30s')
    .option('--json', 'print what was deployed as JSON')
    .action(async (opts: { stack?: string; tier: string; app?: string; version?: string; healthTimeout: string; drainTimeout: string; json?: boolean }) => {
      if (!(DEPLOY_TIERS as readonly string[]).includes(opts.tier)) throw new UsageError(`--tier '${opts.tier}' is not a tier deploy rolls; use one of: ${DEPLOY_TIERS.join(', ')}.`);
      if (opts.tier === 'web' && (opts.app !== undefined || opts.version !== undefined)) throw new UsageError('--app and --version are for the app tier; --tier web restarts nginx on each web host in turn.');
      if (opts.version !== undefined && !/^[\w.+-]{1,64}$/.test(opts.version)) throw new UsageError(`--version '${opts.version}': use letters, digits and . _ + - (at most 64).`);
      const request = { tier: opts.tier as DeployTier, app: opts.app, version: opts.version, healthTimeoutMs: durationOption('--health-timeout', opts.healthTimeout), drainTimeoutMs: durationOption('--drain-timeout', opts.drainTimeout) };
      await lab.checkMachine();
      const { deploy } = await import('../lab/deploy.ts');
      const report = await deploy(pickStack(home(), opts.stack), request, { home: home(), target: await lab.target(), say: opts.json ? () => undefined : say, install });
      if (opts.json) io.stdout(JSON.stringify(report, null, 2) + '\n');
    });

  cli
    .command('promote')
    .description("make a replica the primary (failover: manual): with the primary alive, a switchover that loses nothing (the primary turns read-only, the replica catches up, takes writes, and the others follow it); with the primary dead, refused unless --force, saying how far behind the replica is")
    .argument('<replica>', 'the database replica to promote')
    .option('--stack <name>', 'which stack (may be left out while one stack is up)')
    .option('--force', 'promote although the primary does not answer: what the replica had not received is lost to the new primary')
    .option('--catch-up-timeout <duration>', "how long the replica may take to apply the primary's last transaction before the switchover is called off", '10s')
    .option('--json', 'print what was done as JSON')
    .action(async (replica: string, opts: { stack?: string; force?: boolean; catchUpTimeout: string; json?: boolean }) => {
      const request = { host: replica, force: Boolean(opts.force), catchUpTimeoutMs: durationOption('--catch-up-timeout', opts.catchUpTimeout) };
      await lab.checkMachine();
      const { promote } = await import('../lab/promote.ts');
      const report = await promote(pickStack(home(), opts.stack), request, { home: home(), target: await lab.target(), say: opts.json ? () => undefined : say, install });
      if (opts.json) io.stdout(JSON.stringify(report, null, 2) + '\n');
    });

  cli
    .command('prove')
    .description("break every host of a running stack in turn (kill, freeze, cut, restart, and a partition from the hosts that send it requests) under a steady workload of what users do, and hold what they saw against what `check` predicted; then look for every acknowledged write on every database server. Exits 1 on any disagreement, lost write or read-your-writes violation")
    .option('--stack <name>', 'which stack (may be left out while one stack is up)')
    .option('--only <hosts>', 'break only these hosts (comma-separated)')
    .option('--faults <kinds>', 'which faults, comma-separated: kill, freeze, cut, restart, partition', 'kill,freeze,cut,restart,partition')
    .option('--hold <duration>', 'how long each fault lasts before heal', '6s')
    .option('-r, --rate <n>', 'operations a second from the client, of every kind together', toInt, 100)
    .option('--seed <n>', 'shuffle the order of the faults by this seed (the same seed, the same order); host by host in the design\'s order without one', toInt)
    .option('--report <file.html>', 'also write a self-contained HTML report: the diagram, the verdict, the writes and a timeline per fault')
    .option('--json', 'print every figure as JSON')
    .action(async (opts: { stack?: string; only?: string; faults: string; hold: string; rate: number; seed?: number; report?: string; json?: boolean }) => {
      const { PROVE_FAULTS } = await import('../prove/verdict.ts');
      const faults = commaList(opts.faults);
      const unknown = faults.filter((f) => !(PROVE_FAULTS as readonly string[]).includes(f));
      if (faults.length === 0 || unknown.length > 0) throw new UsageError(`--faults '${opts.faults}': ${unknown.length ? `'${unknown.join("', '")}' is not a fault prove makes` : 'name at least one'}; use some of: ${PROVE_FAULTS.join(', ')}.`);
      if (opts.rate < 10 || opts.rate > 1000) throw new UsageError(`--rate ${opts.rate}: give 10 to 1000 operations a second.`);
      const holdMs = durationOption('--hold', opts.hold);
      if (opts.report && !existsSync(dirname(resolve(opts.report)))) throw new UsageError(`--report ${opts.report}: the directory ${dirname(resolve(opts.report))} does not exist.`);
      if (holdMs > 120_000) throw new UsageError(`--hold ${opts.hold}: at most 2m per fault.`);
      const request = { faults: faults as (typeof PROVE_FAULTS)[number][], holdMs, rate: opts.rate, ...(opts.only ? { only: commaList(opts.only) } : {}), ...(opts.seed !== undefined ? { seed: opts.seed } : {}) };
      await lab.checkMachine();
      const { prove } = await import('../lab/prove.ts');
      const { formatProve } = await import('../prove/format.ts');
      const report = await prove(pickStack(home(), opts.stack), request, { home: home(), target: await lab.target(), say: opts.json ? () => undefined : say, ...(opts.report ? { report: resolve(opts.report) } : {}) });
      io.stdout(opts.json ? JSON.stringify(report, null, 2) + '\n' : formatProve(report));
      if (!report.ok) setExit(EXIT.failed);
    });

  cli
    .command('load')
    .description('send N requests at R per second from a host of the stack (the client by default); prints status counts and latency percentiles')
    .argument('<url...>', 'one URL, or several on the same origin requested in turn (http://www.foobar.com/api/posts)')
    .option('-n, --requests <n>', 'how many requests', toInt, LOAD_DEFAULTS.requests)
    .option('-r, --rate <n>', 'requests per second, over all connections', toInt, LOAD_DEFAULTS.rate)
    .option('-c, --connections <n>', 'concurrent connections', toInt, LOAD_DEFAULTS.connections)
    .option('--timeout <seconds>', 'a request unanswered after this long has failed', toInt, LOAD_DEFAULTS.timeoutS)
    .option('--closed', 'a closed model: each connection sends its next request as soon as the last is answered, ignoring --rate (how much the stack can take)')
    .option('--writes', 'each request a POST of a new post, with its own idempotency key (the URL is where posts go: /api/posts)')
    .option('--from <host>', 'the host the load comes from', 'client')
    .option('--stack <name>', 'which stack (may be left out while one stack is up)')
    .option('--json', 'print one JSON object')
    .action(async (urls: string[], opts: { requests: number; rate: number; connections: number; timeout: number; closed?: boolean; writes?: boolean; from: string; stack?: string; json?: boolean }) => {
      const request = { urls, requests: opts.requests, rate: opts.rate, connections: opts.connections, timeoutS: opts.timeout, from: opts.from, ...(opts.closed ? { closed: true } : {}), ...(opts.writes ? { writes: true } : {}) };
      // Bad input is refused before anything else is looked at (exit 2).
      checkLoadInput(request);
      await lab.checkMachine();
      const stack = pickStack(home(), opts.stack);
      const { formatLoad } = await import('../load/format.ts');
      const result = await loadFrom(home(), stack, request, await lab.target());
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
      await lab.checkMachine();
      const stack = pickStack(home(), opts.stack);
      setExit(await passThrough((await lab.target()).inHost(hostRecord(home(), stack, host).host.namespace, command)));
    });

  cli
    .command('logs')
    .description("a host's daemon logs (all of its daemons unless one is named); or, from the monitoring hosts, one request's path (--request) or the whole stack's logs merged by time (--all)")
    .argument('[host]', 'a host of the stack')
    .argument('[daemon]', 'one of its daemons')
    .option('--stack <name>', 'which stack (may be left out while one stack is up)')
    .option('-f, --follow', 'keep printing as the log grows')
    .option('-n, --tail <lines>', 'only the last lines', (v) => Number(v))
    .option('--request <id>', 'the lines of one request (its X-Request-ID) at the load balancer, nginx and the app')
    .option('--all', "every host's access and app logs, merged by time")
    .option('--since <duration>', 'with --all: only the last 30s, 5m, 2h…', '10m')
    .option('--json', 'with --request or --all: print JSON')
    .action(async (host: string | undefined, daemon: string | undefined, opts: { stack?: string; follow?: boolean; tail?: number; request?: string; all?: boolean; since: string; json?: boolean }) => {
      const stack = pickStack(home(), opts.stack);
      if (opts.request !== undefined || opts.all) {
        if (host !== undefined) throw new UsageError('--request and --all read every host\'s logs from the monitoring hosts; leave out the host.');
        const since = durationOption('--since', opts.since);
        const { formatLogLine, stackLogs } = await import('../lab/logs.ts');
        const lines = stackLogs(home(), stack).filter((l) => (opts.request !== undefined ? l.message.includes(opts.request) : Date.parse(l.at) >= Date.now() - since));
        if (opts.json) return io.stdout(JSON.stringify(lines, null, 2) + '\n');
        if (lines.length === 0) return io.stderr(opts.request !== undefined ? `no line of ${stack}'s logs names request ${opts.request}\n` : `no log line in the last ${opts.since}\n`);
        return io.stdout(lines.map(formatLogLine).join('\n') + '\n');
      }
      if (host === undefined) throw new UsageError('name a host, or use --request <id> or --all.');
      const { daemons } = hostRecord(home(), stack, host).host;
      if (daemon !== undefined && !daemons.includes(daemon)) {
        throw labError('no-daemon', `host ${host} runs no daemon '${daemon}'; it runs: ${daemons.join(', ') || 'none'}.`, `npx webstack logs ${host}`);
      }
      const files = (daemon ? [daemon] : daemons).map((d) => daemonPaths(stackPaths(home(), stack), host, d).log).filter((f) => existsSync(f));
      if (files.length === 0) return io.stderr(`no logs yet for ${host}\n`);
      const args = [...(opts.follow ? ['-F'] : []), '-n', opts.tail !== undefined && Number.isInteger(opts.tail) ? String(opts.tail) : '+1', ...(files.length === 1 ? ['-q'] : ['-v']), ...files];
      setExit(await passThrough(['tail', ...args]));
    });
}

export function addPackagesCommand(cli: Command, io: Io): void {
  cli
    .command('packages')
    .description("the Debian packages the lab's daemons need, one a line (scripts/install.sh installs them)")
    .action(async () => io.stdout((await import('../daemons/registry.ts')).requiredPackages().join('\n') + '\n'));
}

/** 'a, b,,c' → ['a', 'b', 'c']; nothing for an option left out. */
function commaList(value: string | undefined): string[] {
  return (value ?? '').split(',').map((item) => item.trim()).filter(Boolean);
}

function durationOption(option: string, value: string): number {
  const ms = parseSince(value);
  if (ms === null || ms === 0) throw new UsageError(`${option} '${value}' is not a duration; use a number with s, m or h: 30s, 5m, 2h.`);
  return ms;
}

function toInt(value: string): number {
  if (!/^\d+$/.test(value)) throw new UsageError(`'${value}' is not a whole number.`);
  return Number(value);
}

/** Runs a command with this terminal's stdio and returns its exit status (128+n for a signal). */
function passThrough(argv: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit' });
    child.once('error', (error) => reject(labError('command-failed', `cannot run ${argv[0]}: ${error.message}`)));
    child.once('exit', (code, signal) => resolve(code ?? 128 + (signal === 'SIGKILL' ? 9 : 15)));
  });
}

