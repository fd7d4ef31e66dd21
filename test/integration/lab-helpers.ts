import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadFrom } from '../../src/lab/load.ts';
import { readFaults } from '../../src/lab/state.ts';
import { stackPaths } from '../../src/plan/paths.ts';
import { namespaceTarget } from '../../src/lab/target.ts';
import type { LoadResult } from '../../src/load/shape.ts';
import { chromium, repoRoot } from '../helpers.ts';

// Helpers for tests that run real stacks: root, real namespaces and daemons. Every test uses its
// own stack name and removes it in `finally`.

export const canRunLab = process.platform === 'linux' && process.getuid?.() === 0;
export const SKIP_LAB = canRunLab ? false : 'needs root on Linux (network namespaces)';

export const home = process.env.WEBSTACK_HOME || '/var/lib/webstack';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The real CLI, as a user runs it. */
export function webstack(...args: string[]): Run {
  const result = spawnSync(process.execPath, [join(repoRoot, 'bin/webstack.js'), ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 400_000 });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** Runs a command inside a host of a stack (the `client` is the internet user). */
export function inHost(stack: string, host: string, ...command: string[]): Run {
  return webstack('exec', host, '--stack', stack, '--', ...command);
}

export function namespacesOf(stack: string): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith(`${stack}-`));
}

export function linksOf(stack: string): string[] {
  const links = JSON.parse(execFileSync('ip', ['-j', 'link', 'show'], { encoding: 'utf8' })) as { ifname: string; ifalias?: string }[];
  return links.filter((l) => l.ifalias === `webstack:${stack}`).map((l) => l.ifname);
}

/** Every process inside the stack's namespaces, plus its supervisor. */
export function processesOf(stack: string): number[] {
  const pids = namespacesOf(stack).flatMap((ns) => execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split(/\s+/).filter(Boolean).map(Number));
  const stateFile = join(home, stack, 'state.json');
  const supervisor = existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')).supervisor?.pid as number | undefined) : undefined;
  return [...pids, ...(supervisor ? [supervisor] : [])];
}

export function alive(pid: number): boolean {
  return existsSync(`/proc/${pid}`);
}

/** Teardown for `finally`: never throws, whatever state the stack is in. */
export function removeStack(stack: string): void {
  if (existsSync(join(home, stack))) webstack('down', stack, '--volumes');
}

/**
 * When `fail` made a host's fault, as it recorded it: read from its record, not asked of `status`,
 * whose look at every daemon would take the CPU a failover being measured needs.
 */
export function faultSince(stack: string, host: string): number {
  const fault = readFaults(stackPaths(home, stack).faults)[host];
  if (!fault) throw new Error(`${host} of ${stack} has no fault recorded`);
  return Date.parse(fault.since);
}

export function expectOk(run: Run, what: string): Run {
  if (run.code !== 0) throw new Error(`${what} exited with ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  return run;
}

/** Prometheus' view of its targets, asked inside its host: job, host and health of each. */
export async function prometheusTargets(stack: string, host: string, address: string): Promise<PrometheusTarget[]> {
  const { stdout } = expectOk(inHost(stack, host, 'curl', '-s', `http://${address}:9090/api/v1/targets`), `${host} prometheus targets`);
  const data = JSON.parse(stdout) as { data: { activeTargets: { labels: { job: string; host?: string; instance: string }; health: string }[] } };
  return data.data.activeTargets.map((t) => ({ job: t.labels.job, host: t.labels.host, instance: t.labels.instance, health: t.health }));
}

/** A scrape target: `host` for the stack's daemons, `instance` for the uptime probe's URL and DNS server. */
export interface PrometheusTarget {
  job: string;
  host?: string;
  instance: string;
  health: string;
}

/** A PromQL query to a Prometheus, asked inside its host: each series' labels and value. */
export function prometheusQuery(stack: string, host: string, address: string, query: string): { metric: Record<string, string>; value: number }[] {
  const { stdout } = expectOk(inHost(stack, host, 'curl', '-s', `http://${address}:9090/api/v1/query`, '--data-urlencode', `query=${query}`), `${host} query ${query}`);
  const data = JSON.parse(stdout) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  return data.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
}

/** Waits until every target of a Prometheus is up (a scrape every 5 s), and returns them. */
export async function everyTargetUp(stack: string, host: string, address: string, withinMs = 30_000): Promise<PrometheusTarget[]> {
  const started = Date.now();
  for (;;) {
    const targets = await prometheusTargets(stack, host, address);
    if (targets.length > 0 && targets.every((t) => t.health === 'up')) return targets;
    if (Date.now() - started > withinMs) throw new Error(`not every target of ${host}'s Prometheus is up: ${JSON.stringify(targets.filter((t) => t.health !== 'up'))}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** One alert's story, as `webstack alerts --json` gives it. */
export interface AlertStory {
  name: string;
  status: 'firing' | 'resolved';
  subject: string;
  labels: Record<string, string>;
  notifiedAt: string;
  resolvedAt: string | null;
  via: string;
  firingNotifications: number;
}

export function alertStories(stack: string): AlertStory[] {
  return JSON.parse(expectOk(webstack('alerts', '--stack', stack, '--json'), 'alerts').stdout) as AlertStory[];
}

/** Polls `check` every 500 ms until it returns a value, and returns that; fails after `withinMs`, saying what it waited for. */
export async function waitFor<T>(what: string, check: () => T | undefined, withinMs: number, context: () => string = () => ''): Promise<T> {
  const started = Date.now();
  for (;;) {
    const found = check();
    if (found !== undefined) return found;
    if (Date.now() - started > withinMs) throw new Error(`no ${what} within ${withinMs} ms${context()}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Waits until the receiver has recorded an alert that `wanted` accepts, and returns it. */
export function alertArrives(stack: string, what: string, wanted: (a: AlertStory) => boolean, withinMs = 60_000): Promise<AlertStory> {
  return waitFor(what, () => alertStories(stack).find(wanted), withinMs, () => `; the receiver has: ${JSON.stringify(alertStories(stack).map((a) => `${a.status} ${a.name} ${a.subject}`))}`);
}

/**
 * Constant reads of `url` from the client, 150 a second for `seconds`, while `meanwhile` breaks or
 * changes the stack (it starts after a quiet second and a half): what the users saw.
 */
export async function whileReading(stack: string, url: string, seconds: number, meanwhile: () => Promise<void>): Promise<LoadResult> {
  const rate = 150;
  const load = loadFrom(home, stack, { from: 'client', urls: [url], requests: seconds * rate, rate, connections: 20, timeoutS: 10 }, namespaceTarget);
  try {
    await sleep(1500);
    await meanwhile();
  } finally {
    await load.catch(() => undefined);
  }
  return load;
}

/** Each host killed in turn, left dead for `holdMs`, then healed: "losing any one of them", one after another. */
export async function killInTurn(stack: string, hosts: readonly string[], holdMs = 3000): Promise<void> {
  for (const host of hosts) {
    try {
      expectOk(webstack('fail', host, '--stack', stack), `fail ${host}`);
      await sleep(holdMs);
      expectOk(webstack('heal', host, '--stack', stack), `heal ${host}`);
    } finally {
      webstack('heal', host, '--stack', stack);
    }
  }
}

/** One keyed write from the client: its key, when it was sent (ms), the HTTP status ('000' for none) and how long it took (ms). */
export interface KeyedWrite {
  readonly key: string;
  readonly sentAt: number;
  readonly status: string;
  readonly tookMs: number;
}

/**
 * `count` writes from the client, one after another 50 ms apart, each with its own idempotency key
 * (w-<i>-<run>), while `meanwhile` breaks the stack (it starts after a quiet second and a half).
 */
export async function whileWriting(stack: string, url: string, count: number, run: string, meanwhile: () => Promise<void>): Promise<KeyedWrite[]> {
  const script = `for i in $(seq 1 ${count}); do k=w-$i-${run}; s=$(date +%s%3N); r=$(curl -s -o /dev/null -w "%{http_code} %{time_total}" --max-time 10 -H 'content-type: application/json' -H "idempotency-key: $k" -d "{\\"author\\":\\"it\\",\\"body\\":\\"write $i\\"}" ${url}); echo "$k $s $r"; sleep 0.05; done`;
  const writer = spawn(process.execPath, [join(repoRoot, 'bin/webstack.js'), 'exec', 'client', '--stack', stack, '--', 'bash', '-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let said = '';
  writer.stdout.on('data', (chunk: Buffer) => (said += chunk.toString()));
  const done = new Promise((resolve) => writer.on('exit', resolve));
  try {
    await sleep(1500);
    await meanwhile();
  } finally {
    await done;
  }
  return said
    .trim()
    .split('\n')
    .map((line) => {
      const [key, sentAt, status, seconds] = line.split(' ');
      return { key: key!, sentAt: Number(sentAt), status: status!, tookMs: Math.round(Number(seconds) * 1000) };
    });
}

/** The same write again, with its key, as a client that was told its outcome is unknown: the status. */
export function writeAgain(stack: string, url: string, key: string): string {
  const body = JSON.stringify({ author: 'it', body: `write ${key.split('-')[1]}` });
  return expectOk(inHost(stack, 'client', 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '-H', 'content-type: application/json', '-H', `idempotency-key: ${key}`, '-d', body, url), `write ${key} again`).stdout;
}

/** The idempotency keys of the posts a database server holds, among those LIKE `pattern`: a key stored twice is listed twice. */
export function storedKeys(stack: string, host: string, pattern: string): string[] {
  const socket = join(home, stack, 'run', host, 'mariadb', 'mysqld.sock');
  const { stdout } = expectOk(inHost(stack, host, 'mariadb', '-S', socket, '-N', '-e', `SELECT idempotency_key FROM foobar.posts WHERE idempotency_key LIKE '${pattern}'`), `the keys ${host} holds`);
  return stdout.split('\n').filter(Boolean);
}

/**
 * `webstack dashboard` on a stack, with Debian's Chromium open on its page (the token's address,
 * so the cookie is set), for `use`; the browser and the dashboard are stopped afterwards, whatever
 * happened. `shots` names the screenshots left in test/output.
 */
export async function withDashboard(stack: string, use: (page: import('playwright-core').Page, url: string, shot: (name: string) => Promise<void>) => Promise<void>): Promise<void> {
  const { chromium: browserType } = await import('playwright-core');
  const dashboard = spawn(process.execPath, [join(repoRoot, 'bin/webstack.js'), 'dashboard', '--stack', stack, '--no-open'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let said = '';
  dashboard.stderr.on('data', (chunk: Buffer) => (said += chunk.toString()));
  const exited = new Promise<void>((resolve) => dashboard.once('exit', () => resolve()));
  const browser = await browserType.launch({ executablePath: chromium()!, args: ['--no-sandbox'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      dashboard.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const found = out.match(/(http:\/\/\S+\?token=\S+)/);
        if (found) resolve(found[1]!);
      });
      void exited.then(() => reject(new Error(`the dashboard stopped: ${said}`)));
    });
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(url);
    mkdirSync(join(repoRoot, 'test', 'output'), { recursive: true });
    const shot = async (name: string) => void (await page.screenshot({ path: join(repoRoot, 'test', 'output', `dashboard-${name}.png`), fullPage: true }));
    try {
      await use(page, url, shot);
    } catch (error) {
      // What the page showed when it went wrong, for whoever reads the failure.
      await shot(`${stack}-failed`).catch(() => undefined);
      throw error;
    }
  } finally {
    await browser.close();
    dashboard.kill('SIGTERM');
    await exited;
  }
}

/** Until `check` holds, looking every 50 ms (what a page shows): how long it took. */
export async function until(what: string, withinMs: number, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > withinMs) throw new Error(`${what} did not happen within ${withinMs} ms`);
    await sleep(50);
  }
  return Date.now() - started;
}
