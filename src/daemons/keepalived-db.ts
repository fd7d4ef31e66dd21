import { virtualIpKeeper } from './keepalived.ts';
import { memberStateFile } from './member-check.ts';

// The database cluster's write address: keepalived on every member, the address held by one that
// is synced in the cluster's primary component. A member killed, frozen or cut off stops
// advertising (or fails its check) and a synced one takes the address, so the app servers write to
// one member at a time and never to one that has lost its majority. Its own daemon, not the load
// balancers' keepalived: it starts once the members run, before the app servers that write through it.

export const keepalivedDb = virtualIpKeeper({
  name: 'keepalived-db',
  title: "keepalived, which gives the database cluster's write address to a synced member (VRRP)",
  role: 'db',
  after: ['mariadb', 'member-check'],
  // member-check decides, five times a second; keepalived reads its verdict the moment it changes.
  check: (context) => ({
    kind: 'file',
    section: `# Only a member synced in the cluster's primary component may hold the write address (or one
# that donates the writes a rejoining member missed): member-check writes 0 when it may, 1 when not.
track_file check {
    file "${memberStateFile(context.pathsOf(context.host.name, 'member-check').run)}"
    weight 0
    init_file 1
}
`,
    files: [],
  }),
});
