import { CoreV1Api } from '@kubernetes/client-node';
import { expect } from 'chai';
import { KubeHttp } from '../../src/kube/kube-http.js';
import { importedCluster, type ImportedCluster } from '../helpers/imported.js';
import { testCluster } from '../helpers/world.js';

const NAME = 'zc-scale';
const COUNT = 20_000;

/** Creates `count` small ConfigMaps in `namespace`, `parallel` requests at a time. */
async function createConfigMaps(http: KubeHttp, namespace: string, count: number, parallel: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      await http.request('POST', `/api/v1/namespaces/${namespace}/configmaps`, {
        body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}` }, data: { index: String(i) } },
      });
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

describe('clusters: a cache of 20k objects', function () {
  this.timeout(600_000);
  let env: ImportedCluster;

  before(async () => {
    const cluster = await testCluster(NAME);
    await cluster.kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: 'bulk' } } });
    const http = KubeHttp.fromYaml(cluster.kubeconfig);
    const started = Date.now();
    try {
      await createConfigMaps(http, 'bulk', COUNT, 32);
    } finally {
      http.close();
    }
    console.log(`      created ${COUNT} ConfigMaps in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    // Imported after the objects exist: the first LIST arrives in pages of 500.
    env = await importedCluster(NAME, { ownCluster: true });
  });
  after(() => env?.close());

  it('holds all of them after a paginated first LIST and lists them through the API', async () => {
    const informer = env.zcloud.running.services.clusters.get(NAME)!.cache.informer('configmaps')!;
    const ours = (names: string[]): string[] => names.filter((n) => n.startsWith('cm-'));
    // The controller-manager also publishes kube-root-ca.crt into every namespace.
    expect(ours(informer.store.listNamespace('bulk').map((c) => c.metadata.name))).to.have.length(COUNT);
    const started = performance.now();
    const res = await env.api('GET', `${env.nsPath('bulk')}/configmaps`);
    const ms = performance.now() - started;
    console.log(`      listed ${res.body.data.length} ConfigMaps through zcloud in ${ms.toFixed(0)} ms`);
    expect(res.status).to.equal(200);
    const names = new Set(ours(res.body.data.map((c: { id: string }) => c.id)));
    expect(names.size).to.equal(COUNT);
    expect(names.has('cm-0') && names.has(`cm-${COUNT - 1}`)).to.equal(true);
    const one = res.body.data.find((c: { id: string }) => c.id === 'cm-12345');
    expect(one.configs).to.deep.equal([{ name: 'index', data: '12345' }]);
  });
});
