import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { expect } from 'chai';
import { importedCluster, type ImportedCluster } from '../helpers/imported.js';
import { eventually, freshNamespace } from '../helpers/world.js';
import { checkRevisionFlow, expectRejected, outsideSpec } from '../helpers/workloads.js';
import { createdDespiteRefusal } from '../helpers/input.js';

function plain(name: string, image = 'fluentd:1') {
  return { name, containers: [{ name: 'agent', image }] };
}

describe('daemonset resource', function () {
  this.timeout(120_000);
  let env: ImportedCluster;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  let ns: string;
  let url: string;

  before(async () => {
    env = await importedCluster('wl-daemonset');
    core = env.cluster.kc.makeApiClient(CoreV1Api);
    apps = env.cluster.kc.makeApiClient(AppsV1Api);
    ns = await freshNamespace(env.cluster.kc, 'ds');
    url = `${env.nsPath(ns)}/daemonsets`;
  });
  after(() => env?.close());

  it('creates a DaemonSet that runs a pod on every node, and reports its status', async () => {
    const body = {
      name: 'agent',
      containers: [{ name: 'agent', image: 'fluentd:1', env: [{ name: 'LEVEL', value: 'info' }], exposedPorts: [{ port: 24224 }] }],
      advancedOptions: { exposedMetric: { port: 24231, path: '/stats' } },
    };
    const res = await env.api('POST', url, { body });
    expect(res.status, res.text).to.equal(201);
    expect(res.body).to.deep.include({ id: 'agent', type: 'daemonset', persistentVolumes: [] });
    expect(res.body.containers).to.deep.equal([{ ...body.containers[0], exposedPorts: [{ port: 24224, protocol: 'tcp' }] }]);
    expect(res.body.advancedOptions.exposedMetric).to.deep.equal({ port: 24231, path: '/stats' });
    expect(res.body.links).to.include.keys('self', 'collection', 'remove', 'pods').and.not.include.keys('update');

    const real = await apps.readNamespacedDaemonSet({ name: 'agent', namespace: ns });
    expect(real.spec?.selector.matchLabels).to.deep.equal({ app: 'agent' });
    expect(real.spec?.template.metadata?.annotations).to.include({ 'prometheus.io/port': '24231', 'prometheus.io/path': '/stats' });
    expect(real.spec?.template.spec?.containers[0].ports).to.deep.equal([{ containerPort: 24224, protocol: 'TCP' }]);

    const nodes = env.cluster.nodeNames.length;
    await eventually(async () => {
      const status = (await env.api('GET', `${url}/agent`)).body.status;
      expect(status).to.include({ desiredNumberScheduled: nodes, numberReady: nodes, numberAvailable: nodes });
    }, { within: 20_000 });
    expect((await env.api('GET', url)).body.data.map((d: { id: string }) => d.id)).to.include('agent');
  });

  it('sets images, lists the history from ControllerRevisions and rolls back', async () => {
    expect((await env.api('POST', url, { body: plain('roll') })).status).to.equal(201);
    await checkRevisionFlow(env, {
      url: `${url}/roll`,
      container: 'agent',
      from: 'fluentd:1',
      to: 'fluentd:2',
      readReal: () => apps.readNamespacedDaemonSet({ name: 'roll', namespace: ns }),
    });
    // The newest revision is the current one: rolling back to it is refused.
    expect((await env.api('POST', `${url}/roll?action=rollback`, { body: { version: 3 } })).body.message).to.match(/^version: .*current/);
  });

  it('rejects bad input naming the field, creates nothing, and a failed create leaves no claims', async () => {
    await expectRejected(env, url, [
      [{ name: 'noimage', containers: [{ name: 'agent' }] }, /^containers\.0\.image: is required/],
      [{ ...plain('badproto'), containers: [{ name: 'agent', image: 'x', exposedPorts: [{ port: 1, protocol: 'sctp' }] }] }, /^containers\.0\.exposedPorts\.0\.protocol: /],
      [{ ...plain('badtype'), containers: [{ name: 'agent', image: 'x', volumes: [{ name: 'a', type: 'hostPath', mountPath: '/a' }] }] }, /^containers\.0\.volumes\.0\.type: /],
      [{ ...plain('nosecret'), containers: [{ name: 'agent', image: 'x', volumes: [{ name: 'absent', type: 'secret', mountPath: '/s' }] }] }, /^containers\.0\.volumes\.0\.name: /],
      [{ ...plain('metric'), advancedOptions: { exposedMetric: { port: 'http' } } }, /^advancedOptions\.exposedMetric\.port: /],
    ]);
    const names = (await apps.listNamespacedDaemonSet({ namespace: ns })).items.map((d) => d.metadata?.name);
    expect(createdDespiteRefusal(names, ['noimage', 'badproto', 'badtype', 'nosecret', 'metric'])).to.deep.equal([]);

    await apps.createNamespacedDaemonSet({
      namespace: ns,
      body: { metadata: { name: 'taken' }, spec: outsideSpec('taken') },
    });
    const conflict = await env.api('POST', url, {
      body: {
        ...plain('taken'),
        containers: [{ name: 'agent', image: 'x', volumes: [{ name: 'logs', type: 'persistentVolume', mountPath: '/logs' }] }],
        persistentVolumes: [{ name: 'logs', size: '1Gi', storageClassName: 'cephfs' }],
      },
    });
    expect(conflict.status, conflict.text).to.equal(409);
    // The claim made before the failed create is deleted; pvc-protection holds it as Terminating
    // for a moment, so wait (bounded) until it is really gone.
    await eventually(
      async () => expect((await core.listNamespacedPersistentVolumeClaim({ namespace: ns })).items.map((c) => c.metadata?.name)).to.not.include('taken-logs'),
      { within: 10_000, interval: 200 },
    );
  });

  it('deletes its pods with it, and its claims with deletePVsWhenDeleteWorkload', async () => {
    const body = {
      ...plain('logger'),
      containers: [{ name: 'agent', image: 'x', volumes: [{ name: 'logs', type: 'persistentVolume', mountPath: '/logs' }] }],
      persistentVolumes: [{ name: 'logs', size: '1Gi', storageClassName: 'nfs' }],
      advancedOptions: { deletePVsWhenDeleteWorkload: true },
    };
    expect((await env.api('POST', url, { body })).status).to.equal(201);
    expect((await core.readNamespacedPersistentVolumeClaim({ name: 'logger-logs', namespace: ns })).spec?.accessModes).to.deep.equal(['ReadWriteMany']);
    expect((await env.api('DELETE', `${url}/logger`)).status).to.equal(204);
    expect((await env.api('GET', `${url}/logger`)).status).to.equal(404);
    expect((await env.api('DELETE', `${url}/agent`)).status).to.equal(204);
    await eventually(async () => {
      const claims = (await core.listNamespacedPersistentVolumeClaim({ namespace: ns })).items.filter((c) => !c.metadata?.deletionTimestamp);
      expect(claims.map((c) => c.metadata?.name)).to.not.include('logger-logs');
      expect((await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=agent' })).items).to.deep.equal([]);
    }, { within: 20_000 });
  });

  it('authorizes by project: all operations in a granted namespace, 403 elsewhere; 405 for undeclared methods', async () => {
    const token = await env.userWith('ds-user', [{ namespace: ns }]);
    expect((await env.api('POST', url, { token, body: plain('mine') })).status).to.equal(201);
    expect((await env.api('GET', url, { token })).status).to.equal(200);
    expect((await env.api('GET', `${url}/mine`, { token })).status).to.equal(200);
    expect((await env.api('POST', `${url}/mine?action=history`, { token })).status).to.equal(200);
    expect((await env.api('DELETE', `${url}/mine`, { token })).status).to.equal(204);
    const other = `${env.nsPath('kube-system')}/daemonsets`;
    expect((await env.api('GET', other, { token })).status).to.equal(403);
    expect((await env.api('POST', other, { token, body: plain('intruder') })).status).to.equal(403);
    // The seed declares no update for daemonsets.
    expect((await env.api('PUT', `${url}/roll`, { body: { containers: [] } })).status).to.equal(405);
  });
});
