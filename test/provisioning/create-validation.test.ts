import { generateKeyPairSync } from 'node:crypto';
import { expect } from 'chai';
import { API, startTestZcloud, type TestZcloud } from '../helpers/zcloud.js';

/**
 * The create body of a provisioned cluster through the API: each bad field answers 422 naming
 * it, and the SSH key stays out of answers, logs and the audit trail. No host is involved: every
 * body here is rejected before anything is recorded, so the addresses below are never dialled.
 */
describe('clusters: provisioning create body', () => {
  let zcloud: TestZcloud;
  let admin: string;
  const sshKey = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'pkcs1', format: 'pem' } }).privateKey;
  const keyLine = sshKey.split('\n')[5]!;
  const valid = {
    name: 'prov',
    nodes: [
      { name: 'cp1', address: '10.209.250.2', roles: ['controlplane', 'etcd'] },
      { name: 'w1', address: '10.209.250.3', roles: ['worker', 'edge'] },
    ],
    sshUser: 'zcloud',
    sshKey,
    singleCloudAddress: '127.0.0.1:8080',
    kubernetsVersion: 'v1.20.2',
  };

  before(async () => {
    zcloud = await startTestZcloud();
    admin = await zcloud.adminToken();
  });
  after(() => zcloud?.close());

  it('answers 422 naming the bad field', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...valid, name: 'Bad_Name' }, /^name: /],
      [{ ...valid, nodes: [valid.nodes[0]] }, /^nodes: must hold at least one worker node/],
      [{ ...valid, sshKey: 'nope' }, /^sshKey: /],
      [{ ...valid, clusterDNSServiceIP: '10.42.0.10' }, /^clusterDNSServiceIP: must lie inside serviceCidr/],
      [{ ...valid, network: { plugin: 'calico' } }, /^network\.plugin: calico is not supported yet; use flannel$/],
      [{ ...valid, nodes: [valid.nodes[0], { ...valid.nodes[1], address: '10.209.250.2' }] }, /^nodes\.1\.address: duplicates/],
    ];
    for (const [body, message] of cases) {
      const res = await zcloud.request('POST', `${API}/clusters`, { token: admin, body });
      expect(res.status, JSON.stringify(res.body)).to.equal(422);
      expect(res.body.message).to.match(message);
    }
  });

  it('keeps the key of a rejected body out of answers, logs and audit, and records nothing', async () => {
    const res = await zcloud.request('POST', `${API}/clusters`, { token: admin, body: { ...valid, clusterCidr: '10.43.0.0/16' } });
    expect(res.status).to.equal(422);
    const audit = await zcloud.request('GET', `${API}/auditlogs`, { token: admin });
    expect(audit.body.data.at(-1).body.sshKey).to.equal('[redacted]');
    for (const text of [res.text, audit.text, zcloud.logs()]) expect(text).not.to.include(keyLine);
    const list = await zcloud.request('GET', `${API}/clusters`, { token: admin });
    expect(list.body.data).to.deep.equal([]);
  });
});
