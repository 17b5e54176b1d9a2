import { ApiextensionsV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { expect } from 'chai';
import { eventually, sharedTestCluster, testCluster, type TestCluster } from '../helpers/world.js';

/**
 * Kubernetes 1.20 vendors reflect2 1.0.1, which crashes under Go >= 1.18 when a custom resource
 * is decoded; the build swaps in Debian's reflect2 1.0.2 (scripts/testenv/kube-build.ts).
 */
describe('test world: custom resources', function () {
  this.timeout(120_000);
  let cluster: TestCluster;

  before(async () => {
    cluster = await testCluster(sharedTestCluster);
  });
  after(() => cluster?.kc.makeApiClient(ApiextensionsV1Api).deleteCustomResourceDefinition({ name: 'widgets.example.test' }));

  it('creates, reads and lists a custom resource without the apiserver dying', async () => {
    const crds = cluster.kc.makeApiClient(ApiextensionsV1Api);
    await crds.createCustomResourceDefinition({
      body: {
        metadata: { name: 'widgets.example.test' },
        spec: {
          group: 'example.test',
          scope: 'Namespaced',
          names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } } } },
            },
          ],
        },
      },
    });
    const objects = cluster.kc.makeApiClient(CustomObjectsApi);
    const ref = { group: 'example.test', version: 'v1', namespace: 'default', plural: 'widgets' };
    await eventually(() => objects.createNamespacedCustomObject({ ...ref, body: { apiVersion: 'example.test/v1', kind: 'Widget', metadata: { name: 'w1' }, spec: { size: 3 } } }), {
      within: 20_000,
      interval: 250,
    });
    const read = (await objects.getNamespacedCustomObject({ ...ref, name: 'w1' })) as { spec: { size: number } };
    expect(read.spec.size).to.equal(3);
    const list = (await objects.listNamespacedCustomObject(ref)) as { items: unknown[] };
    expect(list.items).to.have.length(1);
    // Still alive after decoding stored custom resources.
    expect((await cluster.kc.makeApiClient(ApiextensionsV1Api).listCustomResourceDefinition()).items.length).to.be.greaterThan(0);
  });
});
