import { expect } from 'chai';
import { isDeepStrictEqual } from 'node:util';
import { Compactor } from '../../src/kube/compact.js';
import type { KubeObject } from '../../src/kube/kube-object.js';

/** A Running pod as the apiserver sends it: what repeats between pods, and what is each one's own. */
function runningPod(i: number, node: string): KubeObject {
  return JSON.parse(
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `web-${i}`,
        namespace: 'shop',
        uid: `uid-${i}`,
        resourceVersion: String(100 + i),
        creationTimestamp: `2026-11-26T08:00:0${i}Z`,
        labels: { app: 'web', tier: 'frontend' },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-1', uid: 'rs-uid', controller: true }],
      },
      spec: {
        nodeName: node,
        containers: [{ name: 'web', image: 'registry.local/web:1', resources: { requests: { cpu: '10m' } } }],
        tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }],
        securityContext: {},
      },
      status: {
        phase: 'Running',
        podIP: `10.0.0.${i}`,
        conditions: [{ type: 'Ready', status: 'True', lastProbeTime: null, lastTransitionTime: `2026-11-26T08:00:1${i}Z` }],
        containerStatuses: [{ name: 'web', image: 'registry.local/web:1', containerID: `docker://${i}`, ready: true, restartCount: 0 }],
      },
    }),
  ) as KubeObject;
}

describe('Compactor', () => {
  it('returns objects equal to what it was given, key order included', () => {
    const compactor = new Compactor();
    for (let i = 0; i < 4; i++) {
      const pod = runningPod(i, `node-${i % 2}`);
      const compacted = compactor.compact(runningPod(i, `node-${i % 2}`));
      expect(isDeepStrictEqual(compacted, pod)).to.equal(true);
      expect(JSON.stringify(compacted)).to.equal(JSON.stringify(pod));
    }
  });

  it('shares what pods repeat, frozen, and keeps what is their own', () => {
    const compactor = new Compactor();
    const a = compactor.compact(runningPod(1, 'node-1')) as KubeObject & { spec: Record<string, unknown>; status: Record<string, unknown> };
    const b = compactor.compact(runningPod(2, 'node-1')) as typeof a;
    const c = compactor.compact(runningPod(3, 'node-2')) as typeof a;
    expect(b.metadata.labels).to.equal(a.metadata.labels);
    expect(b.metadata.ownerReferences).to.equal(a.metadata.ownerReferences);
    expect(b.spec).to.equal(a.spec); // same node, same template
    expect(c.spec).to.not.equal(a.spec);
    expect(c.spec.containers).to.equal(a.spec.containers);
    expect(Object.isFrozen(a.spec.containers)).to.equal(true);
    // Each pod's own: top level, metadata, and a status holding its IP, times and container ids.
    expect(b).to.not.equal(a);
    expect(b.metadata).to.not.equal(a.metadata);
    expect(b.status).to.not.equal(a.status);
    expect(Object.isFrozen(a.metadata)).to.equal(false);
  });
});
