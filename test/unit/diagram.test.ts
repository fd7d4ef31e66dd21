import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadDesign } from '../../src/design/load.ts';
import { renderMermaid } from '../../src/diagram/mermaid.ts';
import { diagramModel } from '../../src/diagram/model.ts';
import { layout, renderSvg } from '../../src/diagram/svg.ts';
import type { ElkNode } from 'elkjs/lib/elk-api.js';
import { BLUEPRINTS } from '../../src/blueprints/index.ts';
import { designFrom } from '../helpers.ts';

const fifteenHosts = `
stack: big
domain: foobar.com
networks: { public: { cidr: 203.0.113.0/26 }, private: { cidr: 10.71.0.0/24 } }
hosts:
  lb-01: { roles: [lb], networks: [public, private] }
  lb-02: { roles: [lb], networks: [public, private] }
  lb-03: { roles: [lb], networks: [public, private] }
${[1, 2, 3].map((i) => `  web-0${i}: { roles: [web], networks: [private] }`).join('\n')}
${[1, 2, 3, 4].map((i) => `  app-0${i}: { roles: [app], networks: [private] }`).join('\n')}
  db-01: { roles: [db-primary], networks: [private] }
  db-02: { roles: [db-replica], networks: [private] }
  db-03: { roles: [db-replica], networks: [private] }
  cache-01: { roles: [cache], networks: [private] }
  mon-01: { roles: [monitoring], networks: [private] }
policies: { firewall: true, tls: true, lb: { virtualIp: true } }
`;

interface Box {
  id: string;
  x: number;
  y: number;
  w: number;
  h: number;
  group: boolean;
}

/** Every node and boundary of a layout, in the picture's coordinates. */
function placed(laid: ElkNode): Box[] {
  const boxes: Box[] = [];
  const walk = (node: ElkNode, dx: number, dy: number) => {
    for (const c of node.children ?? []) {
      const [x, y] = [dx + (c.x ?? 0), dy + (c.y ?? 0)];
      boxes.push({ id: c.id, x, y, w: c.width ?? 0, h: c.height ?? 0, group: c.children !== undefined && c.id.startsWith('net_') });
      if (c.children?.length) walk(c, x, y);
    }
  };
  walk(laid, 0, 0);
  return boxes;
}

const centre = (boxes: Box[], id: string) => {
  const box = boxes.find((b) => b.id === id);
  assert.ok(box, `${id} is drawn`);
  return box.x + box.w / 2;
};

/** web-01 and db-01 of scaled also have a public address: they must still be drawn in tier order. */
const scaledWithPublicBackends = `
stack: flip
domain: foobar.com
networks: { public: { cidr: 203.0.113.96/27 }, private: { cidr: 10.71.96.0/24 } }
records: { www: lb }
hosts:
  lb-01: { roles: [lb], networks: [public, private] }
  lb-02: { roles: [lb], networks: [public, private] }
  web-01: { roles: [web], networks: [public, private] }
  web-02: { roles: [web], networks: [private] }
  app-01: { roles: [app], networks: [private] }
  app-02: { roles: [app], networks: [private] }
  db-01: { roles: [db-primary], networks: [public, private] }
  db-02: { roles: [db-replica], networks: [private] }
`;

const fortyHosts = `
stack: forty
domain: foobar.com
networks: { public: { cidr: 203.0.113.0/26 }, private: { cidr: 10.71.0.0/24 } }
hosts:
  dns-01: { roles: [dns], networks: [public, private] }
  lb-01: { roles: [lb], networks: [public, private] }
  lb-02: { roles: [lb], networks: [public, private] }
${Array.from({ length: 13 }, (_, i) => `  web-${String(i + 1).padStart(2, '0')}: { roles: [web], networks: [private] }`).join('\n')}
${Array.from({ length: 15 }, (_, i) => `  app-${String(i + 1).padStart(2, '0')}: { roles: [app], networks: [private] }`).join('\n')}
  cache-01: { roles: [cache], networks: [private] }
  db-01: { roles: [db-primary], networks: [private] }
${Array.from({ length: 5 }, (_, i) => `  db-0${i + 2}: { roles: [db-replica], networks: [private] }`).join('\n')}
  mon-01: { roles: [monitoring], networks: [private] }
  mon-02: { roles: [monitoring], networks: [private] }
policies: { firewall: true }
`;

describe('diagrams stay readable', () => {
  for (const blueprint of BLUEPRINTS) {
    it(`sizes every network boundary of ${blueprint} to hold its label, and the picture to hold its title`, async () => {
      const model = diagramModel((await loadDesign(blueprint)).stack);
      const laid = await layout(model);
      for (const group of model.groups) {
        const box = placed(laid).find((b) => b.id === group.id)!;
        assert.ok(box.w >= group.label.length * 7.2 + 20, `${group.label} (${box.w} wide)`);
      }
      const svg = await renderSvg(model);
      const width = Number(/width="(\d+)"/.exec(svg)![1]);
      assert.ok(width >= model.title.length * 9, `${width} holds a title of ${model.title.length} characters`);
    });
  }

  it('keeps user → lb → web → app → database left to right when backends also have public addresses', async () => {
    const boxes = placed(await layout(diagramModel(designFrom(scaledWithPublicBackends).stack)));
    const x = (id: string) => centre(boxes, id);
    assert.ok(x('user') < x('h_lb_01'));
    for (const lb of ['h_lb_01', 'h_lb_02']) for (const web of ['h_web_01', 'h_web_02']) assert.ok(x(lb) < x(web), `${lb} before ${web}`);
    for (const web of ['h_web_01', 'h_web_02']) for (const app of ['h_app_01', 'h_app_02']) assert.ok(x(web) < x(app), `${web} before ${app}`);
    for (const app of ['h_app_01', 'h_app_02']) assert.ok(x(app) < x('h_db_01'), `${app} before db-01`);
  });

  it('draws a backend with a public address inside its private network, and the entry at the public edge', () => {
    const model = diagramModel(designFrom(scaledWithPublicBackends).stack);
    const groupOf = (id: string) => model.nodes.find((n) => n.id === id)?.group;
    assert.equal(groupOf('h_lb_01'), 'net_public');
    assert.equal(groupOf('h_web_01'), 'net_private');
    assert.equal(groupOf('h_db_01'), 'net_private');
    assert.match(model.nodes.find((n) => n.id === 'h_web_01')!.lines[1]!, /^203\.0\.113\.\d+ · 10\.71\.96\.\d+$/);
  });

  it('draws a tier of more than three hosts as one node with a count, and every host with expand', async () => {
    const { stack } = designFrom(fortyHosts);
    const mermaid = renderMermaid(diagramModel(stack));
    assert.match(mermaid, /t_private_web\["web ×13<br\/>web-01 … web-13<br\/>10\.71\.0\.\d+ … 10\.71\.0\.\d+<br\/>firewall"\]/);
    assert.match(mermaid, /t_private_web -->\|"HTTP 8000"\| t_private_app/);
    assert.match(mermaid, /t_private_db_replica\[\("db-replica ×5/);
    assert.match(mermaid, /h_db_01 -\.->\|"replication"\| t_private_db_replica/);
    // Three or fewer stay hosts of their own: the lbs and the monitoring hosts.
    assert.match(mermaid, /h_lb_01\["lb-01/);
    assert.match(mermaid, /h_mon_02\["mon-02/);
    assert.equal(mermaid.match(/-->\|"HTTP 8000"\|/g)?.length, 1, 'one edge between the web and app tiers');
    assert.equal(diagramModel(stack).nodes.filter((n) => n.id !== 'user').length, 10);

    const expanded = diagramModel(stack, { expand: true });
    assert.equal(expanded.nodes.filter((n) => n.id.startsWith('h_')).length, stack.hosts.length);
    assert.ok(expanded.nodes.every((n) => n.count === 1));
    const svg = await renderSvg(diagramModel(stack));
    assert.match(svg, /class="node host tier" id="node-t_private_web"/);
  });

  it('shows the records on the host that serves them when the stack runs its own DNS', () => {
    const mermaid = renderMermaid(diagramModel(designFrom(fortyHosts).stack));
    assert.match(mermaid, /h_dns_01\["dns-01<br\/>[^"]*<br\/>www\.foobar\.com A 203\.0\.113\.\d+, 203\.0\.113\.\d+<br\/>firewall"\]/);
    assert.match(mermaid, /user -->\|"resolve www\.foobar\.com, DNS 53"\| h_dns_01/);
    assert.doesNotMatch(mermaid, /DNS \(managed\)/);
  });

  it('gives Mermaid a plain title, with no entity codes in it', () => {
    const { stack } = designFrom('stack: quoted\ndomain: foobar.com\ndescription: \'The "simple" stack, <one> server & a DB\'\nhosts:\n  server-01: { roles: [web, app, db-primary], networks: [public] }\n');
    const title = renderMermaid(diagramModel(stack)).split('\n')[1]!;
    assert.equal(title, 'title: "quoted: The \\"simple\\" stack, <one> server & a DB"');
    assert.equal(JSON.parse(title.slice('title: '.length)), 'quoted: The "simple" stack, <one> server & a DB');
  });
});

describe('diagram draws the architecture as the seeds do', () => {
  it('draws replication from the primary to the replica', async () => {
    const mermaid = renderMermaid(diagramModel((await loadDesign('scaled')).stack));
    assert.match(mermaid, /h_db_01 -\.->\|"replication"\| h_db_02/);
    assert.doesNotMatch(mermaid, /h_db_02 -\.->\|"replication"\|/);
  });

  it('puts each network in its own boundary and marks firewalled hosts', async () => {
    const mermaid = renderMermaid(diagramModel((await loadDesign('secured')).stack));
    assert.match(mermaid, /subgraph net_public\["public network 203\.0\.113\.64\/27/);
    assert.match(mermaid, /subgraph net_private\["private network 10\.71\.64\.0\/24/);
    assert.match(mermaid, /class h_lb_01,h_server_01,h_server_02,h_mon_01 firewall/);
  });

  it('labels every host with its name, address and roles', async () => {
    const { stack } = await loadDesign('distributed');
    const mermaid = renderMermaid(diagramModel(stack));
    assert.match(mermaid, /server_01\[\("server-01<br\/>10\.71\.32\.11<br\/>web, app, db-primary"\)\]|server_01\["server-01<br\/>10\.71\.32\.11<br\/>web, app, db-primary"\]/);
    assert.match(mermaid, /user -->\|"resolve www\.foobar\.com"\| dns/);
  });

  it('keeps a host named like a Mermaid keyword from reading as syntax', () => {
    const mermaid = renderMermaid(diagramModel(designFrom('stack: kw\ndomain: foobar.com\nhosts:\n  end: { roles: [web, app, db-primary], networks: [public] }\n').stack));
    assert.match(mermaid, /^ {4}h_end\["end<br\/>/m);
    assert.doesNotMatch(mermaid, /^\s+end\[/m);
  });

  it('lays out 15 hosts, expanded, with no two boxes overlapping, all inside the picture', async () => {
    const model = diagramModel(designFrom(fifteenHosts).stack, { expand: true });
    assert.equal(model.nodes.filter((n) => n.shape === 'host' || n.shape === 'database').length, 15);
    const laid = await layout(model);
    const boxes = placed(laid).filter((b) => !b.group);
    assert.equal(boxes.length, model.nodes.length);
    for (const a of boxes) {
      assert.ok(a.x >= 0 && a.y >= 0 && a.x + a.w <= laid.width! && a.y + a.h <= laid.height!, `${a.id} inside`);
      for (const b of boxes) {
        if (a === b) continue;
        const apart = a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y;
        assert.ok(apart, `${a.id} overlaps ${b.id}`);
      }
    }
  });

  it('writes an svg whose every text is escaped and every host named', async () => {
    const svg = await renderSvg(diagramModel(designFrom(fifteenHosts).stack, { expand: true }));
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="\d+" height="\d+"/);
    for (const host of ['lb-03', 'app-04', 'db-03', 'cache-01']) assert.match(svg, new RegExp(`>${host}</text>`));
    assert.doesNotMatch(svg.replace(/<[^>]+>/g, ''), /[<>]/);
    assert.doesNotMatch(svg, /NaN|undefined/);
  });
});
