import { createHash } from 'node:crypto';
import express, { type Request, type Response } from 'express';
import { bodyText } from './framework/request-body.js';
import yaml from 'js-yaml';
import { z } from 'zod';
import { authorize, type AccessRequest } from '../src/auth/authorizer.js';
import { ForbiddenError, InputError, MalformedError, NotFoundError } from '../src/errors.js';
import type { ContainerStatus, PodObject } from '../src/kube/objects.js';
import { containerStateName, podControllerKind, podDisplayStatus, podRestarts } from '../src/kube/pod-status.js';
import { UserNameSchema, type Principal, type User } from '../src/users.js';
import { errorResponse, logServerError, ospSuccess, writeAnswer, writeError, type Answer } from './framework/answers.js';
import { auditRequest } from './framework/audit-request.js';
import { authenticateRequest } from './framework/authn.js';
import { sourceAddress } from './framework/request-origin.js';
import { parseInput } from './framework/http-errors.js';
import type { ApiServices } from './services.js';

export const OSP_PREFIX = '/osp/api';

/** OSP clients send the plain password; zcloud.cn clients its sha1 hex. Both meet here. */
function sha1Hex(password: string): string {
  return createHash('sha1').update(password, 'utf8').digest('hex');
}

/** `YYYY-MM-DD HH:mm:ss` in UTC, the OSP time format. */
export function ospTime(iso: string): string {
  return iso.slice(0, 19).replace('T', ' ');
}

const PlainPassword = z.string().min(1, 'must not be empty').max(1024);
const LoginBody = z.object({ name: z.string().min(1, 'is required'), password: PlainPassword });
const CreateUserBody = z.object({ name: UserNameSchema, email: z.email(), password: PlainPassword });
const UpdateUserBody = z.object({ email: z.email().optional(), password: PlainPassword.optional() });

interface OspContext {
  req: Request;
  services: ApiServices;
  /** Set once authenticated, for the audit trail and request log. */
  user?: Principal;
  body?: unknown;
}

type OspHandler = (ctx: OspContext) => Promise<unknown>;

function parseJsonBody(req: Request): unknown {
  const text = typeof req.body === 'string' ? req.body : '';
  if (!text.trim()) return {};
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new MalformedError(`request body is not valid JSON: ${(err as Error).message}`);
  }
}

function check(user: Principal, request: AccessRequest): void {
  const decision = authorize(user, request);
  if (!decision.allowed) throw new ForbiddenError(decision.reason);
}

function userView(user: User): Record<string, string> {
  return {
    name: user.name,
    email: user.email ?? '',
    create_time: ospTime(user.creationTimestamp),
    update_time: ospTime(user.updateTimestamp),
  };
}

function containerView(statuses: ContainerStatus[] | undefined, specs: Array<{ name: string }> | undefined) {
  return (specs ?? []).map((spec) => {
    const status = statuses?.find((s) => s.name === spec.name);
    return { name: spec.name, status: containerStateName(status), restarts: status?.restartCount ?? 0 };
  });
}

export function podSummary(pod: PodObject) {
  return {
    name: pod.metadata.name,
    namespace: pod.metadata.namespace ?? '',
    containers: containerView(pod.status?.containerStatuses, pod.spec?.containers),
    init_containers: containerView(pod.status?.initContainerStatuses, pod.spec?.initContainers),
    restarts: podRestarts(pod),
    controlled: podControllerKind(pod),
    qos: pod.status?.qosClass ?? '',
    created: pod.metadata.creationTimestamp ?? '',
    status: podDisplayStatus(pod),
    node_name: pod.spec?.nodeName ?? '',
  };
}

/** The pods cache of a cluster the caller may read (checked before): unknown cluster 404, unavailable 503. */
function podsOf(ctx: OspContext, cluster: string) {
  return ctx.services.clusters.availableStore<PodObject>(cluster, 'pods').store;
}

const handlers = {
  async login(ctx: OspContext) {
    const input = parseInput(LoginBody, ctx.body);
    const token = await ctx.services.users.login(input.name, sha1Hex(input.password), ctx.services.config.ospTokenTtlMs, sourceAddress(ctx.req), 'osp');
    return { token };
  },

  async createUser(ctx: OspContext) {
    check(ctx.user!, { verb: 'create', kind: 'user', ancestry: [] });
    const input = parseInput(CreateUserBody, ctx.body);
    await ctx.services.users.create({ name: input.name, sha1Password: sha1Hex(input.password), email: input.email });
    return null;
  },

  async listUsers(ctx: OspContext) {
    const decision = authorize(ctx.user!, { verb: 'list', kind: 'user', ancestry: [] });
    if (!decision.allowed) throw new ForbiddenError(decision.reason);
    const name = typeof ctx.req.query.name === 'string' ? ctx.req.query.name : undefined;
    return (await ctx.services.users.list())
      .filter((u) => (decision.visible ? decision.visible({ id: u.name }) : true))
      .filter((u) => name === undefined || u.name === name)
      .map(userView);
  },

  async updateUser(ctx: OspContext) {
    const name = ctx.req.params.name as string;
    check(ctx.user!, { verb: 'action', kind: 'user', ancestry: [], id: name, action: 'updateProfile' });
    const input = parseInput(UpdateUserBody, ctx.body);
    if (!(await ctx.services.users.get(name))) throw new NotFoundError(`user ${name} not found`);
    await ctx.services.users.update(name, {
      ...(input.password !== undefined ? { sha1Password: sha1Hex(input.password) } : {}),
      ...(input.email !== undefined ? { email: input.email } : {}),
    });
    return null;
  },

  async listPods(ctx: OspContext) {
    const cluster = ctx.req.params.cluster as string;
    const namespace = typeof ctx.req.query.namespace === 'string' ? ctx.req.query.namespace : undefined;
    const name = typeof ctx.req.query.name === 'string' ? ctx.req.query.name : undefined;
    const user = ctx.user!;
    const clusterStep = { kind: 'cluster', id: cluster };
    // Refused before the cluster is looked up, as on zcloud.cn: a caller with no project in it
    // must not learn from a 404 or an empty list whether the cluster exists.
    const namespaceStep = namespace !== undefined ? [{ kind: 'namespace', id: namespace }] : [];
    check(user, { verb: 'list', kind: 'pod', ancestry: [clusterStep, ...namespaceStep] });
    const store = podsOf(ctx, cluster);
    const pods = namespace !== undefined ? store.listNamespace(namespace) : store.list();
    // Without a namespace, each pod is shown only where the one authorizer grants its namespace.
    const mayRead = new Map<string, boolean>();
    const readable = (ns: string): boolean => {
      let ok = mayRead.get(ns);
      if (ok === undefined) {
        ok = authorize(user, { verb: 'get', kind: 'pod', ancestry: [clusterStep, { kind: 'namespace', id: ns }] }).allowed;
        mayRead.set(ns, ok);
      }
      return ok;
    };
    return pods
      .filter((p) => readable(p.metadata.namespace ?? '') && (name === undefined || p.metadata.name === name))
      .sort((a, b) => (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') || a.metadata.name.localeCompare(b.metadata.name))
      .map(podSummary);
  },

  async getPod(ctx: OspContext) {
    const { cluster, namespace, name } = ctx.req.params as Record<string, string>;
    check(ctx.user!, { verb: 'get', kind: 'pod', ancestry: [{ kind: 'cluster', id: cluster }, { kind: 'namespace', id: namespace }], id: name });
    const output = ctx.req.query.output ?? 'json';
    if (output !== 'json' && output !== 'yaml') throw new InputError('must be json or yaml', 'output');
    const pod = podsOf(ctx, cluster).get(namespace, name);
    if (!pod) throw new NotFoundError(`pod ${namespace}/${name} not found in cluster ${cluster}`);
    return output === 'yaml' ? yaml.dump(pod, { noRefs: true }) : pod;
  },
} satisfies Record<string, OspHandler>;

/** One OSP route: what the router registers, and what the OpenAPI document and metrics read. */
export interface OspRoute {
  method: 'get' | 'post' | 'put';
  /** Express path below OSP_PREFIX (`:param` segments). */
  path: string;
  handler: keyof typeof handlers;
  /** Served without a token. */
  public?: boolean;
}

export const OSP_ROUTES: readonly OspRoute[] = [
  { method: 'post', path: '/login', handler: 'login', public: true },
  { method: 'post', path: '/users', handler: 'createUser' },
  { method: 'get', path: '/users', handler: 'listUsers' },
  { method: 'put', path: '/users/:name', handler: 'updateUser' },
  { method: 'get', path: '/pods/:cluster', handler: 'listPods' },
  { method: 'get', path: '/pods/:cluster/:namespace/:name', handler: 'getPod' },
];

/** The bodies OSP handlers parse, for the OpenAPI document. */
export const OSP_INPUTS: Partial<Record<OspRoute['handler'], z.ZodType>> = {
  login: LoginBody,
  createUser: CreateUserBody,
  updateUser: UpdateUserBody,
};

/**
 * The OSP API over the same users, authorizer and caches as zcloud.cn. Every answer is
 * `{code, msg, data}`; on failure `code` names it and the HTTP status matches.
 */
export function createOspRouter(services: ApiServices): express.Router {
  const router = express.Router();
  router.use(bodyText('1mb'));

  const route = (handler: OspHandler, options: { public?: boolean } = {}) =>
    async (req: Request, res: Response): Promise<void> => {
      const ctx: OspContext = { req, services };
      let result: Answer;
      try {
        if (!options.public) {
          ctx.user = await authenticateRequest(req, services.users, 'osp');
          res.locals.user = ctx.user.name;
        }
        if (req.method !== 'GET') ctx.body = parseJsonBody(req);
        result = { status: 200, body: ospSuccess(await handler(ctx)) };
      } catch (err) {
        result = errorResponse(err, 'osp');
        logServerError(services.logger, 'OSP request failed', req.path, err, result);
      }
      await auditRequest(services, req, { user: ctx.user?.name, status: result.status, body: ctx.body });
      writeAnswer(res, result);
    };

  for (const { method, path, handler, public: isPublic } of OSP_ROUTES) {
    router[method](path, route(handlers[handler], { public: isPublic }));
  }
  router.use((req: Request, res: Response) => {
    writeError(res, new NotFoundError(`no OSP route for ${req.method} ${req.path}`), 'osp', { logger: services.logger, what: 'OSP request failed', path: req.path });
  });
  return router;
}
