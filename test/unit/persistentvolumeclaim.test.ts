import { expect } from 'chai';
import { persistentVolumeClaimToApi, podsMountingClaim } from '../../api/resources/persistentvolumeclaim.js';
import type { PodObject } from '../../src/kube/objects.js';

describe('persistentvolumeclaim translation', () => {
  const pod = (name: string, claim: string, phase: string, nodeName?: string): PodObject => ({
    metadata: { name, namespace: 'ns' },
    spec: { nodeName, volumes: [{ name: 'data', persistentVolumeClaim: { claimName: claim } }, { name: 'tmp' }] },
    status: { phase },
  });

  it('finds the live pods mounting a claim, with their node', () => {
    const pods = [pod('b', 'data', 'Running', 'n2'), pod('a', 'data', 'Pending'), pod('done', 'data', 'Succeeded', 'n1'), pod('other', 'logs', 'Running', 'n1')];
    expect(podsMountingClaim(pods, 'data')).to.deep.equal([
      { name: 'a', node: '' },
      { name: 'b', node: 'n2' },
    ]);
    expect(podsMountingClaim(pods, 'nothing')).to.deep.equal([]);
  });

  it('reports a claim with class, sizes, status, volume and users', () => {
    const api = persistentVolumeClaimToApi(
      {
        metadata: { name: 'data', namespace: 'ns', creationTimestamp: 't' },
        spec: { storageClassName: 'slow', volumeName: 'pv1', resources: { requests: { storage: '1Gi' } } },
        status: { phase: 'Bound', capacity: { storage: '2Gi' } },
      },
      [{ name: 'web-0', node: 'n1' }],
    );
    expect(api).to.deep.equal({
      id: 'data',
      name: 'data',
      namespace: 'ns',
      storageClassName: 'slow',
      requestStorageSize: '1Gi',
      actualStorageSize: '2Gi',
      status: 'Bound',
      volumeName: 'pv1',
      pods: [{ name: 'web-0', node: 'n1' }],
      used: true,
      node: 'n1',
      creationTimestamp: 't',
    });
    const fresh = persistentVolumeClaimToApi({ metadata: { name: 'new', namespace: 'ns' } }, []);
    expect(fresh).to.deep.include({ status: 'Pending', volumeName: '', actualStorageSize: '', used: false, node: '' });
  });
});
