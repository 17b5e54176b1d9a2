import { expect } from 'chai';
import { CreateLimitRange, limitRangeToApi, limitRangeToKube } from '../../api/resources/limitrange.js';
import { rejectionOf } from '../helpers/input.js';

const rejection = (body: unknown): string | undefined => rejectionOf(CreateLimitRange, body);

describe('limitrange translation', () => {
  it('round-trips max/min through one Container limit item', () => {
    const input = { name: 'bounds', max: { cpu: '2', memory: '1Gi' }, min: { cpu: '100m' } };
    const kube = limitRangeToKube(input, 'ns');
    expect(kube).to.deep.equal({
      metadata: { name: 'bounds', namespace: 'ns' },
      spec: { limits: [{ type: 'Container', max: { cpu: '2', memory: '1Gi' }, min: { cpu: '100m' } }] },
    });
    const api = limitRangeToApi({ ...kube, metadata: { ...kube.metadata, creationTimestamp: 't' } });
    expect(api).to.deep.equal({ id: 'bounds', name: 'bounds', max: input.max, min: input.min, creationTimestamp: 't' });
  });

  it('reads only the Container item of a limit range made elsewhere', () => {
    const api = limitRangeToApi({
      metadata: { name: 'x', namespace: 'ns' },
      spec: { limits: [{ type: 'Pod', max: { cpu: '8' } }, { type: 'Container', min: { memory: '16Mi' } }] },
    });
    expect(api).to.deep.include({ max: {}, min: { memory: '16Mi' } });
  });

  it('rejects bad input naming the field', () => {
    expect(rejection({ name: 'a', min: {} })).to.equal('max: is required');
    expect(rejection({ name: 'a', max: {}, min: { cpu: 'lots' } })).to.match(/^min\.cpu: must be a Kubernetes quantity/);
    expect(rejection({ name: 'a', max: { cpu: '-1' }, min: {} })).to.equal('max.cpu: must not be negative');
    expect(rejection({ name: 'a', max: { storage: '1Gi' }, min: {} })).to.equal('max.storage: must be one of cpu, memory');
    expect(rejection({ name: 'a', max: { cpu: 1 }, min: {} })).to.match(/^max\.cpu: /);
    expect(rejection({ name: 'a', max: { memory: '1Gi' }, min: { memory: '2Gi' } })).to.equal('min.memory: must not exceed max.memory (1Gi)');
    expect(rejection({ name: 'Not_Valid', max: {}, min: {} })).to.match(/^name: /);
    expect(rejection({ name: 'ok', max: { cpu: '1' }, min: { cpu: '1' } })).to.equal(undefined);
  });
});
