import { CoreV1Api, NetworkingV1Api } from '@kubernetes/client-node';
import { expect } from 'chai';
import { importedCluster, type ImportedCluster } from '../helpers/imported.js';
import { eventually, freshNamespace } from '../helpers/world.js';

const web = { host: 'web.example.com', path: '/', serviceName: 'web', servicePort: 80 };
const api = { host: 'api.example.com', path: '/v1', serviceName: 'api', servicePort: 8080 };

describe('ingress resource', function () {
  this.timeout(120_000);
  let env: ImportedCluster;
  let core: CoreV1Api;
  let networking: NetworkingV1Api;
  let ns: string;
  let url: string;

  before(async () => {
    env = await importedCluster('net-ingress');
    core = env.cluster.kc.makeApiClient(CoreV1Api);
    networking = env.cluster.kc.makeApiClient(NetworkingV1Api);
    ns = await freshNamespace(env.cluster.kc, 'ing');
    url = `${env.nsPath(ns)}/ingresses`;
    for (const [name, port] of [['web', 80], ['api', 8080]] as const) {
      await core.createNamespacedService({ namespace: ns, body: { metadata: { name }, spec: { selector: { app: name }, ports: [{ port }] } } });
    }
    await core.createNamespacedService({ namespace: ns, body: { metadata: { name: 'dns' }, spec: { ports: [{ port: 53, protocol: 'UDP' }] } } });
    // Rules are checked against the cache: wait until it has the services.
    await eventually(async () => expect((await env.api('GET', `${env.nsPath(ns)}/services/dns`)).status).to.equal(200));
  });
  after(() => env?.close());

  it('creates a networking.k8s.io/v1 Ingress with the rules grouped by host, and reads them back flat', async () => {
    const rules = [web, api, { ...web, path: '/static', serviceName: 'api', servicePort: 8080 }];
    const res = await env.api('POST', url, { body: { name: 'site', rules } });
    expect(res.status, res.text).to.equal(201);
    expect(res.body).to.deep.include({ id: 'site', type: 'ingress', name: 'site' });
    expect(res.body.rules).to.have.deep.members(rules);
    expect(res.body.links).to.include.keys('self', 'collection', 'remove');
    const real = await networking.readNamespacedIngress({ name: 'site', namespace: ns });
    expect(real.spec?.rules?.map((r) => r.host)).to.deep.equal(['web.example.com', 'api.example.com']);
    expect(real.spec?.rules?.[0].http?.paths.map((p) => [p.path, p.pathType, p.backend.service?.name, p.backend.service?.port?.number])).to.deep.equal([
      ['/', 'ImplementationSpecific', 'web', 80],
      ['/static', 'ImplementationSpecific', 'api', 8080],
    ]);
    expect((await env.api('GET', `${url}/site`)).body.rules).to.deep.equal(res.body.rules);
    expect((await env.api('GET', url)).body.data.map((i: { id: string }) => i.id)).to.deep.equal(['site']);
  });

  it('rejects insane or dangling rules naming the field, and creates nothing', async () => {
    const cases: Array<[string, unknown, RegExp]> = [
      ['no-rules', { name: 'no-rules' }, /^rules: is required$/],
      ['empty', { name: 'empty', rules: [] }, /^rules: needs at least one rule/],
      ['host', { name: 'host', rules: [{ ...web, host: 'not a host' }] }, /^rules\.0\.host: must be a DNS name/],
      ['ip', { name: 'ip', rules: [{ ...web, host: '10.1.2.3' }] }, /^rules\.0\.host: must be a DNS name, not an IP address/],
      ['path', { name: 'path', rules: [web, { ...api, path: 'v2' }] }, /^rules\.1\.path: must start with "\/"/],
      ['port', { name: 'port', rules: [{ ...web, servicePort: 65536 }] }, /^rules\.0\.servicePort: /],
      ['nohost', { name: 'nohost', rules: [{ ...web, host: undefined }] }, /^rules\.0\.host: is required/],
      ['dup', { name: 'dup', rules: [web, { ...web, serviceName: 'api', servicePort: 8080 }] }, /^rules\.1: duplicate host and path/],
      ['nosvc', { name: 'nosvc', rules: [web, { ...api, serviceName: 'missing' }] }, /^rules\.1\.serviceName: service missing not found/],
      ['noport', { name: 'noport', rules: [{ ...web, servicePort: 81 }] }, /^rules\.0\.servicePort: service web has no TCP port 81/],
      ['udp', { name: 'udp', rules: [{ ...web, serviceName: 'dns', servicePort: 53 }] }, /^rules\.0\.servicePort: service dns has no TCP port 53/],
      ['Bad_Name', { name: 'Bad_Name', rules: [web] }, /^name: /],
    ];
    for (const [, body, message] of cases) {
      const res = await env.api('POST', url, { body });
      expect(res.status, res.text).to.equal(422);
      expect(res.body.message).to.match(message);
    }
    const names = (await networking.listNamespacedIngress({ namespace: ns })).items.map((i) => i.metadata?.name);
    expect(names).to.deep.equal(['site']);
    expect((await env.api('POST', url, { body: { name: 'site', rules: [web] } })).status).to.equal(409);
  });

  it('shows ingresses made in the cluster, and deletes', async () => {
    await networking.createNamespacedIngress({
      namespace: ns,
      body: {
        metadata: { name: 'outside' },
        spec: { rules: [{ host: 'o.example.com', http: { paths: [{ path: '/x', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } }] },
      },
    });
    await eventually(
      async () => expect((await env.api('GET', `${url}/outside`)).body.rules).to.deep.equal([{ host: 'o.example.com', path: '/x', serviceName: 'web', servicePort: 80 }]),
      { within: 2000 },
    );
    const del = await env.api('DELETE', `${url}/outside`);
    expect(del.status).to.equal(204);
    expect((await env.api('GET', `${url}/outside`)).status).to.equal(404);
    expect(await networking.readNamespacedIngress({ name: 'outside', namespace: ns }).catch(() => 'gone')).to.equal('gone');
  });

  it('authorizes by project: all operations in the granted namespace, 403 elsewhere; no update', async () => {
    const token = await env.userWith('ing-user', [{ namespace: ns }]);
    const created = await env.api('POST', url, { token, body: { name: 'mine', rules: [{ ...web, host: 'mine.example.com' }] } });
    expect(created.status, created.text).to.equal(201);
    expect((await env.api('GET', url, { token })).status).to.equal(200);
    expect((await env.api('GET', `${url}/mine`, { token })).status).to.equal(200);
    expect((await env.api('DELETE', `${url}/mine`, { token })).status).to.equal(204);
    expect(await networking.readNamespacedIngress({ name: 'mine', namespace: ns }).catch(() => 'gone')).to.equal('gone');
    const other = `${env.nsPath('default')}/ingresses`;
    expect((await env.api('GET', other, { token })).status).to.equal(403);
    expect((await env.api('POST', other, { token, body: { name: 'x', rules: [web] } })).status).to.equal(403);
    expect((await env.api('PUT', `${url}/site`, { body: { name: 'site', rules: [web] } })).status).to.equal(405);
  });
});
