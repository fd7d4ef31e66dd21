import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { figuresFrom, formatTiers, formatTop } from '../../src/lab/traffic.ts';

const at = (metric: Record<string, string>, value: string) => ({ metric, value: [1_790_000_000, value] as [number, string] });

describe("the figures status and top read from Prometheus' recording rules", () => {
  const answers = {
    tierRate: [at({ tier: 'app' }, '31.5'), at({ tier: 'lb' }, '40'), at({ tier: 'web' }, '40.2')],
    tierErrors: [at({ tier: 'lb' }, '0.025'), at({ tier: 'app' }, '0')],
    tierP99: [at({ tier: 'app' }, '0.0234')],
    hostRate: [at({ tier: 'app', host: 'app-02' }, '15'), at({ tier: 'app', host: 'app-01' }, '16.5'), at({ tier: 'lb', host: 'lb-01' }, '40')],
    hostP99: [at({ tier: 'app', host: 'app-01' }, '0.02'), at({ tier: 'app', host: 'app-02' }, 'NaN')],
  };

  test('tiers come in the order a request crosses them, with what each tier can tell', () => {
    const t = figuresFrom('mon-01', answers);
    assert.deepEqual(
      t.tiers.map((f) => [f.tier, f.requestsPerSecond, f.errorRatio, f.p99Ms === null ? null : Math.round(f.p99Ms * 10) / 10]),
      [
        ['lb', 40, 0.025, null],
        ['web', 40.2, null, null],
        ['app', 31.5, 0, 23.4],
      ],
    );
    assert.deepEqual(formatTiers(t), ['  lb   40 req/s, 2.5 % errors', '  web  40 req/s', '  app  32 req/s, 0.0 % errors, p99 23 ms']);
  });

  test('hosts are listed tier by tier, and a latency Prometheus cannot compute (no requests) is left out', () => {
    const screen = formatTop('ha', figuresFrom('mon-02', answers), new Date('2026-11-23T19:40:02Z'));
    assert.match(screen, /^ha at 19:40:02, last minute, from mon-02's Prometheus\n/);
    const rows = screen.split('\n').filter((l) => /^ {2}(lb|app)-0\d/.test(l));
    assert.deepEqual(rows.map((r) => r.trim().split(/\s+/).slice(0, 3).join(' ')), ['lb-01 lb 40', 'app-01 app 17', 'app-02 app 15']);
    assert.match(screen, /app-01 +app +17 req\/s {2}p99 20 ms/);
    assert.doesNotMatch(screen, /NaN/);
    assert.match(formatTop('ha', null, new Date()), /no monitoring host answers/);
  });
});
