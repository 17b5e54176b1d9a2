import { AppsV1Api, CoreV1Api, NetworkingV1Api } from '@kubernetes/client-node';
import { expect } from 'chai';
import { importedCluster, type ImportedCluster } from '../helpers/imported.js';
import { eventually, freshNamespace } from '../helpers/world.js';
import { deployment, fieldsOf, runningPods, scale, service } from './fixtures.js';

/** innerservice/outerservice: derived from services, pods, owners, ingresses and ingress-nginx's stream ConfigMaps. */
describe('service views (innerservice, outerservice)', function () {
  this.timeout(120_000);
  let env: ImportedCluster;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  let networking: NetworkingV1Api;
  let ns: string;
  let inner: string;
  let outer: string;

  const running = (names: string[]) => names.map((name) => ({ name, state: 'Running' }));
  const listOf = async (url: string, token?: string) => {
    const res = await env.api('GET', url, token ? { token } : {});
    expect(res.status, res.text).to.equal(200);
    return res.body.data.map(fieldsOf);
  };

  before(async () => {
    env = await importedCluster('view-services');
    core = env.cluster.kc.makeApiClient(CoreV1Api);
    apps = env.cluster.kc.makeApiClient(AppsV1Api);
    networking = env.cluster.kc.makeApiClient(NetworkingV1Api);
    ns = await freshNamespace(env.cluster.kc, 'svcview');
    inner = `${env.nsPath(ns)}/innerservices`;
    outer = `${env.nsPath(ns)}/outerservices`;
    for (const name of ['web', 'api']) {
      await apps.createNamespacedDeployment({ namespace: ns, body: deployment(name, 2) });
      await core.createNamespacedService({ namespace: ns, body: service(name) });
    }
    await networking.createNamespacedIngress({
      namespace: ns,
      body: {
        metadata: { name: 'site' },
        spec: {
          rules: [
            {
              host: 'web.example.com',
              http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] },
            },
          ],
        },
      },
    });
  });
  after(() => env?.close());

  it('lists as innerservice exactly the service no ingress leads to, with its workload and both pods', async () => {
    const pods = await runningPods(core, ns, 'api', 2);
    await eventually(
      async () =>
        expect(await listOf(inner)).to.deep.equal([
          { id: 'api', name: 'api', workloads: [{ name: 'api', kind: 'deployment', pods: running(pods) }] },
        ]),
      { within: 1000 },
    );
    const res = await env.api('GET', inner);
    expect(res.body).to.include({ type: 'collection', resourceType: 'innerservice' });
  });

  it('lists the ingress host as an outerservice, its path leading to the web deployment', async () => {
    const pods = await runningPods(core, ns, 'web', 2);
    await eventually(
      async () =>
        expect(await listOf(outer)).to.deep.equal([
          {
            id: 'http-web.example.com',
            entryPoint: 'http://web.example.com',
            services: { '/': { name: 'web', workloads: [{ name: 'web', kind: 'deployment', pods: running(pods) }] } },
          },
        ]),
      { within: 1000 },
    );
  });

  it('follows scaling: the pods listed are the ones the apiserver reports', async () => {
    await scale(apps, ns, 'api', 3);
    const up = await runningPods(core, ns, 'api', 3);
    await eventually(async () => expect((await listOf(inner))[0].workloads[0].pods).to.deep.equal(running(up)), { within: 1000 });
    await scale(apps, ns, 'api', 1);
    const down = await runningPods(core, ns, 'api', 1);
    await eventually(async () => expect((await listOf(inner))[0].workloads[0].pods).to.deep.equal(running(down)), { within: 1000 });
  });

  it('counts a udp-services forward as an entry point, and gives the service back when it goes', async () => {
    await core.createNamespace({ body: { metadata: { name: 'ingress-nginx' } } });
    await core.createNamespacedConfigMap({ namespace: 'ingress-nginx', body: { metadata: { name: 'udp-services' }, data: { '5353': `${ns}/api:53`, '9999': 'elsewhere/dns:53' } } });
    const pods = await runningPods(core, ns, 'api', 1);
    await eventually(
      async () => {
        expect(await listOf(inner)).to.deep.equal([]);
        expect((await listOf(outer)).map((o: { entryPoint: string }) => o.entryPoint)).to.deep.equal(['http://web.example.com', 'udp:5353']);
        expect((await listOf(outer))[1]).to.deep.equal({
          id: 'udp-5353',
          entryPoint: 'udp:5353',
          services: { '53': { name: 'api', workloads: [{ name: 'api', kind: 'deployment', pods: running(pods) }] } },
        });
      },
      { within: 1000 },
    );
    await core.deleteNamespacedConfigMap({ name: 'udp-services', namespace: 'ingress-nginx' });
    await eventually(async () => expect((await listOf(inner)).map((s: { name: string }) => s.name)).to.deep.equal(['api']), { within: 1000 });
  });

  it('follows ingress changes: a new path leads to api, deleting the ingress makes both services inner', async () => {
    const current = await networking.readNamespacedIngress({ name: 'site', namespace: ns });
    const rule = current.spec!.rules![0];
    rule.http!.paths.push({ path: '/api', pathType: 'Prefix', backend: { service: { name: 'api', port: { number: 80 } } } });
    await networking.replaceNamespacedIngress({ name: 'site', namespace: ns, body: current });
    await eventually(
      async () => {
        const [entry] = await listOf(outer);
        expect(Object.keys(entry.services)).to.deep.equal(['/', '/api']);
        expect(entry.services['/api'].name).to.equal('api');
        expect(await listOf(inner)).to.deep.equal([]);
      },
      { within: 1000 },
    );
    await networking.deleteNamespacedIngress({ name: 'site', namespace: ns });
    await eventually(
      async () => {
        expect((await listOf(inner)).map((s: { name: string }) => s.name)).to.deep.equal(['api', 'web']);
        expect(await listOf(outer)).to.deep.equal([]);
      },
      { within: 1000 },
    );
  });

  it('shows a user only the views of granted namespaces, and serves list and (from it) get only', async () => {
    const token = await env.userWith('view-svc-user', [{ namespace: ns }]);
    expect((await env.api('GET', inner, { token })).status).to.equal(200);
    expect((await env.api('GET', outer, { token })).status).to.equal(200);
    expect((await env.api('GET', `${env.nsPath('kube-system')}/innerservices`, { token })).status).to.equal(403);
    expect((await env.api('GET', `${env.nsPath('kube-system')}/outerservices`, { token })).status).to.equal(403);
    expect((await env.api('POST', inner, { body: { name: 'x' } })).status).to.equal(405);
    // An item's self link answers from the list (issue 15): absent here, so 404; writes stay 405.
    expect((await env.api('GET', `${outer}/no-such-view`)).status).to.equal(404);
    expect((await env.api('DELETE', `${outer}/no-such-view`)).status).to.equal(405);
  });
});
