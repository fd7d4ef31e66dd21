import { join } from 'node:path';
import { PORTS } from '../design/ports.ts';
import { scrapeAddresses } from './listeners.ts';
import { header, listener, staged, type RunnableDaemon } from './types.ts';

// Logs in one place: rsyslog on every monitoring host takes the access logs of HAProxy and nginx
// and the app's request log over syslog (UDP, as HAProxy and nginx send it natively), and writes
// them, one JSON line each with the sender's address, to one file: what `webstack logs --all` and
// `logs --request <id>` read. Each monitoring host keeps a full copy, as each Prometheus does.

/** The file a monitoring host's rsyslog writes, under its volume (kept by `down`). */
export function stackLogFile(data: string): string {
  return join(data, 'stack.log');
}

export const rsyslog: RunnableDaemon = {
  name: 'rsyslog',
  title: 'rsyslog, which collects the logs',
  programs: { rsyslogd: 'rsyslog' },
  listens: (role) => (role === 'monitoring' ? [listener('rsyslog', role, PORTS.syslog, 'internal', 'udp')] : []),
  runsOn: (host) => host.roles.includes('monitoring'),
  after: [],
  render(context) {
    const { paths, host, design } = context;
    const listen = scrapeAddresses(design, host, PORTS.syslog, 'logs');
    const configFile = join(paths.config, 'rsyslog.conf');
    const config = `${header('#', context, 'rsyslog')}
global(workDirectory="${join(paths.data, 'work')}" maxMessageSize="64k")
module(load="imudp")
${listen.map((a) => `input(type="imudp" address="${a}" port="${PORTS.syslog}")`).join('\n')}

# One JSON object a line: when it arrived, when the sender says it happened, who sent it, and what.
template(name="webstack" type="list" option.jsonf="on") {
  property(outname="received" name="timegenerated" dateFormat="rfc3339" format="jsonf")
  property(outname="time" name="timereported" dateFormat="rfc3339" format="jsonf")
  property(outname="from" name="fromhost-ip" format="jsonf")
  property(outname="program" name="programname" format="jsonf")
  property(outname="message" name="msg" format="jsonf")
}
action(type="omfile" file="${stackLogFile(paths.data)}" template="webstack")
`;
    return {
      daemon: 'rsyslog',
      host: host.name,
      namespace: host.namespace,
      after: rsyslog.after,
      command: ['rsyslogd', '-n', '-f', configFile, '-i', join(paths.run, 'rsyslogd.pid')],
      files: [{ path: configFile, content: config, mode: 0o644 }],
      dirs: [{ path: paths.run }, { path: paths.data }, { path: join(paths.data, 'work') }],
      copies: [],
      validate: [['rsyslogd', '-N1', '-f', staged(configFile)]],
      // rsyslog re-opens its files on SIGHUP but keeps its inputs: a changed config means a restart.
      readiness: { kind: 'exec', argv: ['bash', '-c', `ss -Hlnu 'sport = :${PORTS.syslog}' | grep -q .`], what: `it listens on udp ${PORTS.syslog}` },
      readinessTimeoutMs: 10_000,
      log: paths.log,
    };
  },
};
