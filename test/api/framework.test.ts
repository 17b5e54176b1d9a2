import { randomBytes } from 'node:crypto';
import { builtInChartDir, ChartCatalog } from '../../src/apps/chart-catalog.js';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { expect } from 'chai';
import express from 'express';
import { z } from 'zod';
import { ResourceRegistry } from '../../api/framework/registry.js';
import { defineAction, defineResource, type ApiObject } from '../../api/framework/resource.js';
import { API_PREFIX, createApiRouter } from '../../api/framework/router.js';
import { AuditTrail, auditLog } from '../../src/audit.js';
import { LoginThrottle } from '../../src/auth/login-throttle.js';
import { RevokedTokens, revokedTokensCollection } from '../../src/auth/revoked-tokens.js';
import { TokenService } from '../../src/auth/tokens.js';
import { loadConfig } from '../../src/config.js';
import { ClusterManager } from '../../src/clusters/cluster-manager.js';
import { UserQuotaService } from '../../src/quotas/user-quota-service.js';
import { userQuotasCollection } from '../../src/quotas/user-quota.js';
import { ClusterUnavailableError, ConflictError } from '../../src/errors.js';
import { ProvisioningLog } from '../../src/provisioning/provisioning-log.js';
import { createLogger } from '../../src/logger.js';
import { openLowdbStore } from '../../src/store/lowdb-store.js';
import type { Store } from '../../src/store/store.js';
import { ADMIN_DEFAULT_SHA1, UserService, usersCollection } from '../../src/users.js';
import { sha1, tempDir } from '../helpers/zcloud.js';

/** A small fake resource tree exercising what the framework derives from schemas. */
const pods: ApiObject[] = [
  { id: 'web-1', name: 'web-1', node: 'n1' },
  { id: 'web-2', name: 'web-2', node: 'n2' },
];
const resources = [
  defineResource({
    kind: 'cluster',
    list: async () => [{ id: 'c1' }],
    get: async (_c, id) => (id === 'c1' ? { id } : undefined),
    guardChildren: (_c, id) => {
      if (id === 'c-down') throw new ClusterUnavailableError('cluster c-down is Creating');
    },
  }),
  // A text view, served also while its cluster is unavailable (as zkelog).
  defineResource({
    kind: 'eventlog',
    collectionName: 'eventlog',
    parents: ['cluster'],
    servedWhileParentUnavailable: true,
    text: async (ctx) => [`first line of ${ctx.parents.cluster}`, 'second line'],
  }),
  defineResource({
    kind: 'namespace',
    parents: ['cluster'],
    list: async () => [{ id: 'ns1' }, { id: 'ns2' }],
    get: async (_c, id) => ({ id }),
  }),
  ...['deployment', 'daemonset', 'statefulset'].map((kind) =>
    defineResource({ kind, parents: ['namespace'], get: async (_c, id) => ({ id }), list: async () => [{ id: 'web' }] }),
  ),
  defineResource({
    kind: 'pod',
    parents: ['deployment', 'daemonset', 'statefulset'],
    list: async (ctx) => pods.map((p) => ({ ...p, owner: ctx.parents.deployment ?? ctx.parents.daemonset ?? ctx.parents.statefulset })),
    get: async (_c, id) => pods.find((p) => p.id === id),
    remove: async () => undefined,
  }),
  defineResource({
    kind: 'widget',
    parents: ['namespace'],
    get: async (_ctx, id) => {
      if (id === 'boom') throw new Error('secret stack detail');
      if (id === 'down') throw new ClusterUnavailableError('cluster c1 is unreachable');
      return { id, creationTimestamp: '2026-01-01T00:00:00.000Z', color: 'red' };
    },
    create: {
      input: z.object({ name: z.string().regex(/^[a-z]+$/, 'must be lower-case letters'), size: z.number().int().min(1), color: z.enum(['red', 'blue']) }),
      run: async (_ctx, input) => {
        if (input.name === 'taken') throw new ConflictError('widget taken already exists');
        return { id: input.name, ...input };
      },
    },
    actions: {
      paint: defineAction({ input: z.object({ color: z.enum(['red', 'blue']) }), run: async (_c, id, input) => ({ id, painted: input.color }) }),
      noop: defineAction({ run: async () => null }),
    },
  }),
];

describe('schema-driven REST framework', () => {
  let server: Server;
  let store: Store;
  let base: string;
  let admin: string;
  let dev: string;

  before(async () => {
    const dir = tempDir();
    store = await openLowdbStore({ dataDir: dir, collections: [usersCollection, revokedTokensCollection, auditLog, userQuotasCollection] });
    const throttle = new LoginThrottle({ maxFailuresPerAddress: 10, maxFailuresPerUser: 50, windowMs: 60_000 });
    const users = new UserService(store, new TokenService(randomBytes(32)), new RevokedTokens(store), throttle);
    await users.ensureAdmin();
    await users.create({ name: 'dev', sha1Password: sha1('dev'), projects: [{ cluster: 'c1', namespace: 'ns1' }] });
    const logger = createLogger({ level: 'error', stream: new PassThrough() });
    const clusters = new ClusterManager({ store, users, logger });
    const services = {
      config: loadConfig({ ZCLOUD_DATA_DIR: dir }),
      logger,
      users,
      audit: new AuditTrail(store, 100),
      clusters,
      quotas: new UserQuotaService(store, clusters, users, () => undefined),
      catalog: new ChartCatalog({ builtInDir: builtInChartDir(), logger }),
      provisioningLog: new ProvisioningLog(),
    };
    const app = express();
    app.use(API_PREFIX, createApiRouter({ registry: new ResourceRegistry(resources), services }));
    server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}${API_PREFIX}`;
    admin = await users.login('admin', ADMIN_DEFAULT_SHA1, 60_000, 'test', 'zcloud');
    dev = await users.login('dev', sha1('dev'), 60_000, 'test', 'zcloud');
  });
  after(async () => {
    server.closeAllConnections();
    server.close();
    await store.close();
  });

  async function call(method: string, path: string, opts: { token?: string; body?: string; headers?: Record<string, string> } = {}) {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { ...opts.headers, ...(opts.token === undefined ? {} : { authorization: `Bearer ${opts.token}` }) },
      body: opts.body,
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
  }

  it('generates one URL family per parent chain (pod under deployment, daemonset, statefulset)', () => {
    const templates = new ResourceRegistry(resources).collectionTemplates();
    for (const owner of ['deployment', 'daemonset', 'statefulset']) {
      expect(templates).to.include(`/clusters/{cluster_id}/namespaces/{namespace_id}/${owner}s/{${owner}_id}/pods`);
    }
    expect(templates).to.include('/clusters/{cluster_id}/namespaces/{namespace_id}/widgets');
  });

  it('serves pods under each parent with links built from the request URL', async () => {
    for (const owner of ['deployments', 'daemonsets', 'statefulsets']) {
      const collection = `${base}/clusters/c1/namespaces/ns1/${owner}/web/pods`;
      const res = await call('GET', `/clusters/c1/namespaces/ns1/${owner}/web/pods`, { token: admin });
      expect(res.status).to.equal(200);
      expect(res.body).to.include({ type: 'collection', resourceType: 'pod' });
      expect(res.body.links).to.deep.equal({ self: collection });
      expect(res.body.data).to.have.length(2);
      expect(res.body.data[0]).to.include({ id: 'web-1', type: 'pod', owner: 'web' });
      expect(res.body.data[0].links).to.deep.equal({
        self: `${collection}/web-1`,
        collection,
        remove: `${collection}/web-1`,
      });
    }
  });

  it('links a parent to its child collections', async () => {
    const res = await call('GET', '/clusters/c1/namespaces/ns1/deployments/web', { token: admin });
    expect(res.body.links.pods).to.equal(`${base}/clusters/c1/namespaces/ns1/deployments/web/pods`);
    const ns = await call('GET', '/clusters/c1/namespaces/ns1', { token: admin });
    expect(ns.body.links).to.include.keys('deployments', 'daemonsets', 'statefulsets', 'widgets', 'self', 'collection');
    expect(ns.body.links).to.not.have.keys('update', 'remove');
  });

  it('answers 405 with Allow for a method the schema does not declare', async () => {
    const put = await call('PUT', '/clusters/c1/namespaces/ns1/deployments/web/pods/web-1', { token: admin, body: '{}' });
    expect(put.status).to.equal(405);
    expect(put.body).to.deep.include({ type: 'error', status: 405, code: 'MethodNotAllowed' });
    expect(put.headers.get('allow')).to.equal('GET, DELETE');
    const post = await call('POST', '/clusters', { token: admin, body: '{}' });
    expect(post.status).to.equal(405);
  });

  it('answers a text kind as text/plain lines, past an unavailable parent, with GET only', async () => {
    const res = await fetch(`${base}/clusters/c-down/eventlog`, { headers: { authorization: `Bearer ${admin}` } });
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.equal('text/plain; charset=utf-8');
    expect(await res.text()).to.equal('first line of c-down\nsecond line\n');
    expect((await call('GET', '/clusters/c-down/namespaces', { token: admin })).status).to.equal(503);
    const post = await call('POST', '/clusters/c1/eventlog', { token: admin, body: '{}' });
    expect(post.status).to.equal(405);
    expect(post.headers.get('allow')).to.equal('GET');
  });

  it('answers DELETE with 204, as the seed says, also where deletion continues in the background', async () => {
    const res = await call('DELETE', '/clusters/c1/namespaces/ns1/deployments/web/pods/web-1', { token: admin });
    expect(res.status).to.equal(204);
  });

  it('answers 404 for an unknown collection and an unknown action', async () => {
    const coll = await call('GET', '/clusters/c1/gadgets', { token: admin });
    expect(coll.status).to.equal(404);
    expect(coll.body).to.include({ type: 'error', code: 'NotFound' });
    const action = await call('POST', '/clusters/c1/namespaces/ns1/widgets/w?action=explode', { token: admin, body: '{}' });
    expect(action.status).to.equal(404);
  });

  it('validates bodies with the schema and names the field in a 422', async () => {
    const url = '/clusters/c1/namespaces/ns1/widgets';
    const missing = await call('POST', url, { token: admin, body: JSON.stringify({ size: 1, color: 'red' }) });
    expect(missing.status).to.equal(422);
    expect(missing.body).to.deep.equal({ type: 'error', status: 422, code: 'InvalidInput', message: 'name: is required' });
    const badEnum = await call('POST', url, { token: admin, body: JSON.stringify({ name: 'a', size: 1, color: 'green' }) });
    expect(badEnum.body.message).to.match(/^color: /);
    const badType = await call('POST', url, { token: admin, body: JSON.stringify({ name: 'a', size: 'big', color: 'red' }) });
    expect(badType.body.message).to.match(/^size: /);
    const badRule = await call('POST', url, { token: admin, body: JSON.stringify({ name: 'A', size: 1, color: 'red' }) });
    expect(badRule.body.message).to.equal('name: must be lower-case letters');
    const malformed = await call('POST', url, { token: admin, body: '{"name": ' });
    expect(malformed.status).to.equal(422);
    expect(malformed.body.code).to.equal('InvalidFormat');
  });

  it('creates with 201 and the shaped resource; a duplicate is 409', async () => {
    const url = '/clusters/c1/namespaces/ns1/widgets';
    const ok = await call('POST', url, { token: admin, body: JSON.stringify({ name: 'one', size: 2, color: 'blue' }) });
    expect(ok.status).to.equal(201);
    expect(ok.body).to.include({ id: 'one', type: 'widget', color: 'blue', size: 2 });
    expect(ok.body).to.have.property('creationTimestamp');
    const dup = await call('POST', url, { token: admin, body: JSON.stringify({ name: 'taken', size: 2, color: 'blue' }) });
    expect(dup.status).to.equal(409);
    expect(dup.body).to.include({ code: 'Conflict', status: 409 });
  });

  it('returns an action output directly, and {} when the action has none', async () => {
    const paint = await call('POST', '/clusters/c1/namespaces/ns1/widgets/w?action=paint', { token: admin, body: '{"color":"blue"}' });
    expect(paint.status).to.equal(200);
    expect(paint.body).to.deep.equal({ id: 'w', painted: 'blue' });
    const noop = await call('POST', '/clusters/c1/namespaces/ns1/widgets/w?action=noop', { token: admin });
    expect(noop.status).to.equal(200);
    expect(noop.body).to.deep.equal({});
  });

  it('takes what the console sends: a JSON null or empty action body, Content-Type: application/json on GET and DELETE', async () => {
    const json = { 'content-type': 'application/json' };
    for (const body of ['null', '', undefined]) {
      const noop = await call('POST', '/clusters/c1/namespaces/ns1/widgets/w?action=noop', { token: admin, body, headers: json });
      expect(noop.status, String(body)).to.equal(200);
    }
    const paint = await call('POST', '/clusters/c1/namespaces/ns1/widgets/w?action=paint', { token: admin, body: 'null', headers: json });
    expect(paint.status).to.equal(422);
    expect(paint.body.message).to.equal('color: is required');
    const pods = '/clusters/c1/namespaces/ns1/deployments/web/pods';
    expect((await call('GET', pods, { token: admin, headers: json })).status).to.equal(200);
    expect((await call('DELETE', `${pods}/web-1`, { token: admin, headers: json })).status).to.equal(204);
  });

  it('hides internal errors behind a 500 ServerError and maps unavailability to 503', async () => {
    const boom = await call('GET', '/clusters/c1/namespaces/ns1/widgets/boom', { token: admin });
    expect(boom.status).to.equal(500);
    expect(boom.body).to.deep.equal({ type: 'error', status: 500, code: 'ServerError', message: 'internal server error' });
    const down = await call('GET', '/clusters/c1/namespaces/ns1/widgets/down', { token: admin });
    expect(down.status).to.equal(503);
    expect(down.body).to.include({ code: 'ClusterUnavailable', status: 503 });
  });

  it('requires a token (401) and applies the authorizer (403) to every route', async () => {
    const anonymous = await call('GET', '/clusters/c1/namespaces/ns1/widgets/w');
    expect(anonymous.status).to.equal(401);
    expect(anonymous.body).to.include({ type: 'error', code: 'Unauthorized' });
    const anonymous405 = await call('DELETE', '/clusters');
    expect(anonymous405.status).to.equal(401);
    expect((await call('GET', '/clusters/c1/namespaces/ns1/widgets/w', { token: dev })).status).to.equal(200);
    const other = await call('GET', '/clusters/c1/namespaces/ns2/widgets/w', { token: dev });
    expect(other.status).to.equal(403);
    expect(other.body).to.include({ type: 'error', code: 'PermissionDenied' });
    const namespaces = await call('GET', '/clusters/c1/namespaces', { token: dev });
    expect(namespaces.body.data.map((n: ApiObject) => n.id)).to.deep.equal(['ns1']);
    expect((await call('GET', '/clusters', { token: dev })).body.data.map((c: ApiObject) => c.id)).to.deep.equal(['c1']);
  });

  it('filters lists by exact match on top-level string fields', async () => {
    const res = await call('GET', '/clusters/c1/namespaces/ns1/deployments/web/pods?node=n2', { token: admin });
    expect(res.body.data.map((p: ApiObject) => p.id)).to.deep.equal(['web-2']);
    const none = await call('GET', '/clusters/c1/namespaces/ns1/deployments/web/pods?name=nothing', { token: admin });
    expect(none.body.data).to.deep.equal([]);
  });
});
