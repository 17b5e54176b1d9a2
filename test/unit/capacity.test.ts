import { expect } from 'chai';
import { capacityOf, nodeRoles } from '../../src/clusters/cluster-metrics.js';
import { isQuantity, parseQuantity } from '../../src/kube/quantity.js';
import type { KubeObject } from '../../src/kube/kube-object.js';

describe('quantities', () => {
  const table: Array<[string, number]> = [
    ['100m', 0.1],
    ['1', 1],
    ['1.5', 1.5],
    ['128Mi', 128 * 2 ** 20],
    ['1Gi', 2 ** 30],
    ['2G', 2e9],
    ['1e3', 1000],
    ['500k', 500_000],
  ];
  for (const [text, value] of table) it(`${text} = ${value}`, () => expect(parseQuantity(text)).to.be.closeTo(value, 1e-9));
  it('rejects what is not a quantity', () => {
    for (const bad of ['', 'abc', '1.2.3', '10 Gi', 'Gi', '1iB']) expect(isQuantity(bad), bad).to.equal(false);
  });
});

describe('cluster capacity figures', () => {
  const node = (name: string, roles: string[], cpu: string, memory: string, pods: string): KubeObject => ({
    metadata: { name, labels: Object.fromEntries(roles.map((r) => [`node-role.kubernetes.io/${r}`, 'true'])) },
    status: { allocatable: { cpu, memory, pods } },
  });
  const pod = (name: string, nodeName: string, phase: string, cpu: string, memory: string): KubeObject => ({
    metadata: { name, namespace: 'x' },
    spec: { nodeName, containers: [{ resources: { requests: { cpu, memory } } }] },
    status: { phase },
  });

  it('counts allocatable of worker nodes and requests of their non-terminated pods', () => {
    const nodes = [node('m', ['master'], '4', '8Gi', '110'), node('w1', ['worker'], '4', '8Gi', '110'), node('w2', [], '2', '4Gi', '100')];
    const pods = [
      pod('a', 'w1', 'Running', '500m', '1Gi'),
      pod('b', 'w2', 'Pending', '1', '512Mi'),
      pod('done', 'w1', 'Succeeded', '8', '8Gi'),
      pod('on-master', 'm', 'Running', '1', '1Gi'),
    ];
    const figures = capacityOf(nodes, pods);
    expect(figures).to.deep.equal({
      cpu: 6000,
      cpuUsed: 1500,
      cpuUsedRatio: '0.25',
      memory: 12 * 2 ** 30,
      memoryUsed: 1.5 * 2 ** 30,
      memoryUsedRatio: '0.13',
      pod: 210,
      podUsed: 2,
      podUsedRatio: '0.01',
    });
    expect(nodeRoles(nodes[0])).to.deep.equal(['controlplane']);
  });
});
