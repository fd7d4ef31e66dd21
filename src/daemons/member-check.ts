import { join } from 'node:path';
import { GALERA_STATUS_SQL } from './mariadb.ts';
import { header, type RunnableDaemon } from './types.ts';

// Whether this member of a Galera cluster may hold the cluster's write address, checked five times
// a second into a file that keepalived-db follows (track_file, which it reads the moment the file
// changes): keepalived runs a check of its own at most once a second, so a member cut off from the
// majority would keep the address for up to a second more. A member may hold it while it is synced
// in the primary component, or donates the writes a rejoining member missed (it takes writes as
// before; moving the address would cut every connection to it for nothing). A member that was
// frozen says no at once when it wakes, and for two seconds: the cluster has gone on without it.

/** The file keepalived-db follows: 0 when this member may hold the write address, 1 when not. */
export function memberStateFile(run: string): string {
  return join(run, 'may-hold');
}

const CHECK_EVERY_S = 0.2;
/** A pause longer than this between two checks is a member that was frozen. */
const WOKE_AFTER_US = 1_000_000;
const HOLD_AFTER_WAKING_US = 2_000_000;

export const memberCheck: RunnableDaemon = {
  name: 'member-check',
  title: 'whether a database cluster member may hold the write address, five times a second',
  programs: { bash: 'bash', mariadb: 'mariadb-client' },
  listens: () => [],
  runsOn: (host, design) => host.roles.includes('db') && design.virtualIps.some((v) => v.role === 'db' && v.holders.includes(host.name)),
  after: ['mariadb'],
  render(context) {
    const { paths, host } = context;
    const state = memberStateFile(paths.run);
    const myCnf = join(context.pathsOf(host.name, 'mariadb').config, 'my.cnf');
    const script = join(paths.config, 'member-check.sh');
    const content = `${header('#', context, 'member-check')}
# Writes ${state}: 0 when this member may hold the write address, 1 when not; only when it changes.
set -u
state=${state}
last=
held_until=0
previous=\${EPOCHREALTIME/./}
while :; do
  now=\${EPOCHREALTIME/./}
  # Frozen, then thawed: the others have gone on without this member. Say no before anything else.
  if (( now - previous > ${WOKE_AFTER_US} )); then held_until=$((now + ${HOLD_AFTER_WAKING_US})); fi
  previous=$now
  verdict=1
  if (( now >= held_until )); then
    status=$(timeout 0.8 mariadb --defaults-file=${myCnf} -N -B -e "${GALERA_STATUS_SQL}" 2>/dev/null)
    if grep -qx $'wsrep_cluster_status\\tPrimary' <<<"$status" && grep -qxE $'wsrep_local_state_comment\\t(Synced|Donor/Desynced)' <<<"$status" && grep -qx $'wsrep_ready\\tON' <<<"$status"; then verdict=0; fi
  fi
  if [[ $verdict != "$last" ]]; then
    echo "$verdict" > "$state.next" && mv "$state.next" "$state"
    echo "$(date +%T.%3N) $([[ $verdict == 0 ]] && echo 'may hold the write address' || echo 'may not hold the write address')"
    last=$verdict
  fi
  sleep ${CHECK_EVERY_S}
done
`;
    return {
      daemon: 'member-check',
      host: host.name,
      namespace: host.namespace,
      after: memberCheck.after,
      command: ['bash', script],
      files: [{ path: script, content, mode: 0o700 }],
      dirs: [{ path: paths.run }],
      copies: [],
      // Ready once it has said something: keepalived-db starts after it, and finds the file there.
      readiness: { kind: 'exec', argv: ['test', '-s', state], what: `its verdict (${state})` },
      readinessTimeoutMs: 30_000,
      log: paths.log,
    };
  },
  async observe(spec, run) {
    const state = memberStateFile(spec.dirs[0]!.path);
    const { exitCode, stdout } = await run(['cat', state], 3_000);
    if (exitCode !== 0) return null;
    const may = stdout.trim() === '0';
    return { details: { mayHoldWriteAddress: may }, summary: may ? 'may hold the write address' : 'may not hold the write address (not synced in the primary component)' };
  },
};
