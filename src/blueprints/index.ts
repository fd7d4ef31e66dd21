import { fileURLToPath } from 'node:url';

// The blueprints ship as YAML files beside this module: `init` copies them as they are,
// comments included, so the file a user edits is the file webstack tests.

export const BLUEPRINTS = ['simple', 'distributed', 'secured', 'scaled', 'ha'] as const;
export type Blueprint = (typeof BLUEPRINTS)[number];

export function isBlueprint(name: string): name is Blueprint {
  return (BLUEPRINTS as readonly string[]).includes(name);
}

/** In src/blueprints/ whether this module runs from src/ or, compiled, from dist/. */
export function blueprintFile(name: Blueprint | string): string {
  return fileURLToPath(new URL(`../../src/blueprints/${name}.yaml`, import.meta.url));
}
