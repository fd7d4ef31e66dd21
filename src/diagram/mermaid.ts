import type { Diagram, DiagramNode } from './model.ts';

// Mermaid flowchart text, for a Markdown page. Labels are quoted and escaped so that
// addresses, dots and parentheses cannot be read as Mermaid syntax.

function escape(text: string): string {
  return text.replace(/"/g, '#quot;').replace(/</g, '#lt;').replace(/>/g, '#gt;');
}

function node(n: DiagramNode): string {
  const label = `"${n.lines.map(escape).join('<br/>')}"`;
  switch (n.shape) {
    case 'user':
      return `${n.id}((${label}))`;
    case 'dns':
      return `${n.id}[/${label}/]`;
    case 'vip':
      return `${n.id}{{${label}}}`;
    case 'database':
      return `${n.id}[(${label})]`;
    default:
      return `${n.id}[${label}]`;
  }
}

/**
 * The front matter is YAML and Mermaid shows it as plain text, so entity codes would show as
 * written: the title is a YAML double-quoted string instead.
 */
const yamlString = (text: string) => JSON.stringify(text);

export function renderMermaid(d: Diagram): string {
  const out = ['---', `title: ${yamlString(d.title)}`, '---', 'flowchart LR'];
  for (const n of d.nodes.filter((n) => n.group === null)) out.push(`  ${node(n)}`);
  for (const g of d.groups) {
    out.push(`  subgraph ${g.id}["${escape(g.label)}"]`, '    direction LR');
    for (const n of d.nodes.filter((n) => n.group === g.id)) out.push(`    ${node(n)}`);
    out.push('  end');
  }
  for (const e of d.edges) out.push(`  ${e.from} ${e.style === 'dashed' ? '-.->' : '-->'}|"${escape(e.label)}"| ${e.to}`);
  const firewalled = d.nodes.filter((n) => n.firewall).map((n) => n.id);
  out.push('  classDef firewall stroke:#c0392b,stroke-width:3px');
  if (firewalled.length) out.push(`  class ${firewalled.join(',')} firewall`);
  return out.join('\n') + '\n';
}
