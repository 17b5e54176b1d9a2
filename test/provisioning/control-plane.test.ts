import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { expect } from 'chai';
import { ProvisionedClusterInputSchema, type ProvisionedClusterSpec } from '../../src/clusters/provisioning-spec.js';
import { clusterContainers, ensureContainer, writeHostFiles, type DockerCallOptions } from '../../src/provisioning/containers.js';
import { connectHost, type HostConnection } from '../../src/provisioning/host-connection.js';
import { imageReference } from '../../src/provisioning/images.js';
import { adminKubeconfig } from '../../src/provisioning/kubeconfig.js';
import { observeHostFacts } from '../../src/provisioning/host-facts.js';
import { controlPlaneContainers, etcdContainer, hostFiles, KUBE_DIR, kubeletContainer } from '../../src/provisioning/node-plan.js';
import { completeClusterPki, type ClusterPki } from '../../src/provisioning/pki.js';
import { ensurePodNetwork } from '../../src/provisioning/pod-network.js';
import { destroyHosts, signalHostSetOnExit, upHosts, type HostSetInfo } from '../../scripts/testenv/hosts/host-set.js';
import { hostCgroupParent } from '../../scripts/testenv/hosts/dockerd.js';
import { eventually } from '../helpers/world.js';

const setName = 'prov-cp';
signalHostSetOnExit(setName);

/**
 * The provisioning steps' building blocks on a real host, in order: files from zcloud's PKI,
 * etcd, then kube-apiserver, controller-manager and scheduler, then the kubelet; the apiserver
 * answers zcloud's admin credentials, the host becomes a Ready node, and a second pass changes
 * nothing. (The reconciler that will drive these steps from a journal is not built yet.)
 */
describe('provisioning: control plane on a real host', function () {
  this.timeout(300_000);
  let set: HostSetInfo;
  let spec: ProvisionedClusterSpec;
  let pki: ClusterPki;
  let connection: HostConnection | undefined;
  let docker: DockerCallOptions;

  before(async () => {
    await destroyHosts(setName);
    set = await upHosts(setName, { count: 1 });
    const host = set.hosts.nodes[0]!;
    spec = ProvisionedClusterInputSchema.parse({
      nodes: [{ name: host.name, address: host.address, roles: ['controlplane', 'etcd', 'worker'] }],
      sshUser: set.hosts.sshUser,
      sshKey: set.hosts.sshKey,
    }) as ProvisionedClusterSpec;
    pki = (await completeClusterPki(spec, undefined)).pki;
    connection = await connectHost(
      { name: host.name, address: host.address, port: host.sshPort, user: spec.sshUser, privateKey: spec.sshKey },
      { dockerSocket: spec.dockerSocket, timeoutMs: 30_000 },
    );
    docker = { cluster: 'prov', host: host.name, timeoutMs: 60_000 };
  });

  after(async function () {
    this.timeout(120_000);
    try {
      await connection?.close();
    } finally {
      await destroyHosts(setName);
    }
  });

  function adminCore(): CoreV1Api {
    const kc = new KubeConfig();
    kc.loadFromString(adminKubeconfig('prov', `https://${spec.nodes[0]!.address}:6443`, pki));
    return kc.makeApiClient(CoreV1Api);
  }

  async function applyControlPlane(): Promise<string[]> {
    const node = spec.nodes[0]!;
    await writeHostFiles(connection!.docker, imageReference('base'), KUBE_DIR, hostFiles('prov', spec, pki, node), docker);
    const outcomes: string[] = [];
    for (const container of [etcdContainer(spec, node), ...controlPlaneContainers(spec, node)]) {
      outcomes.push(`${container.name}:${await ensureContainer(connection!.docker, container, docker)}`);
    }
    return outcomes;
  }

  it('runs etcd and the control plane from zcloud\'s PKI; the apiserver answers the admin kubeconfig zcloud builds', async () => {
    expect(await applyControlPlane()).to.deep.equal(['etcd:created', 'kube-apiserver:created', 'kube-controller-manager:created', 'kube-scheduler:created']);
    const core = adminCore();
    await eventually(async () => {
      const namespaces = await core.listNamespace();
      expect(namespaces.items.map((ns) => ns.metadata?.name)).to.include('kube-system');
    }, { within: 150_000, interval: 2_000 });
    // The controller-manager is up with its own credentials: it creates the root CA ConfigMap in every namespace.
    await eventually(async () => {
      const configMap = await core.readNamespacedConfigMap({ name: 'kube-root-ca.crt', namespace: 'default' });
      expect(configMap.data?.['ca.crt']).to.equal(pki.ca.certPem);
    }, { within: 120_000, interval: 2_000 });
  });

  it('runs the kubelet with the host\'s observed Docker facts and its pod network: the host becomes a Ready node with zcloud\'s credentials', async () => {
    const node = spec.nodes[0]!;
    const facts = await observeHostFacts(connection!.docker, docker);
    // The test world's dockerd puts containers under /zcloud-<host> (docs/test-world.md).
    expect(facts.cgroupParent).to.equal(`/${hostCgroupParent(node.name)}`);
    expect(await ensureContainer(connection!.docker, kubeletContainer(spec, node, facts), docker)).to.equal('created');
    // The kubelet is on CNI: the node is Ready once its pod network (on the podCIDR it is given) is in place.
    let podCidr = '';
    await eventually(async () => {
      podCidr = (await adminCore().readNode({ name: node.name })).spec?.podCIDR ?? '';
      expect(podCidr).to.not.equal('');
    }, { within: 180_000, interval: 2_000 });
    await ensurePodNetwork(connection!.docker, spec, { name: node.name, address: node.address, podCidr }, [], docker);
    await eventually(async () => {
      const registered = await adminCore().readNode({ name: node.name });
      expect(registered.status?.conditions?.find((c) => c.type === 'Ready')?.status).to.equal('True');
      expect(registered.status?.addresses?.find((a) => a.type === 'InternalIP')?.address).to.equal(node.address);
    }, { within: 180_000, interval: 2_000 });
  });

  it('changes nothing on a second pass, labels every container, and puts no key in any container\'s config', async () => {
    expect(await applyControlPlane()).to.deep.equal(['etcd:unchanged', 'kube-apiserver:unchanged', 'kube-controller-manager:unchanged', 'kube-scheduler:unchanged']);
    const facts = await observeHostFacts(connection!.docker, docker);
    expect(await ensureContainer(connection!.docker, kubeletContainer(spec, spec.nodes[0]!, facts), docker)).to.equal('unchanged');
    // The probe and file-writing helpers are gone: only the cluster's components remain.
    expect(await clusterContainers(connection!.docker, docker)).to.deep.equal(['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubelet']);
    for (const name of ['etcd', 'kube-apiserver', 'kubelet']) {
      const inspected = JSON.stringify(await connection!.docker.getContainer(name).inspect());
      expect(inspected).not.to.include('PRIVATE KEY');
    }
  });
});
