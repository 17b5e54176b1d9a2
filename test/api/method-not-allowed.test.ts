import { expect } from 'chai';
import { ResourceRegistry } from '../../api/framework/registry.js';
import { allResources } from '../../api/resources/index.js';
import { API, startTestZcloud, type TestZcloud } from '../helpers/zcloud.js';

/**
 * Every method a resource does not declare answers 405 with an Allow header, for every resource
 * of the zcloud.cn API (the seed's and the beyond-seed ones), collection and item alike.
 */
describe('405 for every undeclared method of every resource', () => {
  let zcloud: TestZcloud;
  let admin: string;
  const registry = new ResourceRegistry(allResources);

  before(async () => {
    zcloud = await startTestZcloud();
    admin = await zcloud.adminToken();
  });
  after(() => zcloud.close());

  /** `/clusters/{cluster_id}/namespaces` → `/clusters/x/namespaces` */
  const concrete = (template: string): string => template.replace(/\{[a-z]+_id\}/g, 'x');

  for (const template of registry.collectionTemplates()) {
    const kind = template.split('/').at(-1)!;
    it(`${template}`, async () => {
      const entry = [...allResources].find((d) => registry.byKind(d.kind)?.collectionName === kind)!;
      const collection = `${API}${concrete(template)}`;
      const item = `${collection}/x`;
      const undeclared: Array<[string, string]> = [
        ['PUT', collection],
        ['DELETE', collection],
        ...(entry.list ? [] : ([['GET', collection]] as Array<[string, string]>)),
        ...(entry.create ? [] : ([['POST', collection]] as Array<[string, string]>)),
        ...(entry.get ? [] : ([['GET', item]] as Array<[string, string]>)),
        ...(entry.update ? [] : ([['PUT', item]] as Array<[string, string]>)),
        ...(entry.remove ? [] : ([['DELETE', item]] as Array<[string, string]>)),
        // POST on an item is only for actions (?action=...).
        ['POST', item],
        ['PATCH', item],
      ];
      for (const [method, url] of undeclared) {
        const res = await zcloud.request(method, url, { token: admin, ...(method === 'GET' ? {} : { body: {} }) });
        expect(res.status, `${method} ${url}`).to.equal(405);
        expect(res.body).to.include({ type: 'error', status: 405, code: 'MethodNotAllowed' });
        expect(res.headers.get('allow'), `${method} ${url}`).to.be.a('string');
      }
    });
  }
});
