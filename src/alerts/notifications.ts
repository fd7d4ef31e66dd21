import { z } from 'zod';

// What Alertmanager sends a webhook (version 4 of its payload), what the lab's receiver records of
// each, and what `webstack alerts` makes of the record: each alert, firing or resolved, with when it
// started, when a person was told, and from which monitoring host.

const AlertSchema = z.object({
  status: z.enum(['firing', 'resolved']),
  labels: z.record(z.string(), z.string()),
  annotations: z.record(z.string(), z.string()),
  startsAt: z.string(),
  endsAt: z.string(),
  fingerprint: z.string(),
});

export const NotificationSchema = z.object({
  version: z.string(),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string(),
  groupKey: z.string(),
  alerts: z.array(AlertSchema),
});

export type Notification = z.infer<typeof NotificationSchema>;

/** One line of the stack's alerts file. */
export interface Received {
  readonly receivedAt: string;
  /** The monitoring host whose receiver got it. */
  readonly via: string;
  readonly notification: Notification;
}

export interface AlertHistory {
  readonly name: string;
  readonly status: 'firing' | 'resolved';
  readonly severity: string;
  /** What it is about: the host, job or backend server its labels name. */
  readonly subject: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly summary: string;
  readonly runbook: string;
  readonly startsAt: string;
  /** When the first notification that it fires arrived. */
  readonly notifiedAt: string;
  /** When the notification that it resolved arrived. */
  readonly resolvedAt: string | null;
  readonly via: string;
  /** How many notifications said it fires: 1 when every Alertmanager but one held back. */
  readonly firingNotifications: number;
}

/** The lines of an alerts file, skipping a last line still being written. */
export function parseReceived(text: string): Received[] {
  return text.split('\n').flatMap((line) => {
    if (!line.trim()) return [];
    try {
      return [JSON.parse(line) as Received];
    } catch {
      return [];
    }
  });
}

function subjectOf(labels: Readonly<Record<string, string>>): string {
  return [labels.host, labels.job, labels.server, labels.instance && !labels.host ? labels.instance : undefined, labels.tier].filter(Boolean).join(' ');
}

/**
 * Each alert's story, in the order it first fired. An alert that fires again after it resolved
 * starts a new story (its `startsAt` differs).
 */
export function alertHistories(received: readonly Received[]): AlertHistory[] {
  const stories = new Map<string, { -readonly [K in keyof AlertHistory]: AlertHistory[K] }>();
  for (const r of received) {
    for (const alert of r.notification.alerts) {
      const key = `${alert.fingerprint}@${alert.startsAt}`;
      const story = stories.get(key);
      if (alert.status === 'firing') {
        if (story) {
          story.firingNotifications++;
          continue;
        }
        stories.set(key, {
          name: alert.labels.alertname ?? '?',
          status: 'firing',
          severity: alert.labels.severity ?? '',
          subject: subjectOf(alert.labels),
          labels: alert.labels,
          summary: alert.annotations.summary ?? '',
          runbook: alert.annotations.runbook ?? '',
          startsAt: alert.startsAt,
          notifiedAt: r.receivedAt,
          resolvedAt: null,
          via: r.via,
          firingNotifications: 1,
        });
      } else if (story && story.resolvedAt === null) {
        story.status = 'resolved';
        story.resolvedAt = r.receivedAt;
      }
    }
  }
  return [...stories.values()];
}

const clock = (iso: string) => new Date(iso).toISOString().slice(11, 19);

/** One line per alert, for people. */
export function formatAlert(a: AlertHistory): string {
  const told = `notified ${clock(a.notifiedAt)} by ${a.via}${a.firingNotifications > 1 ? ` (${a.firingNotifications} times)` : ''}`;
  const when = a.resolvedAt ? `${told}, resolved ${clock(a.resolvedAt)}` : told;
  return `${a.status === 'firing' ? 'FIRING  ' : 'resolved'}  ${a.name.padEnd(22)} ${a.subject.padEnd(28)} ${when}\n            ${a.summary}${a.status === 'firing' && a.runbook ? `  → ${a.runbook}` : ''}`;
}

/** The whole picture: what fires now first, then what resolved, each in the order it started. */
export function formatAlerts(histories: readonly AlertHistory[]): string {
  if (histories.length === 0) return 'No notification has arrived yet.\n';
  const firing = histories.filter((h) => h.status === 'firing');
  const resolved = histories.filter((h) => h.status === 'resolved');
  const lines = [`${firing.length} firing, ${resolved.length} resolved`, ...firing.map(formatAlert), ...resolved.map(formatAlert)];
  return lines.join('\n') + '\n';
}
