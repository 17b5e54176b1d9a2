import { expect } from 'chai';
import type { KubeObject } from '../../src/kube/kube-object.js';
import { resourceVersionAtLeast, stripForCache } from '../../src/kube/kube-object.js';
import { ObjectStore } from '../../src/kube/object-store.js';

const pod = (ns: string, name: string, rv: string, ownerUid?: string): KubeObject => ({
  metadata: {
    namespace: ns,
    name,
    resourceVersion: rv,
    uid: `${ns}-${name}`,
    ...(ownerUid ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: ownerUid }] } : {}),
  },
});

describe('ObjectStore', () => {
  it('gets by namespace/name and indexes by namespace and owner in the same write', () => {
    const store = new ObjectStore();
    store.upsert(pod('a', 'p1', '1', 'rs-1'));
    store.upsert(pod('a', 'p2', '2', 'rs-1'));
    store.upsert(pod('b', 'p1', '3'));
    expect(store.get('a', 'p1')?.metadata.resourceVersion).to.equal('1');
    expect(store.listNamespace('a').map((p) => p.metadata.name)).to.have.members(['p1', 'p2']);
    expect(store.listOwnedBy('rs-1')).to.have.length(2);
    // Moving an object to another owner must leave no stale index entry.
    store.upsert(pod('a', 'p2', '4', 'rs-2'));
    expect(store.listOwnedBy('rs-1').map((p) => p.metadata.name)).to.deep.equal(['p1']);
    expect(store.listOwnedBy('rs-2').map((p) => p.metadata.name)).to.deep.equal(['p2']);
    const removed = store.remove('a/p1');
    expect(removed).to.deep.include({ type: 'deleted' });
    expect(store.listOwnedBy('rs-1')).to.deep.equal([]);
    expect(store.listNamespace('a').map((p) => p.metadata.name)).to.deep.equal(['p2']);
  });

  it('hands out frozen objects', () => {
    const store = new ObjectStore();
    store.upsert(pod('a', 'p1', '1'));
    const object = store.get('a', 'p1')!;
    expect(() => {
      (object.metadata as { name: string }).name = 'x';
    }).to.throw(TypeError);
  });

  it('replace reports added, updated and deleted objects relative to its content', () => {
    const store = new ObjectStore();
    store.replace([pod('a', 'keep', '1'), pod('a', 'change', '1'), pod('a', 'gone', '1')]);
    const events = store.replace([pod('a', 'keep', '1'), pod('a', 'change', '2'), pod('a', 'new', '1')]);
    const summary = events.map((e) => `${e.type}:${e.object.metadata.name}`).sort();
    expect(summary).to.deep.equal(['added:new', 'deleted:gone', 'updated:change']);
    expect(store.size).to.equal(3);
  });

  it('lists 250k objects without overflowing the stack', () => {
    const store = new ObjectStore();
    const objects: KubeObject[] = [];
    for (let i = 0; i < 250_000; i++) objects.push({ metadata: { namespace: 'big', name: `o${i}`, resourceVersion: '1' } });
    store.replace(objects);
    expect(store.list()).to.have.length(250_000);
    expect(store.listNamespace('big')).to.have.length(250_000);
  });

  it('strips managedFields and the last-applied annotation before caching', () => {
    const stripped = stripForCache({
      metadata: {
        name: 'x',
        managedFields: [{ manager: 'kubectl' }],
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}', keep: 'yes' },
      },
    });
    expect(stripped.metadata).to.not.have.property('managedFields');
    expect(stripped.metadata.annotations).to.deep.equal({ keep: 'yes' });
  });

  it('compares resourceVersions numerically, else by equality', () => {
    expect(resourceVersionAtLeast('100', '99')).to.equal(true);
    expect(resourceVersionAtLeast('99', '100')).to.equal(false);
    expect(resourceVersionAtLeast('abc', 'abc')).to.equal(true);
    expect(resourceVersionAtLeast('abc', 'abd')).to.equal(false);
    expect(resourceVersionAtLeast(undefined, '1')).to.equal(false);
  });

  it('keeps a namespace tally through adds, replacements, removals and relists', () => {
    const store = new ObjectStore();
    const weight = (object: KubeObject) => Number(object.metadata.labels?.weight ?? 0);
    const tally = { width: 2, measure: (o: KubeObject) => (weight(o) < 0 ? undefined : [weight(o), 1]) };
    const weighted = (ns: string, name: string, rv: string, w: number): KubeObject => ({ metadata: { namespace: ns, name, resourceVersion: rv, labels: { weight: String(w) } } });
    store.upsert(weighted('a', 'p1', '1', 5));
    // Registered on first read: what the store held is counted.
    expect(store.namespaceTotals(tally, 'a')).to.deep.equal([5, 1]);
    store.upsert(weighted('a', 'p2', '2', 7));
    store.upsert(weighted('b', 'p1', '3', 1));
    expect(store.namespaceTotals(tally, 'a')).to.deep.equal([12, 2]);
    store.upsert(weighted('a', 'p1', '4', -1)); // now measured as nothing
    expect(store.namespaceTotals(tally, 'a')).to.deep.equal([7, 1]);
    store.remove('a/p2');
    expect(store.namespaceTotals(tally, 'a')).to.deep.equal([0, 0]);
    store.replace([weighted('a', 'p3', '5', 2), weighted('b', 'p1', '3', 1)]);
    expect(store.namespaceTotals(tally, 'a')).to.deep.equal([2, 1]);
    expect(store.namespaceTotals(tally, 'b')).to.deep.equal([1, 1]);
    expect(store.namespaceTotals(tally, 'c')).to.deep.equal([0, 0]);
  });
});
