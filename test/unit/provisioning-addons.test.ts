import { generateKeyPairSync } from 'node:crypto';
import { expect } from 'chai';
import { ProvisionedClusterInputSchema, type ProvisionedClusterSpec } from '../../src/clusters/provisioning-spec.js';
import { addonObjects, corefile } from '../../src/provisioning/addons.js';
import { manifestPath } from '../../src/provisioning/cluster-apply.js';
import { nodeLabelObject, nodeRoleTaints, rbacObjects, withTaints } from '../../src/provisioning/cluster-objects.js';
import { imageReference } from '../../src/provisioning/images.js';
import { kubeProxyContainer } from '../../src/provisioning/node-plan.js';

const sshKey = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'pkcs1', format: 'pem' } }).privateKey;
const parse = (more: Record<string, unknown> = {}) =>
  ProvisionedClusterInputSchema.parse({
    nodes: [
      { name: 'cp1', address: '10.209.1.2', roles: ['controlplane', 'etcd'] },
      { name: 'w1', address: '10.209.1.3', roles: ['worker'] },
      { name: 'edge1', address: '10.209.1.4', roles: ['worker', 'edge'] },
      { name: 'e1', address: '10.209.1.5', roles: ['etcd'] },
    ],
    sshUser: 'zcloud',
    sshKey,
    ...more,
  }) as ProvisionedClusterSpec;
const spec = parse({ clusterCidr: '10.50.0.0/16', serviceCidr: '10.60.0.0/16', clusterDNSServiceIP: '10.60.0.53', clusterDomain: 'zone.local', clusterUpstreamDNS: ['192.0.2.1', '192.0.2.2'], network: { plugin: 'flannel', iface: 'eth1' } });
const [cp1, w1, edge1, e1] = spec.nodes as [ProvisionedClusterSpec['nodes'][number], ProvisionedClusterSpec['nodes'][number], ProvisionedClusterSpec['nodes'][number], ProvisionedClusterSpec['nodes'][number]];

type Obj = ReturnType<typeof addonObjects>[number] & { spec?: any; data?: any };
const find = (objects: Obj[], kind: string, name: string): Obj => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name}`);
  return found;
};

describe('provisioning cluster objects and add-ons', () => {
  it('labels every node with its roles, taints controlplane and etcd nodes that are not workers', () => {
    expect(nodeLabelObject(edge1).metadata.labels).to.deep.equal({ 'node-role.kubernetes.io/worker': 'true', 'node-role.kubernetes.io/edge': 'true' });
    expect(nodeRoleTaints(cp1)).to.deep.equal([
      { key: 'node-role.kubernetes.io/controlplane', value: 'true', effect: 'NoSchedule' },
      { key: 'node-role.kubernetes.io/etcd', value: 'true', effect: 'NoExecute' },
    ]);
    expect(nodeRoleTaints(e1)).to.deep.equal([{ key: 'node-role.kubernetes.io/etcd', value: 'true', effect: 'NoExecute' }]);
    expect(nodeRoleTaints(w1)).to.deep.equal([]);
    expect(nodeRoleTaints({ ...cp1, roles: ['controlplane', 'worker'] })).to.deep.equal([]);
  });

  it('adds only missing taints and keeps the others; nothing to write when all are there', () => {
    const notReady = { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' as const };
    const wanted = nodeRoleTaints(cp1);
    expect(withTaints([notReady], wanted)).to.deep.equal([notReady, ...wanted]);
    expect(withTaints([notReady, ...wanted], wanted)).to.equal(undefined);
  });

  it('binds the apiserver\'s kubelet client and kube-proxy to their roles', () => {
    const bindings = rbacObjects().map((o) => [(o as Obj & { roleRef: { name: string } }).roleRef.name, (o as Obj & { subjects: { name: string }[] }).subjects[0]!.name]);
    expect(bindings).to.deep.equal([
      ['system:kubelet-api-admin', 'kube-apiserver-kubelet-client'],
      ['system:node-proxier', 'system:kube-proxy'],
    ]);
  });

  it('configures flannel with the cluster CIDR and the interface, CoreDNS with the DNS IP, domain and upstreams, ingress on edge nodes', () => {
    const objects = addonObjects(spec) as Obj[];
    expect(JSON.parse(find(objects, 'ConfigMap', 'kube-flannel-cfg').data['net-conf.json'])).to.deep.equal({ Network: '10.50.0.0/16', Backend: { Type: 'host-gw' } });
    const flanneld = find(objects, 'DaemonSet', 'kube-flannel').spec.template.spec.containers[0];
    expect(flanneld.args).to.include('--iface=eth1');
    expect(flanneld.image).to.equal(imageReference('flannel'));
    expect(find(objects, 'Service', 'kube-dns').spec.clusterIP).to.equal('10.60.0.53');
    const core = find(objects, 'ConfigMap', 'coredns').data.Corefile as string;
    expect(core).to.include('kubernetes zone.local in-addr.arpa ip6.arpa {');
    expect(core).to.include('forward . 192.0.2.1 192.0.2.2');
    expect(corefile(parse())).to.include('forward . /etc/resolv.conf');
    const ingress = find(objects, 'DaemonSet', 'nginx-ingress-controller').spec.template.spec;
    expect(ingress.nodeSelector).to.deep.equal({ 'node-role.kubernetes.io/edge': 'true' });
    expect(ingress.hostNetwork).to.equal(true);
    // Namespaces come before the objects in them.
    const namespaceAt = objects.findIndex((o) => o.kind === 'Namespace' && o.metadata.name === 'ingress-nginx');
    expect(namespaceAt).to.be.lessThan(objects.findIndex((o) => o.metadata.namespace === 'ingress-nginx'));
  });

  it('finds the REST path of every object it applies', () => {
    expect(manifestPath(find(addonObjects(spec) as Obj[], 'Service', 'kube-dns'))).to.equal('/api/v1/namespaces/kube-system/services/kube-dns');
    expect(manifestPath(find(addonObjects(spec) as Obj[], 'DaemonSet', 'nginx-ingress-controller'))).to.equal('/apis/apps/v1/namespaces/ingress-nginx/daemonsets/nginx-ingress-controller');
    expect(manifestPath(nodeLabelObject(w1))).to.equal('/api/v1/nodes/w1');
    expect(manifestPath(rbacObjects()[0]!)).to.equal('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/zcloud:kube-apiserver-kubelet-api-admin');
    for (const object of [...addonObjects(spec), ...rbacObjects()]) expect(() => manifestPath(object)).not.to.throw();
  });

  it('runs kube-proxy in iptables mode with the cluster CIDR, leaving conntrack sysctls to the host', () => {
    const proxy = kubeProxyContainer(spec, w1);
    expect(proxy.command).to.include.members(['--proxy-mode=iptables', '--cluster-cidr=10.50.0.0/16', '--hostname-override=w1', '--conntrack-max-per-core=0']);
    expect(proxy.image).to.equal(imageReference('kube-proxy'));
  });
});
