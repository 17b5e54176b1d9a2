import { expect } from 'chai';
import type { PodTemplate } from '../../src/kube/objects.js';
import {
  controllerRevisions,
  historyOf,
  keepConfigHash,
  replicaSetRevisions,
  rollbackTemplate,
  setImages,
  withChangeCause,
} from '../../src/workloads/history.js';

const template = (image: string, annotations?: Record<string, string>): PodTemplate => ({
  metadata: { labels: { app: 'web' }, ...(annotations ? { annotations } : {}) },
  spec: { containers: [{ name: 'web', image }] },
});

const replicaSet = (revision: string, image: string, cause?: string) => ({
  metadata: {
    name: `web-${revision}`,
    creationTimestamp: `2026-01-0${revision}T00:00:00Z`,
    annotations: { 'deployment.kubernetes.io/revision': revision, ...(cause ? { 'kubernetes.io/change-cause': cause } : {}) },
  },
  spec: { template: { ...template(image), metadata: { labels: { app: 'web', 'pod-template-hash': `h${revision}` } } } },
});

describe('workload history', () => {
  it('lists ReplicaSet revisions oldest first, without the current one or the pod-template-hash label', () => {
    const revisions = replicaSetRevisions([replicaSet('3', 'c', 'third'), replicaSet('1', 'a'), replicaSet('2', 'b', 'second')]);
    expect(revisions.map((r) => r.version)).to.deep.equal([1, 2, 3]);
    expect(revisions[0].template.metadata?.labels).to.deep.equal({ app: 'web' });
    expect(historyOf(revisions, 3)).to.deep.equal([
      { version: 1, changeReason: '', containers: [{ name: 'web', image: 'a' }], creationTimestamp: '2026-01-01T00:00:00Z' },
      { version: 2, changeReason: 'second', containers: [{ name: 'web', image: 'b' }], creationTimestamp: '2026-01-02T00:00:00Z' },
    ]);
    // After a rollback to 1 the controller renumbers it 4: 3 is history again.
    expect(historyOf(revisions, 1).map((h) => h.version)).to.deep.equal([2, 3]);
  });

  it('reads ControllerRevisions (the newest is current) and drops the $patch marker', () => {
    const revision = (n: number, image: string) => ({
      metadata: { name: `ds-${n}`, annotations: { 'kubernetes.io/change-cause': `v${n}` } },
      revision: n,
      data: { spec: { template: { ...template(image), $patch: 'replace' } } },
    });
    const revisions = controllerRevisions([revision(2, 'b'), revision(1, 'a')]);
    expect(revisions[0].template).to.deep.equal(template('a'));
    expect(historyOf(revisions).map((h) => [h.version, h.changeReason])).to.deep.equal([[1, 'v1']]);
  });

  it('rolls back to a known, non-current version only', () => {
    const revisions = replicaSetRevisions([replicaSet('1', 'a'), replicaSet('2', 'b')]);
    expect(rollbackTemplate(revisions, 1, 2)).to.deep.equal(template('a'));
    expect(() => rollbackTemplate(revisions, 2, 2)).to.throw(/current/).with.property('field', 'version');
    expect(() => rollbackTemplate(revisions, 7, 2)).to.throw(/no version 7/).with.property('field', 'version');
  });

  it('keeps the current config hash across a rollback', () => {
    const old = template('a', { 'zcloud.cn/config-hash': 'old', 'prometheus.io/port': '9' });
    const current = template('b', { 'zcloud.cn/config-hash': 'new' });
    expect(keepConfigHash(old, current).metadata?.annotations).to.deep.equal({ 'zcloud.cn/config-hash': 'new', 'prometheus.io/port': '9' });
    expect(keepConfigHash(old, template('b')).metadata?.annotations).to.deep.equal({ 'prometheus.io/port': '9' });
  });

  it('sets images by container name and rejects an unknown container naming it', () => {
    const current = template('a');
    expect(setImages(current, [{ name: 'web', image: 'b' }]).spec?.containers?.[0].image).to.equal('b');
    expect(current.spec?.containers?.[0].image).to.equal('a');
    expect(() => setImages(current, [{ name: 'web', image: 'b' }, { name: 'db', image: 'c' }])).to.throw(/db/).with.property('field', 'images.1.name');
  });

  it('records the change cause, and removes a stale one when no reason is given', () => {
    expect(withChangeCause({ a: '1' }, 'why')).to.deep.equal({ a: '1', 'kubernetes.io/change-cause': 'why' });
    expect(withChangeCause({ 'kubernetes.io/change-cause': 'old' }, undefined)).to.deep.equal({});
  });
});
