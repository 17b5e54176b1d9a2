import { expect } from 'chai';
import { storageClassToApi } from '../../api/resources/storageclass.js';

describe('storageclass translation', () => {
  it('reports the provisioner and whether the class is the default', () => {
    const sc = { metadata: { name: 'fast', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } }, provisioner: 'kubernetes.io/no-provisioner' };
    expect(storageClassToApi(sc)).to.deep.include({ id: 'fast', name: 'fast', provisioner: 'kubernetes.io/no-provisioner', isDefault: true });
    expect(storageClassToApi({ metadata: { name: 'slow' } })).to.deep.include({ isDefault: false, provisioner: '' });
  });
});
