import { expect } from 'chai';
import path from 'node:path';
import { findLayerViolations, formatViolation, readImportGraph, relativeImports, resolveImport, type ImportGraph } from '../../scripts/arch/import-graph.js';

describe('architecture: layering of src/, controllers/, api/, server/', () => {
  const root = path.resolve(import.meta.dirname, '../..');

  it('has no import from src/ or controllers/ into api/ (nor any other wrong-way import)', () => {
    const graph = readImportGraph(root);
    // The graph must really be read, or an empty one would pass.
    expect(graph.get('controllers/config-reload.ts')).to.include('src/workloads/options.ts');
    expect(graph.get('api/resources/node.ts')).to.include('src/nodes/drain.ts');
    expect(findLayerViolations(graph).map(formatViolation)).to.deep.equal([]);
  });

  describe('the checker', () => {
    const fake: ImportGraph = new Map([
      ['src/kube/objects.ts', ['src/kube/kube-object.ts']],
      ['src/workloads/options.ts', ['api/resources/shared/validation.ts', 'src/kube/objects.ts']],
      ['controllers/config-reload.ts', ['src/workloads/options.ts', 'api/framework/resource.ts']],
      ['controllers/user-quota.ts', ['controllers/user-quota-steps.ts']],
      ['api/resources/node.ts', ['src/nodes/drain.ts', 'api/framework/resource.ts']],
      ['api/resources/pod.ts', ['controllers/config-reload.ts']],
      ['server/zcloud.ts', ['api/app.ts', 'controllers/user-quota.ts', 'src/users.ts']],
    ]);

    it('reports each wrong-way import and only those', () => {
      expect(findLayerViolations(fake)).to.deep.equal([
        { from: 'src/workloads/options.ts', to: 'api/resources/shared/validation.ts', fromLayer: 'src', toLayer: 'api' },
        { from: 'controllers/config-reload.ts', to: 'api/framework/resource.ts', fromLayer: 'controllers', toLayer: 'api' },
        { from: 'api/resources/pod.ts', to: 'controllers/config-reload.ts', fromLayer: 'api', toLayer: 'controllers' },
      ]);
    });

    it('finds nothing in a graph that keeps the rules', () => {
      const clean = new Map([...fake].filter(([from]) => !['src/workloads/options.ts', 'controllers/config-reload.ts', 'api/resources/pod.ts'].includes(from)));
      expect(findLayerViolations(clean)).to.deep.equal([]);
    });

    it('reads static, type-only, re-export and dynamic imports, and skips packages', () => {
      const source = [
        "import { z } from 'zod';",
        "import type { Principal } from '../../src/users.js';",
        'import {',
        '  a,',
        "  b } from './shared/multi-line.js';",
        "export { c } from '../framework/resource.js';",
        "const lazy = await import('../../api/app.js');",
      ].join('\n');
      expect(relativeImports(source)).to.have.members(['../../src/users.js', './shared/multi-line.js', '../framework/resource.js', '../../api/app.js']);
    });

    it('resolves a specifier against the importing module', () => {
      expect(resolveImport('src/nodes/drain.ts', '../kube/objects.js')).to.equal('src/kube/objects.ts');
      expect(resolveImport('controllers/config-reload.ts', '../api/resources/shared/pod-template-input.js')).to.equal(
        'api/resources/shared/pod-template-input.ts',
      );
    });
  });
});
