import { expect } from 'chai';
import type { PodObject } from '../../src/kube/objects.js';
import { podControllerKind, podDisplayStatus, podRestarts } from '../../src/kube/pod-status.js';

const pod = (status: PodObject['status'], extra: Partial<PodObject['metadata']> = {}, spec: PodObject['spec'] = {}): PodObject => ({
  metadata: { name: 'p', namespace: 'n', ...extra },
  spec,
  status,
});

describe("pod status as kubectl's STATUS column", () => {
  it('Running, Pending, Completed', () => {
    expect(podDisplayStatus(pod({ phase: 'Running', containerStatuses: [{ name: 'c', ready: true, state: { running: {} } }] }))).to.equal('Running');
    expect(podDisplayStatus(pod({ phase: 'Pending' }))).to.equal('Pending');
    expect(podDisplayStatus(pod({ phase: 'Succeeded', containerStatuses: [{ name: 'c', state: { terminated: { reason: 'Completed', exitCode: 0 } } }] }))).to.equal(
      'Completed',
    );
  });

  it('a waiting reason wins: CrashLoopBackOff, ImagePullBackOff', () => {
    const crash = pod({ phase: 'Running', containerStatuses: [{ name: 'c', restartCount: 7, state: { waiting: { reason: 'CrashLoopBackOff' } } }] });
    expect(podDisplayStatus(crash)).to.equal('CrashLoopBackOff');
    expect(podRestarts(crash)).to.equal(7);
  });

  it('init containers: Init:i/n, Init:<reason>, Init:ExitCode', () => {
    const spec = { initContainers: [{ name: 'a' }, { name: 'b' }], containers: [{ name: 'c' }] };
    const oneDone = pod(
      { phase: 'Pending', initContainerStatuses: [{ name: 'a', state: { terminated: { exitCode: 0 } } }, { name: 'b', state: { running: {} } }] },
      {},
      spec,
    );
    expect(podDisplayStatus(oneDone)).to.equal('Init:1/2');
    const failing = pod({ phase: 'Pending', initContainerStatuses: [{ name: 'a', state: { terminated: { exitCode: 3 } } }] }, {}, spec);
    expect(podDisplayStatus(failing)).to.equal('Init:ExitCode:3');
    const backoff = pod({ phase: 'Pending', initContainerStatuses: [{ name: 'a', state: { waiting: { reason: 'CrashLoopBackOff' } } }] }, {}, spec);
    expect(podDisplayStatus(backoff)).to.equal('Init:CrashLoopBackOff');
  });

  it('Terminating once a deletion timestamp is set', () => {
    expect(podDisplayStatus(pod({ phase: 'Running' }, { deletionTimestamp: '2026-01-01T00:00:00Z' }))).to.equal('Terminating');
  });

  it('names the controller kind, or nothing', () => {
    expect(podControllerKind(pod({}, { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'r', uid: 'u', controller: true }] }))).to.equal(
      'ReplicaSet',
    );
    expect(podControllerKind(pod({}))).to.equal('');
  });
});
