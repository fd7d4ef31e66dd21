import { pino, type Logger } from 'pino';

// The app's log: JSON lines on stdout (the supervisor's log file for the host), and the same
// lines as RFC 5424 syslog messages (pino-syslog) sent over UDP (pino-socket) to every monitoring
// host's rsyslog, so the stack's logs are in one place. The transports run in a worker thread:
// a slow or absent log server never holds up a request.

export function appLogger(syslog: readonly { address: string; port: number }[]): Logger {
  if (syslog.length === 0) return pino({ base: undefined });
  const transport = pino.transport<Record<string, unknown>>({
    targets: [
      { target: 'pino/file', options: { destination: 1 } },
      ...syslog.map((to) => ({
        pipeline: [
          { target: 'pino-syslog', options: { modern: true, appname: 'app', tz: 'UTC', enablePipelining: true } },
          { target: 'pino-socket', options: { address: to.address, port: to.port, mode: 'udp' } },
        ],
      })),
    ],
  });
  return pino({ base: undefined }, transport);
}
