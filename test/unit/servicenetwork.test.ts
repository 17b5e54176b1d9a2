import { expect } from 'chai';
import { serviceNetworks } from '../../src/views/networks.js';

describe('servicenetwork view', () => {
  it('lists cluster IPs by <namespace>/<name>, leaving out headless and ExternalName services', () => {
    const services = [
      { metadata: { name: 'web', namespace: 'shop' }, spec: { clusterIP: '10.96.0.20' } },
      { metadata: { name: 'kubernetes', namespace: 'default' }, spec: { clusterIP: '10.96.0.1' } },
      { metadata: { name: 'db', namespace: 'shop' }, spec: { clusterIP: 'None' } },
      { metadata: { name: 'ext', namespace: 'shop' }, spec: { type: 'ExternalName' } },
    ];
    expect(serviceNetworks(services)).to.deep.equal([
      { name: 'default/kubernetes', ip: '10.96.0.1' },
      { name: 'shop/web', ip: '10.96.0.20' },
    ]);
  });
});
