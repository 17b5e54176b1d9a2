import type { z } from 'zod';
import type { KubeObject } from '../../src/kube/kube-object.js';
import type { CachedKindName } from '../../src/kube/resource-kind.js';
import type { Principal } from '../../src/users.js';
import type { ApiServices } from '../services.js';

/** What every handler returns: an id, fields, and optionally its creation time. */
export interface ApiObject {
  id: string;
  creationTimestamp?: string;
  [field: string]: unknown;
}

/** The request as a handler sees it. Handlers never touch Express. */
export interface RequestContext {
  /** The caller; undefined only in actions declared `public`. */
  user: Principal | undefined;
  /** Ids of the ancestors on the request path, by kind: `{ cluster: 'c1', namespace: 'default' }`. */
  parents: Readonly<Record<string, string>>;
  /** Query parameters (first value of each). */
  query: Readonly<Record<string, string>>;
  services: ApiServices;
  /** The client's address (X-Forwarded-For only from trusted proxies), for the login throttle. */
  sourceAddress: string;
  /** Adds a response header (e.g. cache freshness). */
  setHeader(name: string, value: string): void;
  /** A request header (a precondition: If-Match). */
  header(name: string): string | undefined;
  /** The caller, or UnauthorizedError; for handlers that run only authenticated. */
  requireUser(): Principal;
}

export interface ActionDefinition<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> {
  /** Validates the body; absent means the action takes no input. */
  input?: I;
  /** What `run` answers: types it, and describes it in the OpenAPI document (absent: an object). */
  output?: O;
  /** Callable without a token (login). */
  public?: boolean;
  run(ctx: RequestContext, id: string, input: z.output<I>): Promise<z.input<O>>;
}

export interface WriteDefinition<I extends z.ZodType, R> {
  input: I;
  run: R;
}

/**
 * One resource kind. Which of list/get/create/update/remove/actions are present decides the
 * methods served, the links and the 405s: a handler left out means no route and no link.
 */
export interface ResourceDefinition<C extends z.ZodType = z.ZodType, U extends z.ZodType = z.ZodType> {
  kind: string;
  /** Kinds this one nests under; several parents give several URL families (pod). */
  parents?: readonly string[];
  list?(ctx: RequestContext): Promise<ApiObject[]>;
  /**
   * The version of everything the list and each object's GET are derived from, when that is
   * known without building them (clusterCacheVersion for answers made only from one cluster's
   * cache). Their ETags are then made from it, and a matching If-None-Match is 304 before
   * anything is built; such GETs are also served without Express (direct-gets.ts). Leave it
   * out when an answer reads anything else (the store, another cluster): Express then hashes
   * the body of an object or a short list, and a long list goes without an ETag.
   */
  version?(ctx: RequestContext): string;
  /**
   * A list that is one cached object per item, translated by a pure `toApi` (it reads nothing
   * but the object): `list` is derived from it, and unfiltered lists are served from
   * per-object serialised fragments (fragment-cache.ts), translating only what changed.
   */
  cachedList?: CachedList;
  /**
   * A text view in place of a list (the provisioning log): GET on the collection URL answers
   * `text/plain`, one line per entry, in order; no envelope, no items, no links.
   */
  text?(ctx: RequestContext): Promise<readonly string[]>;
  /** The collection's name in URLs when it is not the plural of `kind` (`zkelog`). */
  collectionName?: string;
  /**
   * Served while a parent is unavailable (a cluster still Creating, or CreateFailed): the
   * parents' `guardChildren` are skipped, and the handler answers 404 for a missing parent itself.
   */
  servedWhileParentUnavailable?: boolean;
  get?(ctx: RequestContext, id: string): Promise<ApiObject | undefined>;
  create?: WriteDefinition<C, (ctx: RequestContext, input: z.output<C>) => Promise<ApiObject>>;
  update?: WriteDefinition<U, (ctx: RequestContext, id: string, input: z.output<U>) => Promise<ApiObject>>;
  /** Answered 204, also when deletion continues in the background (a client polls GET until 404). */
  remove?(ctx: RequestContext, id: string): Promise<void>;
  actions?: Record<string, ActionDefinition>;
  /**
   * Runs before any request addressed below an object of this kind (e.g. a cluster answers
   * 404/503 for everything under it while unknown/unavailable). May set headers.
   */
  guardChildren?(ctx: RequestContext, id: string): Promise<void> | void;
  /** Extra body keys to redact in the audit trail (beyond passwords, keys, tokens...). */
  sensitiveFields?: readonly string[];
  /** The cached kind the collection shows one object per item of: the resumable watch follows it. */
  watch?: WatchSource;
}

export interface CachedList {
  /** Names the translation in the fragment cache: unique per `toApi`. */
  view: string;
  /** The objects, in the list's order. */
  objects(ctx: RequestContext): KubeObject[];
  toApi(object: KubeObject): ApiObject;
}

/** Keeps the object type of `toApi` for the resource file. */
export function cachedList<T extends KubeObject>(view: string, objects: (ctx: RequestContext) => T[], toApi: (object: T) => ApiObject): CachedList {
  return { view, objects, toApi: toApi as (object: KubeObject) => ApiObject };
}

/** A collection whose items are one cached object each, translated by `toApi`. */
export interface WatchSource {
  kind: CachedKindName;
  toApi(object: KubeObject, ctx: RequestContext): ApiObject;
}

/** Keeps the object type of `toApi` for the resource file; the watch hands it objects of `kind` only. */
export function watchSource<T extends KubeObject>(kind: CachedKindName, toApi: (object: T, ctx: RequestContext) => ApiObject): WatchSource {
  return { kind, toApi: toApi as (object: KubeObject, ctx: RequestContext) => ApiObject };
}

/** Identity function that keeps the zod input types of create/update for the handlers. */
export function defineResource<C extends z.ZodType, U extends z.ZodType>(
  def: ResourceDefinition<C, U>,
): ResourceDefinition {
  return def as unknown as ResourceDefinition;
}

/** Keeps the zod input (and output) types of an action for its `run`. */
export function defineAction<I extends z.ZodType, O extends z.ZodType = z.ZodType>(def: ActionDefinition<I, O>): ActionDefinition {
  return def as unknown as ActionDefinition;
}
