import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { expect } from 'chai';
import { importedCluster, type ImportedCluster } from '../helpers/imported.js';
import { eventually, freshNamespace } from '../helpers/world.js';
import { checkRevisionFlow, expectRejected } from '../helpers/workloads.js';
import { createdDespiteRefusal } from '../helpers/input.js';

function plain(name: string, replicas = 1) {
  return { name, replicas, containers: [{ name: 'db', image: 'redis:6' }] };
}

describe('statefulset resource', function () {
  this.timeout(120_000);
  let env: ImportedCluster;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  let ns: string;
  let url: string;

  before(async () => {
    env = await importedCluster('wl-statefulset');
    core = env.cluster.kc.makeApiClient(CoreV1Api);
    apps = env.cluster.kc.makeApiClient(AppsV1Api);
    ns = await freshNamespace(env.cluster.kc, 'sts');
    url = `${env.nsPath(ns)}/statefulsets`;
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'db-conf' }, data: { 'redis.conf': 'port 6379' } } });
  });
  after(() => env?.close());

  it('creates a StatefulSet whose persistentVolumes become claim templates, and reads it back', async () => {
    const body = {
      name: 'db',
      replicas: 2,
      containers: [
        {
          name: 'db',
          image: 'redis:6',
          exposedPorts: [{ name: 'redis', port: 6379, protocol: 'tcp' }],
          volumes: [
            { name: 'db-conf', type: 'configmap', mountPath: '/etc/redis' },
            { name: 'data', type: 'persistentVolume', mountPath: '/data' },
          ],
        },
      ],
      persistentVolumes: [{ name: 'data', size: '2Gi', storageClassName: 'lvm' }],
      advancedOptions: { deletePVsWhenDeleteWorkload: true },
    };
    const res = await env.api('POST', url, { body });
    expect(res.status, res.text).to.equal(201);
    expect(res.body).to.deep.include({ id: 'db', type: 'statefulset', replicas: 2, containers: body.containers, persistentVolumes: body.persistentVolumes });
    expect(res.body.advancedOptions).to.include({ deletePVsWhenDeleteWorkload: true });
    expect(res.body.links).to.include.keys('self', 'collection', 'update', 'remove', 'pods');

    const real = await apps.readNamespacedStatefulSet({ name: 'db', namespace: ns });
    expect(real.spec?.serviceName).to.equal('db');
    expect(real.spec?.selector.matchLabels).to.deep.equal({ app: 'db' });
    expect(real.spec?.template.metadata?.labels).to.deep.equal({ app: 'db' });
    const claimTemplate = real.spec?.volumeClaimTemplates?.[0];
    expect(claimTemplate?.metadata?.name).to.equal('data');
    expect(claimTemplate?.spec?.storageClassName).to.equal('lvm');
    expect(claimTemplate?.spec?.resources?.requests?.storage).to.equal('2Gi');
    expect(real.spec?.template.spec?.volumes?.map((v) => v.configMap?.name)).to.deep.equal(['db-conf']);
    // The statefulset controller makes the first pod's claim from the template.
    await eventually(async () => expect((await core.readNamespacedPersistentVolumeClaim({ name: 'data-db-0', namespace: ns })).spec?.storageClassName).to.equal('lvm'), {
      within: 10_000,
    });
    expect((await env.api('GET', `${url}/db`)).body.persistentVolumes).to.deep.equal(body.persistentVolumes);
    expect((await env.api('GET', url)).body.data.map((s: { id: string }) => s.id)).to.include('db');
  });

  it('reports status and scales with update', async () => {
    expect((await env.api('POST', url, { body: plain('cache') })).status).to.equal(201);
    await eventually(async () => expect((await env.api('GET', `${url}/cache`)).body.status).to.include({ readyReplicas: 1 }), { within: 20_000 });
    const res = await env.api('PUT', `${url}/cache`, { body: { replicas: 2 } });
    expect(res.status, res.text).to.equal(200);
    expect((await env.api('GET', `${url}/cache`)).body.replicas).to.equal(2);
    expect((await apps.readNamespacedStatefulSet({ name: 'cache', namespace: ns })).spec?.replicas).to.equal(2);
    await eventually(async () => expect((await env.api('GET', `${url}/cache`)).body.status.readyReplicas).to.equal(2), { within: 20_000 });
  });

  it('sets images, lists the history from ControllerRevisions and rolls back', async () => {
    expect((await env.api('POST', url, { body: plain('roll') })).status).to.equal(201);
    await checkRevisionFlow(env, {
      url: `${url}/roll`,
      container: 'db',
      from: 'redis:6',
      to: 'redis:7',
      readReal: () => apps.readNamespacedStatefulSet({ name: 'roll', namespace: ns }),
    });
  });

  it('rejects bad input naming the field and creates nothing', async () => {
    await expectRejected(env, url, [
      [{ name: 'noreplicas', containers: [{ name: 'db', image: 'x' }] }, /^replicas: is required/],
      [{ ...plain('badproto'), containers: [{ name: 'db', image: 'x', exposedPorts: [{ port: 1, protocol: 'sctp' }] }] }, /^containers\.0\.exposedPorts\.0\.protocol: /],
      [{ ...plain('noport'), containers: [{ name: 'db', image: 'x', exposedPorts: [{ protocol: 'tcp' }] }] }, /^containers\.0\.exposedPorts\.0\.port: is required/],
      [{ ...plain('dupc'), containers: [{ name: 'db', image: 'x' }, { name: 'db', image: 'y' }] }, /^containers\.1: duplicate container name/],
    ]);
    const names = (await apps.listNamespacedStatefulSet({ namespace: ns })).items.map((s) => s.metadata?.name);
    expect(createdDespiteRefusal(names, ['noreplicas', 'badproto', 'noport', 'dupc'])).to.deep.equal([]);
  });

  it('deletes, and with deletePVsWhenDeleteWorkload removes the claims its controller made', async () => {
    const del = await env.api('DELETE', `${url}/db`);
    expect(del.status, del.text).to.equal(204);
    expect((await env.api('GET', `${url}/db`)).status).to.equal(404);
    await eventually(async () => {
      const claims = (await core.listNamespacedPersistentVolumeClaim({ namespace: ns })).items.filter((c) => !c.metadata?.deletionTimestamp);
      expect(claims.map((c) => c.metadata?.name)).to.not.include('data-db-0');
    }, { within: 20_000 });
  });

  it('authorizes by project: all operations in a granted namespace, 403 elsewhere; 405 for undeclared methods', async () => {
    const token = await env.userWith('sts-user', [{ namespace: ns }]);
    expect((await env.api('POST', url, { token, body: plain('mine') })).status).to.equal(201);
    expect((await env.api('GET', url, { token })).status).to.equal(200);
    expect((await env.api('GET', `${url}/mine`, { token })).status).to.equal(200);
    expect((await env.api('PUT', `${url}/mine`, { token, body: { replicas: 0 } })).status).to.equal(200);
    expect((await env.api('POST', `${url}/mine?action=history`, { token })).status).to.equal(200);
    expect((await env.api('DELETE', `${url}/mine`, { token })).status).to.equal(204);
    const other = `${env.nsPath('kube-system')}/statefulsets`;
    expect((await env.api('GET', other, { token })).status).to.equal(403);
    expect((await env.api('POST', other, { token, body: plain('intruder') })).status).to.equal(403);
    expect((await env.api('DELETE', url)).status).to.equal(405);
  });
});
