import { expect } from 'chai';
import type { PodObject } from '../../src/kube/objects.js';
import { podNetworks } from '../../src/views/networks.js';

const pod = (namespace: string, name: string, nodeName: string | undefined, podIP: string | undefined, extra: { phase?: string; hostNetwork?: boolean } = {}): PodObject => ({
  metadata: { name, namespace },
  spec: { nodeName, hostNetwork: extra.hostNetwork },
  status: { phase: extra.phase ?? 'Running', podIP },
});

describe('podnetwork view', () => {
  it('lists, per node, the running pods on the pod network by <namespace>/<name>, sorted', () => {
    const nodes = [{ metadata: { name: 'n2' }, spec: { podCIDR: '10.244.2.0/24' } }, { metadata: { name: 'n1' }, spec: { podCIDR: '10.244.1.0/24' } }];
    const pods = [
      pod('b', 'web-1', 'n1', '10.244.1.3'),
      pod('a', 'web-2', 'n1', '10.244.1.2'),
      pod('a', 'agent', 'n1', '192.168.0.1', { hostNetwork: true }),
      pod('a', 'done', 'n1', '10.244.1.9', { phase: 'Succeeded' }),
      pod('a', 'starting', 'n2', undefined, { phase: 'Pending' }),
      pod('a', 'unscheduled', undefined, undefined, { phase: 'Pending' }),
      pod('a', 'orphan', 'gone', '10.244.9.2'),
    ];
    expect(podNetworks(nodes, pods)).to.deep.equal([
      { nodeName: 'gone', podCIDR: '', podIPs: [{ name: 'a/orphan', ip: '10.244.9.2' }] },
      { nodeName: 'n1', podCIDR: '10.244.1.0/24', podIPs: [{ name: 'a/web-2', ip: '10.244.1.2' }, { name: 'b/web-1', ip: '10.244.1.3' }] },
      { nodeName: 'n2', podCIDR: '10.244.2.0/24', podIPs: [] },
    ]);
  });
});
