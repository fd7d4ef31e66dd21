import { createConnection } from 'node:net';
import { join } from 'node:path';
import type { Executor } from './executor.ts';
import type { Fault } from './faults.ts';
import { listStacks, readFaults, readState, readStatus, supervisorAlive, type StackState } from './state.ts';
import { daemonPaths, stackPaths } from './paths.ts';
import { LabError } from './preflight.ts';

// Status is data: computed from the stack's record, the supervisor's status file and the faults
// file, then printed as text or JSON. Only the live details ask the daemons themselves: each
// replica's lag (inside its namespace) and each HAProxy's view of its servers (its admin socket).

export interface ReplicationStatus {
  /** The address it replicates from. */
  readonly primary: string | null;
  readonly io: string;
  readonly sql: string;
  /** Seconds_Behind_Master: null while it is not replicating. */
  readonly lagSeconds: number | null;
  readonly error: string | null;
}

export interface StackStatus {
  readonly stack: string;
  readonly design: string;
  readonly phase: string;
  readonly hosts: readonly {
    readonly name: string;
    readonly roles: readonly string[];
    readonly addresses: Readonly<Record<string, string>>;
    readonly daemons: readonly { readonly name: string; readonly state: string; readonly pid: number | null; readonly restarts: number }[];
    /** Set while `fail` has it broken. */
    readonly fault: Fault | null;
    /** For a replica: how its replication is doing (filled in by withReplication). */
    replication?: ReplicationStatus | null;
    /** For a load balancer: its servers as HAProxy sees them (filled in by withBalancing). */
    balancing?: readonly BalancedServer[] | null;
  }[];
}

export interface BalancedServer {
  readonly backend: string;
  readonly server: string;
  /** HAProxy's word: UP, DOWN, 'UP 1/2' while going down, 'DOWN 1/2' while coming up, MAINT. */
  readonly status: string;
  /** The last health check's result, e.g. L7OK, L4CON (refused), L7TOUT (no answer). */
  readonly check: string;
}

export function stackStatus(home: string, stack: string): StackStatus {
  const state = readState(home, stack);
  if (!state) throw new LabError(`there is no stack named '${stack}'.`);
  const alive = supervisorAlive(state);
  const status = alive ? readStatus(stackPaths(home, stack).daemons) : null;
  const faults = alive ? readFaults(stackPaths(home, stack).faults) : {};
  return {
    stack,
    design: state.design,
    phase: alive ? (status?.phase ?? 'starting') : 'down (its supervisor is not running; `npx webstack down` cleans up, `up` starts it again)',
    hosts: state.hosts.map((h) => ({
      name: h.name,
      roles: h.roles,
      addresses: h.addresses,
      daemons: h.daemons.map((name) => {
        const d = status?.daemons.find((x) => x.host === h.name && x.daemon === name);
        return { name, state: d?.state ?? 'stopped', pid: d?.pid ?? null, restarts: d?.restarts ?? 0 };
      }),
      fault: faults[h.name] ?? null,
    })),
  };
}

/** Adds each running replica's replication state, asked of MariaDB over its socket. */
export async function withReplication(status: StackStatus, home: string, executor: Executor): Promise<StackStatus> {
  const state = readState(home, status.stack)!;
  for (const host of status.hosts) {
    const mariadb = host.daemons.find((d) => d.name === 'mariadb');
    if (!host.roles.includes('db-replica') || !mariadb) continue;
    if (mariadb.state !== 'ready' && mariadb.state !== 'unhealthy') {
      host.replication = null;
      continue;
    }
    const namespace = state.hosts.find((h) => h.name === host.name)!.namespace;
    const myCnf = join(daemonPaths(stackPaths(home, status.stack), host.name, 'mariadb').config, 'my.cnf');
    const result = await executor.run(['timeout', '3', 'ip', 'netns', 'exec', namespace, 'mariadb', `--defaults-file=${myCnf}`, '-e', 'SHOW SLAVE STATUS\\G'], { allowFailure: true });
    host.replication = parseSlaveStatus(result.stdout);
  }
  return status;
}

/** Adds each running load balancer's view of its servers, asked of HAProxy on its admin socket. */
export async function withBalancing(status: StackStatus, home: string): Promise<StackStatus> {
  for (const host of status.hosts) {
    const haproxy = host.daemons.find((d) => d.name === 'haproxy');
    if (!haproxy) continue;
    const socket = join(daemonPaths(stackPaths(home, status.stack), host.name, 'haproxy').run, 'admin.sock');
    const csv = haproxy.state === 'ready' || haproxy.state === 'unhealthy' ? await askSocket(socket, 'show stat\n').catch(() => null) : null;
    host.balancing = csv === null ? null : parseHaproxyStats(csv);
  }
  return status;
}

/** The server rows of HAProxy's CSV statistics (`show stat`, or the stats page's `;csv`). */
export function parseHaproxyStats(csv: string): BalancedServer[] {
  const [head, ...rows] = csv.trim().split('\n');
  const columns = (head ?? '').replace(/^# /, '').split(',');
  const at = (fields: string[], name: string) => fields[columns.indexOf(name)] ?? '';
  return rows
    .map((row) => row.split(','))
    .filter((fields) => !['FRONTEND', 'BACKEND'].includes(at(fields, 'svname')) && at(fields, 'pxname') !== '')
    .map((fields) => ({ backend: at(fields, 'pxname'), server: at(fields, 'svname'), status: at(fields, 'status'), check: at(fields, 'check_status').replace(/^\* ?/, '') }));
}

/** One command on a Unix socket (HAProxy's admin socket: it answers and closes). */
function askSocket(path: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let answer = '';
    socket.setTimeout(2_000, () => socket.destroy(new Error(`no answer on ${path}`)));
    socket.on('connect', () => socket.write(command));
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}

/** The fields of `SHOW SLAVE STATUS\G` that say whether a replica keeps up. */
export function parseSlaveStatus(text: string): ReplicationStatus | null {
  const fields = new Map(
    text
      .split('\n')
      .map((line) => /^\s*(\w+): ?(.*)$/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1]!, m[2]!.trim()]),
  );
  if (!fields.has('Slave_IO_Running')) return null;
  const lag = fields.get('Seconds_Behind_Master');
  const error = [fields.get('Last_IO_Error'), fields.get('Last_SQL_Error')].filter(Boolean).join('; ');
  return {
    primary: fields.get('Master_Host') || null,
    io: fields.get('Slave_IO_Running')!,
    sql: fields.get('Slave_SQL_Running') ?? 'No',
    lagSeconds: lag === undefined || lag === 'NULL' || lag === '' ? null : Number(lag),
    error: error || null,
  };
}

export function formatStatus(s: StackStatus): string {
  const rows = s.hosts.map((h) => [
    h.name,
    Object.entries(h.addresses).map(([n, a]) => `${a} (${n})`).join(', '),
    h.roles.join(', ') || '-',
    (h.fault ? `FAILED (${h.fault.how}, since ${h.fault.since}); ` : '') + (h.daemons.map((d) => `${d.name}: ${d.state}${d.restarts ? ` (${d.restarts} restarts)` : ''}`).join(', ') || '-'),
  ]);
  const header = ['HOST', 'ADDRESSES', 'ROLES', 'DAEMONS'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  const replication = s.hosts
    .filter((h) => h.replication !== undefined)
    .map((h) => `  ${h.name}: ${describeReplication(h.replication!)}`);
  const balancing = s.hosts
    .filter((h) => h.balancing !== undefined)
    .map((h) => `  ${h.name}: ${h.balancing ? h.balancing.map((b) => `${b.server} ${b.status}${b.check ? ` (${b.check})` : ''}`).join(', ') : 'not known (HAProxy is not running)'}`);
  const section = (title: string, lines: string[]) => (lines.length ? `${title}:\n${lines.join('\n')}\n` : '');
  return `${s.stack} (${s.design}): ${s.phase}\n${[header, ...rows].map(line).join('\n')}\n${section('balancing', balancing)}${section('replication', replication)}`;
}

function describeReplication(r: ReplicationStatus | null): string {
  if (!r) return 'not known (its database is not running)';
  const running = r.io === 'Yes' && r.sql === 'Yes';
  const state = running ? 'running' : `I/O thread ${r.io}, SQL thread ${r.sql}`;
  return `from ${r.primary ?? '?'}, ${state}, ${r.lagSeconds === null ? 'lag unknown' : `${r.lagSeconds} s behind`}${r.error ? ` (${r.error})` : ''}`;
}

/** `--stack` may be left out while exactly one stack exists. */
export function pickStack(home: string, requested: string | undefined): string {
  const stacks = listStacks(home);
  if (requested) {
    if (!stacks.includes(requested)) throw new LabError(`there is no stack named '${requested}'${stacks.length ? `; stacks: ${stacks.join(', ')}` : '; no stack is up (npx webstack up <design>)'}.`);
    return requested;
  }
  if (stacks.length === 1) return stacks[0]!;
  if (stacks.length === 0) throw new LabError('no stack is up; start one with `npx webstack up <design>`.');
  throw new LabError(`${stacks.length} stacks are up (${stacks.join(', ')}); say which with --stack <name>.`);
}

export function namespaceOfHost(home: string, stack: string, host: string): string {
  return hostOf(home, stack, host).host.namespace;
}

/** A host of a stack, from its record; the stack's supervisor must be running. */
export function runningHost(home: string, stack: string, host: string): { state: StackState; host: StackState['hosts'][number] } {
  const found = hostOf(home, stack, host);
  if (!supervisorAlive(found.state)) throw new LabError(`stack '${stack}' is not running; start it with \`npx webstack up\`.`);
  return found;
}

function hostOf(home: string, stack: string, host: string): { state: StackState; host: StackState['hosts'][number] } {
  const state = readState(home, stack);
  if (!state) throw new LabError(`there is no stack named '${stack}'.`);
  const found = state.hosts.find((h) => h.name === host);
  if (!found) throw new LabError(`stack '${stack}' has no host '${host}'; its hosts: ${state.hosts.map((h) => h.name).join(', ')}.`);
  return { state, host: found };
}
