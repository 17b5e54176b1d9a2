import { expect } from 'chai';
import { z } from 'zod';
import { errorResponse, ospSuccess } from '../../api/framework/answers.js';
import { authenticateBearer } from '../../api/framework/authn.js';
import { ResourceRegistry } from '../../api/framework/registry.js';
import {
  allowedMethods,
  authenticate,
  authorize,
  dispatch,
  guard,
  readBody,
  resolve,
  shape,
  validate,
  type Operation,
  type Resolution,
  type ResolvedPath,
} from '../../api/framework/request-steps.js';
import { defineAction, defineResource, type ApiObject, type RequestContext } from '../../api/framework/resource.js';
import type { ApiServices } from '../../api/services.js';
import {
  ClusterUnavailableError,
  ForbiddenError,
  InputError,
  MalformedError,
  MethodNotAllowedError,
  NotFoundError,
  UnauthorizedError,
} from '../../src/errors.js';
import type { Principal } from '../../src/users.js';

const BASE = 'http://zcloud.test/apis/zcloud.cn/v1';
const guarded: string[] = [];
const widgets: ApiObject[] = [
  { id: 'a', name: 'a', color: 'red', creationTimestamp: '2026-01-01T00:00:00.000Z' },
  { id: 'b', name: 'b', color: 'blue' },
];
const registry = new ResourceRegistry([
  defineResource({
    kind: 'cluster',
    list: async () => [{ id: 'c1' }],
    get: async (_ctx, id) => ({ id }),
    guardChildren: (_ctx, id) => {
      guarded.push(id);
      if (id === 'down') throw new ClusterUnavailableError('cluster down is unreachable');
    },
  }),
  defineResource({ kind: 'namespace', parents: ['cluster'], list: async () => [], get: async (_ctx, id) => ({ id }) }),
  defineResource({
    kind: 'widget',
    parents: ['namespace'],
    list: async () => widgets,
    get: async (_ctx, id) => widgets.find((w) => w.id === id),
    create: { input: z.object({ name: z.string().min(1, 'is required') }), run: async (_ctx, input) => ({ id: input.name, name: input.name }) },
    update: { input: z.object({ color: z.enum(['red', 'blue']) }), run: async (_ctx, id, input) => ({ id, color: input.color }) },
    remove: async () => undefined,
    actions: {
      login: defineAction({ public: true, run: async () => ({ token: 't' }) }),
      paint: defineAction({ input: z.object({ color: z.string() }), run: async (_ctx, id, input) => ({ id, painted: input.color }) }),
      noop: defineAction({ run: async () => undefined }),
    },
  }),
  // Items with actions but no create: its collection takes no POST (issue 22).
  defineResource({ kind: 'node', parents: ['cluster'], list: async () => [], get: async (_c, id) => ({ id }), actions: { cordon: defineAction({ run: async () => ({}) }) } }),
]);

const admin: Principal = { name: 'admin', isAdmin: true, projects: [] };
const dev: Principal = { name: 'dev', isAdmin: false, projects: [{ cluster: 'c1', namespace: 'ns1' }] };
const users = {
  authenticate: async (token: string): Promise<Principal> => {
    if (token === 'admin-token') return admin;
    if (token === 'dev-token') return dev;
    throw new UnauthorizedError('invalid token');
  },
};

function line(method: string, path: string, action?: string) {
  return { method, path, action, baseUrl: BASE };
}

function resolved(method: string, path: string, action?: string): { path: ResolvedPath; operation: Operation } {
  const resolution = resolve(registry, line(method, path, action));
  if (!('operation' in resolution)) throw resolution.refusal;
  return resolution;
}

function context(path: ResolvedPath, query: Record<string, string> = {}): RequestContext {
  return {
    user: admin,
    parents: Object.fromEntries(path.ancestry.map((s) => [s.kind, s.id])),
    query,
    services: {} as ApiServices,
    sourceAddress: '127.0.0.1',
    setHeader: () => undefined,
    header: () => undefined,
    requireUser: () => admin,
  };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('router steps', () => {
  describe('resolve', () => {
    it('walks the path to the resource, its ancestry, id and collection URL', () => {
      const { path, operation } = resolved('GET', '/clusters/c1/namespaces/ns%201/widgets/a');
      expect(path.entry.def.kind).to.equal('widget');
      expect(path.ancestry).to.deep.equal([
        { kind: 'cluster', id: 'c1' },
        { kind: 'namespace', id: 'ns 1' },
      ]);
      expect(path.id).to.equal('a');
      expect(path.collectionUrl).to.equal(`${BASE}/clusters/c1/namespaces/ns%201/widgets`);
      expect(operation).to.deep.equal({ verb: 'get', id: 'a' });
    });

    it('maps methods to operations', () => {
      const ns = '/clusters/c1/namespaces/ns1/widgets';
      expect(resolved('GET', ns).operation).to.deep.equal({ verb: 'list' });
      expect(resolved('POST', ns).operation).to.deep.equal({ verb: 'create' });
      expect(resolved('PUT', `${ns}/a`).operation).to.deep.equal({ verb: 'update', id: 'a' });
      expect(resolved('DELETE', `${ns}/a`).operation).to.deep.equal({ verb: 'delete', id: 'a' });
      expect(resolved('POST', `${ns}/a`, 'paint').operation).to.deep.equal({ verb: 'action', id: 'a', action: 'paint' });
    });

    it('throws 404 at once for an unknown collection', () => {
      expect(() => resolve(registry, line('GET', '/clusters/c1/gadgets'))).to.throw(NotFoundError);
    });

    it('keeps a refused method or unknown action as a refusal, for after authentication', () => {
      const put = resolve(registry, line('PUT', '/clusters/c1/nodes'));
      expect('refusal' in put && put.refusal).to.be.instanceOf(MethodNotAllowedError);
      const unknown = resolve(registry, line('POST', '/clusters/c1/nodes/n1', 'explode'));
      expect('refusal' in unknown && unknown.refusal).to.be.instanceOf(NotFoundError);
    });

    it('allows on each URL exactly the methods it accepts: POST on a collection only with create', () => {
      const node = registry.byKind('node')!;
      const widget = registry.byKind('widget')!;
      expect(allowedMethods(node, false)).to.deep.equal(['GET']);
      expect(allowedMethods(node, true)).to.deep.equal(['GET', 'POST']);
      expect(allowedMethods(widget, false)).to.deep.equal(['GET', 'POST']);
      expect(allowedMethods(widget, true)).to.deep.equal(['GET', 'PUT', 'DELETE', 'POST']);
      const post = resolve(registry, line('POST', '/clusters/c1/nodes'));
      expect('refusal' in post && (post.refusal as MethodNotAllowedError).allowed).to.deep.equal(['GET']);
    });
  });

  describe('authenticate', () => {
    it('requires a bearer token, and reports a refusal only to a known caller', async () => {
      const refused = resolve(registry, line('DELETE', '/clusters'));
      expect(await rejection(authenticate(refused, () => authenticateBearer(undefined, users)))).to.be.instanceOf(UnauthorizedError);
      expect(await rejection(authenticate(refused, () => authenticateBearer('Bearer nonsense', users)))).to.be.instanceOf(UnauthorizedError);
      expect(await rejection(authenticate(refused, () => authenticateBearer('Bearer admin-token', users)))).to.be.instanceOf(MethodNotAllowedError);
      const ok = await authenticate(resolve(registry, line('GET', '/clusters')), () => authenticateBearer('Bearer dev-token', users));
      expect(ok).to.deep.equal({ user: dev, operation: { verb: 'list' } });
    });

    it('lets a public action through without a token', async () => {
      const login: Resolution = resolve(registry, line('POST', '/clusters/c1/namespaces/ns1/widgets/a', 'login'));
      expect((await authenticate(login, () => authenticateBearer(undefined, users))).user).to.equal(undefined);
    });
  });

  it('readBody: undefined for an empty body, 422 InvalidFormat for malformed JSON', () => {
    expect(readBody('')).to.equal(undefined);
    expect(readBody(undefined)).to.equal(undefined);
    expect(readBody('{"a":1}')).to.deep.equal({ a: 1 });
    expect(() => readBody('{"a":')).to.throw(MalformedError);
  });

  describe('authorize', () => {
    it('forbids what the grant does not cover and narrows lists to it', () => {
      const other = resolved('GET', '/clusters/c1/namespaces/ns2/widgets/a');
      expect(() => authorize(dev, other.path, other.operation)).to.throw(ForbiddenError);
      const namespaces = resolved('GET', '/clusters/c1/namespaces');
      const decision = authorize(dev, namespaces.path, namespaces.operation);
      expect(decision.visible?.({ id: 'ns1' })).to.equal(true);
      expect(decision.visible?.({ id: 'ns2' })).to.equal(false);
    });

    it('allows a public action (no user)', () => {
      const login = resolved('POST', '/clusters/c1/namespaces/ns1/widgets/a', 'login');
      expect(authorize(undefined, login.path, login.operation)).to.deep.equal({ allowed: true });
    });
  });

  describe('guard', () => {
    it('runs every ancestor guard, whose error stops the request', async () => {
      guarded.length = 0;
      const ok = resolved('GET', '/clusters/c1/namespaces/ns1/widgets');
      await guard(registry, context(ok.path), ok.path, ok.operation, { allowed: true });
      expect(guarded).to.deep.equal(['c1']);
      const down = resolved('GET', '/clusters/down/namespaces/ns1/widgets');
      expect(await rejection(guard(registry, context(down.path), down.path, down.operation, { allowed: true }))).to.be.instanceOf(ClusterUnavailableError);
    });

    it('under a narrowed grant, reads the object a write addresses: 404 absent, 403 hidden', async () => {
      const onlyA = { allowed: true as const, visible: (o: Readonly<Record<string, unknown>>) => o.id === 'a' };
      const update = (id: string) => resolved('PUT', `/clusters/c1/namespaces/ns1/widgets/${id}`);
      await guard(registry, context(update('a').path), update('a').path, update('a').operation, onlyA);
      expect(await rejection(guard(registry, context(update('b').path), update('b').path, update('b').operation, onlyA))).to.be.instanceOf(ForbiddenError);
      expect(await rejection(guard(registry, context(update('zz').path), update('zz').path, update('zz').operation, onlyA))).to.be.instanceOf(NotFoundError);
    });
  });

  describe('validate', () => {
    it('parses the body with the operation schema; a failure names the field', () => {
      const create = resolved('POST', '/clusters/c1/namespaces/ns1/widgets');
      expect(validate(create.path, create.operation, { name: 'w' })).to.deep.equal({ name: 'w' });
      expect(() => validate(create.path, create.operation, undefined)).to.throw(InputError, 'is required');
      const update = resolved('PUT', '/clusters/c1/namespaces/ns1/widgets/a');
      expect(() => validate(update.path, update.operation, { color: 'green' })).to.throw(InputError);
      const noop = resolved('POST', '/clusters/c1/namespaces/ns1/widgets/a', 'noop');
      expect(validate(noop.path, noop.operation, { anything: 1 })).to.equal(undefined);
    });
  });

  describe('dispatch and shape', () => {
    it('lists through the query filter and the narrowed grant, in a collection envelope with links', async () => {
      const list = resolved('GET', '/clusters/c1/namespaces/ns1/widgets');
      const outcome = await dispatch(list.path, context(list.path, { color: 'red' }), list.operation, undefined, { allowed: true });
      const answer = shape(list.path, outcome);
      const collection = `${BASE}/clusters/c1/namespaces/ns1/widgets`;
      const expected = {
        type: 'collection',
        resourceType: 'widget',
        links: { self: collection },
        data: [
          {
            id: 'a',
            type: 'widget',
            links: { self: `${collection}/a`, collection, update: `${collection}/a`, remove: `${collection}/a` },
            creationTimestamp: '2026-01-01T00:00:00.000Z',
            name: 'a',
            color: 'red',
          },
        ],
      };
      expect(answer.status).to.equal(200);
      const { head, items, tail } = answer.collection!;
      // Byte for byte what JSON.stringify of the seed's envelope gives: key order included.
      expect(`${head}${items.join(',')}${tail}`).to.equal(JSON.stringify(expected));
      const hidden = await dispatch(list.path, context(list.path), list.operation, undefined, { allowed: true, visible: (o) => o.id === 'b' });
      expect(hidden).to.deep.equal({ kind: 'collection', items: [widgets[1]] });
    });

    it('answers get (404 absent, 403 hidden), create 201, delete 204, action output or {}', async () => {
      const get = (id: string) => resolved('GET', `/clusters/c1/namespaces/ns1/widgets/${id}`);
      const run = (r: { path: ResolvedPath; operation: Operation }, input?: unknown, visible?: (o: Readonly<Record<string, unknown>>) => boolean) =>
        dispatch(r.path, context(r.path), r.operation, input, { allowed: true, ...(visible ? { visible } : {}) });
      expect(await rejection(run(get('zz')))).to.be.instanceOf(NotFoundError);
      expect(await rejection(run(get('a'), undefined, () => false))).to.be.instanceOf(ForbiddenError);
      const b = shape(get('b').path, await run(get('b')));
      expect(b.status).to.equal(200);
      expect(b.body).to.include({ id: 'b', type: 'widget', creationTimestamp: null });
      const create = resolved('POST', '/clusters/c1/namespaces/ns1/widgets');
      expect(shape(create.path, await run(create, { name: 'w' })).status).to.equal(201);
      const del = (id: string) => resolved('DELETE', `/clusters/c1/namespaces/ns1/widgets/${id}`);
      expect(shape(del('a').path, await run(del('a')))).to.deep.equal({ status: 204 });
      expect(shape(del('b').path, await run(del('b')))).to.deep.equal({ status: 204 });
      const paint = resolved('POST', '/clusters/c1/namespaces/ns1/widgets/a', 'paint');
      expect(shape(paint.path, await run(paint, { color: 'blue' }))).to.deep.equal({ status: 200, body: { id: 'a', painted: 'blue' } });
      const noop = resolved('POST', '/clusters/c1/namespaces/ns1/widgets/a', 'noop');
      expect(shape(noop.path, await run(noop))).to.deep.equal({ status: 200, body: {} });
    });
  });

  describe('error answers (both APIs, one place)', () => {
    it('writes the zcloud.cn envelope, with Allow on a 405', () => {
      expect(errorResponse(new InputError('is required', 'name'), 'zcloud')).to.deep.equal({
        status: 422,
        headers: {},
        body: { type: 'error', status: 422, code: 'InvalidInput', message: 'name: is required' },
      });
      expect(errorResponse(new MethodNotAllowedError('no', ['GET']), 'zcloud')).to.deep.include({ status: 405, headers: { Allow: 'GET' } });
      expect(errorResponse(new Error('secret detail'), 'zcloud').body).to.deep.equal({
        type: 'error',
        status: 500,
        code: 'ServerError',
        message: 'internal server error',
      });
    });

    it('writes the OSP envelope with its own code names and the same status', () => {
      expect(errorResponse(new ForbiddenError('no access'), 'osp')).to.deep.equal({ status: 403, headers: {}, body: { code: 'Forbidden', msg: 'no access' } });
      expect(errorResponse(new MalformedError('bad json'), 'osp').body).to.deep.equal({ code: 'InvalidParameter', msg: 'bad json' });
      expect(errorResponse(new NotFoundError('gone'), 'osp').body).to.deep.equal({ code: 'NotFound', msg: 'gone' });
      expect(ospSuccess([1])).to.deep.equal({ code: 'Success', msg: 'Success', data: [1] });
    });
  });
});
