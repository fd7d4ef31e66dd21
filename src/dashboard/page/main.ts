import uPlot from 'uplot';
import type { DashboardView, HostCard } from '../view.ts';
import type { TrafficFigures } from '../traffic.ts';
import type { Trace } from '../../trace/trace.ts';

// The dashboard page: draws what the server pushes (server-sent events: the stack's view, the
// client's traffic, activity, alerts, prove's progress) and sends what a person asks for. Every
// request that changes the stack carries the token in a header, as JSON, from this origin.

const token = document.querySelector<HTMLMetaElement>('meta[name="webstack-token"]')!.content;
const $ = <T extends HTMLElement>(selector: string) => document.querySelector<T>(selector)!;
const HISTORY_S = 120;

async function post(path: string, body: unknown = {}): Promise<void> {
  const response = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json', 'x-webstack-token': token }, body: JSON.stringify(body) });
  if (!response.ok) {
    const said = (await response.json().catch(() => ({}))) as { error?: string };
    activity(`${path}: ${said.error ?? response.statusText}`, true);
  }
}

function activity(line: string, failed = false, at = Date.now()): void {
  const item = document.createElement('li');
  item.textContent = `${new Date(at).toLocaleTimeString()} ${line}`;
  if (failed) item.className = 'failed';
  $('#activity').prepend(item);
}

const nodeId = (host: string) => `node-h_${host.replace(/[^A-Za-z0-9]/g, '_')}`;

// One row per host, made once and updated in place, so that keyboard focus stays on its button.
const rows = new Map<string, { state: HTMLElement; daemons: HTMLElement }>();
function hostRow(host: HostCard): { state: HTMLElement; daemons: HTMLElement } {
  const known = rows.get(host.name);
  if (known) return known;
  const tr = document.createElement('tr');
  tr.dataset.host = host.name;
  const name = document.createElement('th');
  name.scope = 'row';
  name.textContent = host.name;
  const state = document.createElement('td');
  const daemons = document.createElement('td');
  const actions = document.createElement('td');
  // The lab's client is the internet, not a host of the stack: nothing to break there.
  for (const [label, run] of host.name === 'client' ? [] : [
    ['kill', () => post(`/api/hosts/${host.name}/fail`, { how: 'kill' })],
    ['freeze', () => post(`/api/hosts/${host.name}/fail`, { how: 'freeze' })],
    ['cut', () => post(`/api/hosts/${host.name}/fail`, { how: 'cut' })],
    ['heal', () => post(`/api/hosts/${host.name}/heal`)],
  ] as const) {
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = label;
    button.setAttribute('aria-label', `${label} ${host.name}`);
    button.dataset.action = label;
    button.addEventListener('click', () => void run());
    actions.append(button);
  }
  tr.append(name, state, daemons, actions);
  $('#hosts tbody').append(tr);
  const option = document.createElement('option');
  option.value = option.textContent = host.name;
  $('#log-host').append(option);
  const made = { state, daemons };
  rows.set(host.name, made);
  return made;
}

/** When the traffic figures drawn last were read: a view with the same reading adds no point. */
let lastTrafficAt = 0;

function drawView(view: DashboardView): void {
  $('#phase').textContent = `${view.stack}: ${view.phase}`;
  for (const host of view.hosts) {
    const row = hostRow(host);
    row.state.innerHTML = '';
    const word = document.createElement('span');
    word.className = `state state-${host.state}`;
    word.textContent = host.state;
    row.state.append(word, host.why ? ` (${host.why})` : '');
    row.daemons.textContent = host.daemons.map((d) => `${d.name}: ${d.state}${d.summary ? ` (${d.summary})` : ''}`).join('; ');
    const node = document.getElementById(nodeId(host.name));
    if (node) {
      node.setAttribute('class', `${(node.getAttribute('class') ?? '').replace(/\s*state-\S+/g, '')} state-${host.state}`);
      node.setAttribute('aria-label', `${host.name}: ${host.state}`);
    }
  }
  const capabilities = Object.entries(view.capabilities).map(([name, on]) => `<span class="capability-${on ? 'on' : 'off'}">${name}: ${on ? 'available' : 'lost'}</span>`);
  $('#capabilities').innerHTML = `What users can do now, by check's model of the hosts that are up: ${capabilities.join(', ')}`;
  const db = view.database;
  const vips = view.virtualIps.map((v) => `<li>virtual IP ${v.address} (${v.role}): held by <b>${v.holder ?? 'nobody'}</b></li>`);
  const balancers = view.balancers.map((b) => `<li>${b.lb} sees: ${b.servers.map((s) => `<span data-lb="${b.lb}" data-server="${s.server}" class="${s.status.startsWith('UP') ? 'state-ready' : 'state-failed'}">${s.server} ${s.status}</span>`).join(', ') || 'no figures yet'}</li>`);
  const servers = db.servers.map((s) => `<li>${s.host}: ${s.role}${s.summary && s.summary !== s.role ? ` (${s.summary})` : ''}${s.lagSeconds !== null ? `, ${s.lagSeconds} s behind` : ''}${s.synced === false ? ', not synced' : ''}</li>`);
  $('#database').innerHTML = `<p>Database (${db.kind}): writes go to <b>${db.writer ?? 'nobody'}</b></p><ul>${servers.join('')}</ul><ul>${balancers.join('')}${vips.join('')}</ul>`;
  if (view.traffic && view.traffic.at !== lastTrafficAt) {
    lastTrafficAt = view.traffic.at;
    drawTraffic(view.traffic.at, view.traffic.source === 'prometheus' ? `from ${view.traffic.from}'s Prometheus (p99 over the last minute)` : `from HAProxy's counters on ${view.traffic.from} (mean response time: HAProxy keeps no percentiles)`, [...view.traffic.tiers, ...view.traffic.hosts]);
  }
}

// Charts: one per tier or host the server reports, and one for the client's own traffic.
const series = new Map<string, { chart: uPlot; data: [number[], number[], number[], number[]] }>();
function chartFor(name: string, title: string): { chart: uPlot; data: [number[], number[], number[], number[]] } {
  const known = series.get(name);
  if (known) return known;
  const box = document.createElement('div');
  box.className = 'chart';
  box.dataset.chart = name;
  const heading = document.createElement('h3');
  heading.textContent = title;
  // The lines' colours in words, and the latest figures, for whoever does not see the chart.
  const latest = document.createElement('p');
  latest.className = 'latest';
  box.append(heading, latest);
  $('#charts').append(box);
  const data: [number[], number[], number[], number[]] = [[], [], [], []];
  const chart = new uPlot(
    {
      width: 340,
      height: 150,
      legend: { show: false },
      series: [{}, { label: 'req/s', stroke: '#0b57d0' }, { label: 'errors/s', stroke: '#b71c1c', width: 2 }, { label: 'latency ms', stroke: '#8a4b00', scale: 'ms' }],
      axes: [{}, { label: 'req/s' }, { side: 1, scale: 'ms', label: 'ms', grid: { show: false } }],
    },
    data,
    box,
  );
  const made = { chart, data };
  series.set(name, made);
  return made;
}

function addPoint(name: string, title: string, at: number, rps: number, errors: number, latencyMs: number | null): void {
  const { chart, data } = chartFor(name, title);
  data[0].push(at / 1000);
  data[1].push(rps);
  data[2].push(errors);
  data[3].push(latencyMs ?? NaN);
  while (data[0].length > HISTORY_S) for (const column of data) column.shift();
  chart.setData(data);
  const box = document.querySelector<HTMLElement>(`[data-chart="${name}"] .latest`)!;
  box.textContent = `requests (blue) ${rps.toFixed(rps < 10 ? 1 : 0)}/s, errors (red) ${errors.toFixed(errors < 10 ? 1 : 0)}/s${latencyMs === null ? '' : `, latency (amber) ${latencyMs.toFixed(latencyMs < 10 ? 1 : 0)} ms`}`;
}

function drawTraffic(at: number, source: string, figures: readonly TrafficFigures[]): void {
  $('#traffic-source').textContent = `Per tier and host, ${source}; the client's chart is what its own requests saw.`;
  for (const f of figures) addPoint(`${f.tier}:${f.name}`, f.name === f.tier ? `${f.tier} tier` : `${f.name} (${f.tier})`, at, f.requestsPerSecond, f.requestsPerSecond * (f.errorRatio ?? 0), f.latencyMs);
}

function listen(): void {
  const events = new EventSource('/api/events');
  events.addEventListener('state', (e) => drawView(JSON.parse((e as MessageEvent<string>).data) as DashboardView));
  events.addEventListener('traffic', (e) => {
    const point = JSON.parse((e as MessageEvent<string>).data) as { at: number; requests: number; failed: number; p99Ms: number };
    addPoint('client', "the client's requests (p99)", point.at, point.requests, point.failed, point.p99Ms);
    $('#charts').dataset.clientFailed = String(Number($('#charts').dataset.clientFailed ?? 0) + point.failed);
  });
  events.addEventListener('activity', (e) => {
    const a = JSON.parse((e as MessageEvent<string>).data) as { at: number; line: string; failed?: boolean };
    activity(a.line, a.failed ?? false, a.at);
  });
  events.addEventListener('alert', (e) => {
    const a = JSON.parse((e as MessageEvent<string>).data) as { at: number; status: string; name: string; summary: string };
    const item = document.createElement('li');
    item.className = a.status === 'firing' ? 'failed' : '';
    item.textContent = `${new Date(a.at).toLocaleTimeString()} ${a.status}: ${a.name} ${a.summary}`;
    $('#alerts').prepend(item);
  });
  events.addEventListener('prove', (e) => {
    const p = JSON.parse((e as MessageEvent<string>).data) as { running: boolean; line?: string; ok?: boolean };
    if (p.line) activity(`prove: ${p.line}`);
    $<HTMLButtonElement>('#prove').disabled = p.running;
    if (!p.running && p.ok !== undefined) {
      $('#verdict').textContent = p.ok ? 'prove: every observation agrees with check, and no write was lost.' : 'prove: not proved; see the report.';
      $('#report').hidden = false;
    }
  });
  events.onerror = () => ($('#phase').textContent = 'connection to webstack lost; retrying…');
}

async function start(): Promise<void> {
  $('#diagram').innerHTML = await (await fetch('/api/diagram.svg')).text();
  $('#partition').addEventListener('submit', (e) => {
    e.preventDefault();
    const form = new FormData(e.target as HTMLFormElement);
    const list = (name: string) => String(form.get(name) ?? '').split(',').map((h) => h.trim()).filter(Boolean);
    void post('/api/partition', { from: list('from'), to: list('to') });
  });
  $('#traffic-switch').addEventListener('submit', (e) => {
    e.preventDefault();
    void post('/api/traffic', { rate: Number(new FormData(e.target as HTMLFormElement).get('rate')) });
  });
  $('#traffic-stop').addEventListener('click', () => void post('/api/traffic', { rate: 0 }));
  $('#deploy').addEventListener('click', () => void post('/api/deploy', { tier: 'app' }));
  $('#prove').addEventListener('click', () => void post('/api/prove', { faults: ['kill'] }));
  $('#log-show').addEventListener('click', async () => {
    const host = $<HTMLSelectElement>('#log-host').value;
    const { lines } = (await (await fetch(`/api/logs/${host}`)).json()) as { lines: string[] };
    $('#logs').textContent = lines.join('\n') || `no log lines from ${host}`;
  });
  $('#trace').addEventListener('submit', async (e) => {
    e.preventDefault();
    const form = new FormData(e.target as HTMLFormElement);
    const data = String(form.get('data') ?? '').trim();
    const response = await fetch('/api/trace', { method: 'POST', headers: { 'content-type': 'application/json', 'x-webstack-token': token }, body: JSON.stringify({ path: String(form.get('path') ?? '/'), ...(data ? { data } : {}) }) });
    const answer = (await response.json()) as Trace & { error?: string };
    if (!response.ok) return activity(`trace: ${answer.error ?? response.statusText}`, true);
    drawTrace(answer);
  });
  $('#request-lines').addEventListener('submit', async (e) => {
    e.preventDefault();
    const id = String(new FormData(e.target as HTMLFormElement).get('id') ?? '').trim();
    const answer = (await (await fetch(`/api/requests/${encodeURIComponent(id)}`)).json()) as { lines?: { at: string; host: string; program: string; message: string }[]; error?: string };
    $('#logs').textContent = answer.lines ? answer.lines.map((l) => `${l.at} ${l.host} ${l.program}: ${l.message}`).join('\n') || `no line names request ${id}` : (answer.error ?? '');
  });
  listen();
}

/** The hosts the last trace lit on the diagram, until it is put out. */
let traceLit: ReturnType<typeof setTimeout> | undefined;
function putOutTrace(): void {
  clearTimeout(traceLit);
  for (const node of document.querySelectorAll('#diagram .node.traced')) node.classList.remove('traced');
}

/** The trace's steps, numbered, and its hosts lit on the diagram for a while (a newer trace's for its own while). */
function drawTrace(t: Trace): void {
  const list = $('#trace-steps');
  list.innerHTML = '';
  for (const step of t.steps) {
    const item = document.createElement('li');
    item.textContent = `${step.said}${step.ms !== null ? ` [${step.ms} ms]` : ''}`;
    if (step.why) {
      const why = document.createElement('div');
      why.className = 'why';
      why.textContent = `why: ${step.why}`;
      item.append(why);
    }
    list.append(item);
  }
  if (t.stopped) activity(`trace stopped at ${t.stopped.step}: ${t.stopped.why}`, true);
  if (t.requestId) $<HTMLInputElement>('#request-lines input[name="id"]').value = t.requestId;
  const hosts = new Set(t.steps.flatMap((s) => (s.where ? [s.where] : [])));
  putOutTrace();
  for (const host of hosts) document.getElementById(nodeId(host))?.classList.add('traced');
  traceLit = setTimeout(putOutTrace, 15_000);
}

void start();
