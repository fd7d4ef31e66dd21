import type { Probe } from '../daemons/types.ts';

// A readiness probe as a command, run inside the daemon's namespace (the machine itself cannot
// reach private networks). Exit status 0 means ready.

export function probeCommand(probe: Probe): string[] {
  switch (probe.kind) {
    case 'tcp':
      // bash's /dev/tcp: a connect and nothing else, with no extra package.
      return ['bash', '-c', `exec 3<>/dev/tcp/${probe.address}/${probe.port}`];
    case 'http':
      return ['curl', '--silent', '--fail', '--output', '/dev/null', '--max-time', '2', ...(probe.ca ? ['--cacert', probe.ca] : []), probe.url];
    case 'dns':
      // +norecurse: an authoritative answer or nothing.
      return ['dig', '+norecurse', '+time=1', '+tries=1', '+short', `@${probe.server}`, probe.name, 'SOA'];
    case 'exec':
      return [...probe.argv];
  }
}

/** dig exits 0 even without an answer, so a DNS probe also needs some output. */
export function probePassed(probe: Probe, exitCode: number, stdout: string): boolean {
  return exitCode === 0 && (probe.kind !== 'dns' || stdout.trim().length > 0);
}

export function describeProbe(probe: Probe): string {
  switch (probe.kind) {
    case 'tcp':
      return `tcp ${probe.address}:${probe.port}`;
    case 'http':
      return `GET ${probe.url}`;
    case 'dns':
      return `SOA ${probe.name} @${probe.server}`;
    case 'exec':
      return probe.what;
  }
}
