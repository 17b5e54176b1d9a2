import { expect } from 'chai';
import type { Pod } from '../../scripts/testenv/simulator/kube-types.js';
import { PodIpPool } from '../../scripts/testenv/simulator/pod-ips.js';
import { desiredPodStatus, kubeTime, qosClass, statusDiffers } from '../../scripts/testenv/simulator/pod-status.js';

const placement = { hostIP: '10.250.0.10', podIP: '10.244.0.2' };
const start = new Date('2024-05-01T10:00:00Z');
const timing = (afterMs: number) => ({ now: new Date(start.getTime() + afterMs), jobCompletionMs: 2_000, crashRestartMs: 10_000 });

function pod(overrides: Partial<Pod['metadata']> = {}, resources?: Pod['spec']['containers'][number]['resources']): Pod {
  return {
    metadata: { name: 'p', namespace: 'ns', uid: 'uid-1', ...overrides },
    spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'nginx:1.19', ...(resources ? { resources } : {}) }] },
  };
}

describe('test world: simulated pod status (unit)', function () {
  it('reports a new pod Running, ready, with IPs and all four conditions', function () {
    const status = desiredPodStatus(pod(), placement, timing(0));
    expect(status).to.include({ phase: 'Running', podIP: '10.244.0.2', hostIP: '10.250.0.10', startTime: '2024-05-01T10:00:00Z', qosClass: 'BestEffort' });
    expect(status.conditions?.map((c) => `${c.type}=${c.status}`)).to.deep.equal([
      'Initialized=True',
      'Ready=True',
      'ContainersReady=True',
      'PodScheduled=True',
    ]);
    expect(status.containerStatuses?.[0]).to.deep.include({ name: 'c', ready: true, started: true, restartCount: 0, image: 'nginx:1.19' });
    expect(status.containerStatuses?.[0]?.state).to.deep.equal({ running: { startedAt: '2024-05-01T10:00:00Z' } });
  });

  it('is stable: recomputing for the reported status changes nothing, however late', function () {
    const first = desiredPodStatus(pod(), placement, timing(0));
    const again = desiredPodStatus({ ...pod(), status: first }, placement, timing(60_000));
    expect(statusDiffers(first, again)).to.equal(false);
    expect(again).to.deep.equal(first);
  });

  it('completes a Job pod after jobCompletionMs, with exit code 0 and a deterministic finish time', function () {
    const job = pod({ ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'j', uid: 'j1', controller: true }] });
    const running = desiredPodStatus(job, placement, timing(0));
    expect(running.phase).to.equal('Running');
    const done = desiredPodStatus({ ...job, status: running }, placement, timing(2_500));
    expect(done.phase).to.equal('Succeeded');
    expect(done.containerStatuses?.[0]?.state.terminated).to.include({ exitCode: 0, reason: 'Completed', finishedAt: '2024-05-01T10:00:02Z' });
    expect(done.conditions?.find((c) => c.type === 'Ready')).to.include({ status: 'False', reason: 'PodCompleted' });
    // Terminal: never touched again.
    expect(desiredPodStatus({ ...job, status: done }, placement, timing(99_000))).to.equal(done);
  });

  it('crash-loops an annotated pod, counting restarts with time', function () {
    const crashy = pod({ annotations: { 'testenv.zcloud.cn/crash': 'true' } });
    const first = desiredPodStatus(crashy, placement, timing(0));
    expect(first.phase).to.equal('Running');
    expect(first.containerStatuses?.[0]).to.deep.include({ ready: false, restartCount: 1 });
    expect(first.containerStatuses?.[0]?.state.waiting?.reason).to.equal('CrashLoopBackOff');
    expect(first.containerStatuses?.[0]?.lastState.terminated).to.include({ exitCode: 1, reason: 'Error' });
    const later = desiredPodStatus({ ...crashy, status: first }, placement, timing(25_000));
    expect(later.containerStatuses?.[0]?.restartCount).to.equal(3);
    expect(statusDiffers(first, later)).to.equal(true);
  });

  it('derives the QoS class from requests and limits', function () {
    expect(qosClass(pod())).to.equal('BestEffort');
    expect(qosClass(pod({}, { limits: { cpu: '1', memory: '1Gi' } }))).to.equal('Guaranteed');
    expect(qosClass(pod({}, { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } }))).to.equal('Guaranteed');
    expect(qosClass(pod({}, { requests: { cpu: '100m' } }))).to.equal('Burstable');
    expect(qosClass(pod({}, { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '2', memory: '1Gi' } }))).to.equal('Burstable');
  });

  it('formats times with second precision, as Kubernetes does', function () {
    expect(kubeTime(new Date('2024-05-01T10:00:00.987Z'))).to.equal('2024-05-01T10:00:00Z');
  });
});

describe('test world: simulated pod IPs (unit)', function () {
  it('hands out the lowest free address, skipping network and bridge addresses', function () {
    const pool = new PodIpPool('10.244.3.0/24');
    expect(pool.assign('a')).to.equal('10.244.3.2');
    expect(pool.assign('b')).to.equal('10.244.3.3');
    expect(pool.assign('a')).to.equal('10.244.3.2');
    pool.release('a');
    expect(pool.assign('c')).to.equal('10.244.3.2');
  });

  it('keeps an address a pod already reports when it is free and in range', function () {
    const pool = new PodIpPool('10.244.3.0/24');
    expect(pool.assign('a', '10.244.3.77')).to.equal('10.244.3.77');
    expect(pool.assign('b', '10.244.3.77')).to.equal('10.244.3.2');
    expect(pool.assign('c', '10.9.9.9')).to.equal('10.244.3.3');
  });

  it('fails clearly when the range is exhausted', function () {
    const pool = new PodIpPool('10.244.3.0/30');
    expect(pool.assign('a')).to.equal('10.244.3.2');
    expect(() => pool.assign('b')).to.throw(/exhausted/);
  });
});
