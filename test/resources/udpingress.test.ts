import { CoreV1Api } from '@kubernetes/client-node';
import { expect } from 'chai';
import { importedCluster, type ImportedCluster } from '../helpers/imported.js';
import { eventually, freshNamespace } from '../helpers/world.js';

describe('udpingress resource', function () {
  this.timeout(120_000);
  let env: ImportedCluster;
  let core: CoreV1Api;
  let nsA: string;
  let nsB: string;
  let urlA: string;
  let urlB: string;

  const udpData = async (): Promise<Record<string, string> | undefined> =>
    (await core.readNamespacedConfigMap({ name: 'udp-services', namespace: 'ingress-nginx' }).catch(() => undefined))?.data;

  before(async () => {
    env = await importedCluster('net-udp');
    core = env.cluster.kc.makeApiClient(CoreV1Api);
    nsA = await freshNamespace(env.cluster.kc, 'udpa');
    nsB = await freshNamespace(env.cluster.kc, 'udpb');
    urlA = `${env.nsPath(nsA)}/udpingresses`;
    urlB = `${env.nsPath(nsB)}/udpingresses`;
    for (const namespace of [nsA, nsB]) {
      await core.createNamespacedService({
        namespace,
        body: { metadata: { name: 'dns' }, spec: { ports: [{ name: 'udp', port: 53, protocol: 'UDP' }, { name: 'tcp', port: 5300, protocol: 'TCP' }] } },
      });
    }
    // References are checked against the cache: wait until it has both services.
    await eventually(async () => {
      for (const namespace of [nsA, nsB]) expect((await env.api('GET', `${env.nsPath(namespace)}/services/dns`)).status).to.equal(200);
    });
  });
  after(() => env?.close());

  it('creates the ingress-nginx namespace and udp-services ConfigMap when missing, with the forward', async () => {
    const ns = await core.readNamespace({ name: 'ingress-nginx' }).catch(() => undefined);
    expect(ns, 'a fresh cluster has no ingress-nginx').to.equal(undefined);
    const res = await env.api('POST', urlA, { body: { port: 5353, serviceName: 'dns', servicePort: 53 } });
    expect(res.status, res.text).to.equal(201);
    expect(res.body).to.deep.include({ id: '5353', type: 'udpingress', port: 5353, serviceName: 'dns', servicePort: 53 });
    expect(res.body.links).to.include.keys('self', 'collection', 'remove');
    expect(await udpData()).to.deep.equal({ '5353': `${nsA}/dns:53` });
    expect((await env.api('GET', `${urlA}/5353`)).body).to.deep.include({ port: 5353, serviceName: 'dns', servicePort: 53 });
    expect((await env.api('GET', urlA)).body.data.map((u: { id: string }) => u.id)).to.deep.equal(['5353']);
  });

  it('answers 409 for a port already taken, from any namespace, and changes nothing', async () => {
    const again = await env.api('POST', urlA, { body: { port: 5353, serviceName: 'dns', servicePort: 53 } });
    expect(again.status).to.equal(409);
    const other = await env.api('POST', urlB, { body: { port: 5353, serviceName: 'dns', servicePort: 53 } });
    expect(other.status).to.equal(409);
    expect(other.body.message).to.include('5353');
    // The holder is another tenant's: neither its namespace nor its service is told.
    expect(other.body.message).to.not.include(nsA).and.not.include('dns');
    expect(await udpData()).to.deep.equal({ '5353': `${nsA}/dns:53` });
  });

  it('rejects bad input and dangling references naming the field, and writes nothing', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ serviceName: 'dns', servicePort: 53 }, /^port: is required$/],
      [{ port: 0, serviceName: 'dns', servicePort: 53 }, /^port: /],
      [{ port: '6000', serviceName: 'dns', servicePort: 53 }, /^port: /],
      [{ port: 6000, serviceName: 'Dns', servicePort: 53 }, /^serviceName: /],
      [{ port: 6000, serviceName: 'dns' }, /^servicePort: is required$/],
      [{ port: 6000, serviceName: 'missing', servicePort: 53 }, /^serviceName: service missing not found/],
      [{ port: 6000, serviceName: 'dns', servicePort: 54 }, /^servicePort: service dns has no UDP port 54/],
      [{ port: 6000, serviceName: 'dns', servicePort: 5300 }, /^servicePort: service dns has no UDP port 5300/],
    ];
    for (const [body, message] of cases) {
      const res = await env.api('POST', urlA, { body });
      expect(res.status, res.text).to.equal(422);
      expect(res.body.message).to.match(message);
    }
    expect(await udpData()).to.deep.equal({ '5353': `${nsA}/dns:53` });
  });

  it("lists and gets only the request namespace's forwards", async () => {
    expect((await env.api('POST', urlB, { body: { port: 6053, serviceName: 'dns', servicePort: 53 } })).status).to.equal(201);
    expect((await env.api('GET', urlA)).body.data.map((u: { id: string }) => u.id)).to.deep.equal(['5353']);
    expect((await env.api('GET', urlB)).body.data.map((u: { id: string }) => u.id)).to.deep.equal(['6053']);
    expect((await env.api('GET', `${urlA}/6053`)).status).to.equal(404);
    expect((await env.api('DELETE', `${urlA}/6053`)).status).to.equal(404);
    expect((await env.api('GET', `${urlA}/nope`)).status).to.equal(404);
    expect((await udpData())?.['6053']).to.equal(`${nsB}/dns:53`);
  });

  it('loses no entry when many are created at once, and lets only one of two claims on a port win', async () => {
    const ports = Array.from({ length: 10 }, (_, i) => 7000 + i);
    const results = await Promise.all(ports.map((port) => env.api('POST', urlA, { body: { port, serviceName: 'dns', servicePort: 53 } })));
    expect(results.map((r) => r.status)).to.deep.equal(ports.map(() => 201));
    const data = await udpData();
    for (const port of ports) expect(data?.[String(port)]).to.equal(`${nsA}/dns:53`);
    const claims = await Promise.all([urlA, urlB].map((url) => env.api('POST', url, { body: { port: 8000, serviceName: 'dns', servicePort: 53 } })));
    expect(claims.map((r) => r.status).sort()).to.deep.equal([201, 409]);
    const winner = claims[0].status === 201 ? nsA : nsB;
    expect((await udpData())?.['8000']).to.equal(`${winner}/dns:53`);
  });

  it('deletes one forward, keeping the others, and recreates the ConfigMap if it was removed', async () => {
    const del = await env.api('DELETE', `${urlA}/5353`);
    expect(del.status).to.equal(204);
    expect((await env.api('GET', `${urlA}/5353`)).status).to.equal(404);
    const data = await udpData();
    expect(data).to.not.have.property('5353');
    expect(data).to.include({ '6053': `${nsB}/dns:53`, '7000': `${nsA}/dns:53` });
    await core.deleteNamespacedConfigMap({ name: 'udp-services', namespace: 'ingress-nginx' });
    await eventually(async () => expect((await env.api('GET', urlA)).body.data).to.deep.equal([]), { within: 2000 });
    expect((await env.api('POST', urlA, { body: { port: 5353, serviceName: 'dns', servicePort: 53 } })).status).to.equal(201);
    expect(await udpData()).to.deep.equal({ '5353': `${nsA}/dns:53` });
  });

  it('authorizes by project: all operations in the granted namespace, 403 elsewhere; no update', async () => {
    const token = await env.userWith('udp-user', [{ namespace: nsB }]);
    const created = await env.api('POST', urlB, { token, body: { port: 9053, serviceName: 'dns', servicePort: 53 } });
    expect(created.status, created.text).to.equal(201);
    expect((await env.api('GET', urlB, { token })).body.data.map((u: { id: string }) => u.id)).to.deep.equal(['9053']);
    expect((await env.api('GET', `${urlB}/9053`, { token })).status).to.equal(200);
    expect((await env.api('DELETE', `${urlB}/9053`, { token })).status).to.equal(204);
    expect(await udpData()).to.not.have.property('9053');
    expect((await env.api('GET', urlA, { token })).status).to.equal(403);
    expect((await env.api('DELETE', `${urlA}/5353`, { token })).status).to.equal(403);
    expect((await env.api('PUT', `${urlA}/5353`, { body: { port: 5353, serviceName: 'dns', servicePort: 53 } })).status).to.equal(405);
  });
});
