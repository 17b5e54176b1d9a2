/**
 * `npm run arch`: prints the import graph of src/, controllers/, api/ and server/ by layer,
 * then every import that points the wrong way (scripts/arch/import-graph.ts says which may
 * import which). Exits 1 when there is one.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findLayerViolations, formatImportGraph, formatViolation, readImportGraph } from './arch/import-graph.js';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const graph = readImportGraph(root);
process.stdout.write(formatImportGraph(graph));
const violations = findLayerViolations(graph);
if (violations.length > 0) {
  process.stderr.write(`${violations.length} import(s) against the layering:\n${violations.map((v) => `  ${formatViolation(v)}`).join('\n')}\n`);
  process.exit(1);
}
process.stdout.write(`layering ok: ${graph.size} modules, no import points the wrong way\n`);
