import { expect } from 'chai';
import { ResourceRegistry } from '../../api/framework/registry.js';
import { defineResource, type RequestContext } from '../../api/framework/resource.js';

describe('ResourceRegistry', () => {
  const ctx = {} as RequestContext;

  it('answers GET on the items of a kind that only lists from its list, so every self link works', async () => {
    const registry = new ResourceRegistry([
      defineResource({ kind: 'view', list: async () => [{ id: 'a', n: 1 }, { id: 'b', n: 2 }] }),
      defineResource({ kind: 'thing', list: async () => [], get: async (_ctx, id) => ({ id, own: true }) }),
    ]);
    const view = registry.byKind('view')!.def;
    expect(await view.get!(ctx, 'b')).to.deep.equal({ id: 'b', n: 2 });
    expect(await view.get!(ctx, 'zz')).to.equal(undefined);
    expect(await registry.byKind('thing')!.def.get!(ctx, 'x')).to.deep.equal({ id: 'x', own: true });
  });
});
