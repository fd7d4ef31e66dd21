#!/bin/bash
# Rendered by webstack: exits 0 when this member is synced (or donating) in the primary component.
state=$(timeout 0.8 mariadb --defaults-file=/var/lib/webstack/ha/config/db-01/mariadb/my.cnf -N -B -e "SHOW STATUS WHERE Variable_name IN ('wsrep_cluster_status', 'wsrep_local_state_comment', 'wsrep_ready')" 2>/dev/null) || exit 1
grep -qx $'wsrep_cluster_status\tPrimary' <<<"$state" && grep -qxE $'wsrep_local_state_comment\t(Synced|Donor/Desynced)' <<<"$state" && grep -qx $'wsrep_ready\tON' <<<"$state"
