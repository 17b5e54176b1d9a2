import { expect } from 'chai';
import { eventually, testCluster, type TestCluster, type TestClusterOptions } from './world.js';
import { API, sha1, startTestZcloud, type HttpResult, type RequestOptions, type TestZcloud, type TestZcloudOptions } from './zcloud.js';

/** A zcloud with one real test cluster imported and Running: what most resource suites need. */
export interface ImportedCluster {
  zcloud: TestZcloud;
  cluster: TestCluster;
  /** admin's zcloud.cn token */
  admin: string;
  /** `/apis/zcloud.cn/v1/clusters/<name>` */
  clusterPath: string;
  /** `/apis/zcloud.cn/v1/clusters/<name>/namespaces/<ns>` */
  nsPath(namespace: string): string;
  /** A request as admin (or as `token`). */
  api<T = any>(method: string, path: string, options?: RequestOptions): Promise<HttpResult<T>>;
  /** Creates a normal user with these projects and returns its token. */
  userWith(name: string, projects: Array<{ cluster?: string; namespace: string }>): Promise<string>;
  /** Stops zcloud, then destroys the test cluster: a suite's cluster lives only as long as the suite. */
  close(): Promise<void>;
}

export interface ImportOptions {
  cluster?: TestClusterOptions;
  zcloud?: TestZcloudOptions;
}

/**
 * Starts (or reuses) test cluster `name`, starts zcloud and imports the cluster through the API
 * as an operator would, then waits until it is Running. Call `close` in `after`: it also
 * destroys the cluster, so a full test run never keeps more clusters than suites running.
 */
export async function importedCluster(name: string, options: ImportOptions = {}): Promise<ImportedCluster> {
  const cluster = await testCluster(name, options.cluster);
  const zcloud = await startTestZcloud({
    ...options.zcloud,
    env: { ZCLOUD_HEALTH_INTERVAL: '1s', ...options.zcloud?.env },
  });
  const admin = await zcloud.adminToken();
  const clusterPath = `${API}/clusters/${name}`;
  const created = await zcloud.request('POST', `${API}/clusters`, { token: admin, body: { name, kubeconfig: cluster.kubeconfig } });
  expect(created.status, created.text).to.equal(201);
  await eventually(async () => expect((await zcloud.request('GET', clusterPath, { token: admin })).body.status).to.equal('Running'), {
    within: 30_000,
    interval: 200,
  });
  return {
    zcloud,
    cluster,
    admin,
    clusterPath,
    nsPath: (namespace) => `${clusterPath}/namespaces/${namespace}`,
    api: (method, path, opts = {}) => zcloud.request(method, path, { token: admin, ...opts }),
    async userWith(user, projects) {
      const res = await zcloud.request('POST', `${API}/users`, {
        token: admin,
        body: { name: user, password: sha1(`${user}-pw`), projects: projects.map((p) => ({ cluster: p.cluster ?? name, namespace: p.namespace })) },
      });
      expect(res.status, res.text).to.equal(201);
      return zcloud.login(user, sha1(`${user}-pw`));
    },
    async close() {
      try {
        await zcloud.close();
      } finally {
        await cluster.destroy();
      }
    },
  };
}
