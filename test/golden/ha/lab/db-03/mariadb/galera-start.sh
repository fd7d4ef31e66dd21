#!/bin/bash
# Rendered by webstack: starts db-03, a member of the Galera cluster.
set -eu
# The cluster's write address is bound before keepalived brings it here.
sysctl -qw net.ipv4.ip_nonlocal_bind=1
# Killed rather than stopped, a member left no position in grastate.dat: InnoDB has it. Started
# from it, the member gets only the writes it missed (IST), not a copy of everything (SST).
position=()
if grep -qs '^seqno: *-1' /var/lib/webstack/ha/volumes/db-03/mariadb/data/grastate.dat; then
  recovered=$(mariadbd --defaults-file=/var/lib/webstack/ha/config/db-03/mariadb/my.cnf --wsrep-recover 2>&1 | grep -o 'Recovered position: *[0-9a-f-]*:-*[0-9]*' | tail -n 1 | sed 's/^Recovered position: *//')
  if [[ -n $recovered ]]; then
    echo "recovered its position: $recovered"
    position=(--wsrep_start_position=$recovered)
  fi
fi
if [[ -e /var/lib/webstack/ha/run/db-03/mariadb/bootstrap ]]; then
  echo "starting a new cluster: $(cat /var/lib/webstack/ha/run/db-03/mariadb/bootstrap)"
  rm -f /var/lib/webstack/ha/run/db-03/mariadb/bootstrap
  if [[ -f /var/lib/webstack/ha/volumes/db-03/mariadb/data/grastate.dat ]]; then sed -i 's/^safe_to_bootstrap: 0/safe_to_bootstrap: 1/' /var/lib/webstack/ha/volumes/db-03/mariadb/data/grastate.dat; fi
  exec mariadbd --defaults-file=/var/lib/webstack/ha/config/db-03/mariadb/my.cnf --wsrep-new-cluster "${position[@]}"
fi
# Join: wait until another member answers group communication, so that the join does not time out.
deadline=$((SECONDS + 120))
until (( SECONDS >= deadline )); do
  if timeout 1 bash -c '</dev/tcp/10.71.128.16/4567' 2>/dev/null; then break; fi
  if timeout 1 bash -c '</dev/tcp/10.71.128.17/4567' 2>/dev/null; then break; fi
  sleep 0.5
done
echo "joining the cluster through db-01, db-02"
exec mariadbd --defaults-file=/var/lib/webstack/ha/config/db-03/mariadb/my.cnf "${position[@]}"
