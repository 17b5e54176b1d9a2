import { CoreV1Api } from '@kubernetes/client-node';
import { expect } from 'chai';
import { eventually, sharedTestCluster, testCluster, type TestCluster, type TestClusterOptions } from './world.js';
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
  /**
   * Stops zcloud. A suite's own cluster is then destroyed; on the shared cluster, the
   * namespaces the suite made are deleted instead.
   */
  close(): Promise<void>;
}

export interface ImportOptions {
  /**
   * The suite needs particular nodes or leaves the cluster changed for others (a component
   * stopped outside a `finally` that starts it again, the cluster filled, ...): it gets a
   * cluster of its own, destroyed by `close`. Implied by `cluster`.
   */
  ownCluster?: boolean;
  cluster?: TestClusterOptions;
  zcloud?: TestZcloudOptions;
}


/**
 * Starts zcloud and imports a real test cluster through the API under `name`, as an operator
 * would, then waits until it is Running. The cluster is the shared one unless the suite asks
 * for its own. Call `close` in `after`.
 */
export async function importedCluster(name: string, options: ImportOptions = {}): Promise<ImportedCluster> {
  const own = options.ownCluster === true || options.cluster !== undefined;
  const cluster = await testCluster(own ? name : sharedTestCluster, options.cluster);
  const namespacesBefore = own ? new Set<string>() : await namespaceNames(cluster);
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
        if (own) await cluster.destroy();
        else await deleteNamespacesSince(cluster, namespacesBefore);
      }
    },
  };
}

async function namespaceNames(cluster: TestCluster): Promise<Set<string>> {
  const list = await cluster.kc.makeApiClient(CoreV1Api).listNamespace();
  return new Set(list.items.map((ns) => ns.metadata!.name!));
}

/**
 * Deletes the namespaces a suite made on the shared cluster, so later suites do not carry
 * its pods. Not awaited to the end: the namespace controller finishes in the background.
 */
async function deleteNamespacesSince(cluster: TestCluster, before: Set<string>): Promise<void> {
  const core = cluster.kc.makeApiClient(CoreV1Api);
  for (const name of await namespaceNames(cluster)) {
    if (!before.has(name)) await core.deleteNamespace({ name }).catch(() => undefined);
  }
}
