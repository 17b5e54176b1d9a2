import { expect } from 'chai';
import { ResourceRegistry } from '../../api/framework/registry.js';
import { allResources } from '../../api/resources/index.js';
import { API, startTestZcloud, type TestZcloud } from '../helpers/zcloud.js';

/**
 * Every method a resource does not declare answers 405 with an Allow header, for every resource
 * of the zcloud.cn API (the seed's and the beyond-seed ones), collection and item alike; and
 * every Allow header names exactly the methods that URL accepts (issue 22).
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
      // As registered: a kind that lists also answers GET on its items (from its list).
      const entry = registry.byKind([...allResources].find((d) => registry.byKind(d.kind)?.collectionName === kind)!.kind)!.def;
      const collection = `${API}${concrete(template)}`;
      const item = `${collection}/x`;
      const undeclared: Array<[string, string]> = [
        ['PUT', collection],
        ['DELETE', collection],
        ...(entry.list || entry.text ? [] : ([['GET', collection]] as Array<[string, string]>)),
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

  const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'] as const;

  /**
   * What each method answers on `url`: accepted (anything but 405; with cluster "x" unknown that
   * is mostly 404) or refused with 405 and its Allow header. An item takes POST with ?action=.
   */
  async function sweep(url: string, action: string | undefined): Promise<{ accepted: string[]; allowHeaders: string[] }> {
    const accepted: string[] = [];
    const allowHeaders: string[] = [];
    for (const method of METHODS) {
      const target = method === 'POST' && action ? `${url}?action=${action}` : url;
      const res = await zcloud.request(method, target, { token: admin, ...(method === 'GET' ? {} : { body: {} }) });
      if (res.status === 405) allowHeaders.push(res.headers.get('allow') ?? '');
      else accepted.push(method);
    }
    return { accepted, allowHeaders };
  }

  for (const template of registry.collectionTemplates()) {
    it(`${template}: Allow names exactly what the collection and its items accept`, async () => {
      const kind = template.split('/').at(-1)!;
      // As registered: a kind that lists also answers GET on its items (from its list).
      const entry = registry.byKind([...allResources].find((d) => registry.byKind(d.kind)?.collectionName === kind)!.kind)!.def;
      const collection = `${API}${concrete(template)}`;
      for (const [url, action] of [
        [collection, undefined],
        [`${collection}/x`, Object.keys(entry.actions ?? {})[0]],
      ] as const) {
        const { accepted, allowHeaders } = await sweep(url, action);
        expect(allowHeaders.length, `some method is refused on ${url}`).to.be.greaterThan(0);
        for (const allow of allowHeaders) expect(allow.split(', ').filter(Boolean), `Allow on ${url}`).to.have.members(accepted);
      }
    });
  }

  it('refuses POST on the node collection (node items have actions) and leaves POST out of its Allow', async () => {
    const res = await zcloud.request('POST', `${API}/clusters/x/nodes`, { token: admin, body: {} });
    expect(res.status).to.equal(405);
    expect(res.headers.get('allow')).to.equal('GET');
    const item = await zcloud.request('PUT', `${API}/clusters/x/nodes/n1`, { token: admin, body: {} });
    expect(item.headers.get('allow')).to.equal('GET, POST');
  });
});
