import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { chooseWriter } from '../../src/app/store-mariadb.ts';
import { loadDesign } from '../../src/design/load.ts';
import { UsageError } from '../../src/design/problems.ts';
import { primaryOf, promotionProblem, withPrimary } from '../../src/design/promote.ts';
import type { ResolvedStack } from '../../src/design/types.ts';
import { down } from '../../src/lab/down.ts';
import { LabError } from '../../src/lab/errors.ts';
import { fail, heal } from '../../src/lab/faults.ts';
import { parseGtids, promote, transactionsBehind } from '../../src/lab/promote.ts';
import { RecordingTarget, type Answer } from '../../src/lab/recording-target.ts';
import { listStacks, readPromotion } from '../../src/lab/state.ts';
import { changeOf } from '../../src/lab/supervisor-types.ts';
import { up } from '../../src/lab/up.ts';
import { planLab } from '../../src/plan/plan.ts';
import { FIXED } from '../helpers.ts';

// `promote`: the design with its roles swapped (pure), the plan that restarts nothing, the app's
// choice of the writable server, and the switchover's steps against the recording target.

const distributed = async (): Promise<ResolvedStack> => (await loadDesign('distributed')).stack;
const flowsOf = (design: ResolvedStack, purpose: string) => design.flows.filter((f) => f.purpose === purpose).map((f) => `${f.from}>${f.to}`).sort();

describe('a promoted replica, in the design', () => {
  test('is the primary: the old primary replicates from it and the apps write to it', async () => {
    const design = await distributed();
    const promoted = withPrimary(design, 'server-02');
    assert.equal(primaryOf(promoted), 'server-02');
    assert.deepEqual(promoted.hosts.find((h) => h.name === 'server-01')!.roles, ['web', 'app', 'db-replica']);
    assert.deepEqual(flowsOf(design, 'replication'), ['server-02>server-01']);
    assert.deepEqual(flowsOf(promoted, 'replication'), ['server-01>server-02']);
    assert.deepEqual(flowsOf(promoted, 'sql-write'), ['server-01>server-02', 'server-02>server-02']);
    assert.deepEqual(withPrimary(promoted, 'server-01'), design, 'promoting the old primary back gives the design again');
    assert.equal(withPrimary(design, null), design);
  });

  test('must be a replica of a primary/replica design, else the reason is given', async () => {
    const design = await distributed();
    assert.equal(promotionProblem(design, 'server-01'), 'server-01 is the primary already');
    assert.match(promotionProblem(design, 'lb-01')!, /lb-01 is no database replica \(roles: lb\); the replicas are server-02/);
    assert.match(promotionProblem(design, 'db-09')!, /there is no host 'db-09'; the database servers are server-01, server-02/);
    assert.match(promotionProblem((await loadDesign('ha')).stack, 'db-02')!, /Galera cluster: every member takes writes/);
  });
});

describe('the plan of a promoted stack', () => {
  test("reloads the servers' role scripts only, and leaves every other daemon, the apps included, as it was", async () => {
    const design = await distributed();
    const before = planLab(design, FIXED);
    const after = planLab(design, { ...FIXED, promoted: 'server-02' });
    const changed = after.daemons.filter((d) => JSON.stringify(d) !== JSON.stringify(before.daemons.find((b) => b.host === d.host && b.daemon === d.daemon)));
    assert.deepEqual(changed.map((d) => `${d.host}/${d.daemon} ${changeOf(before.daemons.find((b) => b.host === d.host && b.daemon === d.daemon)!, d)}`), ['server-01/mariadb reload', 'server-02/mariadb reload']);
    const roleOf = (plan: typeof before, host: string) => plan.daemons.find((d) => d.host === host && d.daemon === 'mariadb')!.files.find((f) => f.path.endsWith('/role.sql'))!.content;
    assert.match(roleOf(after, 'server-01'), /CHANGE MASTER TO MASTER_HOST = '10\.71\.32\.12'.*MASTER_USE_GTID = current_pos/);
    assert.match(roleOf(after, 'server-02'), /RESET SLAVE ALL;\nSET GLOBAL read_only = OFF;/);
    assert.notEqual(after.fingerprint, before.fingerprint);
  });

  test('is refused, saying what to do, when the design no longer has the promoted replica', async () => {
    const design = await distributed();
    const shrunk = { ...design, hosts: design.hosts.map((h) => (h.name === 'server-02' ? { ...h, roles: ['web' as const, 'app' as const] } : h)) };
    assert.throws(() => planLab(shrunk, { ...FIXED, promoted: 'server-02' }), (e: Error) => e instanceof UsageError && /primary is server-02, promoted by `webstack promote`.*Make server-02 the db-primary in the design, or promote the design's primary back first/.test(e.message));
  });
});

describe("the app's writable server", () => {
  const server = (answering: boolean, writable: boolean | null) => ({ answering, writable });
  test('stays where it is while it takes writes, moves to the first that does, and stays put when none does', () => {
    assert.equal(chooseWriter([server(true, true), server(true, false)], 0), 0);
    assert.equal(chooseWriter([server(true, false), server(true, true)], 0), 1, 'the old primary turned read-only');
    assert.equal(chooseWriter([server(true, true), server(true, true)], 1), 1, 'two writable for a moment: no flapping');
    assert.equal(chooseWriter([server(false, true), server(true, true)], 0), 1, 'the writable one that answers');
    assert.equal(chooseWriter([server(true, false), server(true, null)], 1), 1, 'none writable: writes are refused where they were going');
  });
});

describe('GTID positions', () => {
  test('are compared domain by domain, by sequence number', () => {
    assert.deepEqual([...parseGtids('0-1-42,1-3-7')], [[0, 42], [1, 7]]);
    assert.equal(transactionsBehind('0-2-355', '0-2-350'), 5);
    assert.equal(transactionsBehind('0-2-355', '0-3-355'), 0, 'the server id does not count, the sequence does');
    assert.equal(transactionsBehind('0-2-355,1-2-4', '0-2-355'), 4);
    assert.equal(transactionsBehind('0-2-10', ''), 10);
    assert.equal(transactionsBehind('', '0-2-10'), 0);
  });
});

describe('promote, step by step', () => {
  /** A scratch home, and the stacks made in it taken down afterwards (their supervisors run in this process). */
  async function withHome(fn: (home: string, made: RecordingTarget[]) => Promise<void>): Promise<void> {
    const home = mkdtempSync(join(tmpdir(), 'webstack-promote-'));
    const made: RecordingTarget[] = [];
    try {
      await fn(home, made);
    } finally {
      for (const stack of listStacks(home)) await down(stack, { home, target: made[0]!, say: () => undefined, volumes: true });
      for (const target of made) await target.settled();
      rmSync(home, { recursive: true, force: true });
    }
  }

  /** A lab whose servers answer as `sql` says (by host and statement), and read the dead primary's binary log as `binlog`. */
  async function stackWith(home: string, made: RecordingTarget[], name: string, sql: (host: string, statement: string) => string | null, binlog = '') {
    const answer: Answer = (where, argv) => {
      const host = where.replace(`${name}-`, '');
      if (argv[0] === 'mariadb' && argv.includes('-e')) {
        const out = sql(host, argv.at(-1)!);
        return out === null ? { exitCode: 1, stderr: `ERROR 2002: Can't connect to server on ${host}` } : { stdout: `${out}\n` };
      }
      if (argv[0] === 'bash' && argv[2]?.includes('mariadb-binlog')) return { stdout: binlog };
      return undefined;
    };
    const target = new RecordingTarget({ answer });
    made.push(target);
    const options = { home, target, say: () => undefined, install: FIXED.install };
    await up(await distributed(), { ...options, name, designRef: 'distributed', lock: join(home, 'lock'), supervisorCommand: ['supervisor'] });
    target.steps.length = 0;
    const statements = () => target.steps.filter((s) => / mariadb --defaults-file=/.test(s)).map((s) => `${s.split(':')[0]!.replace(`${name}-`, '')}: ${s.replace(/^.* -e /, '')}`);
    const reloads = () => target.steps.filter((s) => /role\.sh$/.test(s)).map((s) => s.split(':')[0]!.replace(`${name}-`, ''));
    return { target, options, statements, reloads };
  }

  test('with the primary alive: read-only primary, the replica catches up, takes writes, then the old primary follows it', async () => {
    await withHome(async (home, made) => {
      const lab = await stackWith(home, made, 'sw', (host, statement) => (statement.includes('gtid_binlog_pos') ? '0-2-120' : statement.startsWith('SELECT MASTER_GTID_WAIT') ? '0' : statement.includes('gtid_current_pos') ? '0-2-120' : ''));
      const said: string[] = [];
      const report = await promote('sw', { host: 'server-02', force: false }, { ...lab.options, say: (l) => said.push(l) });
      assert.deepEqual(lab.statements(), [
        'server-01: SELECT 1',
        'server-01: SET GLOBAL read_only = ON; SELECT @@global.gtid_binlog_pos',
        "server-02: SELECT MASTER_GTID_WAIT('0-2-120', 10)",
        'server-02: STOP SLAVE; RESET SLAVE ALL; SET GLOBAL read_only = OFF;',
        'server-02: SELECT @@global.gtid_current_pos',
      ]);
      assert.deepEqual(lab.reloads(), ['server-01', 'server-02'], 'then each server takes its new role from its role script');
      assert.equal(report.planned, true);
      assert.equal(report.lost, 0);
      assert.ok(report.writesPausedMs !== null && report.writesPausedMs >= 0);
      assert.equal(readPromotion(home, 'sw'), 'server-02');
      assert.ok(said.some((l) => l === '  ✓ server-01 replicates from server-02'), said.join('\n'));
      assert.ok(!lab.target.steps.some((s) => /start \[pid/.test(s)), 'no daemon restarted');

      // And back: the design's primary again, and nothing recorded as promoted.
      await promote('sw', { host: 'server-01', force: false }, lab.options);
      assert.equal(readPromotion(home, 'sw'), null);
      await assert.rejects(promote('sw', { host: 'server-01', force: false }, lab.options), (e: Error) => e instanceof UsageError && /server-01 is the primary already/.test(e.message));
    });
  });

  test('a replica that does not catch up in time calls the switchover off and gives the primary its writes back', async () => {
    await withHome(async (home, made) => {
      const lab = await stackWith(home, made, 'slow', (_host, statement) => (statement.includes('gtid_binlog_pos') ? '0-2-120' : statement.startsWith('SELECT MASTER_GTID_WAIT') ? '-1' : ''));
      await assert.rejects(promote('slow', { host: 'server-02', force: false, catchUpTimeoutMs: 2000 }, lab.options), (e: LabError) => e.code === 'replica-behind' && /did not apply server-01's last transaction \(0-2-120\) within 2 s; the switchover was called off, and server-01 takes writes again/.test(e.message));
      assert.equal(lab.statements().at(-1), 'server-01: SET GLOBAL read_only = OFF');
      assert.equal(readPromotion(home, 'slow'), null);
      assert.deepEqual(lab.reloads(), []);
    });
  });

  test('with the primary dead: refused, saying how far behind the replica is; forced, the dead primary takes its new role when healed', async () => {
    await withHome(async (home, made) => {
      const lab = await stackWith(
        home,
        made,
        'dead',
        (host, statement) => (host === 'server-01' ? null : statement.startsWith('SHOW SLAVE STATUS') ? '*** 1. row ***\n    Gtid_IO_Pos: 0-2-117\n' : statement.includes('gtid_slave_pos') ? '0-2-115' : statement.includes('gtid_current_pos') ? '0-2-117' : '0'),
        '0-2-120\n',
      );
      await fail('dead', 'server-01', 'freeze', { home, target: lab.target, say: () => undefined });
      await assert.rejects(promote('dead', { host: 'server-02', force: false }, lab.options), (e: LabError) => {
        assert.equal(e.code, 'primary-down');
        assert.match(e.message, /server-01, the primary, does not answer \(failed on purpose \(freeze\)\)\. server-02 is 3 transactions behind: server-01's binary log goes to 0-2-120, server-02 received up to 0-2-117 and had yet to apply 2 of them\./);
        assert.match(e.fix, /promote server-02 --stack dead --force/);
        return true;
      });
      assert.equal(readPromotion(home, 'dead'), null, 'nothing changed');

      lab.target.steps.length = 0;
      const report = await promote('dead', { host: 'server-02', force: true }, lab.options);
      assert.deepEqual([report.planned, report.lost], [false, 3]);
      assert.deepEqual(lab.statements().slice(0, 4), ["server-02: SHOW SLAVE STATUS\\G", 'server-02: SELECT @@global.gtid_slave_pos', "server-02: SELECT MASTER_GTID_WAIT('0-2-117', 30)", 'server-02: STOP SLAVE; RESET SLAVE ALL; SET GLOBAL read_only = OFF;']);
      assert.deepEqual(lab.reloads(), ['server-02'], 'the frozen server-01 is left alone');
      const applied = JSON.parse(readFileSync(join(home, 'dead', 'run', 'daemons.json'), 'utf8')) as { applied: { actions: { host: string; daemon: string; action: string }[] } };
      assert.deepEqual(applied.applied.actions.map((a) => `${a.host}/${a.daemon} ${a.action}`), ['server-01/mariadb to reload at heal', 'server-02/mariadb reloaded']);

      lab.target.steps.length = 0;
      await heal('dead', 'server-01', { home, target: lab.target, say: () => undefined });
      assert.ok(lab.reloads().includes('server-01'), `healed, server-01 takes its role as a replica:\n${lab.target.steps.join('\n')}`);
    });
  });
});
