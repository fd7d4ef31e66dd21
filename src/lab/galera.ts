import { join } from 'node:path';
import { BOOTSTRAP_MARKER, galeraMember, mariadbDataDir } from '../daemons/mariadb.ts';
import type { DaemonSpec } from '../daemons/types.ts';
import { daemonPaths } from '../plan/paths.ts';
import type { LabPlan } from '../plan/plan.ts';
import { labError } from './errors.ts';
import type { Target } from './target.ts';

// Which member of a Galera cluster starts it, when none of them runs: the one that got furthest.
// A member stopped cleanly wrote its position (seqno) to grastate.dat; one that was killed wrote
// -1, and mariadbd --wsrep-recover reads its position from InnoDB. Starting from a member that is
// behind would throw away the writes only the others have, so the choice is never the first one
// that happens to be there. The choice is pure (chooseBootstrap); reading the members is here.

export interface MemberPosition {
  readonly host: string;
  /** No cluster state yet: a new member, which joins by a full state transfer. */
  readonly fresh: boolean;
  readonly uuid: string | null;
  /** The last transaction it committed; null when it could not be told. */
  readonly seqno: number | null;
  /** The last member to leave a cluster stopped cleanly says so. */
  readonly safeToBootstrap: boolean;
}

export interface BootstrapChoice {
  readonly host: string;
  readonly reason: string;
}

/** The fields of grastate.dat; null when there is none. */
export function parseGrastate(text: string): { uuid: string; seqno: number; safeToBootstrap: boolean } | null {
  const field = (name: string) => new RegExp(`^${name}:\\s*(\\S+)`, 'm').exec(text)?.[1];
  const uuid = field('uuid');
  const seqno = field('seqno');
  if (uuid === undefined || seqno === undefined) return null;
  return { uuid, seqno: Number(seqno), safeToBootstrap: field('safe_to_bootstrap') === '1' };
}

/** The position mariadbd --wsrep-recover logs: "WSREP: Recovered position: <uuid>:<seqno>". */
export function parseRecoveredPosition(log: string): { uuid: string; seqno: number } | null {
  const match = /Recovered position:\s*([0-9a-f-]{36}):(-?\d+)/.exec(log);
  return match ? { uuid: match[1]!, seqno: Number(match[2]) } : null;
}

/** The member to start the cluster from: the most advanced; on a tie the one that left last, then the first in the design. */
export function chooseBootstrap(members: readonly MemberPosition[]): BootstrapChoice {
  const known = members.filter((m) => !m.fresh);
  if (known.length === 0) return { host: members[0]!.host, reason: 'a new cluster: no member has data yet' };
  const unknown = known.find((m) => m.seqno === null);
  if (unknown) {
    throw labError('cluster-position-unknown', `cannot tell how far ${unknown.host} got before it stopped: mariadbd --wsrep-recover found no position`, `npx webstack logs ${unknown.host} mariadb shows why`);
  }
  const best = [...known].sort((a, b) => b.seqno! - a.seqno! || Number(b.safeToBootstrap) - Number(a.safeToBootstrap) || members.indexOf(a) - members.indexOf(b))[0]!;
  const others = known.filter((m) => m !== best).map((m) => `${m.host} at ${m.seqno}`);
  return { host: best.host, reason: `the most advanced member (transaction ${best.seqno}${others.length ? `; ${others.join(', ')}` : ''})` };
}

/**
 * Before a stack's daemons start, with no member running: read each member's position (recovering
 * it where the member was killed), choose the one to start the cluster from, and leave it the marker
 * its start script looks for. Nothing to do for a stack without a cluster.
 */
export async function prepareGalera(plan: LabPlan, target: Target, say: (line: string) => void): Promise<void> {
  const specs = plan.daemons.filter(galeraMember);
  if (specs.length === 0) return;
  const positions = await Promise.all(specs.map((spec) => positionOf(spec, plan, target)));
  const choice = chooseBootstrap(positions);
  const spec = specs.find((s) => s.host === choice.host)!;
  target.writeFile({ path: join(daemonPaths(plan.paths, spec.host, 'mariadb').run, BOOTSTRAP_MARKER), content: `${choice.reason}\n`, mode: 0o600 });
  say(`  + ${choice.host} starts the database cluster: ${choice.reason}`);
}

async function positionOf(spec: DaemonSpec, plan: LabPlan, target: Target): Promise<MemberPosition> {
  const dataDir = mariadbDataDir(daemonPaths(plan.paths, spec.host, 'mariadb'));
  const grastate = await target.run(spec.namespace, ['cat', join(dataDir, 'grastate.dat')], { allowFailure: true });
  const state = grastate.exitCode === 0 ? parseGrastate(grastate.stdout) : null;
  if (!state) return { host: spec.host, fresh: true, uuid: null, seqno: null, safeToBootstrap: false };
  if (state.seqno >= 0) return { host: spec.host, fresh: false, ...state };
  // Killed, not stopped: InnoDB knows the last transaction it committed.
  const recovered = await target.run(spec.namespace, ['mariadbd', `--defaults-file=${spec.files[0]!.path}`, '--wsrep-recover'], { allowFailure: true, timeoutMs: 120_000 });
  const position = parseRecoveredPosition(recovered.stdout + recovered.stderr);
  return { host: spec.host, fresh: false, uuid: position?.uuid ?? state.uuid, seqno: position?.seqno ?? null, safeToBootstrap: state.safeToBootstrap };
}
