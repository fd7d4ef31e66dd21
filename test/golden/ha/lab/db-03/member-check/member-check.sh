# Rendered by webstack for member-check on host db-03 of stack ha.
# Do not edit: `webstack up` writes it again from the design.

# Writes /var/lib/webstack/ha/run/db-03/member-check/may-hold: 0 when this member may hold the write address, 1 when not; only when it changes.
# Five checks a second on every member must cost next to nothing: one client for the whole run,
# asked through a pipe, and nothing else started per check (a client, a timeout, greps and a sleep
# per check took half a core of a two-core machine for three members).
set -u
# A client that has gone makes writing to it fail, not end this script.
trap '' PIPE
state=/var/lib/webstack/ha/run/db-03/member-check/may-hold
last=
held_until=0
asked=0
# A pipe this script holds both ends of and never writes: `read -t` on it waits without a process.
exec {pause}<> <(:)

# A client that met an error or kept silent is let go: the next question starts a new one, which
# connects afresh (the server may have been restarted meanwhile).
stop_client() {
  if [[ -n ${DB_PID:-} ]]; then kill "$DB_PID" 2>/dev/null; wait "$DB_PID" 2>/dev/null; fi
  DB_PID=
}

# Whether the member is synced in the primary component and ready. Each question carries its
# number, so an answer that comes late is not taken for the next one's.
synced() {
  if [[ -z ${DB_PID:-} ]] || ! kill -0 "$DB_PID" 2>/dev/null; then
    stop_client
    # --force goes on past an error (printed, as 2>&1 sends it here); -n answers each question at once.
    coproc DB { exec mariadb --defaults-file=/var/lib/webstack/ha/config/db-03/mariadb/my.cnf -N -B -n --force 2>&1; }
  fi
  asked=$((asked + 1))
  local line
  if printf '%s\n' "SELECT $asked, (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'WSREP_CLUSTER_STATUS'), (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'WSREP_READY'), (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'WSREP_LOCAL_STATE_COMMENT');" >&"${DB[1]:-}" 2>/dev/null; then
    while IFS= read -r -t 0.8 -u "${DB[0]:-}" line; do
      case $line in
        "$asked"$'\t'*) [[ $line == "$asked"$'\tPrimary\tON\t'@(Synced|Donor/Desynced) ]]; return ;;
        ERROR*) break ;;
      esac
    done
  fi
  stop_client
  return 1
}

previous=${EPOCHREALTIME/./}
while :; do
  now=${EPOCHREALTIME/./}
  # Frozen, then thawed: the others have gone on without this member. Say no before anything else.
  if (( now - previous > 1000000 )); then held_until=$((now + 2000000)); fi
  previous=$now
  verdict=1
  if (( now >= held_until )) && synced; then verdict=0; fi
  if [[ $verdict != "$last" ]]; then
    echo "$verdict" > "$state.next" && mv "$state.next" "$state"
    echo "$(date +%T.%3N) $([[ $verdict == 0 ]] && echo 'may hold the write address' || echo 'may not hold the write address')"
    last=$verdict
  fi
  read -r -t 0.2 -u "$pause" _
done
