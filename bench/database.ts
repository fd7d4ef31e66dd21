import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'yaml';
import { blueprintFile } from '../src/blueprints/index.ts';
import { GALERA_STATUS_SQL, parseGaleraStatus } from '../src/daemons/mariadb.ts';
import { loadDesign, resolveSource } from '../src/design/load.ts';
import type { ResolvedStack } from '../src/design/types.ts';
import { down } from '../src/lab/down.ts';
import { fail, heal } from '../src/lab/faults.ts';
import { loadFrom } from '../src/lab/load.ts';
import { readState } from '../src/lab/state.ts';
import { namespaceTarget } from '../src/lab/target.ts';
import { up } from '../src/lab/up.ts';
import { failoverWindow } from '../src/load/generator.ts';
import { stackPaths, webstackHome } from '../src/plan/paths.ts';
import { memoryByDaemon } from './monitoring.ts';

// ha's database, a Galera cluster of three, measured: how long writes stop when the member that
// holds the write address is killed, frozen or cut off (median of BENCH_DB_RUNS each), whether an
// acknowledged write was lost over all those faults, its write throughput against a
// single primary with semi-sync in the same stack otherwise (the ratio, in one run), and the
// memory of each member. Run alone with `node --import tsx bench/database.ts`, or in `npm run bench`.

const home = webstackHome();
const lab = { home, target: namespaceTarget, say: () => undefined };
const install = { repoRoot: fileURLToPath(new URL('..', import.meta.url)), node: process.execPath, compiled: false };
const RUNS = Number(process.env.BENCH_DB_RUNS ?? 5);
const STACK = 'bench-ha-db';
const POSTS = 'https://www.foobar.com/api/posts';
const MEMBERS = ['db-01', 'db-02', 'db-03'];
const WRITE_ADDRESS = '10.71.128.254';

const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const HOWS = ['kill', 'freeze', 'cut'] as const;

/** What each member answers to `sql`, over its socket ('' from a member that does not answer). */
function askEveryMember(sql: string): Promise<string[]> {
  return Promise.all(
    MEMBERS.map(async (member) => {
      const socket = join(stackPaths(home, STACK).run, member, 'mariadb', 'mysqld.sock');
      const { stdout } = await namespaceTarget.run(`${STACK}-${member}`, ['mariadb', '-S', socket, '-N', '-e', sql], { allowFailure: true });
      return stdout.trim();
    }),
  );
}

/** The load generator's posts each member holds. */
async function loadPosts(): Promise<number[]> {
  return (await askEveryMember("SELECT COUNT(*) FROM foobar.posts WHERE author = 'load'")).map(Number);
}

/** Until every member is synced in a primary component of all of them. */
async function clusterWhole(): Promise<void> {
  for (const started = Date.now(); Date.now() - started < 60_000; await sleep(500)) {
    const members = (await askEveryMember(GALERA_STATUS_SQL)).map(parseGaleraStatus);
    if (members.every((m) => m?.state === 'Synced' && m.cluster === 'Primary' && m.size === MEMBERS.length)) return;
  }
  throw new Error('the cluster did not come back whole within a minute');
}

/** ha with a primary and a semi-sync replica instead of its cluster: everything else the same. */
function haWithPrimary(): ResolvedStack {
  const data = parse(readFileSync(blueprintFile('ha'), 'utf8'));
  data.hosts['db-01'].roles = ['db-primary'];
  data.hosts['db-02'].roles = ['db-replica'];
  delete data.hosts['db-03'];
  data.policies.db = { replication: 'semi-sync' };
  return resolveSource({ ref: 'ha-with-primary', file: 'ha-with-primary', data, locate: () => undefined }).stack!;
}

async function writer(): Promise<string> {
  for (const member of MEMBERS) {
    const { stdout } = await namespaceTarget.run(`${STACK}-${member}`, ['ip', '-4', '-o', 'addr', 'show'], { allowFailure: true });
    if (stdout.includes(` ${WRITE_ADDRESS}/`)) return member;
  }
  throw new Error('no member holds the write address');
}

/** Writes as fast as 20 connections take them: answers per second. */
async function writeThroughput(): Promise<number> {
  const result = await loadFrom(home, STACK, { from: 'client', urls: [POSTS], requests: 3000, rate: 1, connections: 20, timeoutS: 10, closed: true, writes: true }, namespaceTarget);
  if (result.failed > 0) throw new Error(`${result.failed} writes failed: ${JSON.stringify(result.statuses)}`);
  return result.rps;
}

export async function benchDatabase(): Promise<void> {
  const ha = (await loadDesign('ha')).stack;
  const outages: Record<(typeof HOWS)[number], number[]> = { kill: [], freeze: [], cut: [] };
  let acknowledged = 0;
  let unknown = 0;
  let stored = 0;
  let disagreements = 0;
  let cluster = 0;
  let single = 0;
  let memberMb = 0;
  try {
    if (readState(home, STACK)) await down(STACK, { ...lab, volumes: true });
    await up(ha, { ...lab, name: STACK, install, designRef: 'ha' });
    for (let run = 0; run < RUNS; run++) {
      for (const how of HOWS) {
        await clusterWhole();
        const member = await writer();
        const [before] = await loadPosts();
        // 50 writes a second, open model, for 8 s; the writer broken after 1.5 s and healed 3 s later.
        const load = loadFrom(home, STACK, { from: 'client', urls: [POSTS], requests: 400, rate: 50, connections: 20, timeoutS: 10, writes: true, timeline: true }, namespaceTarget);
        await sleep(1500);
        const faultAt = Date.now();
        await fail(STACK, member, how, lab);
        await sleep(3000);
        const healAt = Date.now();
        await heal(STACK, member, lab);
        const result = await load;
        outages[how].push(failoverWindow(result.timeline!.filter((o) => o.dueAt < healAt), faultAt).windowMs);
        await clusterWhole();
        const after = await loadPosts();
        // Every acknowledged write is stored, once (the keys are unique); one of unknown outcome may be.
        acknowledged += result.statuses['201'] ?? 0;
        unknown += (result.statuses['504'] ?? 0) + result.errors + result.timeouts;
        stored += after[0]! - before!;
        if (new Set(after).size !== 1) disagreements++;
      }
    }
    memberMb = (memoryByDaemon(STACK).get('mariadb') ?? 0) / MEMBERS.length;
    cluster = await writeThroughput();
    await down(STACK, { ...lab, volumes: true });
    await up(haWithPrimary(), { ...lab, name: STACK, install, designRef: 'ha-with-primary' });
    single = await writeThroughput();
  } finally {
    if (readState(home, STACK)) await down(STACK, { ...lab, volumes: true });
  }
  console.log(`\nlab: ha's database, a Galera cluster of three`);
  for (const how of HOWS) {
    console.log(`  writes stopped after the writer was ${how === 'kill' ? 'killed' : how === 'freeze' ? 'frozen' : 'cut off'}, median of ${RUNS}   ${(mid(outages[how]) / 1000).toFixed(2)} s   (${outages[how].map((t) => (t / 1000).toFixed(2)).join(', ')}; goal: under 2 s)`);
  }
  console.log(`  over ${RUNS * HOWS.length} faults: ${acknowledged} writes acknowledged, ${unknown} of unknown outcome, ${stored} stored; acknowledged and lost: ${Math.max(0, acknowledged - stored)}; members that disagreed afterwards: ${disagreements}`);
  console.log(`  write throughput, 20 connections: cluster ${cluster.toFixed(0)}/s, single primary with semi-sync ${single.toFixed(0)}/s   (${(cluster / single).toFixed(2)}x)`);
  console.log(`  memory of one member (mariadbd)   ${memberMb.toFixed(0)} MiB`);
}

if (import.meta.url === `file://${process.argv[1]}`) await benchDatabase();
