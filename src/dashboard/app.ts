import { timingSafeEqual } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import { LabError } from '../lab/errors.ts';
import { FAULT_KINDS } from '../lab/state.ts';
import { PROVE_FAULTS } from '../prove/verdict.ts';
import type { Trace } from '../trace/trace.ts';
import type { DashboardView } from './view.ts';

// The dashboard's HTTP API (docs/dashboard.md), apart from the lab: everything it does goes
// through `DashboardBackend`, so that it is tested with Hono's `app.request` and a backend made up
// for the test, and run against a real stack by `live.ts`.
//
// The actions are destructive, so: the server listens on loopback unless told otherwise; every
// request needs the token printed with the URL (as Jupyter's), which the page's address sets as a
// cookie; and a request that changes anything must also carry the token in a header, as JSON,
// from the page's own origin. A cross-site form can send the cookie of none of these: SameSite
// keeps the cookie, a form cannot set the header, and its content type is not JSON.

export const TOKEN_COOKIE = 'webstack_dashboard';
export const TOKEN_HEADER = 'x-webstack-token';

/** Something that happened, pushed to every open page as a server-sent event of this name. */
export type DashboardEvent =
  | { readonly event: 'state'; readonly data: DashboardView }
  | { readonly event: 'traffic'; readonly data: { readonly at: number; readonly requests: number; readonly failed: number; readonly p99Ms: number } }
  | { readonly event: 'activity'; readonly data: { readonly at: number; readonly line: string; readonly failed?: boolean } }
  | { readonly event: 'alert'; readonly data: { readonly at: number; readonly status: string; readonly name: string; readonly summary: string } }
  | { readonly event: 'prove'; readonly data: { readonly running: boolean; readonly line?: string; readonly ok?: boolean; readonly verdict?: unknown } };

export interface DashboardBackend {
  readonly stack: string;
  /** The last view; null until the first is made. */
  view(): DashboardView | null;
  /** Calls `listener` with every event from now on; the returned function stops it. */
  subscribe(listener: (event: DashboardEvent) => void): () => void;
  /** The events a page that opens now should see first (recent activity, alerts, traffic). */
  recent(): readonly DashboardEvent[];
  diagramSvg(): Promise<string>;
  pageScript(): Promise<string>;
  chartStyle(): string;
  logs(host: string): Promise<readonly string[]>;
  fail(host: string, how: (typeof FAULT_KINDS)[number]): Promise<void>;
  heal(host: string): Promise<void>;
  partition(from: readonly string[], to: readonly string[]): Promise<void>;
  deploy(tier: 'app' | 'web'): Promise<void>;
  prove(request: { readonly faults: readonly (typeof PROVE_FAULTS)[number][]; readonly only?: readonly string[] }): Promise<void>;
  /** Starts the client's traffic at `rate` a second, or stops it (0). */
  traffic(rate: number): Promise<void>;
  /** The last prove run's HTML report, if there is one. */
  proveReport(): string | null;
  /** One request sent from the client and traced (`webstack trace`). */
  trace(request: { readonly path: string; readonly data?: string }): Promise<Trace>;
  /** Every log line of one request id, from the monitoring hosts (`logs --request`). */
  requestLines(id: string): readonly { readonly at: string; readonly host: string; readonly program: string; readonly message: string }[];
}

/** A refusal the backend wants the page to read, with the status it deserves. */
export class DashboardRefusal extends Error {
  constructor(
    message: string,
    readonly status: 400 | 404 | 409 = 409,
  ) {
    super(message);
  }
}

const host = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'a host name');
const BODIES = {
  fail: z.strictObject({ how: z.enum(FAULT_KINDS).exclude(['partition']).default('kill') }),
  partition: z.strictObject({ from: z.array(host).min(1), to: z.array(host).min(1) }),
  deploy: z.strictObject({ tier: z.enum(['app', 'web']).default('app') }),
  prove: z.strictObject({ faults: z.array(z.enum(PROVE_FAULTS)).min(1).default(['kill']), only: z.array(host).min(1).optional() }),
  traffic: z.strictObject({ rate: z.number().int().min(0).max(500) }),
  trace: z.strictObject({ path: z.string().startsWith('/').max(200).default('/'), data: z.string().max(10_000).optional() }),
};

export function dashboardApp(backend: DashboardBackend, token: string): Hono {
  const app = new Hono();
  const matches = (given: string | undefined) => given !== undefined && given.length === token.length && timingSafeEqual(Buffer.from(given), Buffer.from(token));

  // The page's address carries the token once: it becomes a cookie, and the address loses it.
  app.get('/', (c, next) => {
    const given = c.req.query('token');
    if (given === undefined) return next();
    if (!matches(given)) return c.text('This address has the wrong token. Use the one webstack dashboard printed.\n', 403);
    setCookie(c, TOKEN_COOKIE, token, { httpOnly: true, sameSite: 'Strict', path: '/' });
    return c.redirect('/', 303);
  });

  app.use('*', async (c, next) => {
    if (!matches(getCookie(c, TOKEN_COOKIE)) && !matches(c.req.header(TOKEN_HEADER))) {
      return c.text('webstack dashboard: open the address with the token that `webstack dashboard` printed.\n', 401);
    }
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      const refused = crossSite(c, matches);
      if (refused) return c.json({ error: refused }, 403);
    }
    return next();
  });

  app.get('/', (c) => c.html(pageHtml(backend.stack, token)));
  app.get('/page.js', async (c) => c.body(await backend.pageScript(), 200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' }));
  app.get('/uplot.css', (c) => c.body(backend.chartStyle(), 200, { 'content-type': 'text/css; charset=utf-8' }));
  app.get('/api/state', (c) => {
    const view = backend.view();
    return view ? c.json(view) : c.json({ error: 'the first look at the stack is not ready yet' }, 503);
  });
  app.get('/api/diagram.svg', async (c) => c.body(await backend.diagramSvg(), 200, { 'content-type': 'image/svg+xml' }));
  app.get('/api/logs/:host', async (c) => c.json({ host: c.req.param('host'), lines: await backend.logs(c.req.param('host')) }));
  app.get('/api/prove/report', (c) => {
    const report = backend.proveReport();
    return report ? c.html(report) : c.json({ error: 'no prove run has finished yet' }, 404);
  });
  app.get('/api/events', (c) =>
    streamSSE(c, async (stream) => {
      const queue: DashboardEvent[] = [...backend.recent()];
      const view = backend.view();
      if (view) queue.unshift({ event: 'state', data: view });
      let wake: (() => void) | null = null;
      const stop = backend.subscribe((e) => {
        queue.push(e);
        wake?.();
      });
      let open = true;
      stream.onAbort(() => {
        open = false;
        wake?.();
      });
      // A comment now and then keeps proxies and the browser from giving up on a quiet stream.
      const keepAlive = setInterval(() => void stream.write(': still here\n\n').catch(() => undefined), 15_000);
      try {
        while (open) {
          for (let e = queue.shift(); e; e = queue.shift()) await stream.writeSSE({ event: e.event, data: JSON.stringify(e.data) });
          if (open) await new Promise<void>((resolve) => (wake = resolve));
          wake = null;
        }
      } finally {
        clearInterval(keepAlive);
        stop();
      }
    }),
  );

  /** An error as the page reads it: what is wrong, with the status it deserves. */
  const refusal = (c: Context, error: unknown) => {
    if (error instanceof DashboardRefusal) return c.json({ error: error.message }, error.status);
    // The lab's refusals (no such host, already failed, not failed) are the person's to mend.
    if (error instanceof LabError) return c.json({ error: error.message, fix: error.fix }, error.code === 'no-host' ? 404 : 409);
    if (error instanceof z.ZodError) return c.json({ error: error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ') }, 400);
    return c.json({ error: (error as Error).message }, 500);
  };
  const action = async (c: Context, run: () => Promise<void>) => {
    try {
      await run();
      return c.json({ ok: true });
    } catch (error) {
      return refusal(c, error);
    }
  };
  const body = async (c: Context) => c.req.json().catch(() => ({}));
  app.post('/api/hosts/:host/fail', async (c) => action(c, async () => backend.fail(host.parse(c.req.param('host')), BODIES.fail.parse(await body(c)).how)));
  app.post('/api/hosts/:host/heal', async (c) => action(c, async () => backend.heal(host.parse(c.req.param('host')))));
  app.post('/api/partition', async (c) =>
    action(c, async () => {
      const { from, to } = BODIES.partition.parse(await body(c));
      const both = from.filter((h) => to.includes(h));
      if (both.length > 0) throw new DashboardRefusal(`${both.join(', ')} cannot be on both sides of a partition`, 400);
      await backend.partition(from, to);
    }),
  );
  app.post('/api/deploy', async (c) => action(c, async () => backend.deploy(BODIES.deploy.parse(await body(c)).tier)));
  app.post('/api/prove', async (c) => action(c, async () => backend.prove(BODIES.prove.parse(await body(c)))));
  app.post('/api/traffic', async (c) => action(c, async () => backend.traffic(BODIES.traffic.parse(await body(c)).rate)));
  // A trace sends a request to the stack (a write, with data): as guarded as any other action.
  app.post('/api/trace', async (c) => {
    try {
      return c.json(await backend.trace(BODIES.trace.parse(await body(c))));
    } catch (error) {
      return refusal(c, error);
    }
  });
  app.get('/api/requests/:id', (c) => {
    try {
      return c.json({ id: c.req.param('id'), lines: backend.requestLines(c.req.param('id')) });
    } catch (error) {
      return refusal(c, error);
    }
  });
  return app;
}

/** Why a state-changing request is refused as possibly cross-site, or null when it is the page's own. */
function crossSite(c: Context, matches: (token: string | undefined) => boolean): string | null {
  if (!matches(c.req.header(TOKEN_HEADER))) return `a request that changes the stack needs the token in its ${TOKEN_HEADER} header`;
  const origin = c.req.header('origin');
  const own = `${new URL(c.req.url).protocol}//${c.req.header('host') ?? new URL(c.req.url).host}`;
  if (origin !== undefined && origin !== own) return `a request from ${origin} may not change the stack`;
  const site = c.req.header('sec-fetch-site');
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return 'a cross-site request may not change the stack';
  if (!(c.req.header('content-type') ?? '').startsWith('application/json')) return 'a request that changes the stack is JSON (content-type: application/json)';
  return null;
}

function pageHtml(stack: string, token: string): string {
  const safe = stack.replace(/[^a-z0-9-]/gi, '');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="webstack-token" content="${token}">
<title>webstack dashboard: ${safe}</title>
<link rel="stylesheet" href="/uplot.css">
<style>${PAGE_STYLE}</style></head>
<body>
<header><h1>webstack dashboard: <span id="stack">${safe}</span></h1><p id="phase" role="status" aria-live="polite">connecting…</p></header>
<main>
<section aria-labelledby="diagram-title"><h2 id="diagram-title">The stack</h2><div id="diagram" role="img" aria-label="The design's diagram, each host coloured by its state; the same states are listed in the table of hosts"></div>
<p id="capabilities" aria-live="polite"></p></section>
<section aria-labelledby="hosts-title"><h2 id="hosts-title">Hosts</h2><table id="hosts"><thead><tr><th scope="col">host</th><th scope="col">state</th><th scope="col">daemons</th><th scope="col">break it, mend it</th></tr></thead><tbody></tbody></table>
<form id="partition"><fieldset><legend>Partition</legend><label>one side <input name="from" placeholder="db-01"></label> <label>the other side <input name="to" placeholder="app-01,app-02"></label> <button type="submit">cut them off</button></fieldset></form>
<p><button type="button" id="deploy">rolling deploy of the app</button> <button type="button" id="prove">prove (kill each host)</button> <a id="report" href="/api/prove/report" hidden>the last prove report</a></p></section>
<section aria-labelledby="traffic-title"><h2 id="traffic-title">Traffic</h2>
<form id="traffic-switch"><label>requests a second from the client <input type="number" name="rate" min="1" max="500" value="50"></label> <button type="submit" id="traffic-start">start traffic</button> <button type="button" id="traffic-stop">stop</button></form>
<p id="traffic-source"></p><div id="charts"></div></section>
<section aria-labelledby="database-title"><h2 id="database-title">Database, load balancers, virtual IPs</h2><div id="database"></div></section>
<section aria-labelledby="alerts-title"><h2 id="alerts-title">Alerts</h2><ul id="alerts" aria-live="polite"></ul></section>
<section aria-labelledby="activity-title"><h2 id="activity-title">Activity</h2><ol id="activity" aria-live="polite"></ol><div id="verdict"></div></section>
<section aria-labelledby="trace-title"><h2 id="trace-title">Trace a request</h2>
<form id="trace"><label>path <input name="path" value="/api/posts"></label> <label>JSON to post (a write) <input name="data" placeholder='{"author":"me","body":"hi"}'></label> <button type="submit">trace it</button></form>
<ol id="trace-steps" aria-live="polite"></ol></section>
<section aria-labelledby="logs-title"><h2 id="logs-title">Logs</h2><label>host <select id="log-host"></select></label> <button type="button" id="log-show">show its recent lines</button>
<form id="request-lines"><label>or one request's lines, by its id <input name="id" size="40"></label> <button type="submit">show them</button></form><pre id="logs" tabindex="0"></pre></section>
</main>
<script type="module" src="/page.js"></script>
</body></html>
`;
}

// Colours with a contrast of 4.5:1 or more against white, and a word beside each.
const PAGE_STYLE = `
body { font-family: 'DejaVu Sans', Helvetica, Arial, sans-serif; margin: 1.5em; color: #1b1b1b; }
main { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 0 2em; }
main > section:first-child { grid-column: 1 / -1; }
h1 { font-size: 1.4em; margin: 0; } h2 { font-size: 1.1em; border-bottom: 1px solid #bbb; }
#diagram svg { max-width: 100%; height: auto; }
#diagram .node.state-ready rect, #diagram .node.state-ready path, #diagram .node.state-ready ellipse { stroke: #1b5e20; stroke-width: 3; }
#diagram .node.state-degraded rect, #diagram .node.state-starting rect { stroke: #8a4b00; stroke-width: 4; }
#diagram .node.state-failed rect, #diagram .node.state-faulted rect, #diagram .node.state-down rect, #diagram .node.state-failed path, #diagram .node.state-faulted path, #diagram .node.state-failed ellipse, #diagram .node.state-faulted ellipse { stroke: #b71c1c; stroke-width: 5; fill: #fdecea; }
#diagram .node.state-partitioned rect { stroke: #6a1b9a; stroke-width: 5; stroke-dasharray: 6 3; }
#diagram .node.traced rect, #diagram .node.traced path, #diagram .node.traced ellipse { fill: #fff59d; }
#trace-steps li { margin-bottom: 0.3em; } #trace-steps .why { color: #444; font-size: 0.9em; }
table { border-collapse: collapse; } th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
.state { font-weight: bold; } .state-ready { color: #1b5e20; } .state-degraded, .state-starting { color: #8a4b00; } .state-failed, .state-faulted, .state-down { color: #b71c1c; } .state-partitioned { color: #6a1b9a; }
button { font: inherit; margin: 0.1em; } button:focus-visible, a:focus-visible, input:focus-visible, select:focus-visible { outline: 3px solid #0b57d0; outline-offset: 2px; }
#charts { display: flex; flex-wrap: wrap; gap: 1em; } .chart h3 { font-size: 0.95em; margin: 0.3em 0 0; } .chart .latest { font-size: 0.8em; margin: 0; color: #444; }
#activity, #alerts { max-height: 16em; overflow-y: auto; font-size: 0.9em; } .failed { color: #b71c1c; }
#logs { max-height: 20em; overflow: auto; background: #f5f5f5; padding: 0.5em; font-size: 0.8em; }
.capability-on { color: #1b5e20; } .capability-off { color: #b71c1c; font-weight: bold; }
@media (max-width: 1000px) { main { grid-template-columns: 1fr; } }
`;
