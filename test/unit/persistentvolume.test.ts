import { expect } from 'chai';
import { persistentVolumeToApi } from '../../api/resources/persistentvolume.js';

describe('persistentvolume translation', () => {
  it('reports a volume with size, class, phase and its claim', () => {
    const bound = persistentVolumeToApi({
      metadata: { name: 'pv1', creationTimestamp: 't' },
      spec: { capacity: { storage: '5Gi' }, storageClassName: 'slow', claimRef: { kind: 'PersistentVolumeClaim', name: 'data', namespace: 'ns' } },
      status: { phase: 'Bound' },
    });
    expect(bound).to.deep.equal({
      id: 'pv1',
      name: 'pv1',
      storageSize: '5Gi',
      storageClassName: 'slow',
      status: 'Bound',
      claimRef: { kind: 'PersistentVolumeClaim', name: 'data', namespace: 'ns' },
      creationTimestamp: 't',
    });
  });

  it('reports claimRef null while unclaimed', () => {
    expect(persistentVolumeToApi({ metadata: { name: 'pv2' }, status: { phase: 'Available' } })).to.deep.include({ claimRef: null, status: 'Available', storageSize: '' });
  });
});
