import ElkBundled from 'elkjs/lib/elk.bundled.js';
import type { ELK, ELKConstructorArguments, ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk-api.js';
import type { Diagram, DiagramNode } from './model.ts';

// SVG laid out by ELK's layered algorithm (left to right), then drawn from its
// coordinates. Text is monospace so that box sizes can be computed without a browser.

// elkjs is CommonJS: Node hands its constructor over as the default export, its types as a namespace.
type ElkConstructor = new (args?: ELKConstructorArguments) => ELK;
const Elk = ((ElkBundled as unknown as { default?: ElkConstructor }).default ?? ElkBundled) as unknown as ElkConstructor;

const CHAR_WIDTH = 7.2;
const LINE_HEIGHT = 16;
/** How far each card behind a node that stands for a whole tier is offset. */
const STACK_OFFSET = 4;
const FONT = "font-family=\"'DejaVu Sans Mono', Menlo, Consolas, monospace\" font-size=\"12\"";

const COLOURS: Record<DiagramNode['shape'], { fill: string; stroke: string }> = {
  user: { fill: '#fdf6e3', stroke: '#8a6d3b' },
  dns: { fill: '#eef5fb', stroke: '#31708f' },
  vip: { fill: '#f3eefa', stroke: '#6f42c1' },
  host: { fill: '#ffffff', stroke: '#34495e' },
  database: { fill: '#eefaf0', stroke: '#2e7d32' },
};

const textWidth = (text: string) => text.length * CHAR_WIDTH;
const round = (n: number) => Math.round(n * 10) / 10;

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function nodeSize(n: DiagramNode): { width: number; height: number } {
  const width = Math.max(...n.lines.map(textWidth)) + 24;
  const height = n.lines.length * LINE_HEIGHT + (n.shape === 'database' ? 22 : 12);
  const deck = n.count > 1 ? 2 * STACK_OFFSET : 0;
  return { width: Math.ceil(width) + deck, height: height + deck };
}

export async function layout(d: Diagram): Promise<ElkNode> {
  const elkNode = (n: DiagramNode): ElkNode => ({ id: n.id, ...nodeSize(n), layoutOptions: { 'elk.partitioning.partition': String(n.rank) } });
  const graph: ElkNode = {
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      // Every edge's points in one coordinate system, whichever boundaries it crosses.
      'elk.json.edgeCoords': 'ROOT',
      'elk.direction': 'RIGHT',
      'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
      'elk.spacing.nodeNode': '28',
      'elk.layered.spacing.nodeNodeBetweenLayers': '70',
      'elk.spacing.edgeLabel': '4',
      'elk.layered.nodePlacement.strategy': 'NETWORK_SIMPLEX',
      'elk.padding': '[top=44,left=16,bottom=16,right=16]',
      // Columns in the seeds' order (user, DNS, lb, web, app, database), whatever the networks.
      'elk.partitioning.activate': 'true',
    },
    children: [
      ...d.nodes.filter((n) => n.group === null).map(elkNode),
      ...d.groups.map((g) => ({
        id: g.id,
        layoutOptions: {
          'elk.padding': '[top=30,left=16,bottom=16,right=16]',
          'elk.partitioning.activate': 'true',
          // A boundary is at least as wide as its label.
          'elk.nodeSize.constraints': 'MINIMUM_SIZE',
          'elk.nodeSize.minimum': `(${Math.ceil(textWidth(g.label) + 20)}, 0)`,
        },
        labels: [{ text: g.label, width: textWidth(g.label), height: LINE_HEIGHT }],
        children: d.nodes.filter((n) => n.group === g.id).map(elkNode),
      })),
    ],
    edges: d.edges.map(
      (e, i): ElkExtendedEdge => ({
        id: `e${i}`,
        sources: [e.from],
        targets: [e.to],
        labels: [{ text: e.label, width: textWidth(e.label) * 0.85, height: 12 }],
      }),
    ),
  };
  return new Elk().layout(graph);
}

/** The outline of a node's shape, filled, with the given stroke attributes. */
function outline(shape: DiagramNode['shape'], x: number, y: number, width: number, height: number, attrs: string): string {
  switch (shape) {
    case 'user':
      return `<rect x="${x}" y="${y}" width="${width}" height="${height}" rx="${round(height / 2)}" ${attrs}/>`;
    case 'database': {
      const ry = 7;
      return `<path d="M${x},${y + ry} a${width / 2},${ry} 0 0,0 ${width},0 a${width / 2},${ry} 0 0,0 ${-width},0 v${height - 2 * ry} a${width / 2},${ry} 0 0,0 ${width},0 v${-(height - 2 * ry)}" ${attrs}/>`;
    }
    case 'vip':
      return `<rect x="${x}" y="${y}" width="${width}" height="${height}" rx="12" ${attrs} stroke-dasharray="6 3"/>`;
    default:
      return `<rect x="${x}" y="${y}" width="${width}" height="${height}" rx="4" ${attrs}/>`;
  }
}

function drawNode(n: DiagramNode, x: number, y: number, width: number, height: number): string[] {
  const { fill, stroke } = COLOURS[n.shape];
  const out: string[] = [`<g class="node ${n.shape}${n.count > 1 ? ' tier' : ''}" id="node-${n.id}">`];
  if (n.count > 1) {
    // A tier drawn as one node looks like a deck of hosts: two cards behind it, up and to the right.
    width -= 2 * STACK_OFFSET;
    height -= 2 * STACK_OFFSET;
    for (const k of [2, 1]) out.push(outline(n.shape, x + k * STACK_OFFSET, y + (2 - k) * STACK_OFFSET, width, height, `fill="${fill}" stroke="${stroke}" stroke-width="1"`));
    y += 2 * STACK_OFFSET;
  }
  out.push(outline(n.shape, x, y, width, height, `fill="${fill}" ${n.firewall ? 'stroke="#c0392b" stroke-width="3"' : `stroke="${stroke}" stroke-width="1.5"`}`));
  const top = y + (n.shape === 'database' ? 16 : 6);
  n.lines.forEach((line, i) => {
    const weight = i === 0 ? ' font-weight="bold"' : '';
    const colour = line === 'firewall' ? ' fill="#c0392b"' : '';
    out.push(`<text x="${round(x + width / 2)}" y="${round(top + (i + 1) * LINE_HEIGHT - 4)}" text-anchor="middle"${weight}${colour}>${escapeXml(line)}</text>`);
  });
  out.push('</g>');
  return out;
}

export async function renderSvg(d: Diagram): Promise<string> {
  const laid = await layout(d);
  const byId = new Map(d.nodes.map((n) => [n.id, n]));
  const groupLabel = new Map(d.groups.map((g) => [g.id, g.label]));
  // The title is drawn above the layout, so the picture is at least as wide as the title.
  const width = Math.ceil(Math.max(laid.width ?? 0, textWidth(d.title) * (15 / 12) + 32));
  const height = Math.ceil(laid.height ?? 0);
  const body: string[] = [];

  const walk = (parent: ElkNode, dx: number, dy: number) => {
    for (const child of parent.children ?? []) {
      const [x, y, w, h] = [round(dx + (child.x ?? 0)), round(dy + (child.y ?? 0)), round(child.width ?? 0), round(child.height ?? 0)];
      const label = groupLabel.get(child.id);
      if (label !== undefined) {
        body.push(`<g class="group" id="group-${child.id}">`, `<rect x="${x}" y="${y}" width="${w}" height="${h}" rx="8" fill="#f7f9fa" stroke="#95a5a6" stroke-dasharray="8 4"/>`);
        body.push(`<text x="${x + 10}" y="${y + 18}" fill="#566573">${escapeXml(label)}</text>`, '</g>');
        walk(child, x, y);
      } else {
        const node = byId.get(child.id);
        if (node) body.push(...drawNode(node, x, y, w, h));
      }
    }
  };
  walk(laid, 0, 0);

  // Edge coordinates are relative to the node the edge is declared in: the root here.
  for (const [i, edge] of (laid.edges ?? []).entries()) {
    const dashed = d.edges[i]!.style === 'dashed' ? ' stroke-dasharray="5 4"' : '';
    for (const s of edge.sections ?? []) {
      const points = [s.startPoint, ...(s.bendPoints ?? []), s.endPoint].map((p) => `${round(p.x)},${round(p.y)}`).join(' ');
      body.push(`<polyline class="edge" points="${points}" fill="none" stroke="#5d6d7e" stroke-width="1.4"${dashed} marker-end="url(#arrow)"/>`);
    }
    for (const label of edge.labels ?? []) {
      body.push(`<text class="edge-label" x="${round((label.x ?? 0) + (label.width ?? 0) / 2)}" y="${round((label.y ?? 0) + 10)}" text-anchor="middle" font-size="10" fill="#34495e">${escapeXml(label.text ?? '')}</text>`);
    }
  }

  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#5d6d7e"/></marker></defs>',
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="16" y="26" font-size="15" font-weight="bold" fill="#2c3e50">${escapeXml(d.title)}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}
