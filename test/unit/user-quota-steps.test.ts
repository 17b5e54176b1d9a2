import { expect } from 'chai';
import { desiredQuota, nextQuotaStep, type QuotaObservation } from '../../controllers/user-quota-steps.js';
import type { UserQuotaRecord } from '../../src/quotas/user-quota.js';

const base: UserQuotaRecord = {
  id: 'team-a',
  namespace: 'team-a',
  userName: 'ann',
  purpose: 'p',
  requested: { cpu: '2', memory: '4Gi', storage: '10Gi' },
  status: 'approval',
  requestType: 'create',
  creationTimestamp: '2026-01-01T00:00:00.000Z',
  approved: { clusterName: 'c1', cpu: '2', memory: '4Gi', storage: '10Gi' },
  deleting: false,
  applied: false,
  message: '',
};
const ours = { metadata: { name: 'team-a', labels: { 'zcloud.cn/userquota': 'team-a' }, annotations: { 'zcloud.cn/created-by-userquota': 'team-a' } } };
const quota = desiredQuota(base, base.approved!);
const step = (record: Partial<UserQuotaRecord>, seen: QuotaObservation) => nextQuotaStep({ ...base, ...record }, seen).kind;

describe('userquota next step', () => {
  it('does nothing in any cluster before approval', () => {
    expect(step({ approved: undefined, status: 'processing' }, { cluster: 'missing', userProjects: [] })).to.equal('done');
  });

  it('creates the namespace, then the quota, and only then grants the project', () => {
    expect(step({}, { cluster: 'available', userProjects: [] })).to.equal('create-namespace');
    expect(step({}, { cluster: 'available', namespace: ours, userProjects: [] })).to.equal('create-quota');
    expect(step({}, { cluster: 'available', namespace: ours, quota, userProjects: [] })).to.equal('grant-project');
    expect(step({}, { cluster: 'available', namespace: ours, quota, userProjects: [{ cluster: 'c1', namespace: 'team-a' }] })).to.equal('done');
  });

  it('repairs a quota that drifted (other figures, a missing key, an extra key)', () => {
    const held = [{ cluster: 'c1', namespace: 'team-a' }];
    const drifted = { ...quota, spec: { hard: { ...quota.spec!.hard, 'requests.cpu': '64' } } };
    expect(step({}, { cluster: 'available', namespace: ours, quota: drifted, userProjects: held })).to.equal('update-quota');
    const extra = { ...quota, spec: { hard: { ...quota.spec!.hard, pods: '1' } } };
    expect(step({}, { cluster: 'available', namespace: ours, quota: extra, userProjects: held })).to.equal('update-quota');
    const normalized = { ...quota, spec: { hard: { 'requests.cpu': '2000m', 'requests.memory': '4096Mi', 'requests.storage': '10Gi' } } };
    expect(step({}, { cluster: 'available', namespace: ours, quota: normalized, userProjects: held })).to.equal('done');
  });

  it('waits for an unavailable cluster and a terminating namespace', () => {
    expect(step({}, { cluster: 'unavailable', userProjects: [] })).to.equal('wait');
    const terminating = { metadata: { ...ours.metadata, deletionTimestamp: 'now' } };
    expect(step({}, { cluster: 'available', namespace: terminating, userProjects: [] })).to.equal('wait');
  });

  it('adopts a namespace that exists unmarked, and refuses one marked for another request', () => {
    expect(step({}, { cluster: 'available', namespace: { metadata: { name: 'team-a' } }, userProjects: [] })).to.equal('adopt-namespace');
    const foreign = { metadata: { name: 'team-a', labels: { 'zcloud.cn/userquota': 'other' } } };
    expect(step({}, { cluster: 'available', namespace: foreign, userProjects: [] })).to.equal('stuck');
  });

  it('on delete: revokes first, deletes only a namespace it created, then forgets', () => {
    const held = [{ cluster: 'c1', namespace: 'team-a' }];
    expect(step({ deleting: true }, { cluster: 'available', namespace: ours, userProjects: held })).to.equal('revoke-project');
    expect(step({ deleting: true }, { cluster: 'available', namespace: ours, userProjects: [] })).to.equal('delete-namespace');
    const adopted = { metadata: { name: 'team-a', labels: { 'zcloud.cn/userquota': 'team-a' } } };
    expect(step({ deleting: true }, { cluster: 'available', namespace: adopted, userProjects: [] })).to.equal('forget');
    expect(step({ deleting: true }, { cluster: 'unavailable', userProjects: [] })).to.equal('wait');
    expect(step({ deleting: true, approved: undefined }, { cluster: 'missing', userProjects: [] })).to.equal('forget');
  });
});
