import { expect } from 'chai';
import { configMapToApi, configMapToKube } from '../../api/resources/configmap.js';
import type { ConfigMapObject } from '../../src/kube/objects.js';

describe('configmap translation', () => {
  it('round-trips zcloud fields through a Kubernetes object', () => {
    const input = { name: 'app', configs: [{ name: 'a.conf', data: 'x=1' }, { name: 'b.conf', data: '' }] };
    const kube = configMapToKube(input, 'ns');
    expect(kube).to.deep.equal({ metadata: { name: 'app', namespace: 'ns' }, data: { 'a.conf': 'x=1', 'b.conf': '' } });
    const api = configMapToApi({ ...kube, metadata: { ...kube.metadata, creationTimestamp: 't' } });
    expect(api).to.deep.equal({ id: 'app', name: 'app', configs: input.configs, creationTimestamp: 't' });
  });

  it('keeps the current metadata on update and replaces the data whole', () => {
    const current: ConfigMapObject = {
      metadata: { name: 'app', namespace: 'ns', resourceVersion: '42', labels: { team: 'x' } },
      data: { old: '1' },
    };
    const next = configMapToKube({ name: 'app', configs: [{ name: 'new', data: '2' }] }, 'ns', current);
    expect(next.metadata).to.deep.include({ resourceVersion: '42', labels: { team: 'x' } });
    expect(next.data).to.deep.equal({ new: '2' });
  });
});
