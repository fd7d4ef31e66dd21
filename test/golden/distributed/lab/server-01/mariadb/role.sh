#!/bin/bash
# Rendered by webstack: makes this server the primary.
set -eu
client=(mariadb --defaults-file=/var/lib/webstack/distributed/config/server-01/mariadb/my.cnf)
"${client[@]}" < /var/lib/webstack/distributed/config/server-01/mariadb/role.sql
if [[ $("${client[@]}" -N -e 'SELECT @@global.read_only') == 0 ]]; then
  echo "the primary, writable"
  exit 0
fi
echo "read_only is still on" >&2
exit 1
