import { expect } from 'chai';
import { CreateResourceQuota, resourceQuotaToApi, resourceQuotaToKube } from '../../api/resources/resourcequota.js';
import { rejectionOf } from '../helpers/input.js';

describe('resourcequota translation', () => {
  it('writes limits as spec.hard and reads back limits, hard and used', () => {
    const kube = resourceQuotaToKube({ name: 'q', limits: { 'requests.cpu': '2', 'limits.memory': '4Gi' } }, 'ns');
    expect(kube).to.deep.equal({ metadata: { name: 'q', namespace: 'ns' }, spec: { hard: { 'requests.cpu': '2', 'limits.memory': '4Gi' } } });
    const api = resourceQuotaToApi({
      ...kube,
      metadata: { ...kube.metadata, creationTimestamp: 't' },
      status: { hard: { 'requests.cpu': '2', 'limits.memory': '4Gi' }, used: { 'requests.cpu': '500m', 'limits.memory': '0' } },
    });
    expect(api).to.deep.equal({
      id: 'q',
      name: 'q',
      limits: { 'requests.cpu': '2', 'limits.memory': '4Gi' },
      status: { limits: { 'requests.cpu': '2', 'limits.memory': '4Gi' }, used: { 'requests.cpu': '500m', 'limits.memory': '0' } },
      creationTimestamp: 't',
    });
  });

  it('reports an empty status before the quota controller has counted, and no limits as {}', () => {
    const api = resourceQuotaToApi(resourceQuotaToKube({ name: 'q' }, 'ns'));
    expect(api).to.deep.include({ limits: {}, status: { limits: {}, used: {} } });
  });

  it('accepts only the seed enum as keys, with quantities as values', () => {
    const reason = (body: unknown): string | undefined => rejectionOf(CreateResourceQuota, body);
    expect(reason({ name: 'q', limits: { 'requests.storage': '10Gi' } })).to.equal(undefined);
    expect(reason({ name: 'q', limits: { pods: '10' } })).to.match(/^limits\.pods: must be one of requests\.cpu, /);
    expect(reason({ name: 'q', limits: { 'limits.cpu': '2 cores' } })).to.match(/^limits\.limits\.cpu: must be a Kubernetes quantity/);
    expect(reason({ limits: {} })).to.equal('name: is required');
  });
});
