import { BatchV1Api, CoreV1Api } from '@kubernetes/client-node';
import { expect } from 'chai';
import { importedCluster, type ImportedCluster } from '../helpers/imported.js';
import { eventually, freshNamespace } from '../helpers/world.js';
import { expectRejected } from '../helpers/workloads.js';
import { createdDespiteRefusal } from '../helpers/input.js';

function plain(name: string, restartPolicy = 'Never') {
  return { name, restartPolicy, containers: [{ name: 'main', image: 'busybox', command: ['sh', '-c', 'echo done'] }] };
}

describe('job resource', function () {
  this.timeout(120_000);
  let env: ImportedCluster;
  let core: CoreV1Api;
  let batch: BatchV1Api;
  let ns: string;
  let url: string;

  before(async () => {
    env = await importedCluster('wl-job');
    core = env.cluster.kc.makeApiClient(CoreV1Api);
    batch = env.cluster.kc.makeApiClient(BatchV1Api);
    ns = await freshNamespace(env.cluster.kc, 'job');
    url = `${env.nsPath(ns)}/jobs`;
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'job-conf' }, data: { a: '1' } } });
  });
  after(() => env?.close());

  it('creates a Job that runs to completion, reports its status and lists its pods', async () => {
    const body = {
      name: 'pi',
      restartPolicy: 'OnFailure',
      containers: [
        {
          name: 'main',
          image: 'busybox',
          command: ['sh', '-c'],
          args: ['echo $MODE'],
          env: [{ name: 'MODE', value: 'batch' }],
          volumes: [{ name: 'job-conf', type: 'configmap', mountPath: '/conf' }],
        },
      ],
    };
    const res = await env.api('POST', url, { body });
    expect(res.status, res.text).to.equal(201);
    expect(res.body).to.deep.include({ id: 'pi', type: 'job', name: 'pi', restartPolicy: 'OnFailure', containers: body.containers });
    expect(res.body.links).to.include.keys('self', 'collection', 'remove', 'pods').and.not.include.keys('update');

    const real = await batch.readNamespacedJob({ name: 'pi', namespace: ns });
    expect(real.spec?.template.spec?.restartPolicy).to.equal('OnFailure');
    expect(real.spec?.template.metadata?.labels).to.include({ app: 'pi' });
    expect(real.spec?.template.spec?.volumes?.[0].configMap?.name).to.equal('job-conf');

    const status = await eventually(async () => {
      const got = (await env.api('GET', `${url}/pi`)).body.status;
      expect(got).to.include({ succeeded: 1, active: 0 });
      return got;
    }, { within: 20_000 });
    expect(status.startTime).to.be.a('string');
    expect(status.completionTime).to.be.a('string');
    expect(status.jobConditions.map((c: { type: string; status: string }) => `${c.type}=${c.status}`)).to.include('Complete=True');

    const pods = (await env.api('GET', `${url}/pi/pods`)).body.data;
    expect(pods).to.have.length(1);
    expect(pods[0].state).to.equal('Completed');
    expect(pods[0].status.phase).to.equal('Succeeded');
    expect((await env.api('GET', url)).body.data.map((j: { id: string }) => j.id)).to.include('pi');
  });

  it('rejects bad input naming the field and creates nothing', async () => {
    await expectRejected(env, url, [
      [plain('always', 'Always'), /^restartPolicy: /],
      [{ name: 'nopolicy', containers: plain('x').containers }, /^restartPolicy: is required/],
      [{ ...plain('pvvol'), containers: [{ name: 'main', image: 'x', volumes: [{ name: 'd', type: 'persistentVolume', mountPath: '/d' }] }] }, /^containers\.0\.volumes\.0\.type: /],
      [{ ...plain('nocm'), containers: [{ name: 'main', image: 'x', volumes: [{ name: 'absent', type: 'configmap', mountPath: '/d' }] }] }, /^containers\.0\.volumes\.0\.name: /],
      [{ ...plain('badenv'), containers: [{ name: 'main', image: 'x', env: [{ name: '1x', value: 'v' }] }] }, /^containers\.0\.env\.0\.name: /],
      [{ ...plain('x'), name: 'UPPER' }, /^name: /],
      [{ ...plain('empty'), containers: [] }, /^containers: /],
    ]);
    const names = (await batch.listNamespacedJob({ namespace: ns })).items.map((j) => j.metadata?.name);
    expect(createdDespiteRefusal(names, ['always', 'nopolicy', 'pvvol', 'nocm', 'badenv', 'empty'])).to.deep.equal([]);
    expect((await env.api('POST', url, { body: plain('pi') })).status).to.equal(409);
  });

  it('deletes in the foreground: the job and its pods go', async () => {
    const del = await env.api('DELETE', `${url}/pi`);
    expect(del.status, del.text).to.equal(204);
    await eventually(async () => {
      expect((await env.api('GET', `${url}/pi`)).status).to.equal(404);
      expect(await batch.readNamespacedJob({ name: 'pi', namespace: ns }).catch(() => 'gone')).to.equal('gone');
      expect((await core.listNamespacedPod({ namespace: ns, labelSelector: 'job-name=pi' })).items).to.deep.equal([]);
    }, { within: 20_000 });
    expect((await env.api('DELETE', `${url}/pi`)).status).to.equal(404);
  });

  it('authorizes by project: all operations in a granted namespace, 403 elsewhere; 405 for undeclared methods', async () => {
    const token = await env.userWith('job-user', [{ namespace: ns }]);
    expect((await env.api('POST', url, { token, body: plain('mine') })).status).to.equal(201);
    expect((await env.api('GET', url, { token })).status).to.equal(200);
    expect((await env.api('GET', `${url}/mine`, { token })).status).to.equal(200);
    expect((await env.api('GET', `${url}/mine/pods`, { token })).status).to.equal(200);
    expect((await env.api('DELETE', `${url}/mine`, { token })).status).to.equal(204);
    const other = `${env.nsPath('kube-system')}/jobs`;
    expect((await env.api('GET', other, { token })).status).to.equal(403);
    expect((await env.api('POST', other, { token, body: plain('intruder') })).status).to.equal(403);
    expect((await env.api('PUT', `${url}/mine`, { body: plain('mine') })).status).to.equal(405);
  });
});
