import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { expect } from 'chai';
import { ADMIN_DEFAULT_SHA1 } from '../../src/users.js';
import { kubectl } from '../helpers/kubectl.js';
import { eventually, freshNamespace, sharedTestCluster, testCluster, type TestCluster } from '../helpers/world.js';
import { API, sha1, startTestZcloud, tempDir, type TestZcloud } from '../helpers/zcloud.js';
import { callZcloud as call, killStartedProcesses, loginAt as login, startZcloudProcess } from '../helpers/zcloud-process.js';

/** `kubectl get clusters.zcloud.cn,userquotas.zcloud.cn` shows what zcloud's reconcilers observed. */
describe('zcloud.cn objects: printer columns and status', function () {
  this.timeout(240_000);
  let cluster: TestCluster;
  let inProcess: TestZcloud | undefined;

  /** A user asks for `ns`, the admin approves it on `clusterName`. */
  const requestAndApprove = async (url: string, user: string, ns: string, clusterName: string) => {
    const admin = await login(url, 'admin', ADMIN_DEFAULT_SHA1);
    expect((await call(url, 'POST', `${API}/users`, admin, { name: user, password: sha1(`${user}-pass`), projects: [] })).status).to.equal(201);
    const token = await login(url, user, sha1(`${user}-pass`));
    expect((await call(url, 'POST', `${API}/userquotas`, token, { namespace: ns, cpu: '1', memory: '1Gi', storage: '1Gi', purpose: 'p', requestor: user, telephone: '1' })).status).to.equal(201);
    const approved = await call(url, 'POST', `${API}/userquotas/${ns}?action=approval`, admin, { clusterName });
    expect(approved.status, approved.text).to.equal(200);
  };
  /** The rows of `kubectl get <resource> -n <namespace>`, split into columns. */
  const rows = async (resource: string, namespace: string): Promise<string[][]> =>
    (await kubectl(cluster.kubeconfigPath, ['get', resource, '-n', namespace])).trim().split('\n').map((line) => line.trim().split(/\s+/));

  before(async () => {
    cluster = await testCluster(sharedTestCluster);
  });
  afterEach(async () => {
    await inProcess?.close();
    inProcess = undefined;
    await killStartedProcesses();
  });

  it('on the kubernetes store: the status subresource of the records, written by the reconcilers', async () => {
    const namespace = await freshNamespace(cluster.kc, 'status');
    inProcess = await startTestZcloud({ env: { ZCLOUD_STORE: 'kubernetes', ZCLOUD_STORE_KUBECONFIG: cluster.kubeconfigPath, ZCLOUD_STORE_NAMESPACE: namespace, ZCLOUD_HEALTH_INTERVAL: '1s' } });
    const admin = await inProcess.adminToken();
    expect((await inProcess.request('POST', `${API}/clusters`, { token: admin, body: { name: 'east', kubeconfig: cluster.kubeconfig } })).status).to.equal(201);
    await eventually(async () => {
      const [header, east] = await rows('clusters.zcloud.cn', namespace);
      expect(header).to.deep.equal(['NAME', 'STATUS', 'VERSION', 'NODES', 'AGE']);
      expect(east!.slice(0, 4)).to.deep.equal(['east', 'Running', 'v1.20.2', String(cluster.nodeNames.length)]);
    }, { within: 30_000, interval: 500 });
    await requestAndApprove(inProcess.url, 'eve', 'team-eve', 'east');
    await eventually(async () => {
      const [header, quota] = await rows('userquotas.zcloud.cn', namespace);
      expect(header).to.deep.equal(['NAME', 'REQUESTER', 'CLUSTER', 'NAMESPACE', 'STATUS', 'APPLIED', 'AGE']);
      expect(quota!.slice(0, 6)).to.deep.equal(['team-eve', 'eve', 'east', 'team-eve', 'approval', 'true']);
    }, { within: 30_000, interval: 500 });
  });

  it('on the file store in a pod: mirrors of the home cluster and quota requests, without secrets', async () => {
    const namespace = await freshNamespace(cluster.kc, 'mirror');
    const serviceAccountDir = await adminServiceAccountDir(cluster, namespace);
    const server = new URL(cluster.server);
    const zcloud = await startZcloudProcess({
      env: { ZCLOUD_DATA_DIR: tempDir(), KUBERNETES_SERVICE_HOST: server.hostname, KUBERNETES_SERVICE_PORT: server.port, ZCLOUD_SERVICE_ACCOUNT_DIR: serviceAccountDir, ZCLOUD_HEALTH_INTERVAL: '1s' },
    });
    await eventually(async () => {
      const [, local] = await rows('clusters.zcloud.cn', namespace);
      expect(local!.slice(0, 4)).to.deep.equal(['local', 'Running', 'v1.20.2', String(cluster.nodeNames.length)]);
    }, { within: 30_000, interval: 500 });
    await requestAndApprove(zcloud.url, 'fay', 'team-fay', 'local');
    await eventually(async () => {
      const [, quota] = await rows('userquotas.zcloud.cn', namespace);
      expect(quota!.slice(0, 6)).to.deep.equal(['team-fay', 'fay', 'local', 'team-fay', 'approval', 'true']);
    }, { within: 30_000, interval: 500 });
    const mirrored = await kubectl(cluster.kubeconfigPath, ['get', 'clusters.zcloud.cn,userquotas.zcloud.cn', '-n', namespace, '-o', 'json']);
    expect(mirrored).to.not.include('token').and.not.include('kubeconfig').and.not.include('credential');
  });
});

/** A service-account directory as the kubelet mounts it, for an account bound to cluster-admin in `namespace`. */
async function adminServiceAccountDir(cluster: TestCluster, namespace: string): Promise<string> {
  const core = cluster.kc.makeApiClient(CoreV1Api);
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'zcloud' } } });
  await cluster.kc.makeApiClient(RbacAuthorizationV1Api).createClusterRoleBinding({
    body: {
      metadata: { name: `zcloud-${namespace}` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'ServiceAccount', name: 'zcloud', namespace }],
    },
  });
  const secretName = await eventually(async () => {
    const account = await core.readNamespacedServiceAccount({ name: 'zcloud', namespace });
    if (!account.secrets?.[0]?.name) throw new Error('no token secret yet');
    return account.secrets[0].name;
  }, { within: 20_000 });
  const secret = await core.readNamespacedSecret({ name: secretName, namespace });
  const dir = path.join(tempDir(), 'serviceaccount');
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'token'), Buffer.from(secret.data!.token!, 'base64'));
  writeFileSync(path.join(dir, 'ca.crt'), Buffer.from(secret.data!['ca.crt']!, 'base64'));
  writeFileSync(path.join(dir, 'namespace'), namespace);
  return dir;
}
