import { join } from 'node:path';
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
/** A server that has not answered within this is frozen or gone, as far as the write address goes. */
const ANSWER_WITHIN_S = 0.8;
/** The member's state in one line, after the question's number: cluster status, ready, local state. */
const MEMBER_STATUS_COLUMNS = ['WSREP_CLUSTER_STATUS', 'WSREP_READY', 'WSREP_LOCAL_STATE_COMMENT']
  .map((name) => `(SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = '${name}')`)
  .join(', ');
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
# Five checks a second on every member must cost next to nothing: one client for the whole run,
# asked through a pipe, and nothing else started per check (a client, a timeout, greps and a sleep
# per check took half a core of a two-core machine for three members).
set -u
# A client that has gone makes writing to it fail, not end this script.
trap '' PIPE
state=${state}
last=
held_until=0
asked=0
# A pipe this script holds both ends of and never writes: \`read -t\` on it waits without a process.
exec {pause}<> <(:)

# A client that met an error or kept silent is let go: the next question starts a new one, which
# connects afresh (the server may have been restarted meanwhile).
stop_client() {
  if [[ -n \${DB_PID:-} ]]; then kill "$DB_PID" 2>/dev/null; wait "$DB_PID" 2>/dev/null; fi
  DB_PID=
}

# Whether the member is synced in the primary component and ready. Each question carries its
# number, so an answer that comes late is not taken for the next one's.
synced() {
  if [[ -z \${DB_PID:-} ]] || ! kill -0 "$DB_PID" 2>/dev/null; then
    stop_client
    # --force goes on past an error (printed, as 2>&1 sends it here); -n answers each question at once.
    coproc DB { exec mariadb --defaults-file=${myCnf} -N -B -n --force 2>&1; }
  fi
  asked=$((asked + 1))
  local line
  if printf '%s\\n' "SELECT $asked, ${MEMBER_STATUS_COLUMNS};" >&"\${DB[1]:-}" 2>/dev/null; then
    while IFS= read -r -t ${ANSWER_WITHIN_S} -u "\${DB[0]:-}" line; do
      case $line in
        "$asked"$'\\t'*) [[ $line == "$asked"$'\\tPrimary\\tON\\t'@(Synced|Donor/Desynced) ]]; return ;;
        ERROR*) break ;;
      esac
    done
  fi
  stop_client
  return 1
}

previous=\${EPOCHREALTIME/./}
while :; do
  now=\${EPOCHREALTIME/./}
  # Frozen, then thawed: the others have gone on without this member. Say no before anything else.
  if (( now - previous > ${WOKE_AFTER_US} )); then held_until=$((now + ${HOLD_AFTER_WAKING_US})); fi
  previous=$now
  verdict=1
  if (( now >= held_until )) && synced; then verdict=0; fi
  if [[ $verdict != "$last" ]]; then
    echo "$verdict" > "$state.next" && mv "$state.next" "$state"
    echo "$(date +%T.%3N) $([[ $verdict == 0 ]] && echo 'may hold the write address' || echo 'may not hold the write address')"
    last=$verdict
  fi
  read -r -t ${CHECK_EVERY_S} -u "$pause" _
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
