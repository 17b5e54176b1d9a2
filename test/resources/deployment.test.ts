import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { expect } from 'chai';
import { importedCluster, type ImportedCluster } from '../helpers/imported.js';
import { eventually, freshNamespace } from '../helpers/world.js';
import { checkRevisionFlow, expectRejected, outsideSpec } from '../helpers/workloads.js';
import { createdDespiteRefusal } from '../helpers/input.js';

const CONFIG_HASH = 'zcloud.cn/config-hash';

function plain(name: string, replicas = 1, image = 'nginx:1.19') {
  return { name, replicas, containers: [{ name: 'web', image }] };
}

describe('deployment resource', function () {
  this.timeout(120_000);
  let env: ImportedCluster;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  let ns: string;
  let url: string;

  before(async () => {
    env = await importedCluster('wl-deployment');
    core = env.cluster.kc.makeApiClient(CoreV1Api);
    apps = env.cluster.kc.makeApiClient(AppsV1Api);
    ns = await freshNamespace(env.cluster.kc, 'dep');
    url = `${env.nsPath(ns)}/deployments`;
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'app-conf' }, data: { 'app.conf': 'v1' } } });
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'app-secret' }, stringData: { token: 's3cret' } } });
  });
  after(() => env?.close());

  it('creates a Deployment with env, ports, configmap/secret/claim/temporary volumes and advanced options', async () => {
    const body = {
      name: 'web',
      replicas: 2,
      containers: [
        {
          name: 'web',
          image: 'nginx:1.19',
          command: ['nginx'],
          args: ['-g', 'daemon off;'],
          env: [{ name: 'MODE', value: 'prod' }],
          exposedPorts: [{ name: 'http', port: 80, protocol: 'TCP' }],
          volumes: [
            { name: 'app-conf', type: 'configmap', mountPath: '/etc/app' },
            { name: 'app-secret', type: 'secret', mountPath: '/etc/secret' },
            { name: 'data', type: 'persistentVolume', mountPath: '/data' },
            { name: 'scratch', type: 'persistentVolume', mountPath: '/scratch' },
          ],
        },
      ],
      persistentVolumes: [
        { name: 'data', size: '1Gi', storageClassName: 'lvm' },
        { name: 'scratch', storageClassName: 'temporary' },
      ],
      advancedOptions: { exposedMetric: { port: 9100 }, reloadWhenConfigChange: true },
    };
    const res = await env.api('POST', url, { body });
    expect(res.status, res.text).to.equal(201);
    expect(res.body).to.deep.include({ id: 'web', type: 'deployment', name: 'web', replicas: 2 });
    expect(res.body.containers).to.deep.equal([{ ...body.containers[0], exposedPorts: [{ name: 'http', port: 80, protocol: 'tcp' }] }]);
    expect(res.body.persistentVolumes).to.deep.equal(body.persistentVolumes);
    expect(res.body.advancedOptions).to.deep.equal({ deletePVsWhenDeleteWorkload: false, reloadWhenConfigChange: true, exposedMetric: { port: 9100, path: '/metrics' } });
    expect(res.body.links).to.include.keys('self', 'collection', 'update', 'remove', 'pods');

    const real = await apps.readNamespacedDeployment({ name: 'web', namespace: ns });
    expect(real.spec?.replicas).to.equal(2);
    expect(real.spec?.selector.matchLabels).to.deep.equal({ app: 'web' });
    const template = real.spec!.template;
    expect(template.metadata?.labels).to.deep.equal({ app: 'web' });
    expect(template.metadata?.annotations).to.include({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9100', 'prometheus.io/path': '/metrics' });
    expect(template.metadata?.annotations?.[CONFIG_HASH]).to.match(/^[0-9a-f]{32}$/);
    const container = template.spec!.containers[0];
    expect(container).to.deep.include({ image: 'nginx:1.19', command: ['nginx'], args: ['-g', 'daemon off;'] });
    expect(container.env).to.deep.equal([{ name: 'MODE', value: 'prod' }]);
    expect(container.ports).to.deep.equal([{ name: 'http', containerPort: 80, protocol: 'TCP' }]);
    const volumes = Object.fromEntries((template.spec!.volumes ?? []).map((v) => [v.name, v]));
    expect(volumes['cm-app-conf']?.configMap?.name).to.equal('app-conf');
    expect(volumes['secret-app-secret']?.secret?.secretName).to.equal('app-secret');
    expect(volumes.data?.persistentVolumeClaim?.claimName).to.equal('web-data');
    expect(volumes.scratch?.emptyDir).to.deep.equal({});
    const claim = await core.readNamespacedPersistentVolumeClaim({ name: 'web-data', namespace: ns });
    expect(claim.spec?.storageClassName).to.equal('lvm');
    expect(claim.spec?.resources?.requests?.storage).to.equal('1Gi');

    const got = await env.api('GET', `${url}/web`);
    expect(got.body.containers).to.deep.equal(res.body.containers);
    expect(got.body.persistentVolumes).to.deep.equal(body.persistentVolumes);
    const list = await env.api('GET', url);
    expect(list.body.data.map((d: { id: string }) => d.id)).to.include('web');
  });

  it('reports status, scales with update, and a GET right after shows the replicas', async () => {
    expect((await env.api('POST', url, { body: plain('scaled') })).status).to.equal(201);
    await eventually(async () => expect((await env.api('GET', `${url}/scaled`)).body.status).to.include({ readyReplicas: 1, availableReplicas: 1 }), {
      within: 20_000,
    });
    const status = (await env.api('GET', `${url}/scaled`)).body.status;
    expect(status.conditions.map((c: { type: string }) => c.type)).to.include('Available');

    const res = await env.api('PUT', `${url}/scaled`, { body: { replicas: 3 } });
    expect(res.status, res.text).to.equal(200);
    expect(res.body.replicas).to.equal(3);
    expect((await env.api('GET', `${url}/scaled`)).body.replicas).to.equal(3);
    expect((await apps.readNamespacedDeployment({ name: 'scaled', namespace: ns })).spec?.replicas).to.equal(3);
    await eventually(async () => expect((await env.api('GET', `${url}/scaled`)).body.status.readyReplicas).to.equal(3), { within: 20_000 });
    expect((await env.api('PUT', `${url}/scaled`, { body: { replicas: -1 } })).body.message).to.match(/^replicas: /);
    expect((await env.api('PUT', `${url}/missing`, { body: { replicas: 1 } })).status).to.equal(404);
  });

  it('sets images with a reason, lists the history from ReplicaSets and rolls back', async () => {
    expect((await env.api('POST', url, { body: plain('roll') })).status).to.equal(201);
    await checkRevisionFlow(env, {
      url: `${url}/roll`,
      container: 'web',
      from: 'nginx:1.19',
      to: 'nginx:1.20',
      readReal: () => apps.readNamespacedDeployment({ name: 'roll', namespace: ns }),
    });
  });

  it('rolls the pods when a mounted configmap changes (reloadWhenConfigChange)', async () => {
    const body = {
      ...plain('reloader'),
      containers: [{ name: 'web', image: 'nginx:1.19', volumes: [{ name: 'app-conf', type: 'configmap', mountPath: '/etc/app' }] }],
      advancedOptions: { reloadWhenConfigChange: true },
    };
    expect((await env.api('POST', url, { body })).status).to.equal(201);
    const before = (await apps.readNamespacedDeployment({ name: 'reloader', namespace: ns })).spec?.template.metadata?.annotations?.[CONFIG_HASH];
    expect(before).to.be.a('string');
    await core.replaceNamespacedConfigMap({ name: 'app-conf', namespace: ns, body: { metadata: { name: 'app-conf' }, data: { 'app.conf': 'v2' } } });
    await eventually(async () => {
      const after = (await apps.readNamespacedDeployment({ name: 'reloader', namespace: ns })).spec?.template.metadata?.annotations?.[CONFIG_HASH];
      expect(after).to.be.a('string').and.not.equal(before);
    }, { within: 10_000 });
    await eventually(async () => {
      const owned = (await apps.listNamespacedReplicaSet({ namespace: ns, labelSelector: 'app=reloader' })).items;
      expect(owned).to.have.length(2);
    }, { within: 10_000 });
  });

  it('rejects bad input naming the field, creates nothing, and a failed create leaves no claims', async () => {
    await expectRejected(env, url, [
      [{ name: 'nocontainers', replicas: 1 }, /^containers: is required/],
      [{ ...plain('badproto'), containers: [{ name: 'web', image: 'x', exposedPorts: [{ port: 80, protocol: 'sctp' }] }] }, /^containers\.0\.exposedPorts\.0\.protocol: /],
      [{ ...plain('typed'), replicas: '3' }, /^replicas: /],
      [plain('Bad_Name'), /^name: /],
      [{ ...plain('nocm'), containers: [{ name: 'web', image: 'x', volumes: [{ name: 'absent', type: 'configmap', mountPath: '/c' }] }] }, /^containers\.0\.volumes\.0\.name: /],
      [{ ...plain('nopv'), containers: [{ name: 'web', image: 'x', volumes: [{ name: 'absent', type: 'persistentVolume', mountPath: '/p' }] }] }, /^containers\.0\.volumes\.0\.name: /],
      [{ ...plain('nosize'), persistentVolumes: [{ name: 'd', storageClassName: 'lvm' }] }, /^persistentVolumes\.0\.size: is required/],
      [{ ...plain('badclass'), persistentVolumes: [{ name: 'd', size: '1Gi', storageClassName: 'ssd' }] }, /^persistentVolumes\.0\.storageClassName: /],
    ]);
    const names = (await apps.listNamespacedDeployment({ namespace: ns })).items.map((d) => d.metadata?.name);
    expect(createdDespiteRefusal(names, ['nocontainers', 'badproto', 'typed', 'nocm', 'nopv', 'nosize', 'badclass'])).to.deep.equal([]);

    // The claim is created first; the Deployment then conflicts, and the claim must go again.
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: { metadata: { name: 'taken' }, spec: outsideSpec('taken') },
    });
    const conflict = await env.api('POST', url, {
      body: {
        ...plain('taken'),
        containers: [{ name: 'web', image: 'x', volumes: [{ name: 'data', type: 'persistentVolume', mountPath: '/d' }] }],
        persistentVolumes: [{ name: 'data', size: '1Gi', storageClassName: 'nfs' }],
      },
    });
    expect(conflict.status, conflict.text).to.equal(409);
    // The claim made before the failed create is deleted; pvc-protection holds it as Terminating
    // for a moment, so wait (bounded) until it is really gone.
    await eventually(
      async () => expect((await core.listNamespacedPersistentVolumeClaim({ namespace: ns })).items.map((c) => c.metadata?.name)).to.not.include('taken-data'),
      { within: 10_000, interval: 200 },
    );
  });

  it('deletes, removing its claims only with deletePVsWhenDeleteWorkload', async () => {
    const withClaim = (name: string, deletePVs: boolean) => ({
      ...plain(name),
      containers: [{ name: 'web', image: 'x', volumes: [{ name: 'data', type: 'persistentVolume', mountPath: '/d' }] }],
      persistentVolumes: [{ name: 'data', size: '1Gi', storageClassName: 'nfs' }],
      advancedOptions: { deletePVsWhenDeleteWorkload: deletePVs },
    });
    expect((await env.api('POST', url, { body: withClaim('keep', false) })).status).to.equal(201);
    expect((await env.api('POST', url, { body: withClaim('drop', true) })).status).to.equal(201);
    expect((await env.api('DELETE', `${url}/keep`)).status).to.equal(204);
    expect((await env.api('DELETE', `${url}/drop`)).status).to.equal(204);
    expect((await env.api('GET', `${url}/keep`)).status).to.equal(404);
    expect(await apps.readNamespacedDeployment({ name: 'drop', namespace: ns }).catch(() => 'gone')).to.equal('gone');
    await eventually(async () => {
      const claims = (await core.listNamespacedPersistentVolumeClaim({ namespace: ns })).items;
      const live = claims.filter((c) => !c.metadata?.deletionTimestamp).map((c) => c.metadata?.name);
      expect(live).to.include('keep-data').and.not.include('drop-data');
    }, { within: 20_000 });
    expect((await env.api('DELETE', `${url}/drop`)).status).to.equal(404);
  });

  it('authorizes by project: all operations in a granted namespace, 403 elsewhere; 405 for undeclared methods', async () => {
    const token = await env.userWith('dep-user', [{ namespace: ns }]);
    expect((await env.api('POST', url, { token, body: plain('mine') })).status).to.equal(201);
    expect((await env.api('GET', url, { token })).status).to.equal(200);
    expect((await env.api('GET', `${url}/mine`, { token })).status).to.equal(200);
    expect((await env.api('PUT', `${url}/mine`, { token, body: { replicas: 2 } })).status).to.equal(200);
    expect((await env.api('POST', `${url}/mine?action=setImage`, { token, body: { images: [{ name: 'web', image: 'nginx:1.20' }] } })).status).to.equal(200);
    expect((await env.api('POST', `${url}/mine?action=history`, { token })).status).to.equal(200);
    expect((await env.api('DELETE', `${url}/mine`, { token })).status).to.equal(204);
    const other = `${env.nsPath('kube-system')}/deployments`;
    expect((await env.api('GET', other, { token })).status).to.equal(403);
    expect((await env.api('POST', other, { token, body: plain('intruder') })).status).to.equal(403);
    expect((await env.api('PUT', url, { body: { replicas: 1 } })).status).to.equal(405);
  });

  it('reports the deployments cache version in X-Zcloud-Cache-Resource-Version of a list, not the claims cache one', async () => {
    expect((await env.api('POST', url, { body: plain('fresh') })).status).to.equal(201);
    // A claim written after the deployment puts the claims cache at another (later) version.
    await core.createNamespacedPersistentVolumeClaim({
      namespace: ns,
      body: { metadata: { name: 'after-fresh' }, spec: { storageClassName: 'lvm', accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } },
    });
    await eventually(async () => expect((await env.api('GET', `${env.nsPath(ns)}/persistentvolumeclaims/after-fresh`)).status).to.equal(200));
    const cache = env.zcloud.running.services.clusters.get(env.clusterPath.split('/').at(-1)!)!.cache;
    await eventually(async () => {
      const before = cache.freshness('deployments').resourceVersion;
      const list = await env.api('GET', url);
      // A deployment event during the request would make either version right: try again.
      expect(cache.freshness('deployments').resourceVersion).to.equal(before);
      expect(list.status).to.equal(200);
      expect(list.body.data.map((d: { id: string }) => d.id)).to.include('fresh');
      const header = list.headers.get('x-zcloud-cache-resource-version');
      expect(header).to.equal(before);
      expect(header, 'the claims cache is at another version, or this test could not fail').to.not.equal(cache.freshness('persistentvolumeclaims').resourceVersion);
    });
    await core.deleteNamespacedPersistentVolumeClaim({ namespace: ns, name: 'after-fresh' });
    expect((await env.api('DELETE', `${url}/fresh`)).status).to.equal(204);
  });
});
