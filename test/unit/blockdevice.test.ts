import { expect } from 'chai';
import { blockDevicesOf, blockDeviceView, freeDevices, hostDevices } from '../../src/storage/block-devices.js';
import { node, storageCluster } from '../views/storage-fixtures.js';

describe('block devices from the node annotation', () => {
  it('reads the JSON list, sorted by device name', () => {
    const devices = blockDevicesOf(node('n', '[{"name":"/dev/sdc","size":"50Gi"},{"name":"/dev/sdb","size":"100Gi","model":"x"}]'));
    // An annotation without usable/reason (imported clusters, written by hand) means usable.
    expect(devices).to.deep.equal([
      { name: '/dev/sdb', size: '100Gi', usable: true, reason: '' },
      { name: '/dev/sdc', size: '50Gi', usable: true, reason: '' },
    ]);
  });

  it('reads no devices without the annotation, or from a malformed one', () => {
    expect(blockDevicesOf(node('n'))).to.deep.equal([]);
    expect(blockDevicesOf(node('n', 'not json'))).to.deep.equal([]);
    expect(blockDevicesOf(node('n', '{"name":"/dev/sdb"}'))).to.deep.equal([]);
    expect(blockDevicesOf(node('n', '[{"size":"1Gi"}]'))).to.deep.equal([]);
  });

  const nodes = [
    node('master', '[{"name":"/dev/sdb","size":"1Gi"}]', ['controlplane', 'etcd']),
    node('w2', '[{"name":"/dev/vdb","size":"20Gi"}]', ['worker']),
    node('w1', '[{"name":"/dev/sdb","size":"100Gi"}]'),
    node('w3'),
  ];
  const clusters = [storageCluster('lvm', 'lvm', ['w1'])];

  it('lists worker nodes only, by name, with the storage cluster using each device', () => {
    expect(blockDeviceView(nodes, clusters)).to.deep.equal([
      { nodeName: 'w1', blockDevices: [{ name: '/dev/sdb', size: '100Gi', usable: true, reason: '', usedBy: 'lvm' }] },
      { nodeName: 'w2', blockDevices: [{ name: '/dev/vdb', size: '20Gi', usable: true, reason: '', usedBy: '' }] },
      { nodeName: 'w3', blockDevices: [] },
    ]);
  });

  it('counts as free the devices of workers no storage cluster uses', () => {
    expect(freeDevices(nodes, clusters)).to.deep.equal([{ nodeName: 'w2', blockDevices: [{ name: '/dev/vdb', size: '20Gi' }] }]);
    expect(freeDevices(nodes, [])).to.have.length(2);
  });

  it("gives each host's devices, in the hosts' order, and none for an unknown host", () => {
    expect(hostDevices(['w2', 'w1', 'ghost'], nodes)).to.deep.equal([
      { nodeName: 'w2', blockDevices: [{ name: '/dev/vdb', size: '20Gi' }] },
      { nodeName: 'w1', blockDevices: [{ name: '/dev/sdb', size: '100Gi' }] },
      { nodeName: 'ghost', blockDevices: [] },
    ]);
  });
});
