import { expect } from 'chai';
import { innerServiceToApi } from '../../api/resources/innerservice.js';
import type { KubeObject } from '../../src/kube/kube-object.js';
import { ObjectStore } from '../../src/kube/object-store.js';
import { innerServices, serviceView } from '../../src/views/service-topology.js';
import { workloadOf } from '../../src/views/workloads.js';
import { storesWith, svc } from '../views/plain-stores.js';

const ns = 'shop';
const owned = (kind: string, name: string) => [{ apiVersion: 'v1', kind, name, uid: `${kind}-${name}`, controller: true }];
const pod = (name: string, labels: Record<string, string>, owner?: [string, string], phase = 'Running'): KubeObject => ({
  metadata: { name, namespace: ns, labels, ...(owner ? { ownerReferences: owned(...owner) } : {}) },
  spec: { containers: [{ name: 'main' }] },
  status: { phase, containerStatuses: [{ name: 'main', ready: phase === 'Running', state: phase === 'Running' ? { running: {} } : { waiting: { reason: 'ContainerCreating' } } }] },
});

describe('workload chain of a pod', () => {
  const replicasets = new ObjectStore();
  replicasets.upsert({ metadata: { name: 'web-5d9', namespace: ns, ownerReferences: owned('Deployment', 'web') } });
  replicasets.upsert({ metadata: { name: 'bare-rs', namespace: ns } });
  const jobs = new ObjectStore();
  jobs.upsert({ metadata: { name: 'backup-28', namespace: ns, ownerReferences: owned('CronJob', 'backup') } });
  jobs.upsert({ metadata: { name: 'once', namespace: ns } });

  const cases: Array<[string, [string, string] | undefined, object]> = [
    ['ReplicaSet → Deployment', ['ReplicaSet', 'web-5d9'], { kind: 'deployment', name: 'web' }],
    ['ReplicaSet without owner', ['ReplicaSet', 'bare-rs'], { kind: 'replicaset', name: 'bare-rs' }],
    ['ReplicaSet not cached yet', ['ReplicaSet', 'new-rs'], { kind: 'replicaset', name: 'new-rs' }],
    ['StatefulSet', ['StatefulSet', 'db'], { kind: 'statefulset', name: 'db' }],
    ['DaemonSet', ['DaemonSet', 'agent'], { kind: 'daemonset', name: 'agent' }],
    ['Job → CronJob', ['Job', 'backup-28'], { kind: 'cronjob', name: 'backup' }],
    ['Job without owner', ['Job', 'once'], { kind: 'job', name: 'once' }],
    ['a bare pod', undefined, { kind: 'pod', name: 'p' }],
    ['an unknown controller', ['Node', 'n1'], { kind: 'pod', name: 'p' }],
  ];
  for (const [what, owner, expected] of cases) {
    it(`resolves ${what}`, () => expect(workloadOf(pod('p', {}, owner), replicasets, jobs)).to.deep.equal(expected));
  }
});

describe('innerservice view', () => {
  const read = storesWith({
    services: [svc('web', { app: 'web' }), svc('api', { app: 'api', tier: 'back' }), svc('manual'), svc('empty', {})],
    pods: [
      pod('api-b', { app: 'api', tier: 'back' }, ['ReplicaSet', 'api-7f']),
      pod('api-a', { app: 'api', tier: 'back' }, ['ReplicaSet', 'api-7f'], 'Pending'),
      pod('api-canary', { app: 'api', tier: 'back' }, ['StatefulSet', 'api-canary']),
      pod('web-1', { app: 'web' }, ['ReplicaSet', 'web-1']),
      pod('front-only', { app: 'api' }),
      { ...pod('elsewhere', { app: 'api', tier: 'back' }), metadata: { name: 'elsewhere', namespace: 'other', labels: { app: 'api', tier: 'back' } } },
    ],
    replicasets: [{ metadata: { name: 'api-7f', namespace: ns, ownerReferences: owned('Deployment', 'api') } }],
    ingresses: [
      {
        metadata: { name: 'site', namespace: ns },
        spec: { rules: [{ host: 'web.example.com', http: { paths: [{ path: '/', backend: { service: { name: 'web' } } }] } }] },
      },
    ],
  });

  it('groups the pods a selector matches (all its labels, same namespace) by workload, sorted', () => {
    expect(serviceView(read, ns, 'api')).to.deep.equal({
      name: 'api',
      workloads: [
        { kind: 'deployment', name: 'api', pods: [{ name: 'api-a', state: 'ContainerCreating' }, { name: 'api-b', state: 'Running' }] },
        { kind: 'statefulset', name: 'api-canary', pods: [{ name: 'api-canary', state: 'Running' }] },
      ],
    });
  });

  it('gives no workloads to services without a selector, an empty one, or that do not exist', () => {
    expect(serviceView(read, ns, 'manual').workloads).to.deep.equal([]);
    expect(serviceView(read, ns, 'empty').workloads).to.deep.equal([]);
    expect(serviceView(read, ns, 'ghost')).to.deep.equal({ name: 'ghost', workloads: [] });
  });

  it('lists the services no ingress leads to, by name, as {id, name, workloads}', () => {
    const views = innerServices(read, ns);
    expect(views.map((v) => v.name)).to.deep.equal(['api', 'empty', 'manual']);
    expect(innerServiceToApi(views[1])).to.deep.equal({ id: 'empty', name: 'empty', workloads: [] });
  });

  it('leaves out services a TCP/UDP forward of ingress-nginx leads to', () => {
    const withUdp = storesWith({
      services: [svc('dns', { app: 'dns' }), svc('api', { app: 'api' })],
      configmaps: [{ metadata: { name: 'udp-services', namespace: 'ingress-nginx' }, data: { '53': `${ns}/dns:53` } }],
    });
    expect(innerServices(withUdp, ns).map((v) => v.name)).to.deep.equal(['api']);
  });
});
