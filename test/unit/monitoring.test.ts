import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { alertHistories, formatAlerts, parseReceived, type Received } from '../../src/alerts/notifications.ts';
import { formatLogLine, mergeLogs, parseSince } from '../../src/lab/logs.ts';

function received(at: string, via: string, status: 'firing' | 'resolved', startsAt: string, labels: Record<string, string>): Received {
  const alert = { status, labels, annotations: { summary: `${labels.host} is down`, runbook: 'npx webstack status --stack t' }, startsAt, endsAt: status === 'resolved' ? at : '0001-01-01T00:00:00Z', fingerprint: labels.alertname + (labels.host ?? '') };
  return { receivedAt: at, via, notification: { version: '4', status, receiver: 'lab', groupKey: '{}', alerts: [alert] } };
}

describe('the alerts the receivers recorded', () => {
  const down = { alertname: 'InstanceDown', host: 'web-01', job: 'nginx-exporter', severity: 'page' };
  test('an alert is told once, resolves once, and a second outage is a second story', () => {
    const histories = alertHistories([
      received('2026-11-23T10:00:12Z', 'mon-01', 'firing', '2026-11-23T10:00:05Z', down),
      received('2026-11-23T10:01:00Z', 'mon-01', 'resolved', '2026-11-23T10:00:05Z', down),
      received('2026-11-23T10:05:12Z', 'mon-02', 'firing', '2026-11-23T10:05:05Z', down),
    ]);
    assert.deepEqual(
      histories.map((h) => [h.name, h.subject, h.status, h.notifiedAt, h.resolvedAt, h.via, h.firingNotifications]),
      [
        ['InstanceDown', 'web-01 nginx-exporter', 'resolved', '2026-11-23T10:00:12Z', '2026-11-23T10:01:00Z', 'mon-01', 1],
        ['InstanceDown', 'web-01 nginx-exporter', 'firing', '2026-11-23T10:05:12Z', null, 'mon-02', 1],
      ],
    );
    const text = formatAlerts(histories);
    assert.match(text, /^1 firing, 1 resolved\n/);
    assert.ok(text.indexOf('FIRING') < text.indexOf('resolved  InstanceDown'), 'what fires comes first');
    assert.match(text, /notified 10:00:12 by mon-01, resolved 10:01:00/);
  });

  test('the same alert sent by two Alertmanagers counts twice, so a test can see the cluster failed to deduplicate', () => {
    const twice = alertHistories([
      received('2026-11-23T10:00:12Z', 'mon-01', 'firing', '2026-11-23T10:00:05Z', down),
      received('2026-11-23T10:00:13Z', 'mon-02', 'firing', '2026-11-23T10:00:05Z', down),
    ]);
    assert.equal(twice.length, 1);
    assert.equal(twice[0]!.firingNotifications, 2);
    assert.match(formatAlerts(twice), /\(2 times\)/);
  });

  test('a line still being written is skipped, not an error', () => {
    const line = JSON.stringify(received('2026-11-23T10:00:12Z', 'mon-01', 'firing', '2026-11-23T10:00:05Z', down));
    assert.equal(parseReceived(`${line}\n${line.slice(0, 40)}`).length, 1);
    assert.equal(formatAlerts([]), 'No notification has arrived yet.\n');
  });
});

describe("the stack's logs in one place", () => {
  const line = (received: string, from: string, program: string, message: string) => JSON.stringify({ received, time: received.slice(0, 19) + '+00:00', from, program, message });
  test('two copies merge into one, each line once, in the order rsyslog received them, named by sender', () => {
    const hosts = new Map([['10.0.0.10', 'lb-01'], ['10.0.0.11', 'web-01']]);
    const mon1 = [line('2026-11-23T19:00:00.200000+00:00', '10.0.0.11', 'nginx', 'GET / id=7'), line('2026-11-23T19:00:00.100000+00:00', '10.0.0.10', 'haproxy', 'GET / id=7')].join('\n');
    const mon2 = [line('2026-11-23T19:00:00.100000+00:00', '10.0.0.10', 'haproxy', 'GET / id=7'), line('2026-11-23T19:00:01.000000+00:00', '127.0.0.1', 'app', 'late'), '{"half'].join('\n');
    const merged = mergeLogs([{ monitor: 'mon-01', text: mon1 }, { monitor: 'mon-02', text: mon2 }], (a, monitor) => hosts.get(a) ?? (a === '127.0.0.1' ? monitor : a));
    assert.deepEqual(merged.map((l) => `${l.host} ${l.program} ${l.message}`), ['lb-01 haproxy GET / id=7', 'web-01 nginx GET / id=7', 'mon-02 app late']);
    assert.equal(formatLogLine(merged[0]!), '19:00:00.100  lb-01      haproxy  GET / id=7');
  });

  test('--since takes seconds, minutes and hours, and nothing else', () => {
    assert.equal(parseSince('90s'), 90_000);
    assert.equal(parseSince('5m'), 300_000);
    assert.equal(parseSince('2h'), 7_200_000);
    assert.equal(parseSince('5 minutes'), null);
    assert.equal(parseSince('-5m'), null);
  });
});
