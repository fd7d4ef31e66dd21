// The library surface: what a TypeScript design file or another tool imports.
export { defineStack, type StackDesign } from './design/schema.ts';
export type { ResolvedStack, ResolvedHost, Flow } from './design/types.ts';
export { loadDesign } from './design/load.ts';
export { check, type CheckReport } from './analysis/check.ts';
export type { Finding } from './analysis/finding.ts';
