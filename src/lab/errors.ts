// One catalogue of everything the lab can fail at: a stable code, the cause in one sentence, and
// the command that fixes it. A LabError carries its code and the specifics; the CLI prints the
// message, then the fix, and exits 1. Bad input is not here: it is a UsageError or DesignError (exit 2).

export const LAB_ERRORS = {
  'not-linux': { cause: 'the lab runs on Linux, with network namespaces', fix: 'run webstack on a Linux machine (Debian)' },
  'not-root': { cause: 'the lab creates network namespaces and links, which needs root', fix: 'run it again with sudo' },
  'missing-programs': { cause: 'programs the lab runs are not installed', fix: 'sudo bash scripts/install.sh' },
  'missing-user': { cause: 'a system user a daemon drops to does not exist', fix: 'sudo bash scripts/install.sh' },
  'address-overlap': { cause: "the design's networks overlap this machine's routes or another stack's networks", fix: 'give the design other ranges (networks.<name>.cidr), or npx webstack down <other stack>' },
  'namespace-taken': { cause: 'a network namespace of the same name exists and is not this stack\'s', fix: 'ip netns del <name>, or up --name <another name>' },
  'busy': { cause: 'another webstack command is creating or changing a stack on this machine', fix: 'wait for it to finish, then run this again' },
  'command-failed': { cause: 'a system command refused', fix: 'read its message above; npx webstack down <stack> removes what was made' },
  'start-failed': { cause: 'a daemon did not start or never became ready', fix: 'npx webstack logs <host> <daemon> shows why' },
  'supervisor-gone': { cause: "the stack's supervisor stopped", fix: 'npx webstack down <stack>, then up again' },
  'entry-unreachable': { cause: "the stack's entry does not answer from the client host", fix: 'npx webstack status shows what is not ready' },
  'config-invalid': { cause: "a daemon's own check refused its new config; the running stack was left as it was", fix: 'change the design so that the config is valid, then up again' },
  'firewall-refused': { cause: "nft refused a host's firewall, rendered from the design's flows", fix: 'report it: the ruleset comes from the flows and should always load' },
  'needs-recreate': { cause: "the change adds or removes hosts or networks, which a running stack cannot take", fix: 'npx webstack down <stack>, then up (the data is kept)' },
  'apply-failed': { cause: 'a changed daemon did not come back ready', fix: 'npx webstack logs <host> <daemon> shows why' },
  'no-stack': { cause: 'there is no such stack on this machine', fix: 'npx webstack ls lists them; npx webstack up <design> starts one' },
  'not-running': { cause: "the stack's supervisor is not running", fix: 'npx webstack up <design> starts it again' },
  'no-host': { cause: 'the stack has no such host', fix: 'npx webstack status lists its hosts' },
  'no-daemon': { cause: 'the host runs no such daemon', fix: 'npx webstack status lists its daemons' },
  'fault-exists': { cause: 'the host is already failed', fix: 'npx webstack heal <host>' },
  'no-fault': { cause: 'the host is not failed', fix: 'npx webstack status shows which hosts are' },
  'heal-incomplete': { cause: "a healed host's daemons did not all become ready", fix: 'npx webstack logs <host> shows why' },
  'no-monitoring': { cause: 'the stack has no monitoring host: nothing collects its metrics or its logs', fix: 'add a host with role monitoring to the design, then up again' },
  'no-alerting': { cause: 'the stack does not alert: its design has no monitoring host, or policies.monitoring.alerting is off', fix: 'set policies.monitoring.alerting: true (with a host of role monitoring), then up again' },
  'nothing-to-deploy': { cause: 'the stack has no host of the tier to deploy to', fix: 'npx webstack deploy --tier app|web, for a tier the design has' },
  'host-failed': { cause: 'a host the deploy needs is failed on purpose', fix: 'npx webstack heal <host>' },
  'deploy-failed': { cause: 'a host did not come back healthy on the new release; it was rolled back, and the deploy stopped', fix: 'npx webstack logs <host> app shows why' },
  'cluster-position-unknown': { cause: 'a member of the database cluster cannot say how far it got, so no member can safely start the cluster', fix: 'npx webstack logs <host> mariadb shows why' },
  'primary-down': { cause: 'the primary does not answer: promoting a replica now loses what it has not received', fix: 'npx webstack heal <primary> first, or promote <replica> --force' },
  'replica-behind': { cause: "the replica did not apply the primary's last transaction in time, so the switchover was called off", fix: 'npx webstack status shows how far behind it is' },
  'load-failed': { cause: 'the load generator failed inside its host', fix: 'npx webstack status; then load again' },
} as const;

export type LabErrorCode = keyof typeof LAB_ERRORS;

export class LabError extends Error {
  constructor(
    readonly code: LabErrorCode,
    message: string,
    /** The fixing command, when a better one than the catalogue's is known. */
    readonly fix: string = LAB_ERRORS[code].fix,
  ) {
    super(message);
    this.name = 'LabError';
  }
}

export function labError(code: LabErrorCode, message: string, fix?: string): LabError {
  return new LabError(code, message, fix);
}
