import { CoreV1Api } from '@kubernetes/client-node';
import { expect } from 'chai';
import { importedCluster, type ImportedCluster } from '../helpers/imported.js';
import { eventually, freshNamespace } from '../helpers/world.js';
import { createdDespiteRefusal } from '../helpers/input.js';

const http = { name: 'http', port: 80, protocol: 'tcp', targetPort: 8080 };
const dns = { name: 'dns', port: 53, protocol: 'udp', targetPort: 5353 };

describe('service resource', function () {
  this.timeout(120_000);
  let env: ImportedCluster;
  let core: CoreV1Api;
  let ns: string;
  let url: string;

  before(async () => {
    env = await importedCluster('net-service');
    core = env.cluster.kc.makeApiClient(CoreV1Api);
    ns = await freshNamespace(env.cluster.kc, 'svc');
    url = `${env.nsPath(ns)}/services`;
  });
  after(() => env?.close());

  it('creates a ClusterIP service selecting app=<name>, with the IP Kubernetes allocated', async () => {
    const res = await env.api('POST', url, { body: { name: 'web', serviceType: 'clusterip', exposedPorts: [http, { ...http, name: 'metrics', port: 9090, targetPort: 9090 }] } });
    expect(res.status, res.text).to.equal(201);
    expect(res.body).to.deep.include({ id: 'web', type: 'service', name: 'web', serviceType: 'clusterip', headless: false });
    expect(res.body.exposedPorts).to.deep.equal([http, { ...http, name: 'metrics', port: 9090, targetPort: 9090 }]);
    expect(res.body.links).to.include.keys('self', 'collection', 'remove');
    expect(res.body.links).to.not.have.key('update');
    const real = await core.readNamespacedService({ name: 'web', namespace: ns });
    expect(real.spec?.type).to.equal('ClusterIP');
    expect(real.spec?.selector).to.deep.equal({ app: 'web' });
    expect(real.spec?.clusterIP).to.match(/^\d+\.\d+\.\d+\.\d+$/);
    expect(res.body.clusterIP).to.equal(real.spec?.clusterIP);
    expect(real.spec?.ports?.map((p) => [p.name, p.port, p.protocol, p.targetPort])).to.deep.equal([
      ['http', 80, 'TCP', 8080],
      ['metrics', 9090, 'TCP', 9090],
    ]);
    const got = await env.api('GET', `${url}/web`);
    expect(got.body).to.deep.include({ clusterIP: real.spec?.clusterIP, exposedPorts: res.body.exposedPorts });
  });

  it('creates a nodeport service and shows the node ports Kubernetes allocated', async () => {
    const res = await env.api('POST', url, { body: { name: 'dns', serviceType: 'nodeport', exposedPorts: [dns, { ...dns, name: 'dns-tcp', protocol: 'tcp' }] } });
    expect(res.status, res.text).to.equal(201);
    const real = await core.readNamespacedService({ name: 'dns', namespace: ns });
    expect(real.spec?.type).to.equal('NodePort');
    const nodePorts = real.spec?.ports?.map((p) => p.nodePort);
    expect(nodePorts?.every((p) => p !== undefined && p >= 30000 && p <= 32767)).to.equal(true);
    expect(res.body.serviceType).to.equal('nodeport');
    expect(res.body.exposedPorts.map((p: { nodePort: number }) => p.nodePort)).to.deep.equal(nodePorts);
    expect(res.body.exposedPorts[0]).to.deep.include(dns);
  });

  it('creates a headless service (clusterIP None), with or without ports', async () => {
    const res = await env.api('POST', url, { body: { name: 'db', serviceType: 'clusterip', headless: true, exposedPorts: [] } });
    expect(res.status, res.text).to.equal(201);
    expect(res.body).to.deep.include({ headless: true, clusterIP: 'None', exposedPorts: [] });
    expect((await core.readNamespacedService({ name: 'db', namespace: ns })).spec?.clusterIP).to.equal('None');
    const withPort = await env.api('POST', url, { body: { name: 'db-peers', serviceType: 'clusterip', headless: true, exposedPorts: [http] } });
    expect(withPort.status, withPort.text).to.equal(201);
    expect((await core.readNamespacedService({ name: 'db-peers', namespace: ns })).spec?.clusterIP).to.equal('None');
  });

  it('rejects bad input naming the field, and creates nothing', async () => {
    const cases: Array<[string, unknown, RegExp]> = [
      ['bad-type', { name: 'bad-type', serviceType: 'loadbalancer', exposedPorts: [http] }, /^serviceType: /],
      ['no-type', { name: 'no-type', exposedPorts: [http] }, /^serviceType: is required/],
      ['no-ports', { name: 'no-ports', serviceType: 'clusterip' }, /^exposedPorts: is required/],
      ['empty', { name: 'empty', serviceType: 'clusterip', exposedPorts: [] }, /^exposedPorts: needs at least one port/],
      ['hl-np', { name: 'hl-np', serviceType: 'nodeport', headless: true, exposedPorts: [http] }, /^headless: /],
      ['hl-str', { name: 'hl-str', serviceType: 'clusterip', headless: 'yes', exposedPorts: [http] }, /^headless: /],
      ['1st', { name: '1st', serviceType: 'clusterip', exposedPorts: [http] }, /^name: /],
      ['proto', { name: 'proto', serviceType: 'clusterip', exposedPorts: [{ ...http, protocol: 'sctp' }] }, /^exposedPorts\.0\.protocol: /],
      ['tport', { name: 'tport', serviceType: 'clusterip', exposedPorts: [{ ...http, targetPort: 0 }] }, /^exposedPorts\.0\.targetPort: /],
      ['noname', { name: 'noname', serviceType: 'clusterip', exposedPorts: [{ ...http, name: undefined }] }, /^exposedPorts\.0\.name: is required/],
      ['dupname', { name: 'dupname', serviceType: 'clusterip', exposedPorts: [http, { ...http, port: 81 }] }, /^exposedPorts\.1: duplicate port name/],
    ];
    for (const [, body, message] of cases) {
      const res = await env.api('POST', url, { body });
      expect(res.status, res.text).to.equal(422);
      expect(res.body.message).to.match(message);
    }
    const names = (await core.listNamespacedService({ namespace: ns })).items.map((s) => s.metadata?.name);
    expect(createdDespiteRefusal(names, cases.map(([name]) => name))).to.deep.equal([]);
    expect((await env.api('POST', url, { body: { name: 'web', serviceType: 'clusterip', exposedPorts: [http] } })).status).to.equal(409);
  });

  it('lists, shows services made in the cluster, and deletes', async () => {
    await core.createNamespacedService({ namespace: ns, body: { metadata: { name: 'outside' }, spec: { ports: [{ port: 443, targetPort: 'https' }] } } });
    await eventually(async () => expect((await env.api('GET', `${url}/outside`)).body.exposedPorts).to.deep.equal([{ name: '', port: 443, protocol: 'tcp' }]), {
      within: 2000,
    });
    const list = await env.api('GET', url);
    expect(list.body.data.map((s: { id: string }) => s.id)).to.deep.equal(['db', 'db-peers', 'dns', 'outside', 'web']);
    const del = await env.api('DELETE', `${url}/outside`);
    expect(del.status).to.equal(204);
    expect((await env.api('GET', `${url}/outside`)).status).to.equal(404);
    expect(await core.readNamespacedService({ name: 'outside', namespace: ns }).catch(() => 'gone')).to.equal('gone');
    expect((await env.api('DELETE', `${url}/outside`)).status).to.equal(404);
  });

  it('authorizes by project: all operations in the granted namespace, 403 elsewhere; no update', async () => {
    const token = await env.userWith('svc-user', [{ namespace: ns }]);
    const created = await env.api('POST', url, { token, body: { name: 'mine', serviceType: 'clusterip', exposedPorts: [http] } });
    expect(created.status, created.text).to.equal(201);
    expect((await env.api('GET', url, { token })).status).to.equal(200);
    expect((await env.api('GET', `${url}/mine`, { token })).status).to.equal(200);
    expect((await env.api('DELETE', `${url}/mine`, { token })).status).to.equal(204);
    expect(await core.readNamespacedService({ name: 'mine', namespace: ns }).catch(() => 'gone')).to.equal('gone');
    const other = `${env.nsPath('default')}/services`;
    expect((await env.api('GET', other, { token })).status).to.equal(403);
    expect((await env.api('POST', other, { token, body: { name: 'x', serviceType: 'clusterip', exposedPorts: [http] } })).status).to.equal(403);
    const put = await env.api('PUT', `${url}/web`, { body: { name: 'web', serviceType: 'clusterip', exposedPorts: [http] } });
    expect(put.status).to.equal(405);
  });
});
