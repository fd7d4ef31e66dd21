import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { chromium } from '../helpers.ts';
import { expectOk, removeStack, SKIP_LAB, until, webstack, withDashboard } from './lab-helpers.ts';

// `webstack dashboard` as a person uses it, in Debian's Chromium: on distributed (HAProxy's
// counters, no monitoring) and on simple (one host, no load balancer). The same on ha, with
// Prometheus and an alert, is in ha.test.ts, on that file's stack.

const SKIP = SKIP_LAB || (chromium() ? false : "needs Debian's chromium");

/** The state word of a host in the page's table of hosts. */
const stateOf = (page: import('playwright-core').Page, host: string) => page.locator(`#hosts tr[data-host="${host}"] .state`).textContent();

describe('the dashboard, in a browser', { skip: SKIP }, () => {
  test('on distributed: every host shown; kill a server and it shows faulted within 2 s, the LB marks it down, the traffic goes on without errors; heal brings it back; a trace lights its path; a cross-site form changes nothing', async (t) => {
    const stack = 'it-dash';
    removeStack(stack);
    try {
      expectOk(webstack('up', 'distributed', '--name', stack), 'up');
      await withDashboard(stack, async (page, url, shot) => {
        await until('every host ready on the page', 15_000, async () => (await page.locator('#hosts tbody tr').count()) === 5 && (await stateOf(page, 'server-02')) === 'ready');
        for (const host of ['lb-01', 'server-01', 'server-02', 'dns', 'client']) assert.equal(await page.locator(`#hosts tr[data-host="${host}"]`).count(), 1, host);
        for (const host of ['lb-01', 'server-01', 'server-02']) assert.equal(await page.locator(`#diagram #node-h_${host.replace('-', '_')}`).count(), 1, `${host} in the diagram`);
        await page.locator('#traffic-switch input[name="rate"]').fill('50');
        await page.locator('#traffic-start').click();
        await until('the client chart moving', 10_000, async () => (await page.locator('#charts [data-chart="client"]').count()) === 1);
        await until("the LB's view", 10_000, async () => (await page.locator('[data-lb="lb-01"][data-server="server-02"]').textContent()) === 'server-02 UP');
        await shot('distributed-ready');

        const clicked = Date.now();
        await page.getByRole('button', { name: 'kill server-02' }).click();
        const shownMs = await until('server-02 faulted on the page', 2_000 + 1_000, async () => (await stateOf(page, 'server-02')) === 'faulted');
        const shownAfter = Date.now() - clicked;
        t.diagnostic(`server-02 shown faulted ${shownAfter} ms after the click (${shownMs} ms after the page answered)`);
        assert.ok(shownAfter <= 2_000, `shown within 2 s of the click (${shownAfter} ms)`);
        await until("the LB's view marks server-02 down", 6_000, async () => /DOWN/.test((await page.locator('[data-lb="lb-01"][data-server="server-02"]').textContent()) ?? ''));
        assert.match((await page.locator('#node-h_server_02').getAttribute('class')) ?? '', /state-faulted/);
        const before = await page.locator('#charts').getAttribute('data-client-failed');
        await new Promise((r) => setTimeout(r, 3_000));
        await shot('distributed-server-02-killed');
        assert.equal(await page.locator('#charts').getAttribute('data-client-failed'), before ?? null, 'no request of the traffic failed while server-02 was down');

        await page.getByRole('button', { name: 'heal server-02' }).click();
        await until('server-02 ready again', 20_000, async () => (await stateOf(page, 'server-02')) === 'ready');
        await until("the LB's view marks server-02 up", 10_000, async () => (await page.locator('[data-lb="lb-01"][data-server="server-02"]').textContent()) === 'server-02 UP');
        assert.equal(Number((await page.locator('#charts').getAttribute('data-client-failed')) ?? 0), 0, 'no request of the traffic failed at all');
        await page.locator('#traffic-stop').click();
        await shot('distributed-healed');

        // A trace from the page: its steps listed, its hosts lit on the diagram.
        await page.locator('#trace input[name="path"]').fill('/static/style.css');
        await page.locator('#trace button').click();
        await until('the trace on the page', 10_000, async () => /served the file itself/.test((await page.locator('#trace-steps').textContent()) ?? ''));
        assert.match((await page.locator('#trace-steps li').first().textContent()) ?? '', /^DNS: www\.foobar\.com is 203\.0\.113\.42/);
        assert.match((await page.locator('#node-h_lb_01').getAttribute('class')) ?? '', /\btraced\b/);
        await shot('distributed-trace');

        // A page of another origin (a data: URL's, opaque) posting a form to the dashboard: the
        // strict cookie does not go with it, so it is refused, and nothing is done.
        const origin = new URL(url).origin;
        const answer = page.waitForResponse((r) => r.url().includes('/api/hosts/server-01/fail'));
        await page.goto(`data:text/html,${encodeURIComponent(`<form method="post" action="${origin}/api/hosts/server-01/fail"><input name="how" value="kill"></form><script>document.forms[0].submit()</script>`)}`);
        assert.ok([401, 403].includes((await answer).status()), 'the cross-site form is refused');
        const token = { 'x-webstack-token': new URL(url).searchParams.get('token')! };
        await new Promise((r) => setTimeout(r, 1_000));
        const view = (await (await fetch(`${origin}/api/state`, { headers: token })).json()) as { hosts: { name: string; state: string }[] };
        assert.equal(view.hosts.find((h) => h.name === 'server-01')!.state, 'ready', 'server-01 was not killed');
        const tokenless = await fetch(`${origin}/api/hosts/server-01/fail`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"how":"kill"}' });
        assert.equal(tokenless.status, 401);
      });
    } finally {
      webstack('heal', 'server-02', '--stack', stack);
      removeStack(stack);
    }
  });

  test('on simple, one host without a load balancer: shown, its traffic charted from the client, killed and healed', async () => {
    const stack = 'it-dash-one';
    removeStack(stack);
    try {
      expectOk(webstack('up', 'simple', '--name', stack), 'up');
      await withDashboard(stack, async (page, _url, shot) => {
        await until('server-01 ready on the page', 15_000, async () => (await stateOf(page, 'server-01')) === 'ready');
        await page.locator('#traffic-start').click();
        await until('the client chart moving', 10_000, async () => (await page.locator('#charts [data-chart="client"]').count()) === 1);
        assert.match((await page.locator('#capabilities').textContent()) ?? '', /write: available/);
        await page.getByRole('button', { name: 'kill server-01' }).click();
        await until('server-01 faulted', 3_000, async () => (await stateOf(page, 'server-01')) === 'faulted');
        await until('writes lost by the model', 3_000, async () => /write: lost/.test((await page.locator('#capabilities').textContent()) ?? ''));
        await until('failures charted', 5_000, async () => Number((await page.locator('#charts').getAttribute('data-client-failed')) ?? 0) > 0);
        await shot('simple-killed');
        await page.getByRole('button', { name: 'heal server-01' }).click();
        await until('server-01 ready again', 30_000, async () => (await stateOf(page, 'server-01')) === 'ready');
        await page.locator('#traffic-stop').click();
      });
    } finally {
      webstack('heal', 'server-01', '--stack', stack);
      removeStack(stack);
    }
  });
});
