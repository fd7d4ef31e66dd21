import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import { blueprintFile, BLUEPRINTS } from '../blueprints/index.ts';
import { closest, DesignError, type LocatedProblem, type Location, type Path, type Problem } from './problems.ts';
import { referenceProblems, resolve } from './resolve.ts';
import { StackSchema, type ParsedDesign } from './schema.ts';
import type { ResolvedStack } from './types.ts';
import { problemsFromZod } from './zod-problems.ts';

// Everything between a name on the command line and a resolved design:
// find the file (or blueprint), parse it, validate it, resolve it, and on the
// way out attach file:line:column to every problem.

export interface DesignSource {
  /** What the user named: a path, or a blueprint's name. */
  ref: string;
  /** The file shown in messages. */
  file: string;
  data: unknown;
  locate(path: Path, at?: 'key' | 'value'): Location | undefined;
}

const YAML_EXTENSIONS = ['.yaml', '.yml', '.json'];
const MODULE_EXTENSIONS = ['.ts', '.mts', '.js', '.mjs'];

function fail(file: string, message: string, path: Path = []): never {
  throw new DesignError(file, [{ file, path, message }]);
}

/** Parses YAML text into a source that can point at any path in it. */
export function parseYaml(text: string, file: string): DesignSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const toLocation = (offset: number): Location => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  if (doc.errors.length > 0) {
    const problems: LocatedProblem[] = doc.errors.map((e) => ({
      file,
      path: [],
      location: toLocation(e.pos[0]),
      message:
        e.code === 'DUPLICATE_KEY'
          ? `duplicate key '${/^[^\s:]+/.exec(text.slice(e.pos[0]))?.[0] ?? ''}': host, network and record names must be unique`
          : `not valid YAML: ${e.message.split('\n')[0]}`,
    }));
    throw new DesignError(file, problems);
  }
  if (doc.contents === null || (isScalar(doc.contents) && (doc.contents.value === null || doc.contents.value === ''))) {
    fail(file, `the design is empty; start from a blueprint: npx webstack init simple ${file}`);
  }
  return { ref: file, file, data: doc.toJS(), locate: (path, at) => locateIn(doc, path, at, toLocation) };
}

function locateIn(doc: Document, path: Path, at: 'key' | 'value' | undefined, toLocation: (offset: number) => Location): Location | undefined {
  let node: YamlNode | null | undefined = doc.contents as YamlNode;
  let best = node?.range?.[0];
  for (let i = 0; i < path.length; i++) {
    const segment = path[i]!;
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
      if (!pair) break;
      const key = pair.key as YamlNode;
      if (last && at === 'key') return key.range ? toLocation(key.range[0]) : undefined;
      best = key.range?.[0] ?? best;
      node = pair.value as YamlNode | null;
      if (node?.range) best = node.range[0];
    } else if (isSeq(node) && typeof segment === 'number') {
      node = node.items[segment] as YamlNode | undefined;
      if (!node) break;
      if (node.range) best = node.range[0];
    } else break;
  }
  return best === undefined ? undefined : toLocation(best);
}

async function readSource(ref: string, cwd: string): Promise<DesignSource> {
  const path = resolvePath(cwd, ref);
  if (!existsSync(path)) {
    if (BLUEPRINTS.includes(ref as never)) return parseYaml(readFileSync(blueprintFile(ref), 'utf8'), `blueprint:${ref}`);
    const guess = closest(ref, BLUEPRINTS);
    fail(ref, `no design file '${ref}' and no blueprint of that name${guess ? `; did you mean '${guess}'?` : ''} (blueprints: ${BLUEPRINTS.join(', ')})`);
  }
  if (statSync(path).isDirectory()) fail(ref, `'${ref}' is a directory; name a design file (.yaml, .yml, .json or .ts)`);
  const extension = extname(path).toLowerCase();
  if (YAML_EXTENSIONS.includes(extension)) {
    const text = readFileSync(path, 'utf8');
    return parseYaml(text, ref);
  }
  if (MODULE_EXTENSIONS.includes(extension)) {
    let module: Record<string, unknown>;
    try {
      // A TypeScript design goes through tsx, whether webstack itself runs compiled or not.
      const url = pathToFileURL(path).href;
      module = (extension === '.js' || extension === '.mjs' ? await import(url) : await (await import('tsx/esm/api')).tsImport(url, import.meta.url)) as Record<string, unknown>;
    } catch (error) {
      fail(ref, `could not load the design module: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    }
    const data = module.default ?? module.stack;
    if (data === undefined) fail(ref, 'the module exports no design; write `export default defineStack({ ... })`');
    // A module has no positions to point at; paths still say where.
    return { ref, file: ref, data, locate: () => undefined };
  }
  fail(ref, `unknown design file type '${extension || '(none)'}'; use .yaml, .yml, .json or .ts`);
}

export interface LoadedDesign {
  source: DesignSource;
  design: ParsedDesign;
  stack: ResolvedStack;
}

/** Validates and resolves a parsed source; throws a DesignError with every problem found. */
export function resolveSource(source: DesignSource): LoadedDesign {
  const locateAll = (problems: Problem[]): LocatedProblem[] =>
    problems.map((p) => {
      const location = source.locate(p.path, p.at);
      return location ? { ...p, file: source.file, location } : { ...p, file: source.file };
    });
  if (source.data === null || typeof source.data !== 'object' || Array.isArray(source.data)) {
    throw new DesignError(source.file, locateAll([{ path: [], message: 'a design is a map with keys such as stack, domain and hosts' }]));
  }
  const parsed = StackSchema.safeParse(source.data);
  if (!parsed.success) {
    // The schema's problems, and the references it cannot see (an unknown network name), together.
    const schema = problemsFromZod(parsed.error, source.data);
    const said = new Set(schema.map((p) => JSON.stringify(p.path)));
    const references = referenceProblems(source.data).filter((p) => !said.has(JSON.stringify(p.path)));
    throw new DesignError(source.file, locateAll([...schema, ...references]));
  }
  const result = resolve(parsed.data);
  if (!result.stack) throw new DesignError(source.file, locateAll(result.problems));
  return { source, design: parsed.data, stack: result.stack };
}

/** A path to a design file, or a blueprint's name. */
export async function loadDesign(ref: string, cwd = process.cwd()): Promise<LoadedDesign> {
  return resolveSource(await readSource(ref, cwd));
}
