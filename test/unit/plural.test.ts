import { expect } from 'chai';
import { pluralize } from '../../api/framework/plural.js';

describe('collection names (the seed plural rule)', () => {
  const table: Array<[string, string]> = [
    ['user', 'users'],
    ['cluster', 'clusters'],
    ['namespace', 'namespaces'],
    ['ingress', 'ingresses'],
    ['storageclass', 'storageclasses'],
    ['batch', 'batches'],
    ['box', 'boxes'],
    ['registry', 'registries'],
    ['policy', 'policies'],
    ['key', 'keys'],
    ['day', 'days'],
    ['userquota', 'userquotas'],
    ['persistentvolumeclaim', 'persistentvolumeclaims'],
  ];
  for (const [kind, plural] of table) {
    it(`${kind} → ${plural}`, () => expect(pluralize(kind)).to.equal(plural));
  }
});
