import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/**
 * zcloud's layers and which may import which. Arrows point down only: domain code (`src/`)
 * knows nothing of reconcilers or HTTP; reconcilers (`controllers/`) and the HTTP API (`api/`)
 * build on `src/` and never on each other; the composition root (`server/`) wires all three.
 */
export const LAYERS = {
  src: ['src'],
  controllers: ['src', 'controllers'],
  api: ['src', 'api'],
  server: ['src', 'controllers', 'api', 'server'],
} as const satisfies Record<string, readonly string[]>;

export type Layer = keyof typeof LAYERS;
export type LayerRules = Readonly<Record<string, readonly string[]>>;

/** Repository-relative module path (`src/kube/objects.ts`) → the modules it imports, sorted. */
export type ImportGraph = ReadonlyMap<string, readonly string[]>;

export interface LayerViolation {
  from: string;
  to: string;
  fromLayer: string;
  toLayer: string;
}

/** The layer of a repository-relative path: its first directory. */
export function layerOf(modulePath: string): string {
  return modulePath.split('/')[0];
}

/**
 * Relative module specifiers of a TypeScript source: static and type-only imports, `export …
 * from`, and dynamic `import()`. Package imports are left out: they are not layers.
 */
export function relativeImports(source: string): string[] {
  const { importedFiles } = ts.preProcessFile(source, true, true);
  return importedFiles.map((f) => f.fileName).filter((name) => name.startsWith('./') || name.startsWith('../'));
}

/** `../kube/objects.js` imported from `src/nodes/drain.ts` → `src/kube/objects.ts`. */
export function resolveImport(fromModule: string, specifier: string): string {
  const joined = path.posix.normalize(path.posix.join(path.posix.dirname(fromModule), specifier));
  return joined.replace(/\.js$/, '.ts');
}

function listTypeScript(root: string, dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const relative = path.posix.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listTypeScript(root, relative));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(relative);
  }
  return out;
}

/** The import graph of every `.ts` module under `layers` (directories of `root`). */
export function readImportGraph(root: string, layers: readonly string[] = Object.keys(LAYERS)): ImportGraph {
  const graph = new Map<string, string[]>();
  for (const module of layers.flatMap((layer) => listTypeScript(root, layer)).sort()) {
    const imports = relativeImports(readFileSync(path.join(root, module), 'utf8')).map((spec) => resolveImport(module, spec));
    graph.set(module, [...new Set(imports)].sort());
  }
  return graph;
}

/**
 * Every edge of `graph` whose target layer the source layer may not import. Targets outside
 * every layer (a script, a test helper) are violations too: shipped code must not need them.
 */
export function findLayerViolations(graph: ImportGraph, rules: LayerRules = LAYERS): LayerViolation[] {
  const violations: LayerViolation[] = [];
  for (const [from, imports] of graph) {
    const fromLayer = layerOf(from);
    const allowed = rules[fromLayer];
    if (!allowed) continue;
    for (const to of imports) {
      const toLayer = layerOf(to);
      if (!allowed.includes(toLayer)) violations.push({ from, to, fromLayer, toLayer });
    }
  }
  return violations;
}

/** The graph as text, one block per layer: each module, then what it imports, indented. */
export function formatImportGraph(graph: ImportGraph, rules: LayerRules = LAYERS): string {
  const lines: string[] = [];
  for (const [layer, allowed] of Object.entries(rules)) {
    const modules = [...graph.keys()].filter((m) => layerOf(m) === layer);
    lines.push(`== ${layer}/ (${modules.length} modules; may import ${allowed.map((l) => `${l}/`).join(', ')})`);
    for (const module of modules) {
      lines.push(module);
      for (const imported of graph.get(module) ?? []) lines.push(`  -> ${imported}`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

export function formatViolation(v: LayerViolation): string {
  return `${v.from} imports ${v.to}: ${v.fromLayer}/ may not import ${v.toLayer}/`;
}
