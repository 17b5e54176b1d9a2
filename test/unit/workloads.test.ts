import { expect } from 'chai';
import { cronJobToApi, cronJobToKube } from '../../api/resources/cronjob.js';
import { daemonSetToApi, daemonSetToKube } from '../../api/resources/daemonset.js';
import { deploymentToApi, deploymentToKube } from '../../api/resources/deployment.js';
import { jobToApi, jobToKube } from '../../api/resources/job.js';
import { podToApi } from '../../api/resources/pod.js';
import { statefulSetClaims, statefulSetToApi, statefulSetToKube } from '../../api/resources/statefulset.js';

const noConfigs = () => undefined;
const containers = [{ name: 'web', image: 'nginx', volumes: [{ name: 'data', type: 'persistentVolume' as const, mountPath: '/d' }] }];
const persistentVolumes = [{ name: 'data', size: '1Gi', storageClassName: 'nfs' as const }];

describe('workload translations', () => {
  it('deployment: selector and labels app=<name>, options annotation, replicas and status', () => {
    const kube = deploymentToKube({ name: 'web', replicas: 2, containers, persistentVolumes, advancedOptions: { deletePVsWhenDeleteWorkload: true } }, 'ns', noConfigs);
    expect(kube.metadata).to.deep.equal({
      name: 'web',
      namespace: 'ns',
      annotations: { 'zcloud.cn/advanced-options': JSON.stringify({ deletePVsWhenDeleteWorkload: true, reloadWhenConfigChange: false }) },
    });
    expect(kube.spec?.selector).to.deep.equal({ matchLabels: { app: 'web' } });
    expect(kube.spec?.template?.metadata?.labels).to.deep.equal({ app: 'web' });
    const claim = { metadata: { name: 'web-data' }, spec: { storageClassName: 'nfs', resources: { requests: { storage: '1Gi' } } } };
    const api = deploymentToApi(
      { ...kube, status: { readyReplicas: 1, conditions: [{ type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' }] } },
      (name) => (name === 'web-data' ? claim : undefined),
    );
    expect(api).to.deep.include({ id: 'web', name: 'web', replicas: 2, containers, persistentVolumes });
    expect(api.advancedOptions).to.deep.equal({ deletePVsWhenDeleteWorkload: true, reloadWhenConfigChange: false });
    expect(api.status).to.deep.include({ readyReplicas: 1, availableReplicas: 0, conditions: [{ type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' }] });
  });

  it('deployment: a reloading workload starts with the config hash of its mounted configs', () => {
    const input = {
      name: 'web',
      replicas: 1,
      containers: [{ name: 'web', image: 'x', volumes: [{ name: 'conf', type: 'configmap' as const, mountPath: '/c' }] }],
      advancedOptions: { reloadWhenConfigChange: true },
    };
    const a = deploymentToKube(input, 'ns', () => ({ data: { k: '1' } }));
    const b = deploymentToKube(input, 'ns', () => ({ data: { k: '2' } }));
    expect(a.spec?.template?.metadata?.annotations?.['zcloud.cn/config-hash']).to.be.a('string').and.not.equal(b.spec?.template?.metadata?.annotations?.['zcloud.cn/config-hash']);
  });

  it('statefulset: claim templates instead of claims, serviceName, and the claims its controller made', () => {
    const kube = statefulSetToKube({ name: 'db', replicas: 3, containers, persistentVolumes }, 'ns', noConfigs);
    expect(kube.spec).to.deep.include({ replicas: 3, serviceName: 'db' });
    expect(kube.spec?.template?.spec?.volumes).to.equal(undefined);
    expect(kube.spec?.volumeClaimTemplates?.[0].metadata.name).to.equal('data');
    const api = statefulSetToApi({ ...kube, status: { updateRevision: 'db-1' } }, noConfigs);
    expect(api).to.deep.include({ replicas: 3, containers, persistentVolumes });
    expect(api.status).to.deep.include({ updateRevision: 'db-1', readyReplicas: 0 });
    const claims = ['data-db-0', 'data-db-12', 'data-db-x', 'data-dbx-0', 'other-db-0'].map((name) => ({ metadata: { name } }));
    expect(statefulSetClaims(kube, claims)).to.deep.equal(['data-db-0', 'data-db-12']);
  });

  it('daemonset: no replicas; the seed status counters', () => {
    const kube = daemonSetToKube({ name: 'agent', containers: [{ name: 'a', image: 'x' }] }, 'ns', noConfigs);
    expect(kube.spec).to.not.have.property('replicas');
    const api = daemonSetToApi({ ...kube, status: { desiredNumberScheduled: 3, numberReady: 2 } }, noConfigs);
    expect(api).to.not.have.property('replicas');
    expect(api.status).to.deep.include({ desiredNumberScheduled: 3, numberReady: 2, numberUnavailable: 0, conditions: [] });
  });

  it('job and cronjob: restartPolicy, schedule and status', () => {
    const input = { name: 'pi', restartPolicy: 'Never' as const, containers: [{ name: 'main', image: 'busybox', command: ['date'] }] };
    const job = jobToKube(input, 'ns');
    expect(job.spec?.template?.spec?.restartPolicy).to.equal('Never');
    const api = jobToApi({ ...job, status: { succeeded: 1, startTime: 't0', conditions: [{ type: 'Complete', status: 'True' }] } });
    expect(api).to.deep.include({ name: 'pi', restartPolicy: 'Never', containers: input.containers });
    expect(api.status).to.deep.equal({ active: 0, succeeded: 1, failed: 0, startTime: 't0', jobConditions: [{ type: 'Complete', status: 'True' }] });

    const cron = cronJobToKube({ ...input, schedule: '@hourly' }, 'ns');
    expect(cron.spec?.schedule).to.equal('@hourly');
    const active = { kind: 'Job', name: 'pi-1', namespace: 'ns', uid: 'u1', apiVersion: 'batch/v1', resourceVersion: '' };
    const cronApi = cronJobToApi({ ...cron, status: { lastScheduleTime: 't1', active: [active] } });
    expect(cronApi).to.deep.include({ schedule: '@hourly', restartPolicy: 'Never', containers: input.containers });
    expect(cronApi.status).to.deep.equal({ lastScheduleTime: 't1', objectReferences: [{ kind: 'Job', name: 'pi-1', namespace: 'ns', uid: 'u1', apiVersion: 'batch/v1' }] });
  });

  it("pod: kubectl's state, restarts and the container states", () => {
    const api = podToApi({
      metadata: { name: 'web-1', creationTimestamp: 't' },
      spec: { nodeName: 'n1', containers: [{ name: 'web', image: 'nginx' }] },
      status: {
        phase: 'Running',
        podIP: '10.244.1.5',
        hostIP: '10.0.0.2',
        startTime: 't0',
        containerStatuses: [{ name: 'web', ready: false, restartCount: 4, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1 } } }],
      },
    });
    expect(api).to.deep.include({ id: 'web-1', nodeName: 'n1', state: 'CrashLoopBackOff', restarts: 4, containers: [{ name: 'web', image: 'nginx' }] });
    expect(api.status).to.deep.include({ phase: 'Running', podIP: '10.244.1.5', hostIP: '10.0.0.2', startTime: 't0', podConditions: [] });
    expect((api.status as { containerStatuses: unknown[] }).containerStatuses).to.deep.equal([
      { name: 'web', ready: false, restartCount: 4, state: { type: 'waiting', reason: 'CrashLoopBackOff' }, lastState: { type: 'terminated', exitCode: 1 } },
    ]);
    expect(podToApi({ metadata: { name: 'p', deletionTimestamp: 't' }, status: { phase: 'Running' } }).state).to.equal('Terminating');
  });
});
