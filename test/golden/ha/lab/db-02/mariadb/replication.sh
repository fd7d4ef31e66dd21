#!/bin/bash
# Rendered by webstack: points this replica at its primary 10.71.128.16 and waits until replication runs.
set -eu
client=(mariadb --defaults-file=/var/lib/webstack/ha/config/db-02/mariadb/my.cnf)
"${client[@]}" < /var/lib/webstack/ha/config/db-02/mariadb/replication.sql
deadline=$((SECONDS + 60))
while (( SECONDS < deadline )); do
  status=$("${client[@]}" -e 'SHOW SLAVE STATUS\G')
  if grep -q 'Slave_IO_Running: Yes' <<<"$status" && grep -q 'Slave_SQL_Running: Yes' <<<"$status"; then
    echo "replicating from 10.71.128.16"
    exit 0
  fi
  sleep 0.5
done
echo "replication from 10.71.128.16 did not start:" >&2
grep -E 'Slave_(IO|SQL)_Running|Last_(IO|SQL)_Error' <<<"$status" >&2 || true
exit 1
