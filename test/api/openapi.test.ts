import { Validator } from '@seriousme/openapi-schema-validator';
import { expect } from 'chai';
import { ResourceRegistry } from '../../api/framework/registry.js';
import { allResources } from '../../api/resources/index.js';
import { API, startTestZcloud, type TestZcloud } from '../helpers/zcloud.js';

const OSP = '/osp/api';
const METHODS = ['get', 'put', 'post', 'delete'] as const;

interface Document {
  openapi: string;
  paths: Record<string, Record<string, { parameters?: Array<{ name: string; in: string; schema?: { enum?: string[] } }>; requestBody?: unknown; security?: unknown[] }>>;
  components: { securitySchemes: Record<string, unknown>; schemas: Record<string, unknown> };
}

/** `/clusters/{cluster_id}/nodes` → `/clusters/x/nodes`: a concrete URL of the template. */
const concrete = (template: string): string => template.replace(/\{[^}]+\}/g, 'x');

describe('OpenAPI documents', () => {
  let zcloud: TestZcloud;
  let admin: string;
  let zcloudDoc: Document;
  let ospDoc: Document;

  before(async () => {
    zcloud = await startTestZcloud();
    admin = await zcloud.adminToken();
    // No token: the description is public.
    const a = await zcloud.request('GET', `${API}/openapi.json`);
    const b = await zcloud.request('GET', `${OSP}/openapi.json`);
    expect(a.status).to.equal(200);
    expect(b.status).to.equal(200);
    zcloudDoc = a.body;
    ospDoc = b.body;
  });
  after(() => zcloud.close());

  for (const [name, doc] of [['zcloud.cn/v1', () => zcloudDoc], ['OSP', () => ospDoc]] as const) {
    it(`${name}: validates as OpenAPI 3.1 with a bearer security scheme`, async () => {
      expect(Validator.supportedVersions.has('3.1')).to.equal(true);
      const validator = new Validator();
      const result = await validator.validate(doc() as unknown as Record<string, unknown>);
      expect(result.errors, JSON.stringify(result.errors, null, 1)?.slice(0, 2000)).to.equal(undefined);
      expect(result.valid).to.equal(true);
      expect(validator.version).to.equal('3.1');
      expect(doc().components.securitySchemes).to.have.property('bearerAuth');
      expect(doc().components.schemas).to.have.property('Error');
    });
  }

  it('zcloud.cn/v1: every documented method and action is served, and every other method on those paths is 405', async function () {
    this.timeout(60_000);
    const problems: string[] = [];
    const probes = Object.entries(zcloudDoc.paths).flatMap(([template, operations]) =>
      METHODS.map(async (method) => {
        const url = `${API}${concrete(template)}`;
        const operation = operations[method];
        if (!operation) {
          const res = await zcloud.request(method.toUpperCase(), url, { token: admin });
          if (res.status !== 405) problems.push(`${method} ${template}: undocumented but answered ${res.status}`);
          return;
        }
        const actions = operation.parameters?.find((p) => p.name === 'action' && p.in === 'query')?.schema?.enum;
        for (const query of actions ? actions.map((a) => `?action=${a}`) : ['']) {
          // Ids are "x", which no object has: nothing is created, changed or deleted.
          const res = await zcloud.request(method.toUpperCase(), url + query, { token: admin, body: method === 'get' ? undefined : {} });
          const unknownRoute = res.status === 405 || (res.status === 404 && /^no collection|has no action/.test(res.body?.message ?? ''));
          if (unknownRoute) problems.push(`${method} ${template}${query}: documented but answered ${res.status} ${res.body?.message}`);
        }
      }),
    );
    await Promise.all(probes);
    expect(problems).to.deep.equal([]);
  });

  it('zcloud.cn/v1: documents exactly the collections the registry serves, each with its item path', () => {
    const registered = new ResourceRegistry(allResources).collectionTemplates();
    const documented = new Set(Object.keys(zcloudDoc.paths).map((template) => template.replace(/\/\{[^}]+\}$/, '')));
    expect([...documented].sort()).to.deep.equal([...registered].sort());
    expect(zcloudDoc.paths['/users/{user_id}'].post.security).to.deep.equal([{ bearerAuth: [] }, {}]);
    // An action that declares its output has it described.
    expect(zcloudDoc.components.schemas['cluster.getkubeconfig.output']).to.deep.include({ type: 'object', required: ['name', 'config'] });
    expect(zcloudDoc.paths).to.have.property('/clusters/{cluster_id}/namespaces/{namespace_id}/deployments/{deployment_id}/pods/{pod_id}');
  });

  it('OSP: every documented route is served, and nothing else on those paths', async () => {
    const problems: string[] = [];
    for (const [template, operations] of Object.entries(ospDoc.paths)) {
      for (const method of METHODS) {
        const res = await zcloud.request(method.toUpperCase(), `${OSP}${concrete(template)}`, { token: admin, body: method === 'get' ? undefined : {} });
        const unrouted = res.status === 404 && /^no OSP route/.test(res.body?.msg ?? '');
        if (operations[method] && unrouted) problems.push(`${method} ${template}: documented but not routed`);
        if (!operations[method] && !unrouted) problems.push(`${method} ${template}: routed but not documented (${res.status})`);
      }
    }
    expect(problems).to.deep.equal([]);
    expect(Object.keys(ospDoc.paths).sort()).to.deep.equal(['/login', '/pods/{cluster}', '/pods/{cluster}/{namespace}/{name}', '/users', '/users/{name}']);
  });
});
