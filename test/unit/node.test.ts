import { expect } from 'chai';
import { nodeToApi } from '../../api/resources/node.js';
import { capacityOf } from '../../src/clusters/cluster-metrics.js';
import type { KubeObject } from '../../src/kube/kube-object.js';
import type { NodeObject } from '../../src/kube/objects.js';
import { drainPlan } from '../../src/nodes/drain.js';

describe('node translation', () => {
  const node = (name: string, roles: string[], extra: Partial<NodeObject> = {}): NodeObject => ({
    metadata: {
      name,
      creationTimestamp: 't',
      labels: { 'kubernetes.io/hostname': name, ...Object.fromEntries(roles.map((r) => [`node-role.kubernetes.io/${r}`, 'true'])) },
      annotations: { note: 'x' },
    },
    status: {
      allocatable: { cpu: '4', memory: '8Gi', pods: '110' },
      conditions: [{ type: 'Ready', status: 'True' }],
      addresses: [
        { type: 'Hostname', address: name },
        { type: 'InternalIP', address: '10.0.0.5' },
      ],
      nodeInfo: { containerRuntimeVersion: 'containerd://1.6.20', operatingSystem: 'linux', osImage: 'Debian GNU/Linux 12 (bookworm)' },
    },
    ...extra,
  });
  const pod = (name: string, nodeName: string, cpu: string, memory: string, phase = 'Running'): KubeObject => ({
    metadata: { name, namespace: 'ns' },
    spec: { nodeName, containers: [{ resources: { requests: { cpu, memory } } }] },
    status: { phase },
  });

  it('reports identity, roles, runtime, OS and its own capacity figures', () => {
    const n = node('n1', ['master', 'etcd']);
    const pods = [pod('a', 'n1', '1', '2Gi'), pod('b', 'n2', '2', '1Gi'), pod('done', 'n1', '3', '1Gi', 'Succeeded')];
    expect(nodeToApi(n, pods)).to.deep.equal({
      id: 'n1',
      name: 'n1',
      status: 'Ready',
      address: '10.0.0.5',
      roles: ['controlplane', 'etcd'],
      labels: n.metadata.labels,
      annotations: { note: 'x' },
      operatingSystem: 'linux',
      operatingSystemImage: 'Debian GNU/Linux 12 (bookworm)',
      dockerVersion: 'containerd://1.6.20',
      cpu: 4000,
      cpuUsed: 1000,
      cpuUsedRatio: '0.25',
      memory: 8 * 2 ** 30,
      memoryUsed: 2 * 2 ** 30,
      memoryUsedRatio: '0.25',
      pod: 110,
      podUsed: 1,
      podUsedRatio: '0.01',
      creationTimestamp: 't',
    });
  });

  it('sums to the cluster figures over the worker nodes', () => {
    const nodes = [node('w1', ['worker']), node('w2', ['worker'])];
    const pods = [pod('a', 'w1', '500m', '1Gi'), pod('b', 'w2', '250m', '512Mi')];
    const cluster = capacityOf(nodes, pods);
    const perNode = nodes.map((n) => nodeToApi(n, pods));
    expect(perNode.reduce((sum, n) => sum + (n.cpuUsed as number), 0)).to.equal(cluster.cpuUsed);
    expect(perNode.reduce((sum, n) => sum + (n.memory as number), 0)).to.equal(cluster.memory);
  });

  it('is NotReady without a true Ready condition, Cordoned when unschedulable', () => {
    expect(nodeToApi(node('n', []), []).status).to.equal('Ready');
    expect(nodeToApi(node('n', [], { spec: { unschedulable: true } }), []).status).to.equal('Cordoned');
    const down = node('n', [], { spec: { unschedulable: true } });
    down.status = { ...down.status, conditions: [{ type: 'Ready', status: 'Unknown' }] };
    expect(nodeToApi(down, []).status).to.equal('NotReady');
  });
});

describe('drain plan', () => {
  const owned = (name: string, kind?: string, annotations?: Record<string, string>): KubeObject => ({
    metadata: {
      name,
      namespace: 'ns',
      annotations,
      ownerReferences: kind ? [{ apiVersion: 'apps/v1', kind, name: 'owner', uid: 'u', controller: true }] : undefined,
    },
  });

  it('evicts everything but DaemonSet and mirror pods, in name order', () => {
    const plan = drainPlan([owned('web-1', 'ReplicaSet'), owned('agent', 'DaemonSet'), owned('kube-proxy-n1', 'Node', { 'kubernetes.io/config.mirror': 'abc' }), owned('bare')]);
    expect(plan.map((p) => [p.pod.metadata.name, p.skip ?? 'evict'])).to.deep.equal([
      ['agent', 'skipped (daemonset)'],
      ['bare', 'evict'],
      ['kube-proxy-n1', 'skipped (mirror pod)'],
      ['web-1', 'evict'],
    ]);
  });
});
