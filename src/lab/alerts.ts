import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { alertHistories, parseReceived, type AlertHistory, type Received } from '../alerts/notifications.ts';
import { stackPaths } from '../plan/paths.ts';
import { labError } from './errors.ts';
import { readRunningDesign } from './state.ts';

// `webstack alerts`: what the lab's receivers recorded, as each alert's story, or as it arrives.

function alertsFile(home: string, stack: string): string {
  const running = readRunningDesign(home, stack);
  if (!running) throw labError('no-stack', `there is no stack named '${stack}' with a recorded design.`, 'npx webstack ls');
  if (!running.design.policies.monitoring.alerting) throw labError('no-alerting', `stack '${stack}' does not alert.`);
  return stackPaths(home, stack).alerts;
}

export function readReceived(home: string, stack: string): Received[] {
  const file = alertsFile(home, stack);
  return existsSync(file) ? parseReceived(readFileSync(file, 'utf8')) : [];
}

export function alerts(home: string, stack: string): AlertHistory[] {
  return alertHistories(readReceived(home, stack));
}

/** One line per alert of a notification, as it arrives. */
export function formatArrival(r: Received): string[] {
  return r.notification.alerts.map((a) => {
    const subject = [a.labels.host, a.labels.job, a.labels.server, a.labels.tier].filter(Boolean).join(' ');
    return `${r.receivedAt.slice(11, 19)}  ${a.status === 'firing' ? 'FIRING  ' : 'resolved'}  ${(a.labels.alertname ?? '?').padEnd(22)} ${subject.padEnd(28)} ${a.annotations.summary ?? ''} (via ${r.via})`;
  });
}

/** Calls `onArrival` for each notification already recorded, then for each new one, until `signal` aborts. */
export async function followAlerts(home: string, stack: string, onArrival: (r: Received) => void, signal?: AbortSignal): Promise<void> {
  const file = alertsFile(home, stack);
  let seen = 0;
  while (!signal?.aborted) {
    const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    // Only whole lines: one being written is read on the next turn.
    const complete = text.slice(0, text.lastIndexOf('\n') + 1);
    const received = parseReceived(complete);
    for (const r of received.slice(seen)) onArrival(r);
    seen = received.length;
    await sleep(500, undefined, { signal }).catch(() => undefined);
  }
}
