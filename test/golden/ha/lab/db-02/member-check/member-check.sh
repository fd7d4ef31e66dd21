# Rendered by webstack for member-check on host db-02 of stack ha.
# Do not edit: `webstack up` writes it again from the design.

# Writes /var/lib/webstack/ha/run/db-02/member-check/may-hold: 0 when this member may hold the write address, 1 when not; only when it changes.
set -u
state=/var/lib/webstack/ha/run/db-02/member-check/may-hold
last=
held_until=0
previous=${EPOCHREALTIME/./}
while :; do
  now=${EPOCHREALTIME/./}
  # Frozen, then thawed: the others have gone on without this member. Say no before anything else.
  if (( now - previous > 1000000 )); then held_until=$((now + 2000000)); fi
  previous=$now
  verdict=1
  if (( now >= held_until )); then
    status=$(timeout 0.8 mariadb --defaults-file=/var/lib/webstack/ha/config/db-02/mariadb/my.cnf -N -B -e "SHOW STATUS WHERE Variable_name IN ('wsrep_local_state_comment', 'wsrep_cluster_status', 'wsrep_cluster_size', 'wsrep_ready', 'wsrep_last_committed')" 2>/dev/null)
    if grep -qx $'wsrep_cluster_status\tPrimary' <<<"$status" && grep -qxE $'wsrep_local_state_comment\t(Synced|Donor/Desynced)' <<<"$status" && grep -qx $'wsrep_ready\tON' <<<"$status"; then verdict=0; fi
  fi
  if [[ $verdict != "$last" ]]; then
    echo "$verdict" > "$state.next" && mv "$state.next" "$state"
    echo "$(date +%T.%3N) $([[ $verdict == 0 ]] && echo 'may hold the write address' || echo 'may not hold the write address')"
    last=$verdict
  fi
  sleep 0.2
done
