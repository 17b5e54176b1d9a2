import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import yaml from 'js-yaml';
import { requireNoConflict, requireNodes, storageClusterToApi, storageClusterToKube, WAITING_FOR_OPERATOR } from '../../api/resources/storagecluster.js';
import { ConflictError, InputError } from '../../src/errors.js';
import { ObjectStore } from '../../src/kube/object-store.js';
import { storageClusterCrd, type StorageClusterObject } from '../../src/storage/storagecluster-crd.js';
import { node, storageCluster } from '../views/storage-fixtures.js';

describe('storagecluster translation', () => {
  const nodes = [node('w1', '[{"name":"/dev/sdb","size":"100Gi"}]'), node('w2', '[{"name":"/dev/vdb","size":"20Gi"}]')];

  it('writes only the spec, and reads it back waiting for an operator until one writes status', () => {
    const kube = storageClusterToKube({ name: 'lvm', storagetype: 'lvm', hosts: ['w1'] });
    expect(kube).to.deep.equal({ metadata: { name: 'lvm' }, spec: { storageType: 'lvm', hosts: ['w1'] } });
    const api = storageClusterToApi({ ...kube, metadata: { name: 'lvm', creationTimestamp: 't' } }, nodes, [kube]);
    expect(api).to.deep.equal({
      id: 'lvm',
      name: 'lvm',
      storageType: 'lvm',
      hosts: ['w1'],
      devices: {},
      phase: WAITING_FOR_OPERATOR,
      message: '',
      size: '',
      usedSize: '',
      freeSize: '',
      nodes: [],
      pvs: [],
      config: [{ nodeName: 'w1', blockDevices: [{ name: '/dev/sdb', size: '100Gi' }] }],
      freeDevs: [{ nodeName: 'w2', blockDevices: [{ name: '/dev/vdb', size: '20Gi' }] }],
      creationTimestamp: 't',
    });
  });

  it("reports the operator's status, and Deleting once deletion started", () => {
    const status = {
      phase: 'Running',
      size: '100Gi',
      usedSize: '1Gi',
      freeSize: '99Gi',
      nodes: [{ name: 'w1', size: '100Gi', usedSize: '1Gi', freeSize: '99Gi', stat: true }],
      config: [{ nodeName: 'w1', blockDevices: [{ name: '/dev/sdb', size: '100Gi' }] }],
      pvs: [{ name: 'pv-1', size: '1Gi', usedSize: '0', freeSize: '1Gi', node: 'w1', pods: [{ name: 'db-0' }] }],
    };
    const sc: StorageClusterObject = { ...storageCluster('lvm', 'lvm', ['w1']), status };
    expect(storageClusterToApi(sc, nodes, [sc])).to.deep.include(status);
    const deleting = { ...sc, metadata: { name: 'lvm', deletionTimestamp: 't' } };
    expect(storageClusterToApi(deleting, nodes, [deleting]).phase).to.equal('Deleting');
  });

  it('keeps metadata (resourceVersion) on update and leaves the status to the operator', () => {
    const current: StorageClusterObject = { metadata: { name: 'lvm', resourceVersion: '7', labels: { a: 'b' } }, spec: { storageType: 'lvm', hosts: ['w1'] }, status: { phase: 'Running' } };
    const next = storageClusterToKube({ name: 'lvm', storagetype: 'lvm', hosts: ['w1', 'w2'] }, current);
    expect(next).to.deep.equal({ metadata: { name: 'lvm', resourceVersion: '7', labels: { a: 'b' } }, spec: { storageType: 'lvm', hosts: ['w1', 'w2'] } });
  });
});

describe('storagecluster rules', () => {
  it('requires every host to be a node, naming the first that is not', () => {
    const store = new ObjectStore();
    store.upsert(node('w1'));
    expect(() => requireNodes(store, ['w1'], 'c1')).to.not.throw();
    const err = (() => {
      try {
        requireNodes(store, ['w1', 'ghost', 'other'], 'c1');
      } catch (e) {
        return e;
      }
    })();
    expect(err).to.be.instanceOf(InputError).and.include({ field: 'hosts.1', message: 'ghost is not a node of cluster c1' });
  });

  it('allows one storage cluster per type and one storage cluster per host', () => {
    const all = [storageCluster('lvm', 'lvm', ['w1'])];
    expect(() => requireNoConflict(all, 'lvm2', ['w2'], 'lvm')).to.throw(ConflictError, /lvm already provides lvm/);
    expect(() => requireNoConflict(all, 'ceph', ['w1'], 'ceph')).to.throw(ConflictError, /node w1 is already used by storagecluster lvm/);
    expect(() => requireNoConflict(all, 'ceph', ['w2'], 'ceph')).to.not.throw();
    expect(() => requireNoConflict(all, 'lvm', ['w1', 'w2'])).to.not.throw();
  });
});

describe('StorageCluster CRD', () => {
  it('is the same object in deploy/crds/storagecluster.yaml', () => {
    const file = yaml.load(readFileSync(new URL('../../deploy/crds/storagecluster.yaml', import.meta.url), 'utf8'));
    expect(file).to.deep.equal(storageClusterCrd);
  });

  it('is cluster-scoped with a status subresource, so spec writes never clobber what the operator reports', () => {
    expect(storageClusterCrd.spec.scope).to.equal('Cluster');
    expect(storageClusterCrd.spec.versions[0].subresources).to.deep.equal({ status: {} });
  });
});
