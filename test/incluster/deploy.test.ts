import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AppsV1Api, CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { expect } from 'chai';
import yaml from 'js-yaml';
import { ADMIN_DEFAULT_SHA1 } from '../../src/users.js';
import { kubectl } from '../helpers/kubectl.js';
import { eventually, testCluster, type TestCluster } from '../helpers/world.js';
import { API, tempDir } from '../helpers/zcloud.js';
import { callZcloud, killStartedProcesses, loginAt, startZcloudProcess, type ZcloudAnswer, type ZcloudProcess } from '../helpers/zcloud-process.js';

/**
 * deploy/ applied to a test cluster, then zcloud run as a process the way its pod would: with
 * the zcloud ServiceAccount's token and CA in a service-account directory and the
 * KUBERNETES_SERVICE_* env the kubelet sets.
 */
describe('in-cluster: deploy/ and the home cluster', function () {
  this.timeout(180_000);
  let cluster: TestCluster;
  let serviceAccountDir: string;
  let inClusterEnv: Record<string, string>;

  before(async () => {
    cluster = await testCluster('incluster-home');
    const built = await kubectl(cluster.kubeconfigPath, ['kustomize', path.resolve('deploy')]);
    // The test world runs Kubernetes 1.20, which serves PodDisruptionBudget only as policy/v1beta1.
    const manifests = built.replace('image: zcloud:latest', 'image: zcloud:test').replace(/apiVersion: policy\/v1\n(kind: PodDisruptionBudget)/, 'apiVersion: policy/v1beta1\n$1');
    await kubectl(cluster.kubeconfigPath, ['apply', '-f', '-'], manifests);
    serviceAccountDir = await writeServiceAccountDir(cluster);
    const server = new URL(cluster.server);
    inClusterEnv = { KUBERNETES_SERVICE_HOST: server.hostname, KUBERNETES_SERVICE_PORT: server.port, ZCLOUD_SERVICE_ACCOUNT_DIR: serviceAccountDir, ZCLOUD_HEALTH_INTERVAL: '1s' };
  });
  after(async () => {
    await killStartedProcesses();
    await cluster?.destroy();
  });

  it('applies a Deployment that runs non-root on a read-only root filesystem with probes and limits', async () => {
    const deployment = await cluster.kc.makeApiClient(AppsV1Api).readNamespacedDeployment({ name: 'zcloud', namespace: 'zcloud' });
    const pod = deployment.spec!.template.spec!;
    const container = pod.containers[0]!;
    expect(pod.serviceAccountName).to.equal('zcloud');
    expect(pod.securityContext?.runAsNonRoot).to.equal(true);
    expect(container.securityContext?.readOnlyRootFilesystem).to.equal(true);
    expect(container.securityContext?.allowPrivilegeEscalation).to.equal(false);
    expect(container.readinessProbe?.httpGet?.path).to.equal('/readyz');
    expect(container.livenessProbe?.httpGet?.path).to.equal('/healthz');
    expect(container.resources?.limits).to.include.keys('cpu', 'memory');
    expect(container.resources?.requests).to.include.keys('cpu', 'memory');
  });

  it('builds, with the replicated component, three replicas on the kubernetes store and no PVC', async () => {
    const overlay = tempDir();
    const deploy = path.relative(overlay, path.resolve('deploy'));
    writeFileSync(path.join(overlay, 'kustomization.yaml'), `resources: [${deploy}]\ncomponents: [${deploy}/components/replicated]\n`);
    const objects = yaml.loadAll(await kubectl(cluster.kubeconfigPath, ['kustomize', overlay])) as { kind: string; spec?: any }[];
    expect(objects.map((o) => o.kind)).to.not.include('PersistentVolumeClaim');
    const deployment = objects.find((o) => o.kind === 'Deployment')!;
    expect(deployment.spec.replicas).to.equal(3);
    const container = deployment.spec.template.spec.containers[0];
    expect(container.env).to.deep.include({ name: 'ZCLOUD_STORE', value: 'kubernetes' });
    expect(deployment.spec.template.spec.volumes).to.deep.include({ name: 'data', emptyDir: {} });
  });

  it('registers the cluster it runs in as `local` and serves it with only the ServiceAccount\'s rights', async () => {
    const zcloud = await startZcloudProcess({ env: { ZCLOUD_DATA_DIR: tempDir(), ...inClusterEnv } });
    const admin = await login(zcloud);
    const local = await eventually(
      async () => {
        const res = await get(zcloud, admin, `${API}/clusters/local`);
        expect(res.status, JSON.stringify(res.body)).to.equal(200);
        expect(res.body.status).to.equal('Running');
        return res.body;
      },
      { within: 30_000, interval: 250 },
    );
    expect(local.nodeCount).to.equal(cluster.nodeNames.length);
    // Reads from the cache: the namespace deploy/ made is there.
    const namespaces = await get(zcloud, admin, `${API}/clusters/local/namespaces`);
    expect(namespaces.body.data.map((n: { name: string }) => n.name)).to.include('zcloud');
    // A write through the API reaches the apiserver with the ServiceAccount's rights.
    const created = await fetch(`${zcloud.url}${API}/clusters/local/namespaces`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'made-in-cluster' }),
    });
    expect(created.status, await created.text()).to.equal(201);
    await cluster.kc.makeApiClient(CoreV1Api).readNamespace({ name: 'made-in-cluster' });
    // On attach zcloud installs the Application CRD (create on customresourcedefinitions).
    await eventually(async () => expect((await get(zcloud, admin, `${API}/clusters/local/namespaces/zcloud/applications`)).status).to.equal(200), { within: 20_000, interval: 250 });
    // Every informer listed and watched, every write allowed: nothing was refused.
    expect(zcloud.stdout()).to.not.match(/forbidden|\b403\b/i);
    // Handing out a kubeconfig for the home cluster gives file paths, never the token itself.
    const kubeconfig = await fetch(`${zcloud.url}${API}/clusters/local?action=getkubeconfig`, { method: 'POST', headers: { authorization: `Bearer ${admin}` } });
    const handedOut = (await kubeconfig.json()) as { config: string };
    expect(handedOut.config).to.include(path.join(serviceAccountDir, 'token')).and.not.include(await tokenOf(cluster));
    await zcloud.stop();
  });

  it('keeps its state as zcloud.cn objects in its namespace with only the ServiceAccount\'s rights (ZCLOUD_STORE=kubernetes)', async () => {
    const zcloud = await startZcloudProcess({ env: { ZCLOUD_DATA_DIR: tempDir(), ZCLOUD_STORE: 'kubernetes', ...inClusterEnv } });
    const admin = await login(zcloud);
    await eventually(async () => expect((await get(zcloud, admin, `${API}/clusters/local`)).body.status).to.equal('Running'), { within: 30_000, interval: 250 });
    const objects = cluster.kc.makeApiClient(CustomObjectsApi);
    const clusters = (await objects.listNamespacedCustomObject({ group: 'zcloud.cn', version: 'v1', namespace: 'zcloud', plural: 'clusters' })) as { items: { metadata: { name: string }; spec: unknown }[] };
    expect(clusters.items.map((c) => c.metadata.name)).to.deep.equal(['local']);
    expect(clusters.items[0]!.spec).to.deep.include({ source: { kind: 'in-cluster' } });
    expect(zcloud.stdout()).to.not.match(/forbidden|\b403\b/i);
    await zcloud.stop();
  });

  it('registers nothing with ZCLOUD_HOME_CLUSTER=off', async () => {
    const zcloud = await startZcloudProcess({ env: { ZCLOUD_DATA_DIR: tempDir(), ZCLOUD_HOME_CLUSTER: 'off', ...inClusterEnv } });
    const admin = await login(zcloud);
    expect((await get(zcloud, admin, `${API}/clusters/local`)).status).to.equal(404);
    expect((await get(zcloud, admin, `${API}/clusters`)).body.data).to.deep.equal([]);
    await zcloud.stop();
  });

  it('registers it under ZCLOUD_HOME_CLUSTER_NAME, once across restarts', async () => {
    const dataDir = tempDir();
    const env = { ZCLOUD_DATA_DIR: dataDir, ZCLOUD_HOME_CLUSTER_NAME: 'home', ...inClusterEnv };
    for (let start = 0; start < 2; start++) {
      const zcloud = await startZcloudProcess({ env });
      const admin = await login(zcloud);
      await eventually(async () => expect((await get(zcloud, admin, `${API}/clusters/home`)).body.status).to.equal('Running'), { within: 30_000, interval: 250 });
      expect((await get(zcloud, admin, `${API}/clusters`)).body.data.map((c: { name: string }) => c.name)).to.deep.equal(['home']);
      await zcloud.stop();
    }
  });
});

async function tokenOf(cluster: TestCluster): Promise<string> {
  const core = cluster.kc.makeApiClient(CoreV1Api);
  // Kubernetes 1.20's token controller makes one token secret per ServiceAccount.
  const account = await eventually(async () => {
    const sa = await core.readNamespacedServiceAccount({ name: 'zcloud', namespace: 'zcloud' });
    if (!sa.secrets?.[0]?.name) throw new Error('ServiceAccount zcloud/zcloud has no token secret yet');
    return sa;
  }, { within: 20_000 });
  const secret = await core.readNamespacedSecret({ name: account.secrets![0]!.name!, namespace: 'zcloud' });
  return Buffer.from(secret.data!.token!, 'base64').toString('utf8');
}

/** What the kubelet mounts at /var/run/secrets/kubernetes.io/serviceaccount for a zcloud pod. */
async function writeServiceAccountDir(cluster: TestCluster): Promise<string> {
  const dir = path.join(tempDir(), 'serviceaccount');
  mkdirSync(dir);
  const token = await tokenOf(cluster);
  const core = cluster.kc.makeApiClient(CoreV1Api);
  const account = await core.readNamespacedServiceAccount({ name: 'zcloud', namespace: 'zcloud' });
  const secret = await core.readNamespacedSecret({ name: account.secrets![0]!.name!, namespace: 'zcloud' });
  writeFileSync(path.join(dir, 'token'), token, { mode: 0o600 });
  writeFileSync(path.join(dir, 'ca.crt'), Buffer.from(secret.data!['ca.crt']!, 'base64'));
  writeFileSync(path.join(dir, 'namespace'), 'zcloud');
  return dir;
}

function login(zcloud: ZcloudProcess): Promise<string> {
  return loginAt(zcloud.url, 'admin', ADMIN_DEFAULT_SHA1);
}

function get(zcloud: ZcloudProcess, token: string, urlPath: string): Promise<ZcloudAnswer> {
  return callZcloud(zcloud.url, 'GET', urlPath, token);
}
