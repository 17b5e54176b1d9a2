import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { ProvisionedClusterInputSchema, type ProvisionedClusterSpec } from '../../src/clusters/provisioning-spec.js';
import { planCertificates } from '../../src/provisioning/certificate-plan.js';
import { certificateFingerprint, completeClusterPki } from '../../src/provisioning/pki.js';
import { ClusterPkiStore } from '../../src/provisioning/pki-store.js';
import { SECRET_BOX_KEY_FILE, SecretBox } from '../../src/store/secret-box.js';
import { openLowdbStore } from '../../src/store/lowdb-store.js';
import { clusterPkiCollection } from '../../src/provisioning/pki-store.js';
import { tempDir } from '../helpers/zcloud.js';

const sshKey = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'pkcs1', format: 'pem' } }).privateKey;

function specWith(nodes: ProvisionedClusterSpec['nodes']): ProvisionedClusterSpec {
  return ProvisionedClusterInputSchema.parse({ nodes, sshUser: 'zcloud', sshKey, clusterDomain: 'zc.local' }) as ProvisionedClusterSpec;
}

const spec = specWith([
  { name: 'cp1', address: '10.209.1.2', roles: ['controlplane', 'etcd'] },
  { name: 'w1', address: '10.209.1.3', roles: ['worker', 'edge'] },
]);

describe('provisioning certificate plan', () => {
  it('gives the apiserver every name it is reached by', () => {
    const apiserver = planCertificates(spec).find((r) => r.id === 'kube-apiserver')!;
    expect(apiserver.dnsNames).to.include.members(['cp1', 'kubernetes.default.svc.zc.local', 'localhost']);
    expect(apiserver.ipAddresses).to.have.members(['10.209.1.2', '127.0.0.1', '10.43.0.1']);
  });

  it('names kubelets as the Node authorizer expects, and gives etcd certificates only to etcd hosts', () => {
    const ids = planCertificates(spec).map((r) => r.id);
    expect(ids).to.include.members(['kubelet-cp1', 'kubelet-w1', 'etcd-cp1', 'kube-admin', 'front-proxy-client']);
    expect(ids).not.to.include('etcd-w1');
    const kubelet = planCertificates(spec).find((r) => r.id === 'kubelet-w1')!;
    expect(kubelet).to.deep.include({ commonName: 'system:node:w1', organizations: ['system:nodes'], ipAddresses: ['10.209.1.3'] });
  });
});

describe('provisioning PKI', function () {
  this.timeout(30_000);

  it('issues a chain node:crypto accepts: CAs, SANs, usages', async () => {
    const { pki, changed } = await completeClusterPki(spec, undefined);
    expect(changed).to.equal(true);
    const ca = new X509Certificate(pki.ca.certPem);
    expect(ca.ca).to.equal(true);
    const apiserver = new X509Certificate(pki.certificates['kube-apiserver']!.certPem);
    expect(apiserver.checkIssued(ca)).to.equal(true);
    expect(apiserver.verify(ca.publicKey)).to.equal(true);
    expect(apiserver.ca).to.equal(false);
    expect(apiserver.checkIP('10.43.0.1')).to.equal('10.43.0.1');
    expect(apiserver.checkHost('kubernetes.default.svc.zc.local')).to.equal('kubernetes.default.svc.zc.local');
    expect(apiserver.keyUsage).to.include('1.3.6.1.5.5.7.3.1');
    const admin = new X509Certificate(pki.certificates['kube-admin']!.certPem);
    expect(admin.subject).to.include('O=system:masters');
    expect(admin.keyUsage).to.deep.equal(['1.3.6.1.5.5.7.3.2']);
    const frontProxy = new X509Certificate(pki.certificates['front-proxy-client']!.certPem);
    expect(frontProxy.verify(new X509Certificate(pki.frontProxyCa.certPem).publicKey)).to.equal(true);
    expect(frontProxy.verify(ca.publicKey)).to.equal(false);
    expect(pki.certificates['kube-admin']!.keyPem).to.match(/^-----BEGIN PRIVATE KEY-----/);
  });

  it('keeps the CA and unchanged certificates when the spec grows, and issues only what is new', async () => {
    const first = (await completeClusterPki(spec, undefined)).pki;
    const same = await completeClusterPki(spec, first);
    expect(same.changed).to.equal(false);
    const grown = specWith([...spec.nodes, { name: 'w2', address: '10.209.1.4', roles: ['worker'] }]);
    const { pki, changed } = await completeClusterPki(grown, first);
    expect(changed).to.equal(true);
    expect(pki.ca).to.deep.equal(first.ca);
    expect(pki.certificates['kubelet-w1']).to.deep.equal(first.certificates['kubelet-w1']);
    expect(pki.certificates['kubelet-w2']).to.not.equal(undefined);
    const shrunk = await completeClusterPki(spec, pki);
    expect(shrunk.changed).to.equal(true);
    expect(shrunk.pki.certificates['kubelet-w2']).to.equal(undefined);
  });

  it('is stored with every private key sealed by the data dir key, and opens to the same CA after a restart', async () => {
    const dir = tempDir();
    let store = await openLowdbStore({ dataDir: dir, collections: [clusterPkiCollection] });
    const pki = await new ClusterPkiStore(store, SecretBox.forDataDir(dir)).ensure('prov', spec);
    await store.close();
    expect(statSync(path.join(dir, SECRET_BOX_KEY_FILE)).mode & 0o777).to.equal(0o600);
    const dataFile = readFileSync(path.join(dir, 'zcloud.json'), 'utf8');
    expect(dataFile).not.to.include('PRIVATE KEY');
    expect(dataFile).to.include('BEGIN CERTIFICATE');

    store = await openLowdbStore({ dataDir: dir, collections: [clusterPkiCollection] });
    const reopened = await new ClusterPkiStore(store, SecretBox.forDataDir(dir)).ensure('prov', spec);
    await store.close();
    expect(certificateFingerprint(reopened.ca.certPem)).to.equal(certificateFingerprint(pki.ca.certPem));
    expect(reopened.ca.keyPem).to.equal(pki.ca.keyPem);
  });

  it('seals registry passwords bound to cluster and URL, and keeps a sealed one when a re-run body sends none', async () => {
    const dir = tempDir();
    const store = await openLowdbStore({ dataDir: dir, collections: [clusterPkiCollection] });
    const pki = new ClusterPkiStore(store, SecretBox.forDataDir(dir));
    const withRegistry = (password: string) => ({ ...spec, privateRegistries: [{ url: 'reg.example:5000', user: 'ops', password, cacert: '' }] });
    const sealed = pki.sealRegistryPasswords('prov', withRegistry('hunter2'));
    const stored = sealed.privateRegistries[0]!;
    expect(stored.password).to.match(/^aes256gcm\.v1:/).and.not.include('hunter2');
    expect(pki.registryPassword('prov', stored)).to.equal('hunter2');
    expect(() => pki.registryPassword('other', stored)).to.throw(/cannot be opened/);
    expect(pki.sealRegistryPasswords('prov', sealed).privateRegistries[0]!.password).to.equal(stored.password);
    expect(pki.sealRegistryPasswords('prov', withRegistry(''), sealed).privateRegistries[0]!.password).to.equal(stored.password);
    expect(pki.sealRegistryPasswords('prov', withRegistry('')).privateRegistries[0]!.password).to.equal('');
    await store.close();
  });

  it('refuses a sealed value that was tampered with, moved to another record, or sealed under another key', () => {
    const dir = tempDir();
    const box = SecretBox.forDataDir(dir);
    const sealed = box.seal('secret', 'pki/a/ca');
    expect(box.open(sealed, 'pki/a/ca')).to.equal('secret');
    expect(() => box.open(sealed, 'pki/b/ca')).to.throw(/pki\/b\/ca: cannot be opened/);
    const parts = sealed.split(':');
    parts[3] = Buffer.from('other!').toString('base64');
    expect(() => box.open(parts.join(':'), 'pki/a/ca')).to.throw(/cannot be opened/);
    expect(() => SecretBox.forDataDir(tempDir()).open(sealed, 'pki/a/ca')).to.throw(/cannot be opened/);
  });
});
