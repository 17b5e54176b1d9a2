import { BatchV1Api, CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { expect } from 'chai';
import { importedCluster, type ImportedCluster } from '../helpers/imported.js';
import { eventually, freshNamespace } from '../helpers/world.js';
import { expectRejected } from '../helpers/workloads.js';

function plain(name: string, schedule = '*/5 * * * *') {
  return { name, schedule, restartPolicy: 'OnFailure', containers: [{ name: 'main', image: 'busybox', command: ['date'] }] };
}

interface RealCronJob {
  metadata: { uid: string; name: string };
  spec: { schedule: string; jobTemplate: { spec: { template: { metadata?: { labels?: Record<string, string> }; spec: { restartPolicy: string } } } } };
}

describe('cronjob resource', function () {
  this.timeout(120_000);
  let env: ImportedCluster;
  let core: CoreV1Api;
  let batch: BatchV1Api;
  let objects: CustomObjectsApi;
  let ns: string;
  let url: string;
  let version: string;

  /** The CronJob as the apiserver serves it, in the version the cluster serves (v1beta1 on 1.20). */
  const readReal = (name: string) =>
    objects.getNamespacedCustomObject({ group: 'batch', version, namespace: ns, plural: 'cronjobs', name }) as Promise<RealCronJob>;

  before(async () => {
    env = await importedCluster('wl-cronjob');
    core = env.cluster.kc.makeApiClient(CoreV1Api);
    batch = env.cluster.kc.makeApiClient(BatchV1Api);
    objects = env.cluster.kc.makeApiClient(CustomObjectsApi);
    ns = await freshNamespace(env.cluster.kc, 'cj');
    url = `${env.nsPath(ns)}/cronjobs`;
    version = env.zcloud.running.services.clusters.require('wl-cronjob').cache.kind('cronjobs')!.version;
  });
  after(() => env?.close());

  it('creates a CronJob in the version the cluster serves, and reads it back', async () => {
    expect(version).to.equal('v1beta1'); // Kubernetes 1.20 serves CronJob only as batch/v1beta1
    const res = await env.api('POST', url, { body: plain('tick') });
    expect(res.status, res.text).to.equal(201);
    expect(res.body).to.deep.include({ id: 'tick', type: 'cronjob', schedule: '*/5 * * * *', restartPolicy: 'OnFailure', containers: plain('tick').containers });
    expect(res.body.status).to.deep.equal({ objectReferences: [] });
    expect(res.body.links).to.include.keys('self', 'collection', 'remove', 'pods').and.not.include.keys('update');
    const real = await readReal('tick');
    expect(real.spec.schedule).to.equal('*/5 * * * *');
    expect(real.spec.jobTemplate.spec.template.spec.restartPolicy).to.equal('OnFailure');
    expect(real.spec.jobTemplate.spec.template.metadata?.labels).to.deep.equal({ app: 'tick' });
    expect((await env.api('GET', `${url}/tick`)).body.schedule).to.equal('*/5 * * * *');
    expect((await env.api('GET', url)).body.data.map((c: { id: string }) => c.id)).to.deep.equal(['tick']);
  });

  it('lists the pods of its jobs (pod → Job → CronJob)', async () => {
    const owner = await readReal('tick');
    // A run of the schedule, made now instead of waiting for the next 5-minute mark.
    await batch.createNamespacedJob({
      namespace: ns,
      body: {
        metadata: { name: 'tick-manual', ownerReferences: [{ apiVersion: `batch/${version}`, kind: 'CronJob', name: 'tick', uid: owner.metadata.uid, controller: true }] },
        spec: { template: { spec: { restartPolicy: 'OnFailure', containers: [{ name: 'main', image: 'busybox' }] } } },
      },
    });
    const pods = await eventually(async () => {
      const res = await env.api('GET', `${url}/tick/pods`);
      expect(res.status).to.equal(200);
      expect(res.body.data).to.have.length(1);
      return res.body.data;
    }, { within: 10_000 });
    expect(pods[0].name).to.match(/^tick-manual-/);
    expect((await env.api('GET', `${url}/tick/pods/${pods[0].id}`)).status).to.equal(200);
  });

  it('rejects bad input naming the field and creates nothing', async () => {
    await expectRejected(env, url, [
      [plain('badsched', 'every minute'), /^schedule: /],
      [{ ...plain('nosched'), schedule: undefined }, /^schedule: is required/],
      [{ ...plain('always'), restartPolicy: 'Always' }, /^restartPolicy: /],
      [plain('a-name-that-is-far-too-long-for-a-cronjob-because-jobs-get-suffixes'), /^name: /],
      [{ ...plain('nosecret'), containers: [{ name: 'main', image: 'x', volumes: [{ name: 'absent', type: 'secret', mountPath: '/s' }] }] }, /^containers\.0\.volumes\.0\.name: /],
    ]);
    expect((await env.api('GET', url)).body.data.map((c: { id: string }) => c.id)).to.deep.equal(['tick']);
  });

  it('deletes in the foreground: the cronjob, its jobs and their pods go', async () => {
    const del = await env.api('DELETE', `${url}/tick`);
    expect(del.status, del.text).to.equal(204);
    await eventually(async () => {
      expect((await env.api('GET', `${url}/tick`)).status).to.equal(404);
      expect(await readReal('tick').catch(() => 'gone')).to.equal('gone');
      expect((await batch.listNamespacedJob({ namespace: ns })).items).to.deep.equal([]);
      expect((await core.listNamespacedPod({ namespace: ns })).items).to.deep.equal([]);
    }, { within: 20_000 });
  });

  it('authorizes by project: all operations in a granted namespace, 403 elsewhere; 405 for undeclared methods', async () => {
    const token = await env.userWith('cj-user', [{ namespace: ns }]);
    expect((await env.api('POST', url, { token, body: plain('mine') })).status).to.equal(201);
    expect((await env.api('GET', url, { token })).status).to.equal(200);
    expect((await env.api('GET', `${url}/mine`, { token })).status).to.equal(200);
    expect((await env.api('DELETE', `${url}/mine`, { token })).status).to.equal(204);
    const other = `${env.nsPath('kube-system')}/cronjobs`;
    expect((await env.api('GET', other, { token })).status).to.equal(403);
    expect((await env.api('POST', other, { token, body: plain('intruder') })).status).to.equal(403);
    expect((await env.api('PUT', `${url}/mine`, { body: plain('mine') })).status).to.equal(405);
  });
});
