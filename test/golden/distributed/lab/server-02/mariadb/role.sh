#!/bin/bash
# Rendered by webstack: makes this server a replica of 10.71.32.11.
set -eu
client=(mariadb --defaults-file=/var/lib/webstack/distributed/config/server-02/mariadb/my.cnf)
"${client[@]}" < /var/lib/webstack/distributed/config/server-02/mariadb/role.sql
deadline=$((SECONDS + 60))
while (( SECONDS < deadline )); do
  status=$("${client[@]}" -e 'SHOW SLAVE STATUS\G')
  if grep -q 'Slave_IO_Running: Yes' <<<"$status" && grep -q 'Slave_SQL_Running: Yes' <<<"$status"; then
    echo "a replica, replicating from 10.71.32.11"
    exit 0
  fi
  sleep 0.5
done
echo "replication from 10.71.32.11 did not start:" >&2
grep -E 'Slave_(IO|SQL)_Running|Last_(IO|SQL)_Error' <<<"$status" >&2 || true
exit 1
