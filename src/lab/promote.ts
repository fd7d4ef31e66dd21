import { PRIMARY_ROLE_SQL, mariadbDataDir } from '../daemons/mariadb.ts';
import type { Install } from '../daemons/types.ts';
import { UsageError } from '../design/problems.ts';
import { primaryOf, promotionProblem, withPrimary } from '../design/promote.ts';
import { daemonPaths, stackPaths } from '../plan/paths.ts';
import { labError } from './errors.ts';
import { readFaults, readPromotion, readRunningDesign, runningHost, writeJsonAtomic } from './state.ts';
import type { Target } from './target.ts';
import { sqlOn, type Sql } from './sql.ts';
import { reapply } from './up.ts';

// `promote`: a replica becomes the primary of a primary/replica design (failover: manual), and
// the others follow it. With the primary alive, a switchover that loses nothing: the primary turns
// read-only, the replica applies everything the primary logged (MASTER_GTID_WAIT), stops
// replicating and takes writes; the apps find it by themselves (store-mariadb.ts), so writes pause
// for that long and none is refused if it is short. Then the new roles are recorded (with the
// data, so a later `up` keeps them) and applied: the old primary and the other replicas follow the
// new primary from their GTID position, by their role script, with no server restarted.
// With the primary dead, promoting loses what the replica had not received: it is refused unless
// forced, and either way says how far behind the replica was, from the dead primary's binary log.

export interface PromoteRequest {
  readonly host: string;
  /** Promote although the primary does not answer. */
  readonly force: boolean;
  /** How long the replica may take to apply what the primary logged before the switchover is called off. */
  readonly catchUpTimeoutMs?: number;
}

export interface PromoteOptions {
  readonly home: string;
  readonly target: Target;
  readonly say: (line: string) => void;
  readonly install: Install;
}

export interface PromoteReport {
  readonly from: string;
  readonly to: string;
  /** A switchover with the primary alive; false for a forced promotion. */
  readonly planned: boolean;
  /** From the old primary turning read-only to the new one taking writes (a switchover). */
  readonly writesPausedMs: number | null;
  /** Transactions in the old primary's binary log that the new primary never received; null when unknown. */
  readonly lost: number | null;
  /** The new primary's GTID position when it began to take writes. */
  readonly position: string;
}

const DEFAULT_CATCH_UP_TIMEOUT_MS = 10_000;
/** How long the old primary may take to answer before it counts as dead. */
const ALIVE_TIMEOUT_MS = 3_000;

export async function promote(stack: string, request: PromoteRequest, options: PromoteOptions): Promise<PromoteReport> {
  const { home, target, say } = options;
  const { host } = request;
  const { state } = runningHost(home, stack, host);
  const running = readRunningDesign(home, stack);
  if (!running) throw labError('no-stack', `there is no stack named '${stack}'.`);
  const design = withPrimary(running.design, readPromotion(home, stack));
  const problem = promotionProblem(design, host);
  if (problem) throw new UsageError(`cannot promote ${host}: ${problem}.`);
  const primary = primaryOf(design)!;
  const paths = stackPaths(home, stack);
  const faults = readFaults(paths.faults);
  if (faults[host]) throw labError('host-failed', `${host} is failed on purpose (${faults[host]!.how}); a replica that is down cannot be promoted.`, `npx webstack heal ${host} --stack ${stack}`);

  const namespaceOf = (name: string) => state.hosts.find((h) => h.name === name)!.namespace;
  const sql = sqlOn(home, state, target);
  const must = async (name: string, statements: string, timeoutMs?: number): Promise<string> => {
    const { ok, out } = await sql(name, statements, timeoutMs);
    if (!ok) throw labError('command-failed', `${name}'s MariaDB refused \`${statements}\`: ${out}`, `npx webstack logs ${name} mariadb --stack ${stack}`);
    return out;
  };

  const alive = faults[primary] ? { ok: false, out: `failed on purpose (${faults[primary]!.how})` } : await sql(primary, 'SELECT 1', ALIVE_TIMEOUT_MS);
  let writesPausedMs: number | null = null;
  let lost: number | null = 0;
  if (alive.ok) {
    const timeoutMs = request.catchUpTimeoutMs ?? DEFAULT_CATCH_UP_TIMEOUT_MS;
    say(`${stack}: switching the primary over from ${primary} to ${host}`);
    const started = Date.now();
    const logged = gtidList(await must(primary, 'SET GLOBAL read_only = ON; SELECT @@global.gtid_binlog_pos'));
    try {
      if (logged) {
        const caughtUp = await sql(host, `SELECT MASTER_GTID_WAIT('${logged}', ${timeoutMs / 1000})`, timeoutMs + 5_000);
        if (caughtUp.out !== '0') {
          throw labError(
            'replica-behind',
            `${host} did not apply ${primary}'s last transaction (${logged}) within ${timeoutMs / 1000} s${caughtUp.ok ? '' : ` (${caughtUp.out})`}; the switchover was called off, and ${primary} takes writes again.`,
            `npx webstack status --stack ${stack} shows how far behind ${host} is; promote it again when it keeps up (--catch-up-timeout gives it longer)`,
          );
        }
      }
      await must(host, PRIMARY_ROLE_SQL.join(' '));
    } catch (error) {
      // Called off before the replica took writes: the primary takes them again, as before.
      await must(primary, 'SET GLOBAL read_only = OFF');
      throw error;
    }
    writesPausedMs = Date.now() - started;
    say(`  ✓ ${primary} turned read-only at ${logged || 'its first transaction'}; ${host} applied all of it and takes writes (writes paused ${writesPausedMs} ms)`);
  } else {
    const behind = await howFarBehind(primary, host, { sql, target, namespace: namespaceOf(primary), dataDir: mariadbDataDir(daemonPaths(paths, primary, 'mariadb')) });
    if (!request.force) {
      throw labError(
        'primary-down',
        `${primary}, the primary, does not answer (${alive.out}). ${behind.text} ${
          behind.lost === 0
            ? `Promoting ${host} loses nothing now; --force says that ${primary} is gone rather than slow (once healed, it follows ${host}).`
            : `Promoted now, ${host} would take writes without ${behind.lost === null ? 'what it did not receive' : 'them'}; heal ${primary} first for a switchover that loses nothing.`
        }`,
        `npx webstack promote ${host} --stack ${stack} --force`,
      );
    }
    say(`${stack}: promoting ${host} although ${primary}, the primary, does not answer (${alive.out})`);
    say(`  ${behind.text}`);
    // What it received is applied before it takes writes of its own.
    if (behind.received) await sql(host, `SELECT MASTER_GTID_WAIT('${behind.received}', 30)`, 35_000);
    await must(host, PRIMARY_ROLE_SQL.join(' '));
    lost = behind.lost;
    say(`  ✓ ${host} takes writes`);
  }
  const position = await must(host, 'SELECT @@global.gtid_current_pos');

  // Recorded at once: the servers' roles have changed, whatever happens next.
  const promoted = primaryOf(running.design) === host ? null : host;
  writeJsonAtomic(paths.promotion, { primary: promoted, from: primary, at: new Date().toISOString(), position });
  const changes = await reapply(stack, running, { promoted }, options);
  // A failed host takes its new role when it is healed (the supervisor holds the change until then).
  const waiting = changes.filter((c) => c.endsWith('at heal')).map((c) => c.split('/')[0]!);
  const followers = [primary, ...design.hosts.filter((h) => h.roles.includes('db-replica') && h.name !== host).map((h) => h.name)];
  const following = followers.filter((f) => !waiting.includes(f));
  if (following.length > 0) say(`  ✓ ${following.join(', ')} replicate${following.length === 1 ? 's' : ''} from ${host}`);
  if (waiting.length > 0) say(`  ! ${waiting.join(', ')} will replicate from ${host} once healed`);
  say(`${stack}: ${host} is the primary.`);
  return { from: primary, to: host, planned: alive.ok, writesPausedMs, lost, position };
}

/** A GTID list as MariaDB prints it (`0-1-42,1-2-7`), checked so that it can go into a statement; '' for none. */
function gtidList(text: string): string {
  const list = text.trim();
  if (list !== '' && !/^\d+-\d+-\d+(,\d+-\d+-\d+)*$/.test(list)) throw new Error(`not a GTID list: ${list}`);
  return list;
}

/** The last sequence number of each replication domain in a GTID list. */
export function parseGtids(list: string): Map<number, number> {
  const byDomain = new Map<number, number>();
  for (const gtid of list.split(',').map((g) => g.trim()).filter(Boolean)) {
    const [domain, , seq] = gtid.split('-').map(Number);
    byDomain.set(domain!, Math.max(seq!, byDomain.get(domain!) ?? 0));
  }
  return byDomain;
}

/** How many transactions `ahead` has that `behind` does not, domain by domain. */
export function transactionsBehind(ahead: string, behind: string): number {
  const theirs = parseGtids(behind);
  let count = 0;
  for (const [domain, seq] of parseGtids(ahead)) count += Math.max(0, seq - (theirs.get(domain) ?? 0));
  return count;
}

interface Behind {
  /** What the replica received (Gtid_IO_Pos), '' when nothing. */
  readonly received: string;
  /** Transactions the primary logged that the replica never received; null when its log cannot be read. */
  readonly lost: number | null;
  readonly text: string;
}

/**
 * How far the replica is behind a primary that does not answer: what it received and applied,
 * against the last transaction in the primary's binary log, read from its data directory.
 */
async function howFarBehind(
  primary: string,
  replica: string,
  context: { sql: Sql; target: Target; namespace: string; dataDir: string },
): Promise<Behind> {
  const status = await context.sql(replica, 'SHOW SLAVE STATUS\\G');
  const field = (name: string) => new RegExp(`^\\s*${name}: (.*)$`, 'm').exec(status.out)?.[1]?.trim() ?? '';
  const received = gtidList(field('Gtid_IO_Pos'));
  const applied = gtidList((await context.sql(replica, 'SELECT @@global.gtid_slave_pos')).out);
  const script = `last=$(tail -n 1 '${context.dataDir}/binlog.index' 2>/dev/null) || exit 0; mariadb-binlog '${context.dataDir}'/"$(basename "$last")" 2>/dev/null | grep -oE 'GTID [0-9]+-[0-9]+-[0-9]+' | tail -n 1 | cut -d' ' -f2`;
  const read = await context.target.run(context.namespace, ['bash', '-c', script], { allowFailure: true, timeoutMs: 10_000 });
  const logged = read.exitCode === 0 ? gtidList(read.stdout) : '';
  const unapplied = transactionsBehind(received, applied);
  const appliedText = unapplied === 0 ? 'and applied all of it' : `and had yet to apply ${unapplied} of them`;
  if (!logged) {
    return { received, lost: null, text: `${replica} received ${primary}'s transactions up to ${received || 'none'} ${appliedText}; ${primary}'s binary log cannot be read, so what it logged after that is unknown.` };
  }
  const lost = transactionsBehind(logged, received);
  return {
    received,
    lost,
    text:
      lost === 0
        ? `${replica} had received every transaction in ${primary}'s binary log (up to ${logged}) ${appliedText}: nothing is lost.`
        : `${replica} is ${lost} transaction${lost === 1 ? '' : 's'} behind: ${primary}'s binary log goes to ${logged}, ${replica} received up to ${received || 'none'} ${appliedText}. Those ${lost} stay only in ${primary}'s data, which then disagrees with the new primary's and must be copied afresh.`,
  };
}
