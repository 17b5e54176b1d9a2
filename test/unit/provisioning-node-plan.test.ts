import { generateKeyPairSync } from 'node:crypto';
import { expect } from 'chai';
import { ProvisionedClusterInputSchema, type ProvisionedClusterSpec } from '../../src/clusters/provisioning-spec.js';
import { containerSpecHash, withFilesHash } from '../../src/provisioning/containers.js';
import { cgroupParentOf } from '../../src/provisioning/host-facts.js';
import { apiserverProxyConfig, apiserverProxyContainer, controlPlaneContainers, etcdContainer, hostFiles } from '../../src/provisioning/node-plan.js';
import { completeClusterPki } from '../../src/provisioning/pki.js';

const sshKey = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'pkcs1', format: 'pem' } }).privateKey;
const spec = ProvisionedClusterInputSchema.parse({
  nodes: [
    { name: 'cp1', address: '10.209.1.2', roles: ['controlplane', 'etcd'] },
    { name: 'e2', address: '10.209.1.3', roles: ['etcd', 'worker'] },
    { name: 'w1', address: '10.209.1.4', roles: ['worker'] },
  ],
  sshUser: 'zcloud',
  sshKey,
}) as ProvisionedClusterSpec;
const [cp1, e2, w1] = spec.nodes as [ProvisionedClusterSpec['nodes'][number], ProvisionedClusterSpec['nodes'][number], ProvisionedClusterSpec['nodes'][number]];

describe('provisioning node plan', function () {
  this.timeout(20_000);

  it('points every host at 127.0.0.1:6443: controlplanes at their apiserver, the others at a local proxy to every controlplane', async () => {
    const { pki } = await completeClusterPki(spec, undefined);
    const kubeletConfig = (node: typeof cp1) => hostFiles('c', spec, pki, node).find((f) => f.path.endsWith('/kubeconfig-kubelet.yaml'))!.content;
    expect(kubeletConfig(cp1)).to.include('server: https://127.0.0.1:6443');
    expect(kubeletConfig(w1)).to.include('server: https://127.0.0.1:6443');
    const proxyConfig = (node: typeof cp1) => hostFiles('c', spec, pki, node).find((f) => f.path === '/etc/kubernetes/apiserver-proxy/haproxy.cfg')?.content;
    expect(proxyConfig(cp1)).to.equal(undefined);
    expect(proxyConfig(w1)).to.equal(apiserverProxyConfig(spec));
    expect(apiserverProxyConfig(spec)).to.include('    bind 127.0.0.1:6443\n');
    expect(apiserverProxyConfig(spec).split('\n').filter((line) => line.trim().startsWith('server '))).to.deep.equal(['    server cp1 10.209.1.2:6443']);
    // The container follows its configuration: another controlplane list, another spec hash.
    const grown = { ...spec, nodes: [...spec.nodes, { name: 'cp2', address: '10.209.1.9', roles: ['controlplane' as const] }] };
    const proxyHash = (s: typeof spec) => containerSpecHash(withFilesHash(apiserverProxyContainer(), hostFiles('c', s, pki, w1)));
    expect(proxyHash(grown)).not.to.equal(proxyHash(spec));
    expect(proxyHash(spec)).to.equal(proxyHash({ ...spec }));
  });

  it('gives each host only the keys its roles need: CA and service-account keys stay on controlplane hosts', async () => {
    const { pki } = await completeClusterPki(spec, undefined);
    const names = (node: typeof cp1) => hostFiles('c', spec, pki, node).map((f) => f.path.split('/').at(-1));
    expect(names(cp1)).to.include.members(['ca.key', 'service-account.key', 'kube-apiserver.key', 'etcd-cp1.key', 'kubelet-cp1.key']);
    expect(names(w1)).to.have.members(['ca.crt', 'haproxy.cfg', 'kubeconfig-kubelet.yaml', 'kubeconfig-kube-proxy.yaml', 'kubelet-w1.crt', 'kubelet-w1.key']);
    expect(names(e2)).to.include('etcd-e2.key').and.not.include('ca.key');
    for (const file of hostFiles('c', spec, pki, cp1)) if (/\.key$|kubeconfig/.test(file.path)) expect(file.mode).to.equal(0o600);
  });

  it('lists every etcd member in each etcd container, and keeps container specs stable', () => {
    const etcd = etcdContainer(spec, e2);
    expect(etcd.command).to.include('--initial-cluster=etcd-cp1=https://10.209.1.2:2380,etcd-e2=https://10.209.1.3:2380');
    expect(containerSpecHash(etcd)).to.equal(containerSpecHash(etcdContainer(spec, e2)));
    const apiserver = controlPlaneContainers(spec, cp1)[0]!;
    expect(apiserver.command).to.include('--etcd-servers=https://10.209.1.2:2379,https://10.209.1.3:2379');
    expect(apiserver.command).to.include('--service-cluster-ip-range=10.43.0.0/16');
  });

  it('finds the cgroup parent dockerd was given, and none for Docker\'s default or a private cgroup namespace', () => {
    expect(cgroupParentOf('12:pids:/zcloud-h1/abc\n4:memory:/zcloud-h1/abc\n')).to.equal('/zcloud-h1');
    expect(cgroupParentOf('4:memory:/docker/abc\n')).to.equal(undefined);
    expect(cgroupParentOf('0::/\n')).to.equal(undefined);
    expect(cgroupParentOf('0::/kubepods/abc\n')).to.equal('/kubepods');
  });
});
