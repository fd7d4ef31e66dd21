import { setTimeout as sleep } from 'node:timers/promises';
import type { DaemonSpec } from '../daemons/types.ts';
import { stackPaths } from '../plan/paths.ts';
import { labError } from './errors.ts';
import { readSpecs, readState, readStatus, supervisorAlive } from './state.ts';
import type { Target } from './target.ts';

// `certs`: the certificate each load balancer serves (names, issuer, expiry, serial), and renewal
// from the lab's ACME CA. A renewed certificate is put in place and HAProxy reloaded (SIGUSR2 to
// its master, which hands its sockets to new workers), so no connection is refused.

export interface CertificateView {
  /** The load balancer that serves it. */
  readonly holder: string;
  readonly names: readonly string[];
  readonly subject: string;
  readonly issuer: string;
  readonly notAfter: string;
  readonly serial: string;
}

const SITE_PEM = 'WEBSTACK_SITE_PEM';

function tlsSpecs(home: string, stack: string): DaemonSpec[] {
  const specs = readSpecs(home, stack);
  if (!specs) throw labError('no-stack', `there is no stack named '${stack}'.`, 'npx webstack ls');
  return specs.filter((s) => s.daemon === 'haproxy' && s.env?.[SITE_PEM]);
}

/** Reads `openssl x509 -noout -subject -issuer -enddate -serial -ext subjectAltName` output. */
export function parseCertificate(holder: string, text: string): CertificateView {
  const field = (name: string) => new RegExp(`^${name}=\\s*(.*)$`, 'm').exec(text)?.[1]?.trim() ?? '';
  const names = [...text.matchAll(/DNS:([^,\s]+)/g)].map((m) => m[1]!);
  return { holder, names, subject: field('subject'), issuer: field('issuer'), notAfter: field('notAfter'), serial: field('serial') };
}

async function inspect(spec: DaemonSpec, target: Target): Promise<CertificateView> {
  const argv = ['openssl', 'x509', '-noout', '-subject', '-issuer', '-enddate', '-serial', '-ext', 'subjectAltName', '-in', spec.env![SITE_PEM]!];
  const outcome = await target.run(spec.namespace, argv, { allowFailure: true, timeoutMs: 10_000 });
  if (outcome.exitCode !== 0) throw labError('command-failed', `${spec.host} has no readable certificate (\`${argv.join(' ')}\`): ${outcome.stderr.trim()}`);
  return parseCertificate(spec.host, outcome.stdout);
}

export async function certificates(stack: string, home: string, target: Target): Promise<CertificateView[]> {
  const specs = tlsSpecs(home, stack);
  return Promise.all(specs.map((s) => inspect(s, target)));
}

/** Renews every load balancer's certificate, one at a time, and reloads its HAProxy without a refused connection. */
export async function renew(stack: string, home: string, target: Target, say: (line: string) => void): Promise<CertificateView[]> {
  const state = readState(home, stack);
  if (!state || !supervisorAlive(state)) throw labError('not-running', `stack '${stack}' is not running.`, `npx webstack up ${state?.design ?? '<design>'} --name ${stack}`);
  const specs = tlsSpecs(home, stack);
  if (specs.length === 0) throw labError('no-daemon', `stack '${stack}' terminates no TLS: its design has no policies.tls, or no load balancer.`, 'set policies.tls: true, then npx webstack up <design>');
  const renewed: CertificateView[] = [];
  for (const spec of specs) {
    const before = await inspect(spec, target);
    const script = spec.init!.command;
    const argv = [...script.slice(0, -1), 'renew'];
    const outcome = await target.run(spec.namespace, argv, { allowFailure: true, timeoutMs: 120_000 });
    if (outcome.exitCode !== 0) {
      throw labError('command-failed', `the ACME client on ${spec.host} could not renew (\`${argv.join(' ')}\`, status ${outcome.exitCode}):\n    ${`${outcome.stderr}\n${outcome.stdout}`.trim().split('\n').slice(-6).join('\n    ')}`, `npx webstack status --stack ${stack}`);
    }
    const pid = readStatus(stackPaths(home, stack).daemons)?.daemons.find((d) => d.host === spec.host && d.daemon === 'haproxy')?.pid;
    if (!pid) throw labError('not-running', `HAProxy on ${spec.host} is not running, so it cannot take the new certificate.`, `npx webstack status --stack ${stack}`);
    target.signal(pid, 'SIGUSR2');
    const after = await waitForServed(spec, before.serial, target);
    say(`${spec.host}: certificate for ${after.names.join(', ')} renewed (serial ${before.serial} → ${after.serial}, valid until ${after.notAfter}); HAProxy reloaded`);
    renewed.push(after);
  }
  return renewed;
}

/** The new certificate is in place once the file has it; HAProxy's workers take it at their reload. */
async function waitForServed(spec: DaemonSpec, oldSerial: string, target: Target): Promise<CertificateView> {
  for (let i = 0; i < 50; i++) {
    const now = await inspect(spec, target);
    if (now.serial !== oldSerial) return now;
    await sleep(100);
  }
  throw labError('command-failed', `the certificate of ${spec.host} did not change after its renewal.`);
}

export function formatCertificates(certs: readonly CertificateView[]): string {
  if (certs.length === 0) return 'no certificates: the stack terminates no TLS\n';
  return `${certs.map((c) => `${c.holder}: ${c.names.join(', ')}\n  issuer ${c.issuer}\n  valid until ${c.notAfter}, serial ${c.serial}`).join('\n')}\n`;
}
