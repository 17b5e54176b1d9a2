import { expect } from 'chai';
import { ProvisionedClusterInputSchema } from '../../src/clusters/provisioning-spec.js';
import { hostCleanupCommand, zcloudHostPaths } from '../../src/provisioning/host-cleanup.js';
import { generateKeyPairSync } from 'node:crypto';

const sshKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1', privateKeyEncoding: { type: 'sec1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } }).privateKey;
const spec = ProvisionedClusterInputSchema.parse({
  nodes: [{ name: 'a', address: '10.209.1.11', roles: ['controlplane', 'etcd', 'worker'] }],
  sshUser: 'zcloud',
  sshKey,
  privateRegistries: [{ url: 'https://reg.example:5000', user: 'u', password: 'p', cacert: 'PEM' }, { url: 'plain.example', user: '', password: '', cacert: '' }],
});

describe('provisioning host cleanup (pure)', () => {
  it('removes the cluster\'s own files only: the registry CA dirs it wrote, its snapshots by name; empties data directories through their own binds', () => {
    const { binds, script } = hostCleanupCommand(zcloudHostPaths('c1', spec));
    expect(script).to.include("rm -rf '/host/etc/docker/certs.d/reg.example:5000'");
    expect(script).not.to.include('plain.example');
    expect(script).to.include("-name 'c1-*.db*'");
    expect(script).to.include("find '/host/var/lib/kubelet' -mindepth 1 -maxdepth 1 -exec rm -rf {} +");
    expect(script).to.include("rmdir '/host/opt/zcloud' 2>/dev/null || true");
    // Paths that go whole are reached through directories every host has: the cleanup makes none.
    expect(binds.sort()).to.deep.equal(['/etc:/host/etc', '/opt:/host/opt', '/var/lib/cni:/host/var/lib/cni', '/var/lib/dockershim:/host/var/lib/dockershim', '/var/lib/etcd:/host/var/lib/etcd', '/var/lib/kubelet:/host/var/lib/kubelet:rshared', '/var/log:/host/var/log']);
  });
});
