import { existsSync, readFileSync } from 'node:fs';
import { stackLogFile } from '../daemons/rsyslog.ts';
import { daemonPaths, stackPaths } from '../plan/paths.ts';
import { labError } from './errors.ts';
import { readRunningDesign } from './state.ts';

// The stack's logs in one place: what rsyslog on the monitoring hosts wrote, each line with the
// host that sent it. `logs --request <id>` follows one request through the load balancer, nginx
// and the app; `logs --all --since 5m` merges everything by time.

export interface LogLine {
  /** When rsyslog got it: one clock for every sender, in microseconds, so lines sort as they happened. */
  readonly at: string;
  readonly host: string;
  readonly program: string;
  readonly message: string;
}

interface Written {
  readonly received: string;
  readonly time: string;
  readonly from: string;
  readonly program: string;
  readonly message: string;
}

/** '90s', '5m', '2h' → milliseconds; null when it is none of those. */
export function parseSince(text: string): number | null {
  const m = /^(\d+)(s|m|h)$/.exec(text.trim());
  if (!m) return null;
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 's' | 'm' | 'h'];
}

/**
 * Every monitoring host keeps a full copy; a host that was down missed some lines. Merge the
 * copies, each line once, in the order rsyslog received them, naming each sender by its address.
 */
export function mergeLogs(copies: readonly { monitor: string; text: string }[], hostOf: (address: string, monitor: string) => string): LogLine[] {
  const seen = new Set<string>();
  const lines: LogLine[] = [];
  for (const { monitor, text } of copies) {
    for (const raw of text.split('\n')) {
      if (!raw.trim()) continue;
      let w: Written;
      try {
        w = JSON.parse(raw) as Written;
      } catch {
        continue;
      }
      const host = hostOf(w.from, monitor);
      const key = `${host}|${w.program}|${w.time}|${w.message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      lines.push({ at: w.received, host, program: w.program, message: w.message.trim() });
    }
  }
  return lines.sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || a.at.localeCompare(b.at));
}

export function stackLogs(home: string, stack: string): LogLine[] {
  const running = readRunningDesign(home, stack);
  if (!running) throw labError('no-stack', `there is no stack named '${stack}' with a recorded design.`, 'npx webstack ls');
  const { design } = running;
  const monitors = design.hosts.filter((h) => h.roles.includes('monitoring')).map((h) => h.name);
  if (monitors.length === 0) throw labError('no-monitoring', `stack '${stack}' has no monitoring host to collect its logs.`);
  const byAddress = new Map(design.hosts.flatMap((h) => Object.values(h.addresses).map((a) => [a, h.name] as const)));
  const copies = monitors.flatMap((monitor) => {
    const file = stackLogFile(daemonPaths(stackPaths(home, stack), monitor, 'rsyslog').data);
    return existsSync(file) ? [{ monitor, text: readFileSync(file, 'utf8') }] : [];
  });
  // Loopback is the monitoring host itself (a design where it also serves).
  return mergeLogs(copies, (address, monitor) => byAddress.get(address) ?? (address === '127.0.0.1' ? monitor : address));
}

export function formatLogLine(l: LogLine): string {
  return `${l.at.slice(11, 23)}  ${l.host.padEnd(10)} ${l.program.padEnd(8)} ${l.message}`;
}
