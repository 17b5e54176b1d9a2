import { expect } from 'chai';
import { itemSerializer, shapeItem } from '../../api/framework/collection-json.js';
import { ResourceRegistry } from '../../api/framework/registry.js';
import { defineResource, type ApiObject } from '../../api/framework/resource.js';

const registry = new ResourceRegistry([
  defineResource({ kind: 'gadget', list: async () => [], remove: async () => undefined, update: { input: {} as never, run: async () => ({ id: 'x' }) } }),
  defineResource({ kind: 'part', parents: ['gadget'], list: async () => [] }),
  defineResource({ kind: 'bare', get: async () => undefined }),
]);

describe('itemSerializer: each item exactly as JSON.stringify of the shaped object', () => {
  const objects: ApiObject[] = [
    { id: 'plain', creationTimestamp: '2026-01-01T00:00:00Z', name: 'plain', n: 1, nested: { a: [1, 'x'] } },
    { id: 'needs escaping/ü "q" %', name: 'weird' },
    { id: 'no-fields' },
    { id: 'envelope-names', type: 'ClusterIP', links: 'its own', creationTimestamp: undefined, skipped: undefined },
    { id: 'nulls', creationTimestamp: undefined, value: null },
  ];
  const collectionUrls = ['http://zcloud.test/apis/zcloud.cn/v1/gadgets', 'http://host"with\\odd/apis/zcloud.cn/v1/gadgets'];

  for (const kind of ['gadget', 'part', 'bare']) {
    for (const url of collectionUrls) {
      it(`${kind} at ${url}`, () => {
        const entry = registry.byKind(kind)!;
        const serialise = itemSerializer(entry, url);
        for (const object of objects) {
          const text = serialise(object);
          expect(text, object.id).to.equal(JSON.stringify(shapeItem(entry, url, object)));
          JSON.parse(text);
        }
      });
    }
  }
});
