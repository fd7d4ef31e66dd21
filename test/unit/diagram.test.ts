import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadDesign } from '../../src/design/load.ts';
import { renderMermaid } from '../../src/diagram/mermaid.ts';
import { diagramModel } from '../../src/diagram/model.ts';
import { layout, renderSvg } from '../../src/diagram/svg.ts';
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

  it('lays out 15 hosts with no two boxes overlapping, all inside the picture', async () => {
    const model = diagramModel(designFrom(fifteenHosts).stack);
    assert.equal(model.nodes.filter((n) => n.shape === 'host' || n.shape === 'database').length, 15);
    const laid = await layout(model);
    const boxes: { id: string; x: number; y: number; w: number; h: number }[] = [];
    const walk = (node: typeof laid, dx: number, dy: number) => {
      for (const c of node.children ?? []) {
        const [x, y] = [dx + (c.x ?? 0), dy + (c.y ?? 0)];
        if (c.children?.length) walk(c, x, y);
        else boxes.push({ id: c.id, x, y, w: c.width ?? 0, h: c.height ?? 0 });
      }
    };
    walk(laid, 0, 0);
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
    const svg = await renderSvg(diagramModel(designFrom(fifteenHosts).stack));
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="\d+" height="\d+"/);
    for (const host of ['lb-03', 'app-04', 'db-03', 'cache-01']) assert.match(svg, new RegExp(`>${host}</text>`));
    assert.doesNotMatch(svg.replace(/<[^>]+>/g, ''), /[<>]/);
    assert.doesNotMatch(svg, /NaN|undefined/);
  });
});
