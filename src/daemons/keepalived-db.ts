import { join } from 'node:path';
import { CHECK_INTERVAL_S, virtualIpKeeper } from './keepalived.ts';

// The database cluster's write address: keepalived on every member, the address held by one that
// is synced in the cluster's primary component. A member killed, frozen or cut off stops
// advertising (or fails its check) and a synced one takes the address, so the app servers write to
// one member at a time and never to one that has lost its majority. Its own daemon, not the load
// balancers' keepalived: it starts once the members run, before the app servers that write through it.

export const keepalivedDb = virtualIpKeeper({
  name: 'keepalived-db',
  title: "keepalived, which gives the database cluster's write address to a synced member (VRRP)",
  role: 'db',
  after: ['mariadb'],
  check: (context) => {
    const script = join(context.paths.config, 'member-synced.sh');
    const myCnf = join(context.pathsOf(context.host.name, 'mariadb').config, 'my.cnf');
    return {
      section: `# Only a member synced in the cluster's primary component may hold the write address: one that
# is joining, or cut off from the majority, gives it up. A member that donates the writes a
# rejoining member missed keeps it: it takes writes as before, and moving the address would cut
# every connection to it for nothing.
vrrp_script check {
    script "/bin/bash ${script}"
    interval ${CHECK_INTERVAL_S}
    timeout 1
    fall 1
    rise 1
}
`,
      files: [
        {
          path: script,
          mode: 0o700,
          content: `#!/bin/bash
# Rendered by webstack: exits 0 when this member is synced (or donating) in the primary component.
state=$(timeout 0.8 mariadb --defaults-file=${myCnf} -N -B -e "SHOW STATUS WHERE Variable_name IN ('wsrep_cluster_status', 'wsrep_local_state_comment', 'wsrep_ready')" 2>/dev/null) || exit 1
grep -qx $'wsrep_cluster_status\\tPrimary' <<<"$state" && grep -qxE $'wsrep_local_state_comment\\t(Synced|Donor/Desynced)' <<<"$state" && grep -qx $'wsrep_ready\\tON' <<<"$state"
`,
        },
      ],
    };
  },
});
