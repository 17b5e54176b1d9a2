import { expect } from 'chai';
import { parseMemberList } from '../../src/provisioning/etcd-membership.js';
import { podNetworkConfig, podRouteCommands } from '../../src/provisioning/pod-network.js';

describe('provisioning pod network and etcd membership (pure parts)', () => {
  it('routes every other node\'s podCIDR to its address, and deletes routes through a gateway into the cluster CIDR that no node has any more', () => {
    const routes = [
      'default via 10.209.1.1 dev eth0',
      '10.42.0.0/24 dev cni0 proto kernel scope link src 10.42.0.1',
      '10.42.7.0/24 via 10.209.1.19 dev eth0',
      '10.42.1.0/24 via 10.209.1.12 dev eth0',
      '10.99.0.0/24 via 10.209.1.30 dev eth0',
      '10.209.1.0/24 dev eth0 proto kernel scope link src 10.209.1.11',
    ].join('\r\n');
    const others = [{ name: 'w1', address: '10.209.1.12', podCidr: '10.42.1.0/24' }, { name: 'w2', address: '10.209.1.13', podCidr: '10.42.2.0/24' }];
    expect(podRouteCommands('10.42.0.0/16', others, routes)).to.deep.equal([
      'ip route del 10.42.7.0/24',
      'ip route replace 10.42.1.0/24 via 10.209.1.12',
      'ip route replace 10.42.2.0/24 via 10.209.1.13',
    ]);
  });

  it('puts pods on bridge cni0 with host-local addresses of the node\'s podCIDR, the node their gateway', () => {
    const config = JSON.parse(podNetworkConfig('10.42.3.0/24'));
    expect(config.plugins[0]).to.deep.include({ type: 'bridge', bridge: 'cni0', isGateway: true });
    expect(config.plugins[0].ipam).to.deep.equal({ type: 'host-local', ranges: [[{ subnet: '10.42.3.0/24' }]], routes: [{ dst: '0.0.0.0/0' }] });
  });

  it('reads etcdctl member list: started members have a name, an added one not yet', () => {
    const output = '8e9e05c52164694d, started, etcd-a, https://10.209.1.11:2380, https://10.209.1.11:2379, false\r\n2f2e7e5b0f0d8c11, unstarted, , https://10.209.1.12:2380, , false\r\n';
    expect(parseMemberList(output)).to.deep.equal([
      { id: '8e9e05c52164694d', name: 'etcd-a', peerUrl: 'https://10.209.1.11:2380' },
      { id: '2f2e7e5b0f0d8c11', name: '', peerUrl: 'https://10.209.1.12:2380' },
    ]);
  });
});
