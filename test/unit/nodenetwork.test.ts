import { expect } from 'chai';
import { nodeNetworks } from '../../src/views/networks.js';

describe('nodenetwork view', () => {
  it('gives each node its first InternalIP, sorted by name', () => {
    const nodes = [
      { metadata: { name: 'n2' }, status: { addresses: [{ type: 'Hostname', address: 'n2' }, { type: 'InternalIP', address: '10.0.0.2' }, { type: 'InternalIP', address: 'fd00::2' }] } },
      { metadata: { name: 'n1' }, status: { addresses: [{ type: 'ExternalIP', address: '1.2.3.4' }, { type: 'InternalIP', address: '10.0.0.1' }] } },
      { metadata: { name: 'n0' } },
    ];
    expect(nodeNetworks(nodes)).to.deep.equal([
      { name: 'n0', ip: '' },
      { name: 'n1', ip: '10.0.0.1' },
      { name: 'n2', ip: '10.0.0.2' },
    ]);
  });
});
